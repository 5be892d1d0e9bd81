"""DynamoDB requests per inbound message, per scenario, through the real inbound handler.

A warm container is simulated (secrets already fetched), and every DynamoDB call made while the
handler processes one signed webhook is counted with a botocore event hook.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

TARGET = 3
NUMBER = "491701234567"  # fictitious; never printed


def run() -> list[str]:
    from localrun.aws import DEV_SECRETS, LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
    import boto3
    from moto import mock_aws

    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config
    from chatconsent.notices import NoticeRegistry
    from chatconsent.runtime import Runtime, local_outbox
    from localrun import whatsapp
    from localrun.aws import create_data_key, create_tables, seed_secrets
    from localrun.events import http_event
    from localrun.functions import LambdaContext, load_function

    lines: list[str] = []
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_tables(dynamodb)
        seed_secrets(boto3.client("ssm"))
        create_data_key(boto3.client("kms"))
        clock = FrozenClock(1_795_000_000)
        runtime = Runtime(clock=clock, dynamodb=dynamodb)
        runtime.secrets  # noqa: B018 (warm container: secrets cached)
        optin, inbound = load_function("functions/optin"), load_function("functions/inbound")
        optin.runtime = inbound.runtime = runtime
        calls: Counter[str] = Counter()
        dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
        phone_number_id = current_config().channels.whatsapp.phone_number_id
        secret = DEV_SECRETS["whatsapp/app-secret"]

        def deliver(payload: dict[str, Any]) -> Counter[str]:
            body, headers = whatsapp.signed(payload, secret)
            calls.clear()
            response = inbound.lambda_handler(
                http_event("POST", "/webhooks/whatsapp", body=body, headers=headers), LambdaContext()
            )
            assert response["statusCode"] == 200, response
            return Counter(calls)

        notice = NoticeRegistry().get("en")
        body = {
            "purposes": {"customer_service": True},
            "channel": "whatsapp",
            "language": "en",
            "notice_version": notice.version,
        }
        started = json.loads(
            optin.lambda_handler(http_event("POST", "/optin", body=json.dumps(body)), LambdaContext())["body"]
        )
        ts = int(clock())
        scenarios: list[tuple[str, Counter[str]]] = []
        scenarios.append(
            (
                "code message (binds the request)",
                deliver(
                    whatsapp.text(NUMBER, f"code {started['code']}", phone_number_id=phone_number_id, timestamp=ts)
                ),
            )
        )
        question = local_outbox().messages[-1]
        yes_id = question.payload["interactive"]["action"]["buttons"][0]["reply"]["id"]  # type: ignore[index]
        scenarios.append(
            (
                "yes button (activates, proof in ledger)",
                deliver(whatsapp.button_reply(NUMBER, yes_id, "Yes", phone_number_id=phone_number_id, timestamp=ts)),
            )
        )
        first = whatsapp.text(NUMBER, "my first question", phone_number_id=phone_number_id, timestamp=ts)
        scenarios.append(("first text stored for a subject (creates its data key)", deliver(first)))
        known = whatsapp.text(NUMBER, "a question about my order", phone_number_id=phone_number_id, timestamp=ts)
        scenarios.append(("text from a known subject (active consent, key cached)", deliver(known)))
        scenarios.append(("replay of that text", deliver(known)))
        scenarios.append(
            (
                "status update for our message",
                deliver(
                    whatsapp.status(NUMBER, question.id, "delivered", phone_number_id=phone_number_id, timestamp=ts)
                ),
            )
        )
        scenarios.append(
            (
                "text from an unknown sender (info reply)",
                deliver(whatsapp.text("393471234567", "hello", phone_number_id=phone_number_id, timestamp=ts)),
            )
        )
        scenarios.append(
            (
                "STOP from a known subject",
                deliver(whatsapp.text(NUMBER, "STOP", phone_number_id=phone_number_id, timestamp=ts)),
            )
        )

    lines += ["| scenario | DynamoDB requests | by operation |", "| --- | ---: | --- |"]
    for name, counts in scenarios:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
        lines.append(f"| {name} | {sum(counts.values())} | {detail} |")
    headline = sum(scenarios[3][1].values())
    lines += [
        "",
        f"known subject, per message: {headline} (target <= {TARGET}: {'MEETS' if headline <= TARGET else 'MISSES'})",
    ]
    return lines


def main() -> int:
    print("## DynamoDB requests per inbound message (warm container)")
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
