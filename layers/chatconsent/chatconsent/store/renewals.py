"""Consent renewal as stored: the renewal index, the question asked, renewal and lapse.

Active consents carry a position in the sparse ``by_renewal`` index: when the renewal job must
next act on them (ask before the lapse, then lapse). Asking records the question and marks each
consent with the cycle it was asked about, conditioned on it not being marked yet, so a job run
twice asks once. A renewal and a lapse are each one transaction conditioned on the consent's
revision as read: whichever commits first wins, the other changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatconsent.consent_state import ConsentRecord, ConsentState, RenewalRequest
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.consents import LEAVE_RENEWAL, Transitions, activation_renewal, renewal_values, valid_until
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.records import LedgerAppend
from chatconsent.store.table import Operation

_ACTIVE_AT = "#state = :active AND #rev = :rev"


@dataclass(frozen=True)
class DueConsent:
    """An active consent the renewal job must act on now (as the index has it)."""

    subject: str
    purpose: str
    due_at: int


@dataclass(frozen=True)
class Asked:
    """A consent asked about: its cycle, and where the job finds it next (None: where it is)."""

    record: ConsentRecord
    cycle: str
    next_at: int | None = None


@dataclass(frozen=True)
class Renewed:
    """What a yes renews under: the notice the person answered to, and the proof."""

    request: RenewalRequest
    records: tuple[ConsentRecord, ...]
    proof: LedgerAppend
    message_hash: str
    owed: tuple[OwedMessage, ...] = ()  # the answer, written with the renewal


class Renewals(Transitions):
    def due(self, now: int, lookback_seconds: int, page_size: int = 100) -> list[DueConsent]:
        """Consents the job must act on by ``now``, from the renewal index's day partitions (never a Scan)."""
        t = self._t
        found: list[DueConsent] = []
        for partition in keys.renewal_partitions(now, lookback_seconds):
            start: dict[str, Any] | None = None
            while True:
                options: dict[str, Any] = {"Limit": page_size, **({"ExclusiveStartKey": start} if start else {})}
                items, start = t.query_index(
                    keys.RENEWAL_INDEX,
                    f"{keys.RENEWAL_SLOT} = :slot AND {keys.RENEWAL_AT} <= :now",
                    {":slot": partition, ":now": now},
                    **options,
                )
                for item in items:
                    key = keys.key_of(item)
                    if key.subject and key.sk.startswith(keys.CONSENT_PREFIX):
                        found.append(DueConsent(key.subject, keys.purpose_of(key.sk), int(item[keys.RENEWAL_AT])))
                if not start:
                    break
        return found

    def ask(
        self,
        subject: str,
        request: RenewalRequest,
        asked: Sequence[Asked],
        question: bool = True,
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """Record the question and mark each consent as asked for its cycle, atomically, with the
        question ``owed`` (without ``question`` only the marks: the person cannot be reached, the
        consent lapses unasked).

        Raises Conflict when a consent was asked about this cycle already, or changed since it was read.
        """
        t = self._t
        now = t.now()
        expires = min(a.record.expires_at for a in asked)
        item = t.item(
            keys.renewal_request(subject),
            {
                "nonce": request.nonce,
                "kind": request.kind,
                "purposes": dict(request.purposes),
                "cycle": request.cycle,
                "language": request.language,
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "asked_at": request.asked_at,
                "method": request.method,
            },
            RetentionClass.CONSENT_LEDGER,  # part of the consent it asks about: it ends with it
            max(expires, now + 1),
        )
        ops: list[Operation] = [("question", "Put", t.put(item))] if question else []
        for entry in asked:
            record = entry.record
            values: dict[str, Any] = {
                ":active": ConsentState.ACTIVE.value,
                ":rev": record.rev,
                ":asked": entry.cycle,
            }
            update = "SET renewal_asked = :asked"
            if entry.next_at is not None:
                update += ", renewal_slot = :rslot, renewal_at = :rat"
                values |= renewal_values(subject, entry.next_at, now)
            request_op = t.update(
                keys.consent(subject, record.purpose),
                update,
                values,
                _ACTIVE_AT + " AND (attribute_not_exists(renewal_asked) OR renewal_asked <> :asked)",
            )
            ops.append((f"consent:{record.purpose}", "Update", request_op))
        t.transact([*ops, *self._guards.owed_ops(owed, now)])

    def withdraw_question(self, subject: str, nonce: str) -> bool:
        """The question is answered (or withdrawn with its consents): take it back. False when gone."""
        return self._t.delete_item(self._t.delete(keys.renewal_request(subject), "nonce = :nonce", {":nonce": nonce}))

    def renew(self, subject: str, renewed: Renewed) -> None:
        """Yes: each asked consent stays active under the notice answered to, with a new validity, atomically.

        The reach record moves with it (same expiry, the revision and proof of the renewal). Raises
        Duplicate for an answer processed before, Conflict when a consent changed since it was read
        (withdrawn or lapsed first) or the question is no longer the one asked.
        """
        t = self._t
        now = t.now()
        request = renewed.request
        retention, lapses_at = valid_until(t, now)
        ops: list[Operation] = [
            (
                "question",
                "Delete",
                t.delete(keys.renewal_request(subject), "nonce = :nonce", {":nonce": request.nonce}),
            )
        ]
        for record in renewed.records:
            update = t.update(
                keys.consent(subject, record.purpose),
                "SET updated_at = :now, renewed_at = :now, notice_version = :nv, notice_language = :nl,"
                " notice_sha256 = :ns, renewal_slot = :rslot, renewal_at = :rat, #rev = #rev + :one"
                " REMOVE renewal_asked",
                {
                    ":active": ConsentState.ACTIVE.value,
                    ":rev": record.rev,
                    ":now": now,
                    ":nv": request.notice_version,
                    ":nl": request.language,
                    ":ns": request.notice_sha256,
                    ":one": 1,
                    **activation_renewal(t, subject, now),
                },
                _ACTIVE_AT,
                (retention, lapses_at),
            )
            ops.append((f"consent:{record.purpose}", "Update", update))
            if record.address is not None:
                proof_hash = next(
                    (e.entry_hash for e in renewed.proof.entries if e.purpose == record.purpose), record.proof_hash
                )
                reach = t.update(
                    keys.reach(subject, record.purpose),
                    "SET consent_rev = :next, proof_hash = :proof",
                    {":next": record.rev + 1, ":proof": proof_hash, ":rev": record.rev},
                    "consent_rev = :rev",
                    (RetentionClass.REACH, lapses_at),
                )
                ops.append((f"reach:{record.purpose}", "Update", reach))
        ops += self._ledger.append_ops(subject, renewed.proof, now)
        ops += self._guards.delivery_ops(renewed.message_hash, now, renewed.owed)
        t.transact(ops)

    def lapse(
        self, subject: str, records: Sequence[ConsentRecord], proof: LedgerAppend, question: str | None = None
    ) -> None:
        """active → lapsed for ``records`` (the validity ended without renewal), with the proof, atomically.

        Conditioned on each consent being active at the revision read, so a renewal that commits
        first makes this fail (Conflict) and the consent stays renewed. The reach record goes in the
        same transaction (campaigns skip the person), and an open question ``question`` (its nonce)
        with it. The record is kept as proof for the ledger period from the lapse.
        """
        t = self._t
        now = t.now()
        expires = t.expires_at(RetentionClass.CONSENT_LEDGER, now)
        ops: list[Operation] = []
        for record in records:
            update = t.update(
                keys.consent(subject, record.purpose),
                "SET #state = :lapsed, updated_at = :now, lapsed_at = :now, #rev = #rev + :one"
                + LEAVE_RENEWAL
                + ", renewal_asked",
                {":lapsed": ConsentState.LAPSED.value, ":active": ConsentState.ACTIVE.value, ":rev": record.rev}
                | {":now": now, ":one": 1},
                _ACTIVE_AT,
                (RetentionClass.CONSENT_LEDGER, expires),
            )
            ops.append((f"consent:{record.purpose}", "Update", update))
            ops.append((f"reach:{record.purpose}", "Delete", t.delete(keys.reach(subject, record.purpose))))
        if question is not None:
            delete = t.delete(keys.renewal_request(subject), "nonce = :nonce", {":nonce": question})
            ops.append(("question", "Delete", delete))
        ops += self._ledger.append_ops(subject, proof, now)
        t.transact(ops)
