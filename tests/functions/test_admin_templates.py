"""Templates have a purpose: an agent's template goes out only under the consent its category needs,
to the address kept with that consent, and its content is kept only while that consent lasts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple, cast

import pytest

from chatconsent.agents import AgentDesk, DeskParts, ReplyRefused
from chatconsent.channels.base import Button, Channel, ParsedWebhook
from chatconsent.consent_state import SubjectState
from chatconsent.inbound.dispatch import MARKETING_STOP_BUTTON
from chatconsent.outbox import OutboxSender
from chatconsent.store import Store
from chatconsent.store.keys import ADDRESS_ID, ItemKey
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from tests.conftest import Env, json_body
from tests.flow import OTHER, PERSON, PHONE_NUMBER_ID, activate, deliver, replies_to, reply_text, subject_of, text
from tests.functions.test_admin import admin

OFFERS = {"template": {"name": "weekly_offers", "parameters": ["20% off"]}}
FOLLOW_UP = {"template": {"name": "service_follow_up", "parameters": ["order 1042"]}}


def test_a_marketing_template_is_refused_under_customer_service_consent_only(env: Env) -> None:
    activate(env, purposes={"customer_service": True})
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    sent, stored = len(local_outbox().messages), env.subject_items(subject)
    refused = admin(env, "POST", "messages", subject, OFFERS)
    assert refused["statusCode"] == 409
    reason = json_body(refused)["error"]
    assert (
        "no active consent for 'marketing'" in reason and "weekly_offers" in reason and "marketing template" in reason
    )
    assert PERSON not in reason
    assert len(local_outbox().messages) == sent and env.subject_items(subject) == stored  # nothing sent or kept
    assert admin(env, "POST", "messages", subject, FOLLOW_UP)["statusCode"] == 201  # a utility template may go


def test_a_marketing_template_goes_out_under_marketing_consent_and_stops_with_it(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    env.clock.advance(3 * 86_400)  # outside the window, and the person never wrote: the sealed address
    assert admin(env, "POST", "messages", subject, OFFERS)["statusCode"] == 201
    payload = replies_to()[-1]
    assert payload["template"]["name"] == "weekly_offers" and payload["template"]["language"] == {"code": "en"}
    [stop] = [c for c in payload["template"]["components"] if c.get("sub_type") == "quick_reply"]
    assert stop["index"] == "0" and stop["parameters"] == [{"type": "payload", "payload": MARKETING_STOP_BUTTON}]
    messages = json_body(admin(env, "GET", "messages", subject))["messages"]
    assert [(m["direction"], m["template"]) for m in messages] == [("out", "weekly_offers")]
    now = int(env.clock())
    tap = whatsapp.template_reply(
        PERSON, "No offers", MARKETING_STOP_BUTTON, phone_number_id=PHONE_NUMBER_ID, timestamp=now
    )
    deliver(env, tap)  # one tap on its stop button: marketing stops, customer service goes on
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)
    assert "Customer service" in reply_text(replies_to()[-1])
    sent = len(local_outbox().messages)
    refused = admin(env, "POST", "messages", subject, OFFERS)
    assert refused["statusCode"] == 409 and "'marketing'" in json_body(refused)["error"]
    assert len(local_outbox().messages) == sent
    assert admin(env, "POST", "messages", subject, FOLLOW_UP)["statusCode"] == 201  # customer service goes on


def test_a_template_goes_to_someone_who_never_wrote_by_the_address_kept_with_the_consent(env: Env) -> None:
    activate(env)  # opted in by chat, never wrote anything that was kept
    subject = subject_of(env)
    assert env.inbound_items(subject) == []
    assert env.store.subjects.state(subject).consents["customer_service"].address is not None
    assert admin(env, "POST", "messages", subject, FOLLOW_UP)["statusCode"] == 201
    assert replies_to()[-1]["template"]["name"] == "service_follow_up"
    refused = admin(env, "POST", "messages", subject, {"text": "hello"})  # free text keeps its rules
    assert refused["statusCode"] == 409 and "has not written" in json_body(refused)["error"]


class Sent(NamedTuple):
    to: str
    name: str


class RecordingChannel:
    """The local channel, remembering where each message went; ``meanwhile`` runs after each send
    (what happens while the message is on its way)."""

    def __init__(self, channel: Channel, meanwhile: Callable[[], object] = lambda: None) -> None:
        self.name = channel.name
        self._channel = channel
        self._meanwhile = meanwhile
        self.sent: list[Sent] = []

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        return self._channel.verify(headers, raw_body)

    def parse(self, raw_body: bytes) -> ParsedWebhook:
        return self._channel.parse(raw_body)

    def send_text(self, to: str, text: str) -> str:
        return self._sent(to, "", self._channel.send_text(to, text))

    def send_buttons(self, to: str, text: str, buttons: Sequence[Button]) -> str:
        return self._sent(to, "", self._channel.send_buttons(to, text, buttons))

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str:
        sent = self._channel.send_template(to, name, language, parameters, url_suffix, quick_reply)
        return self._sent(to, name, sent)

    def _sent(self, to: str, name: str, message_id: str) -> str:
        self.sent.append(Sent(to, name))
        self._meanwhile()
        return message_id


class StoreView:
    """The store, with each consent's sealed address replaced by ``address`` (None: as records from
    before addresses were kept with consents)."""

    def __init__(self, store: Store, address: Callable[[str], bytes | None]) -> None:
        self._store = store
        self._address = address
        self.messages = store.messages

    @property
    def subjects(self) -> StoreView:
        return self

    def state(self, subject: str) -> SubjectState:
        state = self._store.subjects.state(subject)
        consents = {p: replace(r, address=self._address(subject)) for p, r in state.consents.items()}
        return replace(state, consents=consents)


def desk(env: Env, channel: Channel, store: Store | StoreView | None = None) -> AgentDesk:
    w = env.wiring
    assert w.keyring is not None
    parts = DeskParts(w.keyring, channel, w.pseudonymizer, w.consents, w.outbox_sealer)
    return AgentDesk(cast(Store, store or env.store), parts, env.clock, w.config)


def send_owed(env: Env, channel: Channel) -> None:
    """The outbox sender, through ``channel``: every reply the desk queued."""
    w = env.wiring
    sender = OutboxSender(env.store, w.outbox_sealer, lambda name: channel, w.pseudonymizer.message, w.keyring)
    for item in sorted(env.items_with_prefix("OUTBOX#"), key=lambda i: int(i["created_at"])):
        sender.deliver(ItemKey(item["PK"], item["SK"]))


def test_replies_go_to_the_address_kept_with_the_covering_consent(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    keyring = env.wiring.keyring
    assert keyring is not None
    elsewhere = StoreView(env.store, lambda s: keyring.encrypt(s, ADDRESS_ID, ("+" + OTHER).encode()))
    channel = RecordingChannel(env.wiring.whatsapp)
    agents = desk(env, channel, elsewhere)
    agents.reply_template(subject_of(env), "service_follow_up", ["order 1042"])
    send_owed(env, channel)
    agents.reply(subject_of(env), "It left the warehouse today.")
    send_owed(env, channel)
    assert channel.sent == [Sent("+" + OTHER, "service_follow_up"), Sent("+" + OTHER, "")]


def test_without_an_address_kept_with_the_consent_replies_go_to_the_last_sender(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    channel = RecordingChannel(env.wiring.whatsapp)
    agents = desk(env, channel, StoreView(env.store, lambda s: None))
    with pytest.raises(ReplyRefused, match="has not written"):  # no address at all: nothing goes out
        agents.reply_template(subject, "service_follow_up", ["order 1042"])
    deliver(env, text(env, "where is my parcel?"))
    env.clock.advance(2 * 86_400)
    agents.reply_template(subject, "service_follow_up", ["order 1042"])
    send_owed(env, channel)
    assert channel.sent == [Sent("+" + PERSON, "service_follow_up")]


@pytest.mark.parametrize(("template", "kept"), [("weekly_offers", False), ("service_follow_up", True)])
def test_a_templates_content_is_kept_only_while_its_purposes_consent_lasts(env: Env, template: str, kept: bool) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)

    def withdraw_marketing() -> None:  # the person stops marketing while the template is on its way
        env.wiring.consents.withdraw(subject, source="test", purposes={"marketing"})

    channel = RecordingChannel(env.wiring.whatsapp, withdraw_marketing)
    agents = desk(env, channel)
    agents.reply_template(subject, template, ["x"])
    send_owed(env, channel)
    assert [s.name for s in channel.sent] == [template]  # sent: it was on its way
    assert [m.template for m in agents.conversation(subject)] == ([template] if kept else [])


def test_unknown_templates_and_wrong_parameters_stay_invalid_whatever_the_consent(env: Env) -> None:
    subject = subject_of(env)  # no consent at all: the request itself is still wrong first
    unknown = admin(env, "POST", "messages", subject, {"template": {"name": "promo", "parameters": []}})
    assert unknown["statusCode"] == 400 and "not configured" in json_body(unknown)["error"]
    wrong = admin(env, "POST", "messages", subject, {"template": {"name": "weekly_offers", "parameters": []}})
    assert wrong["statusCode"] == 400 and "takes 1 parameters" in json_body(wrong)["error"]
