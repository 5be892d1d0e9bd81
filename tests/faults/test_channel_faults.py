"""Telegram's and Apple's flows, a fault at every call site, delivered again: the same end state.

Both platforms deliver again what was not answered 2xx (Telegram repeats every non-2xx answer; Apple
retries an unanswered or failed request), as the harness does for every step. The provider's faults
are each messenger's own (Telegram: 429 with ``retry_after``, Apple's gateway: 429; a timeout either
way), and a Telegram chat can have blocked the bot: its ``sendMessage`` answers 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Env
from tests.faults.harness import Flow, check_flow
from tests.faults.steps import (
    APPLE,
    APPLE_TEXT_ONLY,
    TELEGRAM,
    Messenger,
    agent_reply,
    ask_code,
    opted_in,
    say,
    send_code,
    tap,
    withdraw_in_app,
)


def bot_blocked(messenger: Messenger) -> Any:
    """The person blocked the bot in Telegram (and its update never came): sends to them answer 403."""

    def step(env: Env, memory: dict[str, Any]) -> None:
        memory["faults"].blocked.add(messenger.recipient)

    return step


def flows(messenger: Messenger) -> list[Flow]:
    """The flows both channels have: the chat opt-in (taken and declined), rights by keyword and
    button, an agent's reply, the channel's own withdrawal signal (Telegram's bot blocked, Apple's
    ``close``) after the opt-in and while it is pending."""
    opted = opted_in(messenger)
    asked = (ask_code(messenger), send_code(messenger))
    kept = (*opted, say(messenger, "where is my parcel?"))
    name, signal = messenger.name, SIGNALS[messenger.name]
    return [
        Flow(f"{name} chat opt-in", (), opted),
        Flow(f"{name} chat opt-in declined", (), (*asked, tap(messenger, "opt-in", 1))),
        Flow(f"{name} message kept", opted, (say(messenger, "where is my parcel?"),)),
        Flow(f"{name} STOP", kept, (say(messenger, "STOP"),)),
        Flow(f"{name} DELETE", (*kept, say(messenger, "DELETE")), (tap(messenger, "erase", 0),)),
        Flow(f"{name} agent reply", kept, (agent_reply(messenger),)),
        Flow(f"{name} {signal}", kept, (withdraw_in_app(messenger),)),
        Flow(f"{name} {signal} while the opt-in is pending", asked, (withdraw_in_app(messenger),)),
    ]


SIGNALS = {"telegram": "bot blocked (my_chat_member kicked)", "apple": "close (conversation deleted)"}
TELEGRAM_KEPT = (*opted_in(TELEGRAM), say(TELEGRAM, "where is my parcel?"))
FLOWS = [
    *flows(TELEGRAM),
    Flow("telegram DATA", TELEGRAM_KEPT, (say(TELEGRAM, "DATA"),)),
    Flow("telegram blocked on send (403)", (*TELEGRAM_KEPT, bot_blocked(TELEGRAM)), (agent_reply(TELEGRAM),)),
    Flow(
        "telegram blocked on the opt-in question (403)",
        (ask_code(TELEGRAM), bot_blocked(TELEGRAM)),
        (send_code(TELEGRAM),),
    ),
    *flows(APPLE),
    Flow("apple chat opt-in typed (no quick replies)", (), opted_in(APPLE_TEXT_ONLY)),
    Flow(
        "apple DELETE typed (no quick replies)",
        (*opted_in(APPLE_TEXT_ONLY), say(APPLE_TEXT_ONLY, "DELETE")),
        (say(APPLE_TEXT_ONLY, "yes", answering="erase"),),
    ),
]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_a_fault_at_any_call_site_ends_in_the_same_state(flow: Flow) -> None:
    check_flow(flow)
