"""Messages in both directions, their delivery statuses, and the conversation list.

Inbound messages (and agents' replies) are kept sealed with the person's own key, each under the
consent that allows keeping it, as read: a withdrawal landing after that read cancels the write.
Every message moves the subject's conversation summary to today's ``by_activity`` partition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chatconsent.consent_state import ConsentRecord
from chatconsent.errors import InvalidInput
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.campaigns import count_update
from chatconsent.store.guards import Guards
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.records import ConversationRow, InboundRecord, OutboundRecord
from chatconsent.store.table import Conflict, Duplicate, Operation, Table
from chatconsent.store.values import deserialize, serialize

STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 9}


class BadCursor(InvalidInput):
    """A listing cursor that this API did not hand out."""


class Messages:
    def __init__(self, table: Table, guards: Guards) -> None:
        self._t = table
        self._guards = guards

    def _covered(self, ops: list[Operation], subject: str, covered_by: ConsentRecord | None) -> list[Operation]:
        if covered_by is not None:
            ops.append(self._guards.still_active(subject, covered_by))
        return ops

    def store_inbound(
        self,
        subject: str,
        message_hash: str,
        kind: str,
        seal: Callable[[str], bytes],
        retention: RetentionClass = RetentionClass.CONVERSATION,
        sensitive: Sequence[str] = (),
        covered_by: ConsentRecord | None = None,
    ) -> None:
        """An inbound message and its delivery record, in one transaction (a duplicate stores nothing).

        ``seal`` encrypts the content for the item's id (the id is associated data).
        ``covered_by`` is the consent that allows keeping it, as read: a withdrawal landing
        after that read cancels the write (Conflict ``covering_consent``), so nothing is kept.
        """
        t = self._t
        now = t.now()
        key = keys.inbound(subject, now, message_hash)
        attributes = {
            "kind": kind,
            "received_at": now,
            "sealed": seal(key.item_id),
            "sensitive": sorted(sensitive) or None,
        }
        item = t.item(key, attributes, retention, t.expires_at(retention, now))
        ops = [
            self._guards.delivery_op(message_hash, now),
            ("message", "Put", t.put(item)),
            ("conversation", "Update", self._conversation_update(subject, now, inbound=True)),
        ]
        t.transact(self._covered(ops, subject, covered_by))

    def record_outbound(
        self, subject: str, message_hash: str, kind: str, retention: RetentionClass = RetentionClass.CONVERSATION
    ) -> None:
        """An outbound message for status tracking (its content is not kept)."""
        self._t.client.put_item(**self.outbound_op(subject, message_hash, kind, retention)[2])

    def kept_outbound_ops(
        self,
        subject: str,
        message_hash: str,
        kind: str,
        seal: Callable[[str], bytes],
        retention: RetentionClass = RetentionClass.CONVERSATION,
    ) -> list[Operation]:
        """An outbound message kept with its content (an agent's reply is part of the conversation)."""
        t = self._t
        now = t.now()
        key = keys.outbound(subject, message_hash)
        attributes = {"kind": kind, "status": "accepted", "status_rank": 0, "sent_at": now, "sealed": seal(key.item_id)}
        item = t.item(key, attributes, retention, t.expires_at(retention, now))
        return [
            ("message", "Put", t.put(item)),
            ("conversation", "Update", self._conversation_update(subject, now, inbound=False)),
        ]

    def queue_reply(self, owed: OwedMessage, covered_by: ConsentRecord) -> bool:
        """An agent's reply, owed under ``covered_by`` as read, once per reply id (its hash is the
        owed message's delivery record); False when that reply was queued before. Raises Conflict
        when the consent changed since it was read."""
        t = self._t
        ops = [
            *self._guards.delivery_ops(owed.message_hash, t.now(), [owed]),
            self._guards.still_active(owed.subject, covered_by),
        ]
        try:
            t.transact(ops)
        except Duplicate:
            return False
        return True

    def outbound_op(self, subject: str, message_hash: str, kind: str, retention: RetentionClass) -> Operation:
        """An outbound message tracked by its delivery status only (the product's own words), for a transaction."""
        t = self._t
        now = t.now()
        attributes = {"kind": kind, "status": "accepted", "status_rank": 0, "sent_at": now}
        item = t.item(keys.outbound(subject, message_hash), attributes, retention, t.expires_at(retention, now))
        return ("message", "Put", t.put(item))

    def update_status(self, subject: str, message_hash: str, status: str) -> bool:
        """Move a known outbound message forward (sent < delivered < read; failed is final).

        Never creates an item (statuses of messages we did not record leave no trace) and never
        downgrades: an out-of-order status fails its condition and changes nothing.
        """
        t = self._t
        rank = STATUS_RANK[status]
        request = t.update(
            keys.outbound(subject, message_hash),
            "SET #status = :status, #rank = :rank, status_at = :now",
            {":status": status, ":rank": rank, ":now": t.now()},
            "attribute_exists(PK) AND #rank < :rank",
        )
        request["ReturnValues"] = "ALL_OLD"
        try:
            old = t.client.update_item(**request).get("Attributes")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        if old and "campaign_id" in old:  # a campaign's message: its results count each status once
            self._count_status(deserialize(old), subject, status)
        return True

    def _count_status(self, old: Mapping[str, Any], subject: str, status: str) -> None:
        """Count what this status newly reached (a "read" that skipped "delivered" counts both)."""
        before = int(old.get("status_rank", 0))
        reached = [s for s in ("delivered", "read") if before < STATUS_RANK[s] <= STATUS_RANK[status] < 9]
        counts = {name: 1 for name in reached} if status != "failed" else {"failed_delivery": 1}
        request = count_update(self._t, str(old["campaign_id"]), subject, counts)
        if request is not None:
            self._t.client.update_item(**request)

    def inbound(self, subject: str) -> list[InboundRecord]:
        """The subject's live inbound messages, oldest first, still sealed."""
        now = self._t.clock()
        return [
            InboundRecord(
                key=keys.key_of(item),
                kind=item["kind"],
                received_at=item["received_at"],
                sealed=item["sealed"],
                retention_class=item["retention_class"],
                expires_at=item["expires_at"],
                sensitive=tuple(item.get("sensitive") or ()),
            )
            for item in self._t.query(keys.subject_pk(subject), keys.INBOUND_PREFIX)
            if self._t.is_live(item, now)
        ]

    def outbound(self, subject: str) -> list[OutboundRecord]:
        """The subject's live outbound messages whose content was kept (agent replies), still sealed."""
        now = self._t.clock()
        return [
            OutboundRecord(
                key=keys.key_of(item),
                kind=item["kind"],
                status=item.get("status", ""),
                sent_at=item["sent_at"],
                expires_at=item["expires_at"],
                sealed=item["sealed"],
            )
            for item in self._t.query(keys.subject_pk(subject), keys.OUTBOUND_PREFIX)
            if "sealed" in item and self._t.is_live(item, now)
        ]

    def shorten_conversation(self, subject: str, retention: RetentionClass) -> int:
        """Bring every message (and the conversation summary) under ``retention`` from now, never later.

        Runs after a withdrawal: an item that would be gone sooner anyway keeps its expiry.
        Idempotent; returns how many items were shortened.
        """
        t = self._t
        now = t.now()
        cap = t.expires_at(retention, now)
        shortened = 0
        for item in t.query(keys.subject_pk(subject)):  # one query: the messages and the summary
            key = keys.key_of(item)
            if not (key.sk.startswith(keys.MESSAGE_PREFIX) or key.sk == keys.CONVERSATION_SK):
                continue
            if item.get("retention_class") == RetentionClass.CAMPAIGN_SEND.value:
                continue  # the proof that a campaign wrote under consent outlives the consent
            if not t.is_live(item, now) or item["expires_at"] <= cap:
                continue
            request = t.update(
                key, "SET shortened_at = :now", {":now": now, ":cap": cap}, "#exp > :cap", (retention, cap)
            )
            shortened += t.update_item(request)  # purged or shortened meanwhile: not counted
        return shortened

    def last_inbound_at(self, subject: str) -> int | None:
        """When the person last wrote (what opens WhatsApp's 24-hour window), from the conversation summary."""
        item = self._t.get(keys.conversation(subject))
        if item is None or not self._t.is_live(item):
            return None
        at = item.get("last_inbound_at")
        return int(at) if at is not None else None

    def first_card_warning(self, subject: str, warning: OwedMessage) -> bool:
        """Mark that the person was told not to send card numbers, with the ``warning`` owed;
        False when they were told before (nothing is written)."""
        t = self._t
        now = t.now()
        mark = t.update(
            keys.conversation(subject),
            "SET card_warned_at = :now",
            {":now": now},
            "attribute_exists(PK) AND attribute_not_exists(card_warned_at)",
        )
        try:
            t.transact([("conversation", "Update", mark), *self._guards.owed_ops([warning], now)])
        except Conflict:
            return False
        return True

    # -- the conversation list -------------------------------------------------------------------

    def _conversation_update(self, subject: str, now: int, inbound: bool) -> dict[str, Any]:
        """The subject's conversation summary moves to today's partition of ``by_activity``."""
        t = self._t
        update = "SET activity_day = :day, last_activity = :now"
        values: dict[str, Any] = {":day": keys.activity_day(now), ":now": now}
        if inbound:
            update += ", last_inbound_at = :now ADD messages_in :one"
            values[":one"] = 1
        retention = (RetentionClass.CONVERSATION, t.expires_at(RetentionClass.CONVERSATION, now))
        return t.update(keys.conversation(subject), update, values, retention=retention)

    def recent_conversations(
        self, limit: int, cursor: Mapping[str, Any] | None = None
    ) -> tuple[list[ConversationRow], dict[str, Any] | None]:
        """Conversations by latest activity, newest first, one index partition per UTC day.

        Looks back as far as conversations are kept. Returns a page and the cursor of the next one
        (raises BadCursor for a cursor this store did not hand out).
        """
        t = self._t
        now = t.now()
        days = int(t.plan.period(RetentionClass.CONVERSATION).total_seconds() // 86_400) + 1
        today = now // 86_400
        offset, start_key = self._parse_cursor(cursor, today, days) if cursor is not None else (0, None)
        found: list[ConversationRow] = []
        while offset < days and len(found) < limit:
            options: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit - len(found)}
            if start_key:
                options["ExclusiveStartKey"] = serialize(start_key)
            items, last = t.query_index(
                keys.ACTIVITY_INDEX,
                f"{keys.ACTIVITY_DAY} = :day",
                {":day": keys.activity_day(now - offset * 86_400)},
                **options,
            )
            found += [self._row(item) for item in items if t.is_live(item, now)]
            start_key = deserialize(last) if last else None
            if start_key is None:
                offset += 1
        if offset >= days:
            return found, None
        return found, {"day": today - offset, "key": start_key}  # an absolute day: stable across midnight

    @staticmethod
    def _row(item: Mapping[str, Any]) -> ConversationRow:
        return ConversationRow(
            subject=keys.key_of(item).subject or "",
            last_activity=item["last_activity"],
            last_inbound_at=item.get("last_inbound_at"),
            messages_in=item.get("messages_in", 0),
        )

    @staticmethod
    def _parse_cursor(cursor: Mapping[str, Any], today: int, days: int) -> tuple[int, dict[str, Any] | None]:
        bad = BadCursor("cursor: not one this API handed out")
        day, key = cursor.get("day"), cursor.get("key")
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= today - day < days:
            raise bad
        if key is None:
            return today - day, None
        if not keys.is_activity_cursor_key(key, day):  # the partition the cursor names
            raise bad
        return today - day, dict(key)
