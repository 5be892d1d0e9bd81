"""What every step of the inbound path works with, and how it answers in the chat.

:class:`InboundParts` is built once per container by the wiring. :class:`Turn` is one message
being handled: who sent it (as a pseudonym), its delivery's hash, and the replies to it, each
recorded by delivery status only (the bot's own words are never kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatconsent.channels.base import Button, Channel, ChannelError, InboundMessage
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import SubjectState
from chatconsent.identity import Pseudonymizer
from chatconsent.inbound.outcomes import Outcome
from chatconsent.keyring import SubjectKeyring
from chatconsent.notices import NoticeRegistry
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.rights import SubjectRights
from chatconsent.store import Store
from chatconsent.texts import Texts


@dataclass(frozen=True)
class InboundParts:
    store: Store
    pseudonymizer: Pseudonymizer
    channel: Channel
    config: BusinessConfig
    clock: Clock
    consents: ConsentService
    notices: NoticeRegistry
    keyring: SubjectKeyring | None = None  # without it nothing is kept
    rights: SubjectRights | None = None  # without it erasure in the chat is not offered
    texts: Texts = field(init=False)
    plan: RetentionPlan = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", Texts(self.config))
        object.__setattr__(self, "plan", RetentionPlan.from_config(self.config))


def language_of(state: SubjectState) -> str | None:
    """The language the person chose: their pending request's, or the one their consent was given in."""
    if state.pending:
        return state.pending.language
    return next((r.notice_language for r in state.consents.values() if r.notice_language), None)


@dataclass(frozen=True)
class Turn:
    """One inbound message being handled."""

    parts: InboundParts
    message: InboundMessage
    subject: str
    message_hash: str
    # Art. 18: a restricted person's messages are stored as the consent allows, and nothing is sent
    # to them. Known from the state read for the message; None: not read yet (read before a send).
    restricted: bool | None = None

    def silenced(self) -> bool:
        """Whether nothing may be sent to this person (their processing is restricted)."""
        if self.restricted is None:
            object.__setattr__(self, "restricted", self.parts.store.rights.is_restricted(self.subject))
        return bool(self.restricted)

    def record_delivery(self) -> bool:
        """Record this message as processed; False for a duplicate."""
        return self.parts.store.guards.record_delivery(self.message_hash)

    def yes_no(self, ids: tuple[str, str], labels: tuple[str, str], language: str | None) -> list[Button]:
        """Two answer buttons: ``ids`` are their full ids, ``labels`` the catalogue keys of their titles."""
        texts = self.parts.texts
        return [Button(ids[0], texts.text(labels[0], language)), Button(ids[1], texts.text(labels[1], language))]

    def send_buttons(self, text: str, buttons: list[Button]) -> str | None:
        """Send a question with buttons; None when the provider refused or failed, or nothing may be sent."""
        if self.silenced():
            return None
        try:
            return self.parts.channel.send_buttons(self.message.sender, text, buttons)
        except ChannelError:
            return None

    def ask(self, text: str, buttons: list[Button], kind: str, retention: RetentionClass) -> bool:
        """Send a question with buttons, tracked by delivery status only; False when it could not be sent."""
        sent = self.send_buttons(text, buttons)
        if sent is None:
            return False
        self.record_sent(sent, kind, retention)
        return True

    def record_sent(self, sent: str, kind: str, retention: RetentionClass) -> None:
        """Track a message the product sent by its delivery status (its content is not kept)."""
        message_hash = self.parts.pseudonymizer.message(self.message.channel, sent)
        self.parts.store.messages.record_outbound(self.subject, message_hash, kind, retention=retention)

    def say(
        self,
        text: str,
        kind: str,
        outcome: Outcome,
        record: bool = True,
        retention: RetentionClass = RetentionClass.CONVERSATION,
    ) -> Outcome:
        """Send ``text``; ``outcome`` when sent (recorded under ``retention`` if ``record``), or when
        nothing may be sent (restricted: what the step changed stands, the answer is not sent)."""
        if self.silenced():
            return outcome
        try:
            sent = self.parts.channel.send_text(self.message.sender, text)
        except ChannelError:
            return Outcome.SEND_FAILED
        if record:
            self.record_sent(sent, kind, retention)
        return outcome

    def reply(
        self,
        key: str,
        language: str | None,
        outcome: Outcome,
        record: bool = True,
        retention: RetentionClass = RetentionClass.CONVERSATION,
    ) -> Outcome:
        """Send the catalogue's text ``key`` in ``language``."""
        return self.say(self.parts.texts.text(key, language), key, outcome, record, retention)
