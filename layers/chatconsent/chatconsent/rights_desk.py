"""The rights desk: requests under Art. 15-22 that reach the business by e-mail or post.

The officer gives the person's number (any notation: it is normalised to E.164 as the opt-in does)
and the desk finds the subject by its pseudonym. Each request is registered with its type, the date
it arrived, the officer's note on how the person's identity was checked, and the Art. 12(3)
deadline: one month after arrival (to the same date of the following month, or that month's last
day), extendable once, before it passes, by up to two further months with a reason. The free texts
(identity check, reasons) are personal data: sealed under the KMS key, bound to the request, shown
only in the request's own view, never logged, never in the audit trail. They are not sealed with the
person's data key on purpose: an erasure the request asks for must not destroy its proof.

An accepted restriction (Art. 18) marks the subject: their messages are stored as the consent
allows, and nothing else happens (no reply in the chat, no campaign, no agent's reply) until the
officer lifts it.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, ChannelName
from chatconsent.errors import InvalidInput, NotAllowed, NotFound
from chatconsent.identity import InvalidIdentifier, Pseudonymizer, normalize_phone
from chatconsent.sealing import Sealer, SealPurpose
from chatconsent.store import RightsRequest, Store

_PHONE_CHARACTERS = re.compile(r"[0-9 +\-().]+")
MAX_LATE_REGISTRATION = timedelta(days=366)  # a request registered later than this is a typo


class RequestType(StrEnum):
    ACCESS = "access"  # Art. 15
    ERASURE = "erasure"  # Art. 17
    RECTIFICATION = "rectification"  # Art. 16
    RESTRICTION = "restriction"  # Art. 18
    OBJECTION = "objection"  # Art. 21


class Closing(StrEnum):
    DONE = "done"
    REFUSED = "refused"  # with the reason given to the person (Art. 12(4))


@dataclass(frozen=True)
class RightsAsk:
    request_type: RequestType
    address: str  # the number as the person wrote it
    channel: ChannelName
    received_on: date
    identity_check: str  # the officer's note: how the person's identity was checked
    actor: str  # who registers it (the IAM principal)


@dataclass(frozen=True)
class RightsCase:
    """A request with its sealed texts opened (for the request's own view only)."""

    request: RightsRequest
    identity_check: str | None = None
    extension_reason: str | None = None
    closing_reason: str | None = None
    known: bool | None = None  # at registration: whether anything is stored about the subject


def add_months(day: date, months: int) -> date:
    """The same date ``months`` later, or that month's last day (Regulation 1182/71, Art. 3(2)(c))."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def end_of(day: date) -> int:
    """The first second after ``day`` (UTC): a deadline on ``day`` is overdue from then on."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86_400


class RightsDesk:
    def __init__(
        self, store: Store, pseudonymizer: Pseudonymizer, sealer: Sealer, config: BusinessConfig, clock: Clock
    ) -> None:
        self._store = store
        self._pseudonymizer = pseudonymizer
        self._sealer = sealer
        self._config = config
        self._clock = clock

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    def subject_of(self, channel: ChannelName, address: str) -> str:
        """The subject's pseudonym from a number in any notation; InvalidInput for anything else."""
        if not _PHONE_CHARACTERS.fullmatch(address):
            raise InvalidInput("address: only digits, spaces and + - ( ) . are allowed")
        region = getattr(self._config.channels, channel).link_confirmation.allowed_countries[0]
        try:
            number = normalize_phone(address, region)
        except InvalidIdentifier:
            raise InvalidInput("address: not a valid phone number (international form, e.g. +49 151 2345678)") from None
        return self._pseudonymizer.subject(channel, number)

    def _seal(self, request_id: str, field: str, text: str) -> bytes:
        return self._sealer.seal(SealPurpose.RIGHTS_NOTE, f"{request_id}#{field}", text.encode("utf-8"))

    def _open(self, request_id: str, field: str, sealed: bytes | None) -> str | None:
        if not sealed:
            return None
        return self._sealer.open(SealPurpose.RIGHTS_NOTE, f"{request_id}#{field}", sealed).decode("utf-8")

    def register(self, ask: RightsAsk) -> RightsCase:
        subject = self.subject_of(ask.channel, ask.address)
        today = self._today()
        if ask.received_on > today:
            raise InvalidInput("received_on: the arrival date cannot be in the future")
        if today - ask.received_on > MAX_LATE_REGISTRATION:
            raise InvalidInput("received_on: more than a year ago; check the date")
        request_id = str(uuid.uuid4())
        due, latest = add_months(ask.received_on, 1), add_months(ask.received_on, 3)
        request = RightsRequest(
            request_id=request_id,
            request_type=ask.request_type.value,
            subject=subject,
            channel=ask.channel,
            received_on=ask.received_on.isoformat(),
            due_on=due.isoformat(),
            due_at=end_of(due),
            latest_on=latest.isoformat(),
            status="open",
            registered_at=int(self._clock()),
            registered_by=ask.actor,
            note=self._seal(request_id, "identity_check", ask.identity_check),
        )
        self._store.rights.register(request, end_of(latest))
        return RightsCase(request, ask.identity_check, known=self._store.subjects.exists(subject))

    def case(self, request_id: str) -> RightsCase:
        request = self._store.rights.get(request_id)
        if request is None:
            raise NotFound("no such rights request")
        return RightsCase(
            request,
            self._open(request_id, "identity_check", request.note),
            self._open(request_id, "extension", request.extension_reason),
            self._open(request_id, "closing", request.closing_reason),
        )

    def open_requests(self, limit: int) -> list[RightsRequest]:
        return self._store.rights.open_requests(limit)

    def overdue(self) -> int:
        return self._store.rights.overdue(int(self._clock()))

    def extend(self, request_id: str, until: date, reason: str) -> RightsCase:
        """Once, before the deadline passes, to at most two further months (checked in the write)."""
        sealed = self._seal(request_id, "extension", reason)
        if not self._store.rights.extend(request_id, until.isoformat(), end_of(until), sealed, int(self._clock())):
            raise self._why_not_extended(request_id, until)
        return self.case(request_id)

    def _why_not_extended(self, request_id: str, until: date) -> Exception:
        request = self._store.rights.get(request_id)
        if request is None:
            return NotFound("no such rights request")
        if request.status == "extended":
            return NotAllowed("the deadline was extended once already (Art. 12(3) allows one extension)")
        if request.status != "open":
            return NotAllowed(f"the request is closed ({request.status})")
        if end_of(until) > end_of(date.fromisoformat(request.latest_on)):
            return InvalidInput(f"until: at most two further months, i.e. {request.latest_on} at the latest")
        if end_of(until) <= request.due_at:
            return InvalidInput(f"until: must be later than the current deadline {request.due_on}")
        return NotAllowed("the deadline has passed: an extension must be decided and told within the first month")

    def close(self, request_id: str, outcome: Closing, reason: str | None) -> RightsCase:
        if outcome is Closing.REFUSED and not reason:
            raise InvalidInput("reason: a refusal needs the reason given to the person (Art. 12(4))")
        sealed = self._seal(request_id, "closing", reason) if reason else None
        if not self._store.rights.close(request_id, outcome.value, sealed):
            raise self._why_not_open(request_id)
        return self.case(request_id)

    def _why_not_open(self, request_id: str, expected: RequestType | None = None) -> Exception:
        request = self._store.rights.get(request_id)
        if request is None:
            return NotFound("no such rights request")
        if expected is not None and request.request_type != expected.value:
            return NotAllowed(f"not a {expected.value} request ({request.request_type})")
        return NotAllowed(f"the request is closed already ({request.status})")

    def restrict(self, request_id: str) -> RightsCase:
        """Accept a restriction request: the subject is marked restricted and the request done, together."""
        request = self._store.rights.get(request_id)
        if request is None:
            raise NotFound("no such rights request")
        if not self._store.rights.restrict(request_id, request.subject):
            raise self._why_not_open(request_id, RequestType.RESTRICTION)
        return self.case(request_id)

    def lift(self, subject: str) -> None:
        """The restriction ends (Art. 18(3): tell the person before); NotFound when there was none."""
        if not self._store.rights.lift(subject):
            raise NotFound("this subject's processing is not restricted")
