"""The agents' desk in the browser: what an agent or a privacy officer sees of a person, and may do.

Built on the agents' service (:mod:`chatconsent.agents`: the conversation, replies only under
consent, withdrawal on the person's behalf) and the rights (:mod:`chatconsent.rights`: export and
erasure). What the desk adds is the view: per conversation the purposes and their state, whether
the channel's service window is open and until when, whether the person is waiting for an answer,
what a reply may be right now (free text or which templates, and why not), and a short alias per
person instead of the number.

The alias (``K7F-2QX``) is derived from the pseudonym with a key of its own
(:meth:`chatconsent.identity.Pseudonymizer.desk_alias`): it holds no digit of the number, cannot be
joined with any other keyed hash, and is the same on every page and every day. It is a label, not a
key: every route still addresses the person by the pseudonym, and the erasure asks for the alias
typed as its confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatconsent.agents import AgentDesk, ConversationMessage, ReplyInvalid, Window, channel_of, window_of
from chatconsent.channels.registry import CHANNELS
from chatconsent.clock import Clock
from chatconsent.config import LANGUAGES, BusinessConfig, Template
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import ConsentRecord, ConsentState, SubjectState
from chatconsent.errors import Gone, InvalidInput, NotFound
from chatconsent.identity import Pseudonymizer
from chatconsent.notices import NoticeRegistry, UnknownNotice
from chatconsent.retention import RetentionClass
from chatconsent.rights import SubjectRights
from chatconsent.store import Store
from chatconsent.texts import Texts, catalogue

_DELIVERY = {"accepted": "sent", "sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


@dataclass(frozen=True)
class InboxEntry:
    subject: str
    alias: str
    channel: str
    last_activity: int
    last_inbound_at: int | None
    unanswered: bool  # the person wrote last
    purposes: dict[str, str]
    window: Window


@dataclass(frozen=True)
class TemplateOption:
    name: str
    language: str
    category: str
    purpose: str
    parameters: int
    allowed: bool
    refusal: str | None


@dataclass(frozen=True)
class ReplyOptions:
    text_allowed: bool
    refusal: str | None  # no_consent, window_closed, withdrawn or restricted
    templates: tuple[TemplateOption, ...]


@dataclass(frozen=True)
class DeskMessage:
    at: int
    direction: str
    kind: str
    text: str | None
    media: dict[str, Any] | None
    template: str | None
    status: str | None
    hidden: str | None  # "special_category": quarantined until the person gives explicit consent


@dataclass(frozen=True)
class DeskConversation:
    subject: str
    alias: str
    channel: str
    purposes: dict[str, str]
    window: Window
    messages: tuple[DeskMessage, ...]
    reply: ReplyOptions


@dataclass(frozen=True)
class ProofEntry:
    seq: int
    at: int
    event: str
    purpose: str
    notice_version: str
    source: str
    hash: str


@dataclass(frozen=True)
class NoticeText:
    version: str
    language: str
    text: str


@dataclass(frozen=True)
class DeskProof:
    subject: str
    alias: str
    purposes: dict[str, str]
    verified: bool
    entries: tuple[ProofEntry, ...]
    notices: tuple[NoticeText, ...]


@dataclass(frozen=True)
class DeskParts:
    """What the desk works with besides the store."""

    agents: AgentDesk
    rights: SubjectRights
    consents: ConsentService
    notices: NoticeRegistry
    pseudonymizer: Pseudonymizer


def interface_texts(prefix: str = "desk.") -> dict[str, dict[str, str]]:
    """The desk page's texts from the catalogue (keys ``desk.*``), per language."""
    texts: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for key, localized in catalogue().texts.items():
        if key.startswith(prefix):
            for language, text in localized.items():
                texts[language][key] = text
    return texts


def _states(state: SubjectState) -> dict[str, str]:
    return {purpose: record.state.value for purpose, record in sorted(state.consents.items())}


