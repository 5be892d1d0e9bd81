"""Warm per-request time of one webhook message from a known subject, against the DynamoDB calls it makes.

A warm container (secrets fetched, the subject's data key cached) receives signed text messages
from a subject with an active consent, one at a time, through the real inbound handler on the
embedded backend. Each invocation is timed whole, and every DynamoDB call it makes is timed
inside it (the client's ``_make_api_call``: serialisation, the request, parsing), so the handler's
own work (signature, parsing, dispatch, sealing, logging, metrics) is what lies between the two.
Logs and metrics are produced as in Lambda (INFO, EMF) into a sink.

On moto a DynamoDB call costs in-process time rather than a network round trip (a few ms in AWS),
so the ratio here errs on the strict side: real calls are slower, the handler's own work is not.

The phone number is fictitious and exists only inside the payloads; nothing printed carries it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time
from typing import Any

RUNS = int(os.environ.get("BENCH_WARM_RUNS", "60"))
WARM_UP = 5
TARGET = 2.0
START = 1_795_000_000
PERSON = "491701234567"  # fictitious; only inside payloads, never printed


def run() -> list[str]:
    from localrun.aws import LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_DISABLED": "false"})
    import boto3
    from moto import mock_aws

    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config
    from chatconsent.notices import NoticeRegistry
    from chatconsent.store import keys
    from chatconsent.wiring import Wiring, local_outbox
    from localrun import whatsapp
    from localrun.aws import DEV_SECRETS, create_data_key, create_tables, seed_secrets
    from localrun.events import http_event
    from localrun.functions import LambdaContext, load_function

    phone_number_id = current_config().channels.whatsapp.phone_number_id
    secret = DEV_SECRETS["whatsapp/app-secret"]
    sink = io.StringIO()

    with mock_aws(), contextlib.redirect_stdout(sink):
        dynamodb = boto3.client("dynamodb")
        kms = boto3.client("kms")
        create_tables(dynamodb, stream=False)  # moto copies the table, stream included, in every transaction
        seed_secrets(boto3.client("ssm"))
        create_data_key(kms)
        local_outbox().clear()
        clock = FrozenClock(START)
        wiring = Wiring(clock=clock, dynamodb=dynamodb, kms=kms)
        optin: Any = load_function("functions/optin")
        inbound: Any = load_function("functions/inbound")
        optin.wiring = inbound.wiring = wiring
        for module in (optin, inbound):
            module.logger.registered_handler.stream = sink

        def webhook(payload: dict[str, Any]) -> dict[str, Any]:
            body, headers = whatsapp.signed(payload, secret)
            event = http_event("POST", "/webhooks/whatsapp", body=body, headers=headers)
            response: dict[str, Any] = inbound.lambda_handler(event, LambdaContext())
            clock.advance(5)
            return response

        def send_owed() -> None:
            """What the outbox function does off the request path (the table's stream, left out here): the
            answers the webhook wrote with its change are sent, so the next step can read the question."""
            found = dynamodb.scan(
                TableName=wiring.settings.table_name,
                FilterExpression="begins_with(#pk, :owed)",
                ExpressionAttributeNames={"#pk": keys.PARTITION},
                ExpressionAttributeValues={":owed": {"S": keys.OUTBOX_PK_PREFIX}},
            )["Items"]
            owed = [keys.key_of({name: item[name]["S"] for name in (keys.PARTITION, keys.SORT)}) for item in found]
            wiring.outbox_sender.deliver_all(owed)

        def text(body: str) -> dict[str, Any]:
            return whatsapp.text(PERSON, body, phone_number_id=phone_number_id, timestamp=int(clock()))

        # A known subject: the chat-started opt-in, confirmed, and a first message (creates the data key).
        notice = NoticeRegistry().get("en")
        ask = {
            "purposes": {"customer_service": True},
            "channel": "whatsapp",
            "language": "en",
            "notice_version": notice.version,
            "notice_sha256": notice.sha256,
        }
        event = http_event("POST", "/optin", body=json.dumps(ask), headers={"content-type": "application/json"})
        code = json.loads(optin.lambda_handler(event, LambdaContext())["body"])["code"]
        webhook(text(f"My code: {code}"))
        send_owed()
        question = next(m for m in reversed(local_outbox().to("+" + PERSON)) if m.payload.get("type") == "interactive")
        yes_id = question.payload["interactive"]["action"]["buttons"][0]["reply"]["id"]  # type: ignore[index]
        webhook(whatsapp.button_reply(PERSON, yes_id, "Yes", phone_number_id=phone_number_id, timestamp=int(clock())))
        send_owed()

        # Every DynamoDB call the handler makes, timed whole.
        in_calls: list[float] = []
        calls: list[str] = []
        make_api_call = dynamodb._make_api_call

        def timed(operation: str, params: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                return make_api_call(operation, params)
            finally:
                in_calls.append(time.perf_counter() - started)
                calls.append(operation)

        dynamodb._make_api_call = timed
        totals: list[float] = []
        bare: list[float] = []
        for n in range(WARM_UP + RUNS):
            payload = text(f"question number {n}")
            in_calls.clear()
            calls.clear()
            started = time.perf_counter()
            response = webhook(payload)
            elapsed = time.perf_counter() - started
            if response["statusCode"] != 200 or json.loads(response["body"]) != {"processed": 1}:
                raise RuntimeError(f"the webhook answered {response['statusCode']}: the scenario is not reached")
            if n >= WARM_UP:
                totals.append(elapsed)
                bare.append(sum(in_calls))
        dynamodb._make_api_call = make_api_call

    total, dynamo = statistics.median(totals), statistics.median(bare)
    ratios = sorted(t / b for t, b in zip(totals, bare, strict=True))
    ratio = statistics.median(ratios)
    verdict = "MEETS" if ratio <= TARGET else "MISSES"
    return [
        f"{RUNS} messages (after {WARM_UP} warm-up), one at a time; DynamoDB calls per message: {', '.join(calls)}",
        "",
        "| | median | p25–p75 |",
        "| --- | ---: | ---: |",
        f"| whole invocation (handler, logs, metrics) | {total * 1000:.2f} ms | {_quartiles(totals)} |",
        f"| its DynamoDB calls (timed inside it) | {dynamo * 1000:.2f} ms | {_quartiles(bare)} |",
        f"| the handler's own work | {(total - dynamo) * 1000:.2f} ms | |",
        "",
        f"ratio whole / DynamoDB calls, median per message: {ratio:.2f} (target <= {TARGET}): {verdict}",
    ]


def _quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"{q[0] * 1000:.2f}–{q[2] * 1000:.2f} ms"


def main() -> int:
    print("## Warm per-request time of one webhook message (known subject), against its DynamoDB calls", flush=True)
    print()
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [p for p in (str(root), str(root / "layers" / "chatconsent")) if p not in sys.path]
    raise SystemExit(main())
