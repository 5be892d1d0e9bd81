"""Every flow, a fault at every call site, delivered again: the same end state as without the fault."""

from __future__ import annotations

from typing import Any

import pytest

from chatconsent.wiring import local_outbox
from localrun.events import http_event
from tests.conftest import Env
from tests.faults.harness import Flow, check_flow
from tests.faults.steps import (
    WHATSAPP,
    agent_reply,
    campaign_started,
    drain_campaigns,
    later,
    opted_in,
    purge,
    renewal_job,
    say,
    tap,
    to_lapse_minus,
)
from tests.flow import PERSON, optin_event

# -- WhatsApp's own steps (the shared ones: tests/faults/steps.py) ------------------------------------


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


OPTED_IN = opted_in(WHATSAPP)
BEFORE_ASK = (
    to_lapse_minus(WHATSAPP, 30 * 86_400 + 3600),
    say(WHATSAPP, "where is my parcel?"),
    to_lapse_minus(WHATSAPP, 30 * 86_400 - 60),
)
KEPT = (*OPTED_IN, say(WHATSAPP, "where is my parcel?"))

FLOWS = [
    Flow("chat opt-in", (), OPTED_IN),
    Flow("link opt-in", (), (ask_link, send_links, click)),
    Flow("message kept", OPTED_IN, (say(WHATSAPP, "where is my parcel?"),)),
    Flow("STOP", KEPT, (say(WHATSAPP, "STOP"),)),
    Flow("STOP WERBUNG", OPTED_IN, (say(WHATSAPP, "STOP WERBUNG"),)),
    Flow("DATA", KEPT, (say(WHATSAPP, "DATA"),)),
    Flow("DELETE", (*KEPT, say(WHATSAPP, "DELETE")), (tap(WHATSAPP, "erase", 0),)),
    Flow("agent reply", KEPT, (agent_reply(WHATSAPP),)),
    Flow("campaign send", (*OPTED_IN, campaign_started), (drain_campaigns,)),
    Flow("purge", (*KEPT, say(WHATSAPP, "STOP"), later), (purge,), ("throttled",)),
    Flow(
        "renewal asked and renewed",
        (*OPTED_IN, *BEFORE_ASK),
        (renewal_job, tap(WHATSAPP, "renewal", 0)),
        ("throttled",),
    ),
    Flow("lapse", (*OPTED_IN, to_lapse_minus(WHATSAPP, 1800)), (renewal_job,), ("throttled",)),
]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_a_fault_at_any_call_site_ends_in_the_same_state(flow: Flow) -> None:
    check_flow(flow)
