"""The steps of the fault matrix's flows, one delivery each (the platform's unit of retry), per messenger.

A :class:`Messenger` drives the product as one messenger's platform would (WhatsApp through Meta's
webhook, Telegram's Bot API updates, Apple's Messages for Business requests); the steps take one, so
a flow is written once and run on every channel that has it. Every request a step builds is kept in
the flow's memory: a delivery that failed is delivered again as it was (the same message id, update
id or Apple message id).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chatconsent.channels.apple import address
from chatconsent.wiring import local_outbox
from localrun import apple, telegram, whatsapp
from localrun.events import http_event
from tests import apple_flow, telegram_flow
from tests.campaigns.helpers import APPROVER, CREATOR
from tests.conftest import Env, json_body
from tests.flow import PERSON, PHONE_NUMBER_ID, last_buttons, optin_event, webhook_event

Step = Callable[[Env, dict[str, Any]], dict[str, Any] | None]
Request = dict[str, Any]  # an API Gateway event, ready to deliver again


@dataclass(frozen=True)
class Messenger:
    """One messenger's side of a conversation with the person (see the module's description)."""

    name: str  # the channel's name in the product ("whatsapp", "telegram", "apple")
    function: str  # the function its webhooks reach
    person: str  # the person's id on the channel, as the product pseudonymises it
    recipient: str  # the person's address as the product sends to it
    code_message: Callable[[str], str]  # what the person's messenger sends for an opt-in code
    text: Callable[[Env, str], Request]
    tap: Callable[[Env, int], Request]  # the ``index``-th answer button of the question asked last
    signal: Callable[[Env], Request] | None = None  # the channel's own withdrawal (blocked, closed)
    typed: bool = False  # the person types yes/no to a question (no buttons, or none shown by the device)

    def subject(self, env: Env) -> str:
        return env.wiring.pseudonymizer.subject(self.name, self.person)


def _whatsapp_text(env: Env, words: str) -> Request:
    return webhook_event(whatsapp.text(PERSON, words, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())))


def _whatsapp_tap(env: Env, index: int) -> Request:
    chosen = last_buttons()[index]
    return webhook_event(
        whatsapp.button_reply(
            PERSON, chosen["id"], chosen["title"], phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
        )
    )


WHATSAPP = Messenger(
    "whatsapp",
    "inbound",
    "+" + PERSON,
    "+" + PERSON,
    lambda code: f"My code: {code}",
    _whatsapp_text,
    _whatsapp_tap,
    typed=True,  # the flows type yes to the opt-in question (WhatsApp's own buttons: tap)
)


def _telegram_tap(env: Env, index: int) -> Request:
    chosen = telegram_flow.last_keyboard()[index]
    return telegram_flow.webhook_event(telegram_flow.tap(env, chosen["callback_data"]))


TELEGRAM = Messenger(
    "telegram",
    "telegram",
    str(telegram_flow.CHAT),
    str(telegram_flow.CHAT),
    lambda code: f"/start {code}",  # what the deep link t.me/<bot>?start=<code> makes the app send
    lambda env, words: telegram_flow.webhook_event(telegram_flow.text(env, words)),
    _telegram_tap,
    signal=lambda env: telegram_flow.webhook_event(
        telegram.member_status(telegram_flow.CHAT, "kicked", int(env.clock()))
    ),
)


def _apple_request(
    env: Env, body: Callable[[str], dict[str, Any]], capabilities: str = apple.DEFAULT_CAPABILITIES
) -> Request:
    message_id = str(uuid.uuid4())
    return apple_flow.event(env, body(message_id), message_id=message_id, capabilities=capabilities)


def _apple_tap(env: Env, index: int) -> Request:
    chosen = apple_flow.quick_reply_items()[index]
    return _apple_request(
        env,
        lambda message_id: apple.quick_reply_body(apple_flow.PERSON, message_id, chosen["identifier"], chosen["title"]),
    )


APPLE = Messenger(
    "apple",
    "apple",
    apple_flow.PERSON,
    address(apple_flow.BUSINESS_ID, apple_flow.PERSON),  # answers go to the business id written to
    lambda code: f"My code: {code}",  # the Message link's prefilled body
    lambda env, words: _apple_request(env, lambda message_id: apple.text_body(apple_flow.PERSON, message_id, words)),
    _apple_tap,
    signal=lambda env: _apple_request(env, lambda message_id: apple.close_body(apple_flow.PERSON, message_id)),
)
APPLE_TEXT_ONLY = replace(  # a device that does not list QUICK: the questions are answered by typing
    APPLE,
    text=lambda env, words: _apple_request(
        env, lambda message_id: apple.text_body(apple_flow.PERSON, message_id, words), capabilities="TEXT"
    ),
    typed=True,
)


def _delivered(
    env: Env, messenger: Messenger, memory: dict[str, Any], key: str, build: Callable[[], Request]
) -> dict[str, Any]:
    """The request built on the first delivery, the same one on each later delivery."""
    key = f"request:{key}"
    if key not in memory:
        memory[key] = build()
    return env.invoke(messenger.function, memory[key])


# -- the person, in their messenger -----------------------------------------------------------------


def ask_code(messenger: Messenger) -> Step:
    """The widget asks for an opt-in code (both purposes) for the messenger."""

    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        purposes = {"customer_service": True, "marketing": True}
        response = env.invoke("optin", optin_event(purposes=purposes, channel=messenger.name))
        if response["statusCode"] == 201:
            memory["code"] = json_body(response)["code"]
        return response

    return step


def send_code(messenger: Messenger) -> Step:
    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        words = messenger.code_message(memory["code"])
        return _delivered(env, messenger, memory, "code", lambda: messenger.text(env, words))

    return step


def say(messenger: Messenger, words: str, answering: str = "") -> Step:
    """A text message; ``answering`` names the question it answers (a typed yes to another question is
    another message, the same words delivered again the same)."""

    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        key = f"says:{answering}:{words}"
        return _delivered(env, messenger, memory, key, lambda: messenger.text(env, words))

    return step


def tap(messenger: Messenger, question: str, index: int) -> Step:
    """The ``index``-th button of the question asked last; ``question`` names it (a tap on another
    question is another request, a tap delivered again the same)."""

    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        return _delivered(env, messenger, memory, f"tap:{question}:{index}", lambda: messenger.tap(env, index))

    return step


def withdraw_in_app(messenger: Messenger) -> Step:
    """The channel's own withdrawal: Telegram's bot blocked (``kicked``), Apple's conversation deleted."""
    signal = messenger.signal
    assert signal is not None, f"{messenger.name} has no withdrawal signal of its own"

    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        return _delivered(env, messenger, memory, "signal", lambda: signal(env))

    return step


