"""Every flow, a fault at every call site, delivered again: the same end state as without the fault."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from chatconsent.wiring import local_outbox
from localrun import whatsapp
from localrun.events import http_event
from tests.campaigns.helpers import APPROVER, CREATOR
from tests.conftest import Env, json_body
from tests.faults.harness import Flow, known_gap, run_flow
from tests.flow import PERSON, PHONE_NUMBER_ID, deliver, last_buttons, optin_event, subject_of, text

# -- steps: one delivery each (the platform's unit of retry) ----------------------------------------


def ask_code(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    response = env.invoke("optin", optin_event(purposes={"customer_service": True, "marketing": True}))
    if response["statusCode"] == 201:
        memory["code"] = json_body(response)["code"]
    return response


def send_code(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    memory.setdefault("code_message", text(env, f"My code: {memory['code']}"))
    return deliver(env, memory["code_message"])


def say(words: str) -> Any:
    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        message = memory.setdefault(f"says:{words}", text(env, words))  # the same message id each delivery
        return deliver(env, message)

    return step


def tap(index: int) -> Any:
    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        if f"tap:{index}" not in memory:  # the button of the question asked last, the same each delivery
            chosen = last_buttons()[index]
            memory[f"tap:{index}"] = whatsapp.button_reply(
                PERSON, chosen["id"], chosen["title"], phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
            )
        return deliver(env, memory[f"tap:{index}"])

    return step


def ask_link(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    return env.invoke("optin", optin_event(purposes={"customer_service": True, "marketing": True}, phone="+" + PERSON))


def send_links(env: Env, memory: dict[str, Any]) -> None:
    for _ in range(3):  # Lambda's SQS source delivers a failed job again
        env.drain_links()
    templates = [m for m in local_outbox().messages if m.payload.get("type") == "template"]
    if templates:
        components = templates[-1].payload["template"]["components"]  # type: ignore[index]
        memory["token"] = next(c for c in components if c["type"] == "button")["parameters"][0]["text"]


def click(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    token = memory["token"]
    event = http_event(
        "POST",
        f"/confirm/{token}",
        route_path="/confirm/{token}",
        path_parameters={"token": token},
        body="decision=confirm",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return env.invoke("confirmation", event)


def agent_reply(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    subject = subject_of(env)
    event = http_event(
        "POST",
        f"/admin/subjects/{subject}/messages",
        route_path="/admin/subjects/{subject}/messages",
        path_parameters={"subject": subject},
        body=json.dumps(
            {"text": "On its way.", "reply_id": "desk-reply-1"}
        ),  # the desk's id: its retry is the same reply
        headers={"content-type": "application/json"},
    )
    return env.invoke("admin", event)


def campaign_started(env: Env, memory: dict[str, Any]) -> None:
    from chatconsent.campaigns import Draft

    service = env.wiring.campaigns
    campaign = service.create(Draft("weekly_offers", ("Winter sale",), ("en",)), CREATOR)  # 16 partitions, not 48
    service.approve(campaign.campaign_id, APPROVER)
    service.start(campaign.campaign_id)


def drain_campaigns(env: Env, memory: dict[str, Any]) -> None:
    env.drain_campaigns()


def later(env: Env, memory: dict[str, Any]) -> None:
    env.clock.advance(31 * 86_400)  # the code, the delivery records, the withdrawn conversation have expired


def purge(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    return env.invoke("purge", {"job": "purge", "lookback_days": 32})  # 132 index partitions: each a call site


def to_lapse_minus(seconds: int) -> Any:
    """The clock to ``seconds`` before the person's consent lapses (remembered from the first read)."""

    def step(env: Env, memory: dict[str, Any]) -> None:
        if "lapse" not in memory:
            memory["lapse"] = env.store.subjects.state(subject_of(env)).consents["customer_service"].expires_at
        env.clock.now = memory["lapse"] - seconds

    return step


def renewal_job(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    return env.invoke("renewal", {"job": "renewal"})  # raises on a failed turn: the schedule runs it again


OPTED_IN = (ask_code, send_code, say("yes"))
BEFORE_ASK = (to_lapse_minus(30 * 86_400 + 3600), say("where is my parcel?"), to_lapse_minus(30 * 86_400 - 60))

FLOWS = [
    Flow("chat opt-in", (), (ask_code, send_code, say("yes"))),
    Flow("link opt-in", (), (ask_link, send_links, click)),
    Flow("message kept", OPTED_IN, (say("where is my parcel?"),)),
    Flow("STOP", (*OPTED_IN, say("where is my parcel?")), (say("STOP"),)),
    Flow("STOP WERBUNG", OPTED_IN, (say("STOP WERBUNG"),)),
    Flow("DATA", (*OPTED_IN, say("where is my parcel?")), (say("DATA"),)),
    Flow("DELETE", (*OPTED_IN, say("where is my parcel?"), say("DELETE")), (tap(0),)),
    Flow("agent reply", (*OPTED_IN, say("where is my parcel?")), (agent_reply,)),
    Flow("campaign send", (*OPTED_IN, campaign_started), (drain_campaigns,)),
    Flow("purge", (*OPTED_IN, say("where is my parcel?"), say("STOP"), later), (purge,), ("throttled",)),
    Flow("renewal asked and renewed", (*OPTED_IN, *BEFORE_ASK), (renewal_job, tap(0)), ("throttled",)),
    Flow("lapse", (*OPTED_IN, to_lapse_minus(1800)), (renewal_job,), ("throttled",)),
]


GAPS: Counter[str] = Counter()


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_a_fault_at_any_call_site_ends_in_the_same_state(flow: Flow) -> None:
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
