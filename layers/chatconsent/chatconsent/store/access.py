"""One-time links to the person's Art. 15 copy, asked for with DATA in the chat; tokens stored only hashed.

The link item (``keys.access_link``) holds the subject, the language the person writes in and the
audit trail's reference for them; a marker in the subject's partition (``keys.access_marker``)
allows one link per person and period and lets the erasure find the link. Both are kept for the
``pending_optin_link`` class's period (24 hours, from creation): the link is valid exactly as long.
A download spends the link once, on the condition that the marker still names it (an erasure
deletes both, so an erased person's link stops working), with its audit entry in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.audit import AuditTrail
from chatconsent.store.guards import Guards
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.table import Conflict, Table, retry_on_conflict

# Reuses the confirmation link's 24-hour class: a link that opens something, kept as long as it works.
ACCESS_RETENTION = RetentionClass.PENDING_OPTIN_LINK
OPEN, USED = "open", "used"
_EXPORT_HIDDEN = frozenset({keys.PARTITION, keys.EXPIRY_SHARD})


@dataclass(frozen=True)
class AccessLink:
    """A live access link, as stored (its token only as a hash)."""

    token_hash: str
    subject: str
    language: str
    status: str
    created_at: int
    expires_at: int
    audit_ref: str

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


class AccessLinks:
    def __init__(self, table: Table, guards: Guards, audit: AuditTrail) -> None:
        self._t = table
        self._guards = guards
        self._audit = audit

    @property
    def period(self) -> timedelta:
        """How long a link works, and how long until the person may ask for another."""
        return self._t.plan.period(ACCESS_RETENTION)

    def issue(
        self,
        subject: str,
        token_hash: str,
        language: str,
        audit_ref: str,
        message_hash: str,
        owed: Sequence[OwedMessage] = (),
    ) -> bool:
        """The link, the subject's marker and the delivery record of the DATA that asked for it, atomically.

        False (nothing written) when a link was issued within the period (spent or not); Duplicate
        when the message was processed before.
        """
        t = self._t
        now = t.now()
        expires = t.expires_at(ACCESS_RETENTION, now)
        link = t.item(
            keys.access_link(token_hash),
            {
                "subject": subject,
                "language": language,
                "status": OPEN,
                "created_at": now,
                "audit_ref": audit_ref,
            },
            ACCESS_RETENTION,
            expires,
        )
        marker = t.item(
            keys.access_marker(subject),
            {"token_hash": token_hash, "status": OPEN, "created_at": now},
            ACCESS_RETENTION,
            expires,
        )
        ops = [
            ("access_link", "Put", t.put(link, "attribute_not_exists(PK)")),
            ("marker", "Put", t.put(marker, "attribute_not_exists(PK) OR #exp <= :now", {":now": now})),
            *self._guards.delivery_ops(message_hash, now, owed),
        ]
        for _ in retry_on_conflict():
            try:
                t.transact(ops)
            except Conflict as conflict:
                if conflict.failed == ("transaction_conflict",):  # a simultaneous DATA: try again
                    continue
                if "marker" in conflict.failed:
                    return False
                raise
            return True
        return False  # still contended: another DATA of this person is being answered

    def release(self, subject: str, token_hash: str) -> None:
        """Undo a link whose message could not be sent, so that the person may ask again at once."""
        t = self._t
        with suppress(Conflict):  # erased meanwhile: nothing left to undo
            t.transact(
                [
                    ("access_link", "Delete", t.delete(keys.access_link(token_hash))),
                    (
                        "marker",
                        "Delete",
                        t.delete(keys.access_marker(subject), "token_hash = :hash", {":hash": token_hash}),
                    ),
                ]
            )

    def link(self, token_hash: str) -> AccessLink | None:
        """The live link behind a token's hash (a read, never a write)."""
        data = self._t.get(keys.access_link(token_hash))
        if data is None or not self._t.is_live(data):
            return None
        return AccessLink(
            token_hash=token_hash,
            subject=data["subject"],
            language=data["language"],
            status=data["status"],
            created_at=data["created_at"],
            expires_at=data["expires_at"],
            audit_ref=data.get("audit_ref", ""),
        )

    def spend(self, link: AccessLink, actor: str, action: str) -> bool:
        """open → used, once, while the marker still names the link; with its audit entry. False otherwise."""
        t = self._t
        now = t.now()
        ops = [
            (
                "access_link",
                "Update",
                t.update(
                    keys.access_link(link.token_hash),
                    "SET #status = :used, used_at = :now",
                    {":used": USED, ":open": OPEN, ":now": now, ":subject": link.subject},
                    "#status = :open AND #exp > :now AND #subject = :subject",
                ),
            ),
            (
                "marker",
                "Update",
                t.update(
                    keys.access_marker(link.subject),
                    "SET #status = :used",
                    {":used": USED, ":hash": link.token_hash, ":now": now},
                    "token_hash = :hash AND #exp > :now",
                ),
            ),
            self._audit.record_op(actor, action, link.audit_ref or None, 200, now),
        ]
        try:
            t.transact(ops)
        except Conflict:
            return False
        return True

    def exported(self, token_hashes: list[str]) -> list[dict[str, Any]]:
        """The links as stored (for the export), with their token's hash instead of the key layout."""
        found = ((h, self._t.get(keys.access_link(h))) for h in token_hashes)
        return [
            {"token_hash": h, **{k: v for k, v in item.items() if k not in _EXPORT_HIDDEN}}
            for h, item in found
            if item is not None
        ]