def opted_in(messenger: Messenger) -> tuple[Step, ...]:
    """The chat double opt-in: the code from the messenger, then yes (its button, or typed)."""
    if messenger.typed:
        return (ask_code(messenger), send_code(messenger), say(messenger, "yes", answering="opt-in"))
    return (ask_code(messenger), send_code(messenger), tap(messenger, "opt-in", 0))


# -- the business's side ------------------------------------------------------------------------------


def agent_reply(messenger: Messenger) -> Step:
    def step(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
        subject = messenger.subject(env)
        event = http_event(
            "POST",
            f"/admin/subjects/{subject}/messages",
            route_path="/admin/subjects/{subject}/messages",
            path_parameters={"subject": subject},
            body=json.dumps({"text": "On its way.", "reply_id": "desk-reply-1"}),  # its retry is the same reply
            headers={"content-type": "application/json"},
        )
        return env.invoke("admin", event)

    return step


def campaign_started(env: Env, memory: dict[str, Any]) -> None:
    from chatconsent.campaigns import Draft

    service = env.wiring.campaigns
    campaign = service.create(Draft("weekly_offers", ("Winter sale",), ("en",)), CREATOR)  # 16 partitions, not 48
    service.approve(campaign.campaign_id, APPROVER)
    service.start(campaign.campaign_id)


def drain_campaigns(env: Env, memory: dict[str, Any]) -> None:
    env.drain_campaigns()


def to_lapse_minus(messenger: Messenger, seconds: int) -> Step:
    """The clock to ``seconds`` before the person's consent lapses (remembered from the first read)."""

    def step(env: Env, memory: dict[str, Any]) -> None:
        if "lapse" not in memory:
            memory["lapse"] = env.store.subjects.state(messenger.subject(env)).consents["customer_service"].expires_at
        env.clock.now = memory["lapse"] - seconds

    return step


def renewal_job(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    return env.invoke("renewal", {"job": "renewal"})  # raises on a failed turn: the schedule runs it again


def later(env: Env, memory: dict[str, Any]) -> None:
    env.clock.advance(31 * 86_400)  # the code, the delivery records, the withdrawn conversation have expired


def purge(env: Env, memory: dict[str, Any]) -> dict[str, Any]:
    return env.invoke("purge", {"job": "purge", "lookback_days": 32})  # 132 index partitions: each a call site


def sent_payloads(messenger: Messenger) -> list[dict[str, Any]]:
    return [dict(m.payload) for m in local_outbox().to(messenger.recipient) if m.channel == messenger.name]
