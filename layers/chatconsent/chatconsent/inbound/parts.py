"""What every step of the inbound path works with, and how it answers in the chat.

:class:`InboundParts` is built once per container by the wiring. :class:`Turn` is one message
being handled: who sent it (as a pseudonym), its delivery's hash, and the answers it owes, each
written with the change it answers and recorded by delivery status only once sent (the bot's own
words are never kept).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from chatconsent.channels.base import Button, Channel, InboundMessage
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import SubjectState
from chatconsent.identity import Pseudonymizer
from chatconsent.inbound.outcomes import Outcome
from chatconsent.keyring import SubjectKeyring
from chatconsent.notices import NoticeRegistry
from chatconsent.outbox import OutboxSealer, Owing, Reply
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.rights import SubjectRights
from chatconsent.store import OwedMessage, Store
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
    sealer: OutboxSealer  # the answers owed, sealed for the outbox
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
    """One inbound message being handled.

    Its answers are owed, not sent: :meth:`owe` seals one for the outbox, and the step hands it to
    the store call that commits the change it answers (or to :meth:`answer` when nothing changes),
    so it is sent exactly when that change is kept (:mod:`chatconsent.outbox`).
    """

    parts: InboundParts
    message: InboundMessage
    subject: str
    message_hash: str
    _indexes: Iterator[int] = field(default_factory=itertools.count, repr=False, compare=False)
    # Art. 18: a restricted person's messages are stored as the consent allows, and nothing is sent
    # to them. Known from the state read for the message; None: not read yet (read before a send).
    restricted: bool | None = None

    def silenced(self) -> bool:
        """Whether nothing may be sent to this person (their processing is restricted)."""
        if self.restricted is None:
            object.__setattr__(self, "restricted", self.parts.store.rights.is_restricted(self.subject))
        return bool(self.restricted)

    def record_delivery(self, owed: Sequence[OwedMessage] = ()) -> bool:
        """Record this message as processed, with the answers it owes; False for a duplicate."""
        return self.parts.store.guards.record_delivery(self.message_hash, owed)

    def answer(self, owed: Sequence[OwedMessage], outcome: Outcome) -> Outcome:
        """A message that changes nothing but is answered: its delivery record with the answers."""
        return outcome if self.record_delivery(owed) else Outcome.DUPLICATE

    def yes_no(self, ids: tuple[str, str], labels: tuple[str, str], language: str | None) -> list[Button]:
        """Two answer buttons: ``ids`` are their full ids, ``labels`` the catalogue keys of their titles."""
        texts = self.parts.texts
        return [Button(ids[0], texts.text(labels[0], language)), Button(ids[1], texts.text(labels[1], language))]

    def ask(self, text: str, ids: tuple[str, str], labels: tuple[str, str], language: str | None) -> Reply:
        """A yes/no question: with answer buttons, or, to a device that cannot show them (Apple without
        ``QUICK``), as text that asks for a typed yes or no (the answer's words are read as the buttons)."""
        if not self.message.takes_buttons:
            return Reply(text=f"{text}\n\n{self.parts.texts.text('answer_typed', language)}")
        return Reply(text=text, buttons=tuple(self.yes_no(ids, labels, language)))

    def owe(self, reply: Reply, kind: str, track: RetentionClass | None = RetentionClass.CONVERSATION) -> OwedMessage:
        """An answer to this message's sender, sealed for the outbox; tracked by delivery status under
        ``track`` (its content is never kept), or not at all when None. For a person whose processing
        is restricted (Art. 18) the answer is held: nothing is sealed, written or sent."""
        message = self.message
        index = next(self._indexes)
        if self.silenced():
            return OwedMessage(
                self.message_hash, index, self.subject, message.channel, kind, track, b"", b"", held=True
            )
        owing = Owing(self.subject, message.channel, message.reply_to, reply, kind, track)
        return self.parts.sealer.seal(owing, self.message_hash, index)

    def owe_text(
        self, key: str, language: str | None, track: RetentionClass | None = RetentionClass.CONVERSATION
    ) -> OwedMessage:
        """The catalogue's text ``key`` in ``language``, owed."""
        return self.owe(Reply(text=self.parts.texts.text(key, language)), key, track)
