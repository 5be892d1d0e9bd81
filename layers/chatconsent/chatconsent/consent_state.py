"""The consent state machine per subject and purpose.

``none → pending → active → withdrawn``; ``pending → expired`` when the request is not confirmed
in time, and ``pending → none`` when the person declines. ``active → lapsed`` when the validity
ends without renewal (``active → active`` with a new validity when the person renews). Each
transition is one conditional write in ``store.consents`` (bind, activate, decline, withdraw), so
two webhooks racing each other cannot both win; an expired record is invisible to every read,
which is how ``expired`` shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from chatconsent.ledger import LedgerHead


class ConsentState(StrEnum):
    NONE = "none"
    PENDING = "pending"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    LAPSED = "lapsed"  # the validity ended without renewal


@dataclass(frozen=True)
class ConsentRecord:
    purpose: str
    state: ConsentState
    rev: int
    request_id: str
    updated_at: int
    expires_at: int
    notice_version: str = ""
    notice_language: str = ""
    notice_sha256: str = ""
    channel: str = ""
    suppression_hash: str = ""  # the number's block-list key, for a withdrawal that does not come from it
    # Where the person can be written to first, sealed with their data key (see ``keys.ADDRESS_ID``);
    # kept only while this consent is active.
    address: bytes | None = field(default=None, repr=False)
    proof_hash: str = ""  # the ledger entry that recorded this consent being given
    last_campaign: str = ""  # the campaign that last wrote under it (for "withdrawn after")
    renewal_asked: str = ""  # the cycle the person was last asked about (see ``RenewalRequest.cycle``)


@dataclass(frozen=True)
class PendingConfirmation:
    """A request bound to the person who sent its code, awaiting their yes or no."""

    request_id: str
    code_hash: str
    channel: str
    purposes: tuple[str, ...]
    language: str
    notice_version: str
    notice_sha256: str
    code_message: str
    bound_at: int
    expires_at: int
    requested_at: int = 0  # when the widget's form asked for the code (kept in the proof after the request goes)
    question_sha256: str = ""  # the exact yes/no question the person answers
    age_confirmed: int = 0  # the minimum age confirmed in the widget's form (0: not asked)
    widget_version: str = ""  # the version of the widget that sent the request ("": not given)


@dataclass(frozen=True)
class PendingLink:
    """A confirmation link sent to the subject (business-started opt-in), by its token's hash."""

    request_id: str
    token_hash: str
    status: str  # pending, confirmed, declined, withdrawn
    expires_at: int


@dataclass(frozen=True)
class SpecialRequest:
    """Explicit consent (Art. 9) asked in the chat for a quarantined message, awaiting the answer."""

    nonce: str
    purpose: str
    language: str
    notice_version: str
    notice_sha256: str
    asked_at: int


@dataclass(frozen=True)
class RenewalRequest:
    """A renewal (before the lapse) or re-confirmation (after a material notice change) asked, awaiting yes/no.

    ``purposes`` maps each purpose asked about to the consent revision it was asked at; ``cycle``
    names what was asked (``lapse:<validity end>`` or ``notice:<version>``), once per consent.
    """

    nonce: str
    kind: str  # "renewal" or "reconfirm"
    purposes: dict[str, int]
    cycle: str
    language: str
    notice_version: str
    notice_sha256: str
    asked_at: int
    method: str  # "chat" (in the service window) or "template"


@dataclass(frozen=True)
class SubjectState:
    """Everything the inbound path needs about one subject, read in a single query."""

    consents: dict[str, ConsentRecord] = field(default_factory=dict)
    pending: PendingConfirmation | None = None
    ledger_head: LedgerHead | None = None
    erasure_request: str | None = None  # nonce of an erasure awaiting the person's yes
    link_request: PendingLink | None = None
    special_request: SpecialRequest | None = None
    renewal_request: RenewalRequest | None = None
    restricted: bool = False  # Art. 18: nothing but storage (no replies, no sends)

    @property
    def open_link(self) -> PendingLink | None:
        """The confirmation link that still works, if any."""
        link = self.link_request
        return link if link is not None and link.status == "pending" else None

    def state_of(self, purpose: str) -> ConsentState:
        record = self.consents.get(purpose)
        return record.state if record else ConsentState.NONE

    @property
    def active_purposes(self) -> tuple[str, ...]:
        return tuple(p for p, r in self.consents.items() if r.state is ConsentState.ACTIVE)

    @property
    def is_known(self) -> bool:
        return bool(self.active_purposes) or self.pending is not None
