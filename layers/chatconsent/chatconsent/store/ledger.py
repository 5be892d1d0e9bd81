"""The consent ledger as stored: entries under their own partition, the head in the subject's.

Appending is always part of a consent transition (:mod:`chatconsent.store.consents`): the head
moves conditioned on the sequence number read, so two appends racing each other cannot both win.
"""

from __future__ import annotations

from chatconsent.ledger import LedgerEntry, LedgerEvent
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.records import LedgerAppend
from chatconsent.store.table import Operation, Table


class Ledger:
    def __init__(self, table: Table) -> None:
        self._t = table

    def append_ops(self, subject: str, append: LedgerAppend, now: int) -> list[Operation]:
        t = self._t
        head, new_head = append.head, append.new_head
        expires = t.plan.consent_record_expires_at(now)
        ops: list[Operation] = [
            (
                "ledger_head",
                "Update",
                t.update(
                    keys.ledger_head(subject),
                    "SET ledger_id = :lid, #seq = :seq, #hash = :hash, last_at = :at",
                    {
                        ":lid": new_head.ledger_id,
                        ":seq": new_head.seq,
                        ":hash": new_head.hash,
                        ":at": new_head.at,
                        **({":prev": head.seq} if head else {":now": now}),
                    },
                    # A head past its retention is gone for every read: a new chain may replace it.
                    "#seq = :prev" if head else "attribute_not_exists(#seq) OR #exp <= :now",
                    (RetentionClass.CONSENT_LEDGER, expires),
                ),
            )
        ]
        for entry in append.entries:
            item = t.item(
                keys.ledger_entry(entry.ledger_id, entry.seq),
                {**entry.body(), "entry_hash": entry.entry_hash},
                RetentionClass.CONSENT_LEDGER,
                expires,
            )
            ops.append((f"ledger:{entry.seq}", "Put", t.put(item, "attribute_not_exists(PK)")))
        return ops

    def entries(self, ledger_id: str) -> list[LedgerEntry]:
        """The live entries of one ledger, in order."""
        now = self._t.clock()
        return [
            LedgerEntry(
                ledger_id=data["ledger_id"],
                seq=data["seq"],
                at=data["at"],
                event=LedgerEvent(data["event"]),
                purpose=data["purpose"],
                legal_basis=data["legal_basis"],
                notice_version=data["notice_version"],
                notice_language=data["notice_language"],
                notice_sha256=data["notice_sha256"],
                channel=data["channel"],
                request_id=data["request_id"],
                evidence=dict(data.get("evidence", {})),
                prev_hash=data["prev_hash"],
                prev_at=data.get("prev_at", 0),
                entry_hash=data["entry_hash"],
            )
            for data in self._t.query(keys.ledger_pk(ledger_id), keys.LEDGER_ENTRY_PREFIX)
            if self._t.is_live(data, now)
        ]
