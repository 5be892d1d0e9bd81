"""Faults on every call site: the N-th call of a flow fails, the platform delivers the input again.

Every client the product uses (DynamoDB, KMS, SSM, SQS, and the messengers' APIs) is wrapped; each
call is counted and one of them, the N-th, fails with a fault (throttling after the SDK's retries or
the provider's rate limit, or a timeout; a messenger's as its own sender raises them). A step whose
handler raised or answered 5xx is delivered again, as Lambda, API Gateway's caller, Meta, Telegram,
Apple or SQS would; the other steps run once; the table's stream is drained after each function and
again after the flow, as Lambda's event sources retry (a consumer's failure is not its writer's). The flow's end state,
reduced to what matters (consent states, ledger events, kept items by kind and class, messages sent
per recipient), must equal the end state of the same flow without a fault: no half state, no
duplicate effect, no lost effect.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from chatconsent.channels.base import ChannelError, ChannelRejected
from chatconsent.channels.telegram import _refusal as telegram_refusal
from chatconsent.clock import FrozenClock
from chatconsent.wiring import Wiring, local_outbox
from localrun.aws import (
    KEY_TABLE_NAME,
    LINK_QUEUE_URL,
    PLAN_QUEUE_URL,
    SEND_QUEUE_URL,
    StreamPoller,
    create_campaign_queues,
    create_data_key,
    create_link_queue,
    create_tables,
    seed_secrets,
)
from tests.conftest import START, STREAM_FUNCTIONS, Env, SerializedClient

FAULTS = ("throttled", "timeout")
_THROTTLED = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "kms": "ThrottlingException",
    "ssm": "ThrottlingException",
    "sqs": "RequestThrottled",
}


Deliver = Callable[[str, str, Mapping[str, object]], str]
# What each messenger's sender raises (chatconsent.channels.<name>): throttled, and no answer in time.
PROVIDER_FAULTS: dict[str, tuple[Callable[[], ChannelError], Callable[[], ChannelError]]] = {
    "whatsapp": (
        lambda: ChannelRejected("WhatsApp API answered 429", 130429),
        lambda: ChannelError("WhatsApp API timed out"),
    ),
    "telegram": (
        lambda: telegram_refusal(429, json.dumps({"ok": False, "parameters": {"retry_after": 3}}).encode()),
        lambda: ChannelError("Telegram API timed out or answered garbage"),
    ),
    "apple": (
        lambda: ChannelRejected("Apple gateway answered 429", 429, unavailable=True),
        lambda: ChannelError("Apple gateway timed out"),
    ),
}


@dataclass
class Faults:
    """Counts the calls of every wrapped client; the ``fail_at``-th raises ``fault``."""

    fail_at: int = 0
    fault: str = "throttled"
    calls: int = 0
    sites: list[str] = field(default_factory=list)
    fired: str = ""
    blocked: set[str] = field(default_factory=set)  # recipients who blocked the business (Telegram)

    def call(self, service: str, operation: str, run: Callable[[], Any]) -> Any:
        self.calls += 1
        self.sites.append(f"{service}.{operation}")
        if self.calls == self.fail_at:
            self.fired = f"{service}.{operation}"
            if self.fault == "timeout":
                raise ReadTimeoutError(endpoint_url=f"https://{service}.local")
            error = {"Error": {"Code": _THROTTLED[service], "Message": "injected"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]
        return run()

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object], send: Deliver) -> str:
        """A call of the messenger's API: it fails as that messenger's sender fails (its rate limit, or no
        answer in time); a person in ``blocked`` blocked the business (Telegram's 403 on sendMessage)."""
        self.calls += 1
        self.sites.append(f"provider.{channel}")
        if self.calls == self.fail_at:
            self.fired = f"provider.{channel}"
            throttled, timed_out = PROVIDER_FAULTS[channel]
            raise throttled() if self.fault == "throttled" else timed_out()
        if recipient in self.blocked and payload.get("method", "sendMessage") == "sendMessage":
            answer = {"ok": False, "description": "Forbidden: bot was blocked by the user"}
            raise telegram_refusal(403, json.dumps(answer).encode())
        return send(channel, recipient, payload)


class FaultyClient:
    """A client whose every operation goes through :class:`Faults`."""

    _PASS = frozenset({"meta", "exceptions", "close", "get_paginator", "can_paginate", "get_waiter"})

    def __init__(self, faults: Faults, service: str, client: Any) -> None:
        self._faults = faults
        self._service = service
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name in self._PASS or name.startswith("_") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._faults.call(self._service, name, lambda: attribute(*args, **kwargs))

        return call


class FaultyEnv(Env):
    """The stream's consumers run apart from the function that wrote the records: a consumer that
    fails (the outbox, on a fault) leaves the webhook's answer as it was; its records come again."""

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        stream, self.stream = self.stream, None
        try:
            response = super().invoke(function, event)
        finally:
            self.stream = stream
        if function not in STREAM_FUNCTIONS.values():
            retry_stream(self)
        return response


@contextmanager
def faulty_env(faults: Faults) -> Iterator[Env]:
    """The test world of ``tests.conftest.env`` with every client of the product wrapped."""
    import chatconsent.wiring as wiring_module

    with mock_aws():
        dynamodb, ssm, kms, sqs = (boto3.client(s) for s in ("dynamodb", "ssm", "kms", "sqs"))
        create_tables(dynamodb)
        seed_secrets(ssm)
        create_data_key(kms)
        create_link_queue(sqs)
        create_campaign_queues(sqs)
        for url in (LINK_QUEUE_URL, PLAN_QUEUE_URL, SEND_QUEUE_URL):  # a failed job comes back at once
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
        clients = {"ssm": FaultyClient(faults, "ssm", ssm), "sqs": FaultyClient(faults, "sqs", sqs)}
        original = wiring_module.client
        wiring_module.client = lambda service: clients.get(service) or original(service)  # type: ignore[assignment]
        try:
            clock = FrozenClock(START)
            wiring = Wiring(
                clock=clock,
                dynamodb=FaultyClient(faults, "dynamodb", SerializedClient(dynamodb)),
                kms=FaultyClient(faults, "kms", kms),
            )
            provider = local_outbox()
            provider.clear()
            deliver = provider.deliver
            provider.deliver = lambda *args: faults.deliver(*args, send=deliver)  # type: ignore[method-assign]
            try:
                yield FaultyEnv(
                    dynamodb=dynamodb, ssm=ssm, clock=clock, wiring=wiring, sqs=sqs, stream=StreamPoller(dynamodb)
                )
            finally:
                del provider.deliver  # the class's own method again
        finally:
            wiring_module.client = original  # type: ignore[assignment]


# -- the end state that matters ---------------------------------------------------------------------

_IGNORED = ("RATE#", "AUDIT#", "DEDUPE#")  # counters, the admin trail and delivery records count requests
_VARIABLE = re.compile(r"[0-9a-f]{16,}|\d{6,}")
_KEPT = ("state", "status", "event", "purpose", "retention_class", "kind", "flow", "channel")


def end_state(env: Env) -> Counter[str]:
    """Items by kind with the attributes that carry meaning; messages sent by recipient and type."""
    state: Counter[str] = Counter()
    results: Counter[str] = Counter()
    for item in env.items():
        pk, sk = str(item["PK"]), str(item["SK"])
        if pk.startswith(_IGNORED) or item.get("expires_at", 0) <= env.clock():
            continue
        if pk.startswith("CAMPAIGN#") and sk.startswith("COUNT#"):  # results shards: only their totals matter
            results.update({k: v for k, v in item.items() if isinstance(v, int) and k != "expires_at"})
            continue
        if pk.startswith("CAMPAIGN#") and sk.startswith("JOB#"):  # which send jobs the results hold: bookkeeping
            continue
        shape = f"{_VARIABLE.sub('*', pk.split('#', maxsplit=1)[0])}|{_VARIABLE.sub('*', sk)}"
        kept = [f"{k}={item[k]}" for k in _KEPT if k in item]
        evidence = item.get("evidence")
        if isinstance(evidence, dict) and "source" in evidence:  # a withdrawal's source: keyword, block, close
            kept.append(f"source={evidence['source']}")
        state[shape + "|" + ",".join(kept)] += 1
    state.update({f"results {name}={n}": 1 for name, n in results.items()})
    keys = env.dynamodb.scan(TableName=KEY_TABLE_NAME, Select="COUNT")["Count"]
    state[f"data keys={keys}"] += 1
    for message in local_outbox().messages:
        state[sent(message.channel, message.recipient, message.payload)] += 1
    return state


def sent(channel: str, recipient: str, payload: Mapping[str, Any]) -> str:
    """One message sent, by recipient and what it was (a template by name; Telegram: the Bot API method,
    with an inline keyboard or not; a callback's answer goes to no recipient)."""
    what, to = str(payload.get("type")), recipient[-4:]
    if what == "template":
        what += ":" + str(payload["template"]["name"])
    if channel == "telegram":
        what = str(payload.get("method")) + (":keyboard" if "reply_markup" in payload else "")
        to = "a callback" if what == "answerCallbackQuery" else to
    return f"sent to {to}: {what}"


CALLBACK_ANSWER = sent("telegram", "", {"method": "answerCallbackQuery"})


# -- flows ------------------------------------------------------------------------------------------

Step = Callable[[Env, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Flow:
    name: str
    setup: tuple[Step, ...]  # runs without faults
    steps: tuple[Step, ...]  # each call of these is a fault site
    faults: tuple[str, ...] = FAULTS


def known_gap(flow: str, extra: Counter[str], missing: Counter[str]) -> str | None:
    """The differences this product still has, by name; anything else is a failure.

    ``answer sent, then its settle failed``: the outbox sender sent an owed message, then deleting it
    with its status record failed; the stream delivers the item again and it is sent a second time
    (the one window of duplicate delivery the outbox leaves: between the provider's answer and one
    write). ``campaign close after send`` is the window the README names (never sent twice, so in
    doubt), and ``campaign send timed out`` the same seen from the provider's side (no answer: perhaps
    sent, so never sent again); ``campaign results after crash``: a job that failed after its sends counts them again as
    already sent when it comes back (the send records stay exact). ``callback left unanswered``:
    Telegram's ``answerCallbackQuery`` is best effort (the button's spinner stops by itself; what the
    tap answers is owed in the outbox), so it is not tried again when it failed.
    """
    if not extra and missing == Counter({CALLBACK_ANSWER: 1}):
        return "callback left unanswered"
    answers = flow != "campaign send" and all(shape.startswith("sent to ") for shape in extra)
    if not missing and answers and sum(extra.values()) == 1:
        return "answer sent, then its settle failed"
    if flow == "campaign send" and _close_after_send(extra, missing):
        return "campaign close after send"
    sent = {s for s in missing if s.startswith("sent to ")}
    counted = extra - Counter({"results in_doubt=1": 1})
    if flow == "campaign send" and sent and _close_after_send(counted, missing - Counter(sent)):
        return "campaign send timed out"  # no answer from the provider: in doubt (counted), never sent again
    if flow == "campaign send" and set(extra) <= {"results skipped_in_doubt=1", "results skipped_sent_before=1"}:
        return "campaign results after crash"
    return None


def _close_after_send(extra: Counter[str], missing: Counter[str]) -> bool:
    """The provider accepted, then closing the send record failed: it stays claimed (in doubt), never sent
    again; its status record and its count in the results are missing."""
    claimed = {s for s in extra if "M#CAMP#" in s and "state=claimed" in s}
    return (
        bool(claimed)
        and all(s in claimed or s.startswith("results skipped_") for s in extra)
        and all("M#CAMP#" in s or "M#OUT#" in s or s.startswith("results sent=") for s in missing)
    )


def run_step(env: Env, step: Step, memory: dict[str, Any], faults: Faults, retries: int = 3) -> None:
    """One delivery, and again while it fails (as the platform does); fault fired at most once."""
    for _ in range(retries):
        try:
            response = step(env, memory)
        except Exception:  # noqa: S112 (the handler failed: the platform delivers the input again)
            continue
        if isinstance(response, dict) and int(response.get("statusCode", 200)) >= 500:
            continue
        return
    raise AssertionError(f"the step failed {retries} times (fault at {faults.fired or 'none'})")


def run_flow(flow: Flow, fail_at: int = 0, fault: str = "throttled") -> tuple[Counter[str], Faults]:
    faults = Faults()
    with faulty_env(faults) as env:
        memory: dict[str, Any] = {"faults": faults}  # a step may change how the messenger answers
        for step in flow.setup:
            run_step(env, step, memory, faults)
        faults.calls, faults.sites = 0, []
        faults.fail_at, faults.fault = fail_at, fault
        for step in flow.steps:
            retry_stream(env)  # the person acts on what reached them: Lambda retried what had failed
            run_step(env, step, memory, faults)
        faults.fail_at = 0
        retry_stream(env)
        return end_state(env), faults


def retry_stream(env: Env, rounds: int = 3) -> None:
    """Lambda's stream event sources deliver again what failed (the outbox: the provider), in seconds."""
    for _ in range(rounds):
        try:
            env.drain_stream()
        except Exception:  # noqa: S112 (delivered again on the next round)
            continue


GAPS: Counter[str] = Counter()  # the known gaps met, over the run (printed)


def check_flow(flow: Flow) -> None:
    """The flow with a fault at every call site, each fault in turn: the end state of the clean run."""
    baseline, clean = run_flow(flow)
    assert clean.calls > 0
    wrong = []
    unreached = 0
    for n in range(1, clean.calls + 1):
        for fault in flow.faults:
            try:
                state, faults = run_flow(flow, n, fault)
            except AssertionError as failed:  # a step that never succeeded: name the case
                wrong.append((n, "", fault, [str(failed)], []))
                continue
            if not faults.fired:  # an earlier fault changed how many calls follow (a retry reads less)
                unreached += 1
                continue
            extra, missing = state - baseline, baseline - state
            if not extra and not missing:
                continue
            gap = known_gap(flow.name, extra, missing)
            if gap is not None:
                GAPS[gap] += 1
                continue
            wrong.append((n, faults.fired, fault, sorted(extra.items()), sorted(missing.items())))
    services = {site.split(".")[0] for site in clean.sites}
    sites = f"{clean.calls} call sites ({', '.join(sorted(services))})"
    print(f"\n{flow.name}: {sites} x {len(flow.faults)} faults; known gaps so far {dict(GAPS)}")
    assert not wrong, wrong
    assert unreached <= clean.calls // 10, f"{unreached} of {clean.calls} call sites never failed"
