"""The agents' desk: list conversations, read one, and reply, only under consent.

Agents see pseudonymous subjects and message texts, never the number: replies go to the address
sealed with the covering consent (or, for consents given before it was kept, in the subject's last
message). WhatsApp allows free-form text only within 24 hours of the person's last message; outside
that window only a template the business configured may be sent, and only under the consent its
category needs (a marketing template: the campaigns' purpose; any other: the purpose it serves).

A reply is owed, not sent, by the desk (:mod:`chatconsent.outbox`): it is written under the consent as
read, once per reply id (an agent's retry with the same id queues nothing more), and the outbox
sender sends it and keeps its content with the conversation, sealed, if the consent still holds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatconsent.buttons import MARKETING_STOP_BUTTON
from chatconsent.channels.base import Channel
from chatconsent.channels.registry import CHANNELS, has_service_window
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import ConsentRecord, ConsentState, SubjectState
from chatconsent.errors import InvalidInput, NotAllowed
from chatconsent.identity import Pseudonymizer
from chatconsent.keyring import SubjectKeyring
from chatconsent.outbox import OutboxSealer, Owing, Reply
from chatconsent.retention import RetentionClass
from chatconsent.store import Conflict, InboundRecord, OutboundRecord, Store
from chatconsent.store.keys import ADDRESS_ID
from chatconsent.texts import Texts

SERVICE_WINDOW_SECONDS = 24 * 3600
DEFAULT_CHANNEL = "whatsapp"  # a person known before consents recorded their channel


class ReplyRefused(NotAllowed):
    """The reply may not be sent now (no consent, outside the window); ``reason`` is safe to show.

    ``refusal`` names the rule for a program: ``no_consent``, ``withdrawn``, ``window_closed``,
    ``purpose_not_consented`` (a template's purpose), ``no_templates`` (the channel has none) or
    ``restricted`` (Art. 18).
    """

    def __init__(self, reason: str, refusal: str = "no_consent") -> None:
        super().__init__(reason)
        self.refusal = refusal


class ReplyInvalid(InvalidInput):
    """The reply itself is wrong (unknown template, wrong parameters): the agent must change it."""


@dataclass(frozen=True)
class ConversationMessage:
    at: int
    direction: str  # "in" from the person, "out" from an agent
    kind: str
    text: str | None
    button: str | None
    media: dict[str, Any] | None
    template: str | None
    status: str | None
    expires_at: int


@dataclass(frozen=True)
class Window:
    """The service window: ``applies`` is False for a channel without one (free text needs only consent)."""

    applies: bool
    open: bool
    closes_at: int | None


@dataclass(frozen=True)
class ConversationSummary:
    subject: str
    last_activity: int
    last_inbound_at: int | None
    messages_in: int
    channel: str
    window_open: bool  # free text may go out now (always, on a channel without a service window)


@dataclass(frozen=True)
class DeskParts:
    """What the desk works with besides the store."""

    keyring: SubjectKeyring
    channel: Channel
    pseudonymizer: Pseudonymizer
    consents: ConsentService
    sealer: OutboxSealer


@dataclass(frozen=True)
class ReplyQueued:
    """A reply owed to the person: ``reply_id`` names it; ``new`` is False when it was queued before."""

    reply_id: str
    new: bool


def channel_of(state: SubjectState) -> str:
    """The channel a person is reached on (a pseudonym belongs to one channel)."""
    for record in state.consents.values():
        if record.channel:
            return record.channel
    return DEFAULT_CHANNEL


def window_of(channel: str, last_inbound_at: int | None, now: int) -> Window:
    """Whether free text may go out on ``channel`` now, and until when (None: the person never wrote)."""
    if not has_service_window(channel):
        return Window(applies=False, open=True, closes_at=None)
    closes_at = last_inbound_at + SERVICE_WINDOW_SECONDS if last_inbound_at is not None else None
    return Window(applies=True, open=closes_at is not None and now <= closes_at, closes_at=closes_at)


class AgentDesk:
    def __init__(self, store: Store, parts: DeskParts, clock: Clock, config: BusinessConfig) -> None:
        self._store = store
        self._keyring = parts.keyring
        self._channel = parts.channel
        self._pseudonymizer = parts.pseudonymizer
        self._consents = parts.consents
        self._sealer = parts.sealer
        self._clock = clock
        self._config = config
        self._texts = Texts(config)

    def conversations(
        self, limit: int, cursor: Mapping[str, Any] | None = None
    ) -> tuple[list[ConversationSummary], dict[str, Any] | None]:
        """Subjects by latest activity, newest first (raises BadCursor for a forged cursor).

        One state read per conversation shown: a person's channel decides whether a window applies.
        """
        rows, next_cursor = self._store.messages.recent_conversations(limit, cursor)
        now = int(self._clock())
        summaries = []
        for row in rows:
            channel = channel_of(self._store.subjects.state(row.subject))
            summaries.append(
                ConversationSummary(
                    subject=row.subject,
                    last_activity=row.last_activity,
                    last_inbound_at=row.last_inbound_at,
                    messages_in=row.messages_in,
                    channel=channel,
                    window_open=window_of(channel, row.last_inbound_at, now).open,
                )
            )
        return summaries, next_cursor

    def _open(self, subject: str, record: InboundRecord | OutboundRecord) -> dict[str, Any]:
        assert record.sealed is not None
        content: dict[str, Any] = json.loads(self._keyring.decrypt(subject, record.key.item_id, record.sealed))
        return content

    def conversation(self, subject: str) -> list[ConversationMessage]:
        """Both directions, oldest first, decrypted with the subject's key."""
        messages = [self._inbound(subject, record) for record in self._store.messages.inbound(subject)]
        for record in self._store.messages.outbound(subject):
            content = self._open(subject, record)
            messages.append(
                ConversationMessage(
                    at=record.sent_at,
                    direction="out",
                    kind=record.kind,
                    text=content.get("text"),
                    button=None,
                    media=None,
                    template=content.get("template"),
                    status=record.status or None,
                    expires_at=record.expires_at,
                )
            )
        return sorted(messages, key=lambda m: (m.at, m.direction))

    def _inbound(self, subject: str, record: InboundRecord) -> ConversationMessage:
        if record.retention_class == RetentionClass.SPECIAL_QUARANTINE.value:
            # health data without explicit consent: not shown until the person says yes
            content: dict[str, Any] = {}
            kind = "quarantined"
        else:
            content, kind = self._open(subject, record), record.kind
        return ConversationMessage(
            at=record.received_at,
            direction="in",
            kind=kind,
            text=content.get("text"),
            button=content.get("button"),
            media=content.get("media"),
            template=None,
            status=None,
            expires_at=record.expires_at,
        )

    def _covering(self, subject: str, purpose: str, why: str = "", refusal: str = "") -> ConsentRecord:
        """The active consent for ``purpose`` a reply goes under (as read), or ReplyRefused."""
        state = self._store.subjects.state(subject)
        if state.restricted:
            raise ReplyRefused(
                "processing of this person's data is restricted (Art. 18): it is only stored", "restricted"
            )
        record = state.consents.get(purpose)
        if record is None or record.state is not ConsentState.ACTIVE:
            withdrawn = record is not None and record.state is ConsentState.WITHDRAWN
            code = refusal or ("withdrawn" if withdrawn else "no_consent")
            raise ReplyRefused(f"no active consent for {purpose!r}{why}", code)
        return record

    def _last_inbound(self, subject: str) -> InboundRecord:
        messages = self._store.messages.inbound(subject)
        if not messages:
            raise ReplyRefused("the person has not written yet", "window_closed")
        return messages[-1]

    def _address(self, subject: str, covering: ConsentRecord, last: InboundRecord | None = None) -> str:
        """Where a reply goes: the number sealed with the covering consent, else the last message's sender."""
        if covering.address is not None:
            return self._keyring.decrypt(subject, ADDRESS_ID, covering.address).decode("utf-8")
        return str(self._open(subject, last or self._last_inbound(subject))["from"])

    def reply(self, subject: str, text: str, reply_id: str | None = None) -> ReplyQueued:
        """Owe ``text``; raises ReplyRefused without consent or outside the service window."""
        covering = self._covering(subject, self._config.conversation_purpose)
        last = self._last_inbound(subject)
        if has_service_window(covering.channel) and self._clock() - last.received_at > SERVICE_WINDOW_SECONDS:
            raise ReplyRefused(
                "outside WhatsApp's 24-hour window: only a configured template may be sent", "window_closed"
            )
        address = self._address(subject, covering, last)
        return self._queue(subject, address, Reply(text=text), "agent_reply", covering, reply_id)

    def reply_template(
        self, subject: str, name: str, parameters: Sequence[str], reply_id: str | None = None
    ) -> ReplyQueued:
        """Send a configured template (the only way to write outside the 24-hour window).

        Only under an active consent for the purpose its category needs (``config.template_purpose``):
        a marketing template never goes to someone who agreed to customer service only.
        """
        template = self._config.channels.whatsapp.template(name)
        if template is None:
            raise ReplyInvalid(f"template {name!r} is not configured")
        if len(parameters) != template.parameters:
            raise ReplyInvalid(f"template {name!r} takes {template.parameters} parameters")
        purpose = self._config.template_purpose(template)
        why = f": template {name!r} is a {template.category.lower()} template and needs it"
        covering = self._covering(subject, purpose, why, "purpose_not_consented")
        spec = CHANNELS.get(covering.channel or "whatsapp")
        if spec is None or not spec.has_templates:
            raise ReplyRefused("this person's channel has no templates: write a reply instead", "no_templates")
        address = self._address(subject, covering)
        code = template.languages[self._texts.language(covering.notice_language or None)]
        # a marketing template's stop button answers as a campaign's does: one tap stops marketing
        stop = (template.stop_button, MARKETING_STOP_BUTTON) if template.stop_button is not None else None
        reply = Reply(template=name, language=code, parameters=tuple(parameters), quick_reply=stop)
        return self._queue(subject, address, reply, "agent_template", covering, reply_id)

    def withdraw(self, subject: str, purposes: Sequence[str] | None, source: str = "admin") -> tuple[str, ...]:
        """Withdraw on the person's behalf (they asked by e-mail, phone, letter); returns what changed.

        A full withdrawal also puts the number on the block list, as STOP in the chat would: its
        keyed hash was kept with the consent when it was given.
        """
        unknown = sorted(set(purposes or ()) - set(self._config.purpose_ids))
        if unknown:
            raise ReplyInvalid(f"unknown purpose: {', '.join(unknown)}")
        suppression = None
        if purposes is None:  # remembered with the consent when it was given
            records = self._store.subjects.state(subject).consents.values()
            suppression = next((r.suppression_hash for r in records if r.suppression_hash), None)
        withdrawn = self._consents.withdraw(subject, source=source, purposes=purposes, suppression_hash=suppression)
        self._consents.settle_retention(subject)  # also completes an earlier run that was cut short
        return withdrawn

    def _queue(
        self, subject: str, address: str, reply: Reply, kind: str, covering: ConsentRecord, reply_id: str | None
    ) -> ReplyQueued:
        """Owe the reply under ``covering`` as read, once per ``reply_id`` (a new id when none is given)."""
        reply_id = reply_id or uuid.uuid4().hex
        message_hash = self._pseudonymizer.message("agent", f"{subject}:{reply_id}")
        owing = Owing(
            subject,
            covering.channel or self._channel.name,  # the channel the person consented on
            address,
            reply,
            kind,
            RetentionClass.CONVERSATION,
            (covering.purpose, covering.rev),
        )
        try:
            new = self._store.messages.queue_reply(self._sealer.seal(owing, message_hash, 0), covering)
        except Conflict:
            raise ReplyRefused("the consent changed a moment ago: read the conversation again", "withdrawn") from None
        return ReplyQueued(reply_id, new)
