"""DynamoDB requests per inbound message, per scenario, through the real handlers on moto.

The flow is driven as the widget and Meta would drive it: ``POST /optin`` through the opt-in
handler, then signed webhooks through the inbound handler (the code, the "yes" button, texts, a
replay, a status, a stranger). The container is warm: the secrets (SSM, cached per container) are
fetched before anything is measured and reported apart. Every API call made while the handler
processes one webhook is counted with botocore event hooks on the clients the wiring uses
(``before-call`` counts a request, ``after-call`` notes a failed condition or a cancelled
transaction: those are requests too, and billed).

The phone numbers below are fictitious and exist only inside the payloads; nothing printed here
carries a number, a message text or a pseudonym.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

TARGET = 3
START = 1_795_000_000  # 2026-11-18, the tests' fixed "now"
PERSON = "491701234567"  # fictitious sender; only inside payloads, never printed
STRANGER = "393471234567"  # fictitious sender; only inside payloads, never printed
SHORT_HISTORY = "491709876543"  # fictitious sender with 1 stored message; never printed
LONG_HISTORY = "491705555555"  # fictitious sender with 1,000 stored messages; never printed
LONG = 1_000


@dataclass
class Tally:
    """What one step cost, per service and operation."""

    dynamodb: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)  # "<operation>: <reason>"
    transaction_items: list[int] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.dynamodb.values())

    def describe(self) -> str:
        parts = []
        for operation, count in sorted(self.dynamodb.items()):
            text = f"{operation} {count}"
            if operation == "TransactWriteItems" and self.transaction_items:
                text += f" ({'+'.join(str(n) for n in self.transaction_items)} items)"
            parts.append(text)
        described = ", ".join(parts) or "none"
        if self.failed:
            described += "; failed: " + ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items()))
        return described

    def describe_other(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.other.items())) or "-"


class CallCounter:
    """botocore event hooks that count every API call of the clients they are attached to."""

    def __init__(self, key_table: str) -> None:
        self._key_table = key_table
        self.tally = Tally()
        self._current = ""

    def reset(self) -> Tally:
        done, self.tally = self.tally, Tally()
        return done

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}.*", self._before_call)
        client.meta.events.register(f"after-call.{service}.*", self._after_call)

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        if service != "dynamodb":
            self._current = f"{service} {model.name}"
            self.tally.other[self._current] += 1
            return
        request = _json_body(params)
        label = model.name
        if request.get("TableName") == self._key_table:
            label += "[key table]"
        if model.name == "TransactWriteItems":
            self.tally.transaction_items.append(len(request.get("TransactItems", [])))
        self._current = label
        self.tally.dynamodb[label] += 1

    def _after_call(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if http_response.status_code < 300:
            return
        code = str(parsed.get("Error", {}).get("Code", http_response.status_code))
        reasons = [str(r.get("Code")) for r in parsed.get("CancellationReasons", []) if r.get("Code") != "None"]
        if reasons:
            code += f" ({', '.join(sorted(set(reasons)))})"
        self.tally.failed[f"{self._current} {code}"] += 1


def _json_body(params: dict[str, Any]) -> dict[str, Any]:
    """The JSON request of a DynamoDB call as botocore serialised it (``before-call``'s params)."""
    body = params.get("body") or b"{}"
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


@dataclass(frozen=True)
class Row:
    key: str  # a–f as in the brief, "+" for the extra scenarios
    scenario: str
    expected: str
    outcome: str
    status: int
    tally: Tally
    target: int | None = None

    @property
    def as_expected(self) -> bool:
        return self.status == 200 and self.outcome == self.expected


def run() -> tuple[list[str], bool]:
    """The table's lines, and whether every scenario reached the state it is named after."""
    from localrun.aws import DEV_SECRETS, KEY_TABLE_NAME, LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    # Quiet handlers: no INFO logs, no EMF metrics printed (set before the handler modules load).
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
    import boto3
    from moto import mock_aws

    from chatconsent.aws import client as runtime_client
    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config
    from chatconsent.inbound import InboundService, Outcome
    from chatconsent.notices import NoticeRegistry
    from chatconsent.store import keys
    from chatconsent.wiring import Wiring, local_outbox
    from localrun import whatsapp
    from localrun.aws import StreamPoller, create_data_key, create_tables, seed_secrets
    from localrun.events import http_event
    from localrun.functions import LambdaContext, load_function
    from localrun.template import routes

    by_route = {r.route_key: r for r in routes()}
    phone_number_id = current_config().channels.whatsapp.phone_number_id
    app_secret = DEV_SECRETS["whatsapp/app-secret"]
    rows: list[Row] = []
    notes: list[str] = []

    # What the inbound service decided, per webhook (the handler answers only a count).
    outcomes: list[str] = []
    original_handle = InboundService.handle

    def recording_handle(self: InboundService, parsed: Any) -> list[Outcome]:
        result = original_handle(self, parsed)
        outcomes[:] = [o.value for o in result]
        return result

    with mock_aws(), mock.patch.object(InboundService, "handle", recording_handle):
        dynamodb = boto3.client("dynamodb")
        kms = boto3.client("kms")
        create_tables(dynamodb)
        seed_secrets(boto3.client("ssm"))
        create_data_key(kms)
        local_outbox().clear()
        clock = FrozenClock(START)

        counter = CallCounter(KEY_TABLE_NAME)
        for client in (dynamodb, kms, runtime_client("ssm")):  # the wiring fetches secrets through its own client
            counter.attach(client)

        optin: Any = load_function(by_route["POST /optin"].code_uri)  # handler modules: attributes set below
        inbound: Any = load_function(by_route["POST /webhooks/whatsapp"].code_uri)

        def new_container(which: str) -> Wiring:
            """A wiring as a new container builds it, warmed: secrets fetched (reported apart)."""
            wiring = Wiring(clock=clock, dynamodb=dynamodb, kms=kms)
            counter.reset()
            wiring.secrets  # noqa: B018 (the fetch is the point)
            warm_up = counter.reset()
            notes.append(
                f"{which} container warm-up, before its first message (secrets are cached per container, not counted"
                f" per message):"
                f" {warm_up.describe_other()}; DynamoDB {warm_up.requests}"
            )
            return wiring

        wiring = new_container("first")
        optin.wiring = inbound.wiring = wiring

        stream = StreamPoller(dynamodb)  # the table's stream, as Lambda's event source reads it
        retention: Any = load_function("functions/retention")
        retention.wiring = wiring
        outbox: Any = load_function("functions/outbox")
        outbox.wiring = wiring
        sent: list[tuple[int, Tally]] = []  # per owed answer: the outbox sender's requests

        def send_owed() -> None:
            """The outbox sender, off the request path: the answers the webhook wrote with its change."""
            counter.reset()
            taken = stream.drain("OutboxFunction", outbox.lambda_handler, LambdaContext())
            tally = counter.reset()
            if taken:
                sent.append((taken, tally))

        def deliver(
            key: str,
            scenario: str,
            payload: dict[str, Any],
            expected: Outcome,
            target: int | None = None,
            *,
            record: bool = True,
        ) -> dict[str, Any]:
            body, headers = whatsapp.signed(payload, app_secret)
            event = http_event("POST", "/webhooks/whatsapp", body=body, headers=headers)
            outcomes.clear()
            counter.reset()
            response = inbound.lambda_handler(event, LambdaContext())
            tally = counter.reset()
            send_owed()
            outcome = ",".join(outcomes) or "-"
            if record:
                rows.append(Row(key, scenario, expected.value, outcome, int(response["statusCode"]), tally, target))
            clock.advance(30)
            return payload

        def drain_stream() -> Tally:
            """What the retention function does off the request path (the table's stream)."""
            counter.reset()
            stream.drain("RetentionFunction", retention.lambda_handler, LambdaContext())
            return counter.reset()

        def text(sender: str, body: str) -> dict[str, Any]:
            return whatsapp.text(sender, body, phone_number_id=phone_number_id, timestamp=int(clock()))

        def last_to(sender: str, match: Callable[[dict[str, Any]], bool]) -> tuple[str, dict[str, Any]]:
            for message in reversed(local_outbox().to("+" + sender)):
                if match(dict(message.payload)):
                    return message.id, dict(message.payload)
            raise RuntimeError("the flow sent no such message: the scenarios after it cannot be reached")

        # The widget: POST /optin returns the code (not an inbound message; for reference).
        notice = NoticeRegistry().get("en")
        body = {
            "purposes": {"customer_service": True},
            "channel": "whatsapp",
            "language": "en",
            "notice_version": notice.version,
            "notice_sha256": notice.sha256,
        }
        event = http_event("POST", "/optin", body=json.dumps(body), headers={"content-type": "application/json"})
        counter.reset()
        response = optin.lambda_handler(event, LambdaContext())
        optin_tally = counter.reset()
        if response["statusCode"] != 201:
            raise RuntimeError(f"POST /optin answered {response['statusCode']}, not 201: no code, no flow")
        code = json.loads(response["body"])["code"]
        notes.append(
            f"for reference, POST /optin (widget, not a webhook): {optin_tally.requests} DynamoDB requests"
            f" ({optin_tally.describe()})"
        )
        clock.advance(60)

        deliver(
            "b",
            "the message carrying the opt-in code (binds the request)",
            text(PERSON, f"My code: {code}"),
            Outcome.CODE_BOUND,
        )
        _, question = last_to(PERSON, lambda p: p.get("type") == "interactive")
        yes_id = str(question["interactive"]["action"]["buttons"][0]["reply"]["id"])
        if not yes_id.startswith("optin:yes:"):
            raise RuntimeError("the confirmation question has no yes button first")
        yes = whatsapp.button_reply(PERSON, yes_id, "Yes", phone_number_id=phone_number_id, timestamp=int(clock()))
        deliver("c", '"yes" button reply (activation, proof in the ledger)', yes, Outcome.CONSENT_ACTIVATED)
        activated_reply, _ = last_to(PERSON, lambda p: p.get("type") == "text")

        deliver(
            "+",
            "first text after activation (creates the subject's data key)",
            text(PERSON, "a first question"),
            Outcome.STORED,
        )
        known = deliver(
            "a",
            "text from a known subject with an active consent (data key cached)",
            text(PERSON, "a question about my order"),
            Outcome.STORED,
            TARGET,
        )
        deliver("e", "replay of (a): the same webhook again", known, Outcome.DUPLICATE)
        status = whatsapp.status(
            PERSON, activated_reply, "delivered", phone_number_id=phone_number_id, timestamp=int(clock())
        )
        deliver("f", "status update for an outbound message (delivered)", status, Outcome.STATUS_UPDATED)
        deliver("d", "text from an unknown sender (info reply)", text(STRANGER, "hello"), Outcome.INFO_REPLIED)

        inbound.wiring = new_container("second")  # the subject's data key is not cached there
        deliver(
            "+",
            "text from a known subject, new container (data key not cached)",
            text(PERSON, "another question"),
            Outcome.STORED,
        )
        inbound.wiring = wiring
        deliver(
            "+",
            "STOP from a known subject (withdrawal, proof, block list)",
            text(PERSON, "STOP"),
            Outcome.CONSENT_WITHDRAWN,
        )
        drain_stream()

        # STOP with a short and with a long history: the same requests on the webhook; the re-dating of
        # the stored items happens in the retention function (the table's stream), reported apart.
        def opted_in(sender: str) -> str:
            """A subject with an active consent and one stored message; returns its pseudonym."""
            started = optin.lambda_handler(
                http_event("POST", "/optin", body=json.dumps(body), headers={"content-type": "application/json"}),
                LambdaContext(),
            )
            code = json.loads(started["body"])["code"]
            deliver("", "", text(sender, f"My code: {code}"), Outcome.CODE_BOUND, record=False)
            _, question = last_to(sender, lambda p: p.get("type") == "interactive")
            yes_id = str(question["interactive"]["action"]["buttons"][0]["reply"]["id"])
            yes = whatsapp.button_reply(sender, yes_id, "Yes", phone_number_id=phone_number_id, timestamp=int(clock()))
            deliver("", "", yes, Outcome.CONSENT_ACTIVATED, record=False)
            deliver("", "", text(sender, "a question"), Outcome.STORED, record=False)
            return wiring.pseudonymizer.subject("whatsapp", "+" + sender)

        def stored_messages(subject: str) -> int:
            return int(
                dynamodb.query(
                    TableName=wiring.settings.table_name,
                    KeyConditionExpression="#pk = :pk AND begins_with(#sk, :in)",
                    ExpressionAttributeNames={"#pk": keys.PARTITION, "#sk": keys.SORT},
                    ExpressionAttributeValues={
                        ":pk": {"S": keys.subject_pk(subject)},
                        ":in": {"S": keys.INBOUND_PREFIX},
                    },
                    Select="COUNT",
                )["Count"]
            )

        short = opted_in(SHORT_HISTORY)
        long = opted_in(LONG_HISTORY)
        first = dynamodb.query(
            TableName=wiring.settings.table_name,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :in)",
            ExpressionAttributeNames={"#pk": keys.PARTITION, "#sk": keys.SORT},
            ExpressionAttributeValues={":pk": {"S": keys.subject_pk(long)}, ":in": {"S": keys.INBOUND_PREFIX}},
        )["Items"][0]
        copies = []
        for n in range(1, LONG):  # 999 more stored messages, as a long conversation leaves them
            copy = dict(first)
            copy[keys.SORT] = {"S": keys.inbound(long, START - n, f"{n:064x}").sk}
            copies.append({"PutRequest": {"Item": copy}})
        for start in range(0, len(copies), 25):
            dynamodb.batch_write_item(RequestItems={wiring.settings.table_name: copies[start : start + 25]})
        drain_stream()
        for sender, subject in ((SHORT_HISTORY, short), (LONG_HISTORY, long)):
            held = stored_messages(subject)
            deliver(
                "+",
                f"STOP from a subject with {held:,} stored message{'' if held == 1 else 's'}",
                text(sender, "STOP"),
                Outcome.CONSENT_WITHDRAWN,
            )
            off_path = drain_stream()
            notes.append(
                f"off the request path, the retention function after that STOP ({held:,} stored message{'' if held == 1 else 's'}):"
                f" {off_path.requests} DynamoDB requests ({off_path.describe()})"
            )
        answers = sum(n for n, _ in sent)
        if answers:
            requests = sum(t.requests for _, t in sent)
            notes.append(
                f"off the request path, the outbox sender: {answers} answers sent with {requests} DynamoDB requests"
                f" ({requests / answers:.1f} per answer: read the item, then delete it with its status record)"
            )

    rows.sort(key=lambda r: (r.key == "+", r.key))
    lines = [
        "| | scenario | outcome | DynamoDB requests | by operation | other AWS calls | target |",
        "| --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for row in rows:
        target = "-"
        if row.target is not None:
            target = f"<= {row.target}: {'MEETS' if row.tally.requests <= row.target else 'MISSES'}"
        outcome = (
            row.outcome if row.as_expected else f"UNEXPECTED {row.outcome} (HTTP {row.status}, expected {row.expected})"
        )
        lines.append(
            f"| {row.key} | {row.scenario} | {outcome} | {row.tally.requests} | {row.tally.describe()}"
            f" | {row.tally.describe_other()} | {target} |"
        )
    lines.append("")
    for row in rows:
        if row.target is not None:
            verdict = "MEETS" if row.tally.requests <= row.target and row.as_expected else "MISSES"
            lines.append(
                f"headline ({row.key}): {row.tally.requests} DynamoDB requests per message from a known subject"
                f" (target <= {row.target}): {verdict}"
            )
    lines += notes
    unexpected = [r for r in rows if not r.as_expected]
    for row in unexpected:
        lines.append(
            f"WARNING: scenario {row.key} ({row.scenario}) ended {row.outcome!r} (HTTP {row.status}), not"
            f" {row.expected!r}: its count does not measure what the row says"
        )
    return lines, not unexpected


def main() -> int:
    print("## DynamoDB requests per inbound message (warm container, real handlers, moto)", flush=True)
    print()
    lines, ok = run()
    for line in lines:
        print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [p for p in (str(root), str(root / "layers" / "chatconsent")) if p not in sys.path]
    raise SystemExit(main())
