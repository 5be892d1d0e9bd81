"""What the store returns and takes besides the consent state: typed records, never raw items."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatconsent.consent_state import ConsentRecord, PendingConfirmation, PendingLink, SpecialRequest
from chatconsent.ledger import LedgerEntry, LedgerHead
from chatconsent.store.keys import ItemKey
from chatconsent.store.outbox import OwedMessage


@dataclass(frozen=True)
class OptInRequest:
    request_id: str
    code_hash: str
    flow: str
    channel: str
    language: str
    purposes: tuple[str, ...]
    notice_version: str
    notice_sha256: str
    status: str
    created_at: int
    expires_at: int
    subject: str = ""
    sent_message: str = ""  # keyed hash of the provider's id of the message that carried the link
    suppression_hash: str = ""  # link flow: the number's block-list key, checked again on the click
    address: bytes | None = field(default=None, repr=False)  # link flow: the number, sealed, once the link is sent
    age_confirmed: int = 0  # the minimum age the person confirmed in the form (0: not asked)
    widget_version: str = ""  # the version of the widget that sent the request ("": not given)


@dataclass(frozen=True)
class LedgerAppend:
    """Entries to append to a subject's ledger: the head as read, the new head, the entries."""

    head: LedgerHead | None
    new_head: LedgerHead
    entries: tuple[LedgerEntry, ...]


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal, written atomically: the records to withdraw and what goes with them.

    ``proof`` appends the withdrawal to the ledger (absent when only pending requests change);
    ``clear_pending`` deletes the subject's pending request (and detaches the request item from
    the subject when ``detach_request``); ``void_link`` closes a link awaiting a click;
    ``close_special`` withdraws an open Art. 9 question; ``suppression_hash`` puts the number on
    the block list; ``message_hash`` records the delivery that carried the withdrawal, ``owed`` its answer.
    """

    subject: str
    records: tuple[ConsentRecord, ...]
    proof: LedgerAppend | None = None
    message_hash: str | None = None
    clear_pending: PendingConfirmation | None = None
    detach_request: bool = True
    void_link: PendingLink | None = None
    close_special: SpecialRequest | None = None
    suppression_hash: str | None = None
    owed: tuple[OwedMessage, ...] = ()  # the answers owed with ``message_hash`` (the confirmation)


@dataclass(frozen=True)
class InboundRecord:
    """An inbound message as stored: sealed content bound to ``key.item_id``."""

    key: ItemKey
    kind: str
    received_at: int
    sealed: bytes
    retention_class: str
    expires_at: int
    sensitive: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutboundRecord:
    """An outbound message: its delivery status and, for agents' replies, the sealed content."""

    key: ItemKey
    kind: str
    status: str
    sent_at: int
    expires_at: int
    sealed: bytes | None = None


@dataclass(frozen=True)
class ConversationRow:
    """One line of the conversation list."""

    subject: str
    last_activity: int
    last_inbound_at: int | None
    messages_in: int


@dataclass(frozen=True)
class AuditRecord:
    at: int
    actor: str
    action: str
    subject_ref: str | None
    status: int


@dataclass(frozen=True)
class SubjectItem:
    """Any item in a subject's partition, for the export and the erasure.

    ``kind`` is its export section (None for a kind the store does not know); ``attributes``
    are what is stored, without the key layout's internals; ``sealed`` the encrypted content.
    """

    key: ItemKey
    kind: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    sealed: bytes | None = None
    expires_at: int = 0
    address: bytes | None = field(default=None, repr=False)  # a reach record's sealed address


@dataclass(frozen=True)
class ExpiredItem:
    key: ItemKey
    retention_class: str
    expires_at: int

    @property
    def subject(self) -> str | None:
        return self.key.subject


@dataclass(frozen=True)
class RightsRequest:
    """One entry of the register of rights requests; the free-text fields stay sealed here."""

    request_id: str
    request_type: str  # access, erasure, rectification, restriction, objection
    subject: str
    channel: str
    received_on: str  # the arrival date (ISO), as the officer registered it
    due_on: str  # the Art. 12(3) deadline: one month after arrival, or the extended one
    due_at: int  # the first second after the deadline day (UTC): overdue from then on
    latest_on: str  # the furthest an extension may go: two further months
    status: str  # open, extended, done, refused
    registered_at: int
    registered_by: str
    note: bytes = field(repr=False)  # the identity-check note, sealed
    extended_at: int | None = None
    extension_reason: bytes | None = field(default=None, repr=False)  # sealed
    closed_at: int | None = None
    closing_reason: bytes | None = field(default=None, repr=False)  # sealed (required for a refusal)
    expires_at: int = 0


@dataclass(frozen=True)
class Tombstone:
    """An erasure, as a restore must replay it: whose pseudonym, when, under which erasure id."""

    subject: str
    erased_at: int
    erasure_id: str