class Desk:
    def __init__(self, store: Store, parts: DeskParts, config: BusinessConfig, clock: Clock) -> None:
        self._store = store
        self._agents = parts.agents
        self._rights = parts.rights
        self._consents = parts.consents
        self._notices = parts.notices
        self._pseudonymizer = parts.pseudonymizer
        self._config = config
        self._clock = clock
        self._texts = Texts(config)

    def alias(self, subject: str) -> str:
        return self._pseudonymizer.desk_alias(subject)

    # -- who is there --------------------------------------------------------------------------------

    def require_known(self, subject: str) -> None:
        """NotFound for a pseudonym nobody has; Gone for a person erased (while the erasure's tombstone lasts)."""
        if self._store.subjects.exists(subject):
            return
        period = int(self._store.plan.period(RetentionClass.ERASURE_TOMBSTONE).total_seconds())
        erased = self._store.restore.tombstones_since(int(self._clock()) - period)
        if any(tombstone.subject == subject for tombstone in erased):
            raise Gone("this person's data was erased")
        raise NotFound("no such person")

    # -- the inbox -----------------------------------------------------------------------------------

    def inbox(
        self, limit: int, cursor: Mapping[str, Any] | None = None
    ) -> tuple[list[InboxEntry], dict[str, Any] | None]:
        """Conversations by latest activity, newest first (one state read per conversation shown)."""
        rows, next_cursor = self._store.messages.recent_conversations(limit, cursor)
        now = int(self._clock())
        entries = []
        for row in rows:
            state = self._store.subjects.state(row.subject)
            channel = channel_of(state)
            entries.append(
                InboxEntry(
                    subject=row.subject,
                    alias=self.alias(row.subject),
                    channel=channel,
                    last_activity=row.last_activity,
                    last_inbound_at=row.last_inbound_at,
                    unanswered=row.last_inbound_at is not None and row.last_inbound_at >= row.last_activity,
                    purposes=_states(state),
                    window=window_of(channel, row.last_inbound_at, now),
                )
            )
        return entries, next_cursor

    # -- one conversation ----------------------------------------------------------------------------

    def conversation(self, subject: str) -> DeskConversation:
        self.require_known(subject)
        state = self._store.subjects.state(subject)
        messages = self._agents.conversation(subject)
        # the window opens with the person's last message kept, as the reply itself reckons it
        last_inbound = max((m.at for m in messages if m.direction == "in"), default=None)
        channel = channel_of(state)
        window = window_of(channel, last_inbound, int(self._clock()))
        return DeskConversation(
            subject=subject,
            alias=self.alias(subject),
            channel=channel,
            purposes=_states(state),
            window=window,
            messages=tuple(self._message(m) for m in messages),
            reply=self.reply_options(state, window),
        )

    @staticmethod
    def _message(message: ConversationMessage) -> DeskMessage:
        hidden = message.kind == "quarantined"
        return DeskMessage(
            at=message.at,
            direction=message.direction,
            kind=message.kind,
            text=None if hidden else message.text,
            media=None if hidden else message.media,
            template=message.template,
            status=_DELIVERY.get(message.status or "") if message.direction == "out" else None,
            hidden="special_category" if hidden else None,
        )

    def reply_options(self, state: SubjectState, window: Window) -> ReplyOptions:
        """What a reply may be now, by the same rules the reply itself is checked against."""
        record = state.consents.get(self._config.conversation_purpose)
        refusal: str | None = None
        if state.restricted:
            refusal = "restricted"
        elif record is None or record.state is not ConsentState.ACTIVE:
            refusal = "withdrawn" if record is not None and record.state is ConsentState.WITHDRAWN else "no_consent"
        elif window.applies and not window.open:
            refusal = "window_closed"
        spec = CHANNELS.get(channel_of(state))
        offered = self._config.channels.whatsapp.templates if spec is not None and spec.has_templates else ()
        templates = tuple(self._template_option(template, state, record) for template in offered)
        return ReplyOptions(text_allowed=refusal is None, refusal=refusal, templates=templates)

    def _template_option(
        self, template: Template, state: SubjectState, conversation: ConsentRecord | None
    ) -> TemplateOption:
        purpose = self._config.template_purpose(template)
        covering = state.consents.get(purpose)
        active = covering is not None and covering.state is ConsentState.ACTIVE
        refusal = "restricted" if state.restricted else (None if active else "purpose_not_consented")
        given_in = covering or conversation  # the template goes out in the language the person chose
        language = self._texts.language(given_in.notice_language or None if given_in is not None else None)
        return TemplateOption(
            name=template.name,
            language=template.languages[language],
            category=template.category,
            purpose=purpose,
            parameters=template.parameters,
            allowed=refusal is None,
            refusal=refusal,
        )

    # -- acting on the person's behalf ---------------------------------------------------------------

    def withdraw(self, subject: str, purposes: Sequence[str] | None) -> list[str]:
        """Withdraw the given purposes (None: all, and the number goes on the block list); returns what changed."""
        self.require_known(subject)
        unknown = sorted(set(purposes or ()) - set(self._config.purpose_ids))
        if unknown:
            raise ReplyInvalid(f"unknown purpose: {', '.join(unknown)}")
        changed = self._agents.withdraw(subject, purposes, source="desk")
        return [purpose for purpose in changed if purpose in self._config.purpose_ids]

    # -- the privacy officer's view ------------------------------------------------------------------

    def proof(self, subject: str) -> DeskProof:
        """The ledger of the person's consents, whether it verifies, and the notice texts it refers to."""
        self.require_known(subject)
        proof = self._consents.proof(subject)
        entries = tuple(
            ProofEntry(
                seq=e.seq,
                at=e.at,
                event=e.event.value,
                purpose=e.purpose,
                notice_version=e.notice_version,
                source=str(e.evidence.get("source") or e.channel),
                hash=e.entry_hash,
            )
            for e in proof.entries
        )
        notices: dict[tuple[str, str], NoticeText] = {}
        for e in proof.entries:
            try:
                notice = self._notices.get(e.notice_language, e.notice_version)
            except UnknownNotice:
                continue
            notices.setdefault(
                (notice.version, notice.language), NoticeText(notice.version, notice.language, notice.text)
            )
        state = self._store.subjects.state(subject)
        return DeskProof(
            subject=subject,
            alias=self.alias(subject),
            purposes=_states(state),
            verified=proof.verification.ok,
            entries=entries,
            notices=tuple(notices.values()),
        )

    def export(self, subject: str) -> dict[str, Any]:
        """The Art. 15 copy, as the admin API and the person's own download give it."""
        self.require_known(subject)
        return self._rights.export(subject)

    def erase(self, subject: str, confirmation: str) -> dict[str, int]:
        """Art. 17, once the officer typed the person's alias; a person who had withdrawn stays blocked."""
        self.require_known(subject)
        if confirmation.strip().upper() != self.alias(subject):
            raise InvalidInput("confirm: type the person's alias to erase their data")
        records = self._store.subjects.state(subject).consents.values()
        suppression = next((r.suppression_hash for r in records if r.suppression_hash), None)
        return self._rights.erase(subject, suppression_hash=suppression)
