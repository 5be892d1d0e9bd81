"""A subject's partition as a whole: the state read in one query, every item, erasure.

:meth:`Subjects.state` is what the inbound path reads about a person (consents, pending request,
ledger head, open questions, link) in a single query. :meth:`Subjects.items` and
:meth:`Subjects.erase` serve the person's rights (Art. 15 export, Art. 17 erasure) and know every
item that belongs to a subject, in its partition and outside it (requests, counters, data key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatconsent.consent_state import (
    ConsentRecord,
    ConsentState,
    PendingConfirmation,
    PendingLink,
    RenewalRequest,
    SpecialRequest,
    SubjectState,
)
from chatconsent.ledger import LedgerHead
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.guards import Guards
from chatconsent.store.keys import ItemKey
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.records import SubjectItem
from chatconsent.store.table import Conflict, Table

_HIDDEN = frozenset({keys.PARTITION, keys.EXPIRY_SHARD, "sealed", "address"})
_ERASURE_ROUNDS = 3


@dataclass
class _StateParts:
    consents: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # as stored, joined with reach
    pending: PendingConfirmation | None = None
    head: LedgerHead | None = None
    erasure: str | None = None
    link: PendingLink | None = None
    special: SpecialRequest | None = None
    renewal: RenewalRequest | None = None
    reach: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    restricted: bool = False


def consent_record(purpose: str, data: Mapping[str, Any], reach: Mapping[str, Any] | None) -> ConsentRecord:
    reach = reach if reach is not None and reach.get("consent_rev") == data["rev"] else {}
    return ConsentRecord(
        purpose=purpose,
        state=ConsentState(data["state"]),
        rev=data["rev"],
        request_id=data.get("request_id", ""),
        updated_at=data["updated_at"],
        expires_at=data["expires_at"],
        notice_version=data.get("notice_version", ""),
        notice_language=data.get("notice_language", ""),
        notice_sha256=data.get("notice_sha256", ""),
        channel=data.get("channel", ""),
        suppression_hash=data.get("suppression_hash", ""),
        address=bytes(reach["address"]) if reach.get("address") is not None else None,
        proof_hash=reach.get("proof_hash", ""),
        last_campaign=reach.get("last_campaign", ""),
        renewal_asked=data.get("renewal_asked", ""),
    )


def _pending(data: Mapping[str, Any]) -> PendingConfirmation:
    return PendingConfirmation(
        request_id=data["request_id"],
        code_hash=data["code_hash"],
        channel=data["channel"],
        purposes=tuple(data["purposes"]),
        language=data["language"],
        notice_version=data["notice_version"],
        notice_sha256=data["notice_sha256"],
        code_message=data["code_message"],
        bound_at=data["bound_at"],
        expires_at=data["expires_at"],
        requested_at=data.get("requested_at", 0),
        question_sha256=data.get("question_sha256", ""),
        age_confirmed=int(data.get("age_confirmed", 0)),
        widget_version=data.get("widget_version", ""),
    )


def _special(data: Mapping[str, Any]) -> SpecialRequest:
    return SpecialRequest(
        nonce=data["nonce"],
        purpose=data["purpose"],
        language=data["language"],
        notice_version=data["notice_version"],
        notice_sha256=data["notice_sha256"],
        asked_at=data["asked_at"],
    )


def renewal_request(data: Mapping[str, Any]) -> RenewalRequest:
    return RenewalRequest(
        nonce=data["nonce"],
        kind=data["kind"],
        purposes={str(p): int(rev) for p, rev in data["purposes"].items()},
        cycle=data["cycle"],
        language=data["language"],
        notice_version=data["notice_version"],
        notice_sha256=data["notice_sha256"],
        asked_at=data["asked_at"],
        method=data.get("method", "chat"),
    )


def _read_state_item(parts: _StateParts, kind: str | None, sk: str, data: Mapping[str, Any]) -> None:
    if kind == "ledger_head":
        parts.head = LedgerHead(data["ledger_id"], data["seq"], data["hash"], data.get("last_at", 0))
    elif kind == "consents":
        parts.consents[keys.purpose_of(sk)] = data
    elif kind == "reach":
        parts.reach[keys.reach_purpose_of(sk)] = data
    elif kind == "pending_request":
        parts.pending = _pending(data)
    elif kind == "erasure_request":
        parts.erasure = data["nonce"]
    elif kind == "special_category_request":
        parts.special = _special(data)
    elif kind == "renewal_request":
        parts.renewal = renewal_request(data)
    elif kind == "restriction":
        parts.restricted = True
    elif kind == "link_request":
        parts.link = PendingLink(data["request_id"], data["token_hash"], data["status"], data["expires_at"])


def _still_active(data: Mapping[str, Any]) -> bool:
    return str(data[keys.SORT]).startswith(keys.CONSENT_PREFIX) and data.get("state") == ConsentState.ACTIVE.value


@dataclass(frozen=True)
class ErasureCounts:
    """What an erasure deleted, per kind (no personal data), and whether the person had withdrawn."""

    counts: dict[str, int]
    had_withdrawn: bool


class Subjects:
    def __init__(self, table: Table, guards: Guards, data_keys: DataKeys) -> None:
        self._t = table
        self._guards = guards
        self._data_keys = data_keys

    def state(self, subject: str, lapsing: bool = False) -> SubjectState:
        """Consents, pending confirmation, ledger head and open questions of one subject, in one query.

        With ``lapsing`` an active consent past its validity that the purge has not reached yet is
        read too (the renewal job writes its lapse late rather than never).
        """
        now = self._t.clock()
        parts = _StateParts()
        for data in self._t.query(keys.subject_pk(subject), keys.STATE_PREFIX):
            if self._t.is_live(data, now) or (lapsing and _still_active(data)):
                sk = str(data[keys.SORT])
                _read_state_item(parts, keys.kind_of(sk), sk, data)
        consents = {p: consent_record(p, data, parts.reach.get(p)) for p, data in parts.consents.items()}
        return SubjectState(
            consents=consents,
            pending=parts.pending,
            ledger_head=parts.head,
            erasure_request=parts.erasure,
            link_request=parts.link,
            special_request=parts.special,
            renewal_request=parts.renewal,
            restricted=parts.restricted,
        )

    def items(self, subject: str) -> list[SubjectItem]:
        """Every item in the subject's partition, live or not yet purged."""
        return [
            SubjectItem(
                key=keys.key_of(data),
                kind=keys.kind_of(str(data[keys.SORT])),
                attributes={k: v for k, v in data.items() if k not in _HIDDEN},
                sealed=data.get("sealed"),
                expires_at=int(data.get("expires_at", 0)),
                address=bytes(data["address"]) if data.get("address") is not None else None,
            )
            for data in self._t.query(keys.subject_pk(subject))
        ]

    def exists(self, subject: str) -> bool:
        """Whether anything is stored in the subject's partition (live or not yet purged)."""
        return self._t.has_items(keys.subject_pk(subject))

    # -- erasure asked in the chat ---------------------------------------------------------------

    def request_erasure(self, subject: str, nonce: str, message_hash: str, owed: Sequence[OwedMessage] = ()) -> None:
        """The person asked for erasure in the chat (their yes must follow within the hour), with the
        asking message's delivery record and the question owed. Raises Duplicate for a message seen before."""
        t = self._t
        now = t.now()
        expires = t.expires_at(RetentionClass.PENDING_OPTIN_CHAT, now)
        item = t.item(
            keys.erasure_request(subject), {"nonce": nonce, "asked_at": now}, RetentionClass.PENDING_OPTIN_CHAT, expires
        )
        t.transact([("question", "Put", t.put(item)), *self._guards.delivery_ops(message_hash, now, owed)])

    def close_erasure(self, subject: str, message_hash: str, owed: Sequence[OwedMessage] = ()) -> None:
        """The erasure asked in the chat is done: its question goes, with the answer's delivery record.

        Raises Duplicate when the answer was processed before.
        """
        t = self._t
        ops = [
            ("question", "Delete", t.delete(keys.erasure_request(subject))),
            *self._guards.delivery_ops(message_hash, t.now(), owed),
        ]
        t.transact(ops)

    def cancel_erasure(self, subject: str, message_hash: str, owed: Sequence[OwedMessage] = ()) -> None:
        t = self._t
        t.transact(
            [
                ("erasure", "Delete", t.delete(keys.erasure_request(subject))),
                *self._guards.delivery_ops(message_hash, t.now(), owed),
            ]
        )

    # -- Art. 17 ---------------------------------------------------------------------------------

    def erase(self, subject: str, keep_question: bool = False) -> ErasureCounts:
        """Delete every item of the subject: its partition, the requests and counters naming it, its data key.

        The partition is emptied until nothing is left (a chat answer racing the erasure may write
        once more in between); the caller voids an open link first. With ``keep_question`` the
        erasure question asked in the chat stays: :meth:`close_erasure` deletes it last, with the
        answer's delivery record, so an erasure cut short runs again when the answer comes again.
        """
        counts: dict[str, int] = {}
        withdrew = False
        question = keys.erasure_request(subject)
        for _ in range(_ERASURE_ROUNDS):
            items = [i for i in self.items(subject) if not (keep_question and i.key == question)]
            if not items:
                break
            withdrew |= any(
                i.kind == "consents" and i.attributes.get("state") == ConsentState.WITHDRAWN.value for i in items
            )
            for item in items:
                counts[item.kind or "other"] = counts.get(item.kind or "other", 0) + 1
            self._t.delete_all([i.key for i in items] + self._linked_requests(items))
        counters = self._guards.subject_rate_counters(subject)
        self._t.delete_all([c.key for c in counters])
        counts["rate_counters"] = len(counters)
        self._data_keys.delete(subject)
        return ErasureCounts(counts, withdrew)

    @staticmethod
    def _linked_requests(items: list[SubjectItem]) -> list[ItemKey]:
        """Requests that still name the subject: a pending chat request, a link sent to them, an access link."""
        found = [keys.optin(i.attributes["code_hash"]) for i in items if i.kind == "pending_request"]
        found += [keys.access_link(i.attributes["token_hash"]) for i in items if i.kind == "access_link"]
        return found + [keys.optin(i.attributes["token_hash"]) for i in items if i.kind == "link_request"]

    def record_erasure(self, subject: str, erasure_id: str, counts: Mapping[str, int]) -> bool:
        """After the erasure: a receipt without personal data and the tombstone a restore replays.

        The receipt holds when and how many items of which kind were erased; the tombstone (its
        own class, kept as long as a backup can be restored) only the pseudonym, the time and the
        erasure id, outside the subject's partition so that no erasure deletes it and no export
        shows it. Both in one transaction, once per ``erasure_id``: an erasure run again under the
        same id keeps the first pair (False).
        """
        t = self._t
        now = t.now()
        receipt = t.item(
            keys.receipt(keys.utc_day(now), erasure_id, "erasure"),
            {"erased_at": now, "counts": dict(counts)},
            RetentionClass.PURGE_RECEIPT,
            t.expires_at(RetentionClass.PURGE_RECEIPT, now),
        )
        tombstone = t.item(
            keys.tombstone(now, subject),
            {"subject": subject, "erased_at": now, "erasure_id": erasure_id},
            RetentionClass.ERASURE_TOMBSTONE,
            t.expires_at(RetentionClass.ERASURE_TOMBSTONE, now),
        )
        try:
            t.transact(
                [("receipt", "Put", t.put(receipt, "attribute_not_exists(PK)")), ("tombstone", "Put", t.put(tombstone))]
            )
        except Conflict as conflict:
            if "receipt" in conflict.failed:
                return False
            raise
        return True
