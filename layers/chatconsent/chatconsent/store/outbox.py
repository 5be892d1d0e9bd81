"""The outbox: messages the product owes someone, written in the transaction of the change they answer.

A step that answers in the chat does not call the provider: it hands its answer, sealed, to the
store call that commits the state change, and the outbox item goes into the same transaction as
that change and the message's delivery record. So an answer exists exactly when its change does:
a failed transaction owes nothing, a committed one owes its answer even if the provider is down
at that moment. The outbox sender (fed by the table's stream) delivers each item, then deletes
it in one transaction with the outbound record that tracks the delivery status.

Items hold the pseudonym, the channel and the sealed envelope (address and content); they live
in partitions of their own, so an erasure in the chat does not take its own confirmation along.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.keys import ItemKey
from chatconsent.store.table import Conflict, Operation, Table


@dataclass(frozen=True)
class OwedMessage:
    """One message owed in answer to the delivery ``message_hash``: ``index`` orders its answers.

    ``kind`` names it on its outbound record; ``track`` is the retention class of that record
    (tracked by delivery status, the content not kept), None when nothing is kept about it.
    ``sealed`` is the envelope with address and content, ``wrapped_key`` its data key (KMS).
    ``keeps`` (an agent's reply): the consent (purpose, revision) under which its content is kept
    with the conversation once sent, if that consent is then still as it was. ``held``: not to be
    sent at all (the person's processing is restricted): the change goes ahead without it.
    """

    message_hash: str
    index: int
    subject: str
    channel: str
    kind: str
    track: RetentionClass | None
    sealed: bytes = field(repr=False)
    wrapped_key: bytes = field(repr=False)
    keeps: tuple[str, int] | None = None
    held: bool = False  # Art. 18: the person's processing is restricted, so nothing is written or sent


@dataclass(frozen=True)
class OutboxItem:
    key: ItemKey
    message: OwedMessage
    created_at: int
    expires_at: int


def sealing_id(message_hash: str, index: int) -> str:
    """What an owed message's envelope is bound to (its associated data): its item, by key."""
    key = keys.outbox(message_hash, index)
    return f"{key.pk}|{key.sk}"


class Outbox:
    def __init__(self, table: Table) -> None:
        self._t = table

    def ops(self, owed: Sequence[OwedMessage], now: int) -> list[Operation]:
        """The owed messages, for the transaction of the change they answer (written once)."""
        t = self._t
        expires = t.expires_at(RetentionClass.OUTBOX, now)
        ops: list[Operation] = []
        for message in owed:
            if message.held:
                continue
            attributes = {
                "subject": message.subject,
                "channel": message.channel,
                "kind": message.kind,
                "track": message.track.value if message.track else None,
                "sealed": message.sealed,
                "wrapped_key": message.wrapped_key,
                "created_at": now,
                "keep_purpose": message.keeps[0] if message.keeps else None,
                "keep_rev": message.keeps[1] if message.keeps else None,
            }
            item = t.item(keys.outbox(message.message_hash, message.index), attributes, RetentionClass.OUTBOX, expires)
            ops.append((f"owed:{message.index}", "Put", t.put(item, "attribute_not_exists(PK)")))
        return ops

    def get(self, key: ItemKey) -> OutboxItem | None:
        """An owed message, read consistently; None once it was sent (or given up)."""
        item = self._t.get(key)
        if item is None:
            return None
        track = item.get("track")
        message = OwedMessage(
            message_hash=key.pk.removeprefix(keys.OUTBOX_PK_PREFIX),
            index=int(key.sk.removeprefix(keys.OUTBOX_PREFIX)),
            subject=str(item["subject"]),
            channel=str(item["channel"]),
            kind=str(item["kind"]),
            track=RetentionClass(track) if track else None,
            sealed=bytes(item["sealed"]),
            wrapped_key=bytes(item["wrapped_key"]),
            keeps=(str(item["keep_purpose"]), int(item["keep_rev"])) if item.get("keep_purpose") else None,
        )
        return OutboxItem(key, message, int(item["created_at"]), int(item["expires_at"]))

    def is_live(self, item: OutboxItem) -> bool:
        return self._t.now() < item.expires_at

    def settle(self, item: OutboxItem, outbound: Sequence[Operation] = ()) -> bool:
        """Sent: the item goes, with the outbound record that tracks it; False when it had gone already.

        Raises Conflict when another condition of ``outbound`` failed (the consent its content is
        kept under changed)."""
        t = self._t
        ops: list[Operation] = [("owed", "Delete", t.delete(item.key, "attribute_exists(PK)")), *outbound]
        try:
            t.transact(ops)
        except Conflict as conflict:
            if "owed" in conflict.failed:
                return False
            raise
        return True

    def drop(self, item: OutboxItem) -> bool:
        """Given up (refused for good, or too old to send): the item goes."""
        return self._t.delete_item(self._t.delete(item.key, "attribute_exists(PK)"))
