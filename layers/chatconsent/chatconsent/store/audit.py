"""The admin audit trail: every admin action (who, what, when, outcome), one partition per UTC day;
also each download of a person's copy through the link DATA gave them (actor ``data_subject``).

The subject appears only as a separately keyed hash, never as the pseudonym.
"""

from __future__ import annotations

import uuid

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.records import AuditRecord
from chatconsent.store.table import Operation, Table


class AuditTrail:
    def __init__(self, table: Table) -> None:
        self._t = table

    def record(self, actor: str, action: str, subject_ref: str | None, status: int) -> None:
        """Who did what, when, with which outcome; the subject only as a keyed hash."""
        self._t.client.put_item(**self.record_op(actor, action, subject_ref, status, self._t.now())[2])

    def record_op(self, actor: str, action: str, subject_ref: str | None, status: int, now: int) -> Operation:
        """The same entry as :meth:`record`, for a transaction (recorded if and only if the rest commits)."""
        t = self._t
        item = t.item(
            keys.audit(keys.utc_day(now), now, uuid.uuid4().hex),
            {"at": now, "actor": actor, "action": action, "subject_ref": subject_ref, "status": status},
            RetentionClass.ADMIN_AUDIT,
            t.expires_at(RetentionClass.ADMIN_AUDIT, now),
        )
        return ("audit", "Put", t.put(item, "attribute_not_exists(PK)"))

    def day(self, day: str) -> list[AuditRecord]:
        """The audit trail of one UTC day, oldest first."""
        now = self._t.clock()
        return [
            AuditRecord(
                at=i["at"], actor=i["actor"], action=i["action"], subject_ref=i.get("subject_ref"), status=i["status"]
            )
            for i in self._t.query(keys.audit_pk(day))
            if self._t.is_live(i, now)
        ]
