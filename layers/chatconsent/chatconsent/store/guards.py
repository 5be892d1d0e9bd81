"""Guards: delivery records (a webhook message is processed once), rate limits, the block list,
and the check that the consent a write is kept under is still as read.

A delivery record is written in the same transaction as the state change a message causes, so a
message delivered twice (providers deliver at least once) has one effect; a message that changes
nothing records its delivery alone (:meth:`Guards.record_delivery`). The block list holds keyed
hashes of withdrawn numbers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatconsent.consent_state import ConsentRecord, ConsentState
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.keys import ItemKey
from chatconsent.store.outbox import Outbox, OwedMessage
from chatconsent.store.table import Duplicate, Operation, Table


@dataclass(frozen=True)
class RateCounter:
    key: ItemKey
    hits: int
    expires_at: int


class Guards:
    def __init__(self, table: Table) -> None:
        self._t = table
        self._outbox = Outbox(table)

    # -- delivery records ------------------------------------------------------------------------

    def delivery_op(self, message_hash: str, now: int) -> Operation:
        """The delivery record, for a transaction: it fails (Duplicate) when the message was seen."""
        t = self._t
        expires = t.expires_at(RetentionClass.WEBHOOK_DEDUPE, now)
        item = t.item(keys.delivery(message_hash), {"received_at": now}, RetentionClass.WEBHOOK_DEDUPE, expires)
        # An expired record no longer protects: the message id may be processed again.
        return ("delivery", "Put", t.put(item, "attribute_not_exists(PK) OR #exp <= :now", {":now": now}))

    def delivery_ops(self, message_hash: str, now: int, owed: Sequence[OwedMessage] = ()) -> list[Operation]:
        """The delivery record and the answers it owes (:mod:`chatconsent.store.outbox`), for a transaction."""
        return [self.delivery_op(message_hash, now), *self._outbox.ops(owed, now)]

    def owed_ops(self, owed: Sequence[OwedMessage], now: int) -> list[Operation]:
        """Answers owed by a change that is not a message's first (its delivery record was written before)."""
        return self._outbox.ops(owed, now)

    def record_delivery(self, message_hash: str, owed: Sequence[OwedMessage] = ()) -> bool:
        """Record a webhook message as processed, with its answers; False when it was before (a duplicate)."""
        now = self._t.now()
        owed = [m for m in owed if not m.held]
        if not owed:
            return self._t.put_item(self.delivery_op(message_hash, now)[2])
        try:
            self._t.transact(self.delivery_ops(message_hash, now, owed))
        except Duplicate:
            return False
        return True

    def was_delivered(self, message_hash: str) -> bool:
        """Whether a live delivery record says the message was processed (one consistent read)."""
        item = self._t.get(keys.delivery(message_hash))
        return item is not None and self._t.is_live(item)

    # -- the consent a write is kept under -------------------------------------------------------

    def still_active(self, subject: str, record: ConsentRecord) -> Operation:
        """A transaction's condition: ``record``'s consent is still active, at the revision read."""
        return self.still_active_at(subject, record.purpose, record.rev)

    def still_active_at(self, subject: str, purpose: str, rev: int) -> Operation:
        """A transaction's condition: the consent for ``purpose`` is active, at revision ``rev``."""
        return (
            "covering_consent",
            "ConditionCheck",
            self._t.delete(
                keys.consent(subject, purpose),
                "#state = :active AND #rev = :rev",
                {":active": ConsentState.ACTIVE.value, ":rev": rev},
            ),
        )

    # -- rate limits -----------------------------------------------------------------------------

    def consume_rate(self, scope: str, key_hash: str, window_seconds: int, limit: int) -> bool:
        """Count one hit in the current fixed window; False when the limit is already reached."""
        if limit <= 0:
            return False
        t = self._t
        now = t.now()
        window = now - now % window_seconds
        return t.update_item(
            t.update(
                keys.rate(scope, key_hash, window),
                "ADD #hits :one",
                {":one": 1, ":limit": limit},
                "attribute_not_exists(#hits) OR #hits < :limit",
                (RetentionClass.RATE_LIMIT, t.expires_at(RetentionClass.RATE_LIMIT, window)),
            )
        )

    def subject_rate_counters(self, subject: str) -> list[RateCounter]:
        """The info-reply counters keyed by the subject (current and previous day window)."""
        now = self._t.now()
        window = now - now % 86_400
        found = []
        for key in (keys.rate("info-reply", subject, w) for w in (window, window - 86_400)):
            item = self._t.get(key)
            if item is not None:
                found.append(RateCounter(key, int(item.get("hits", 0)), int(item.get("expires_at", 0))))
        return found

    # -- the block list --------------------------------------------------------------------------

    def suppression_op(self, suppression_hash: str, now: int) -> Operation:
        t = self._t
        expires = t.expires_at(RetentionClass.SUPPRESSION, now)
        item = t.item(keys.suppression(suppression_hash), {"since": now}, RetentionClass.SUPPRESSION, expires)
        return ("suppression", "Put", t.put(item))

    def lift_suppression_op(self, suppression_hash: str) -> Operation:
        return ("suppression", "Delete", self._t.delete(keys.suppression(suppression_hash)))

    def not_suppressed_check(self, suppression_hash: str, now: int) -> Operation:
        condition = "attribute_not_exists(PK) OR #exp <= :now"
        return (
            "suppression",
            "ConditionCheck",
            self._t.delete(keys.suppression(suppression_hash), condition, {":now": now}),
        )

    def suppress(self, suppression_hash: str) -> None:
        """Put someone on the block list (keyed hash only) for the suppression period."""
        self._t.client.put_item(**self.suppression_op(suppression_hash, self._t.now())[2])

    def is_suppressed(self, suppression_hash: str) -> bool:
        item = self._t.get(keys.suppression(suppression_hash))
        return item is not None and self._t.is_live(item)
