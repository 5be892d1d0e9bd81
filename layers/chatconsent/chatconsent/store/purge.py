"""The purge's reads and deletes: the sparse, sharded expiry index, batch deletes, receipts, keys.

The index ``by_expiry`` holds every item under ``<expiry day>#<shard>`` sorted by ``expires_at``
and projects only the keys and the class, so a run reads only what expired in its lookback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.records import ExpiredItem
from chatconsent.store.table import Table


class PurgeAccess:
    def __init__(self, table: Table, data_keys: DataKeys) -> None:
        self._t = table
        self._data_keys = data_keys

    @staticmethod
    def partitions(now: int, lookback_seconds: int) -> list[str]:
        """Expiry-index partitions that can hold items expired by ``now``, oldest first."""
        return keys.expiry_partitions(now, lookback_seconds)

    def expired_page(
        self, partition: str, now: int, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[list[ExpiredItem], dict[str, Any] | None]:
        options: dict[str, Any] = {"Limit": limit}
        if start_key:
            options["ExclusiveStartKey"] = start_key
        items, last = self._t.query_index(
            keys.EXPIRY_INDEX, "#shard = :partition AND #exp <= :now", {":partition": partition, ":now": now}, **options
        )
        page = [ExpiredItem(keys.key_of(i), i.get("retention_class", ""), i["expires_at"]) for i in items]
        return page, last

    def delete(self, items: Sequence[ExpiredItem]) -> list[ExpiredItem]:
        """One BatchWriteItem (at most 25 deletes); returns the items DynamoDB left unprocessed."""
        left = set(self._t.delete_batch([i.key for i in items]))
        return [i for i in items if i.key in left]

    def subject_has_items(self, subject: str) -> bool:
        return self._t.has_items(keys.subject_pk(subject))

    def subjects_with_keys(self, subjects: Sequence[str]) -> set[str]:
        """Which of ``subjects`` still have a data-key item."""
        return self._data_keys.existing(subjects)

    def delete_subject_key(self, subject: str) -> bool:
        """Remove a subject's data-key item once nothing of theirs is left (no-op without a key table)."""
        return self._data_keys.delete(subject)

    def put_receipt(self, run_id: str, retention_class: str, attributes: Mapping[str, Any]) -> None:
        """A receipt per run and purged class: counts and ages only, no personal data."""
        t = self._t
        now = t.now()
        item = t.item(
            keys.receipt(keys.utc_day(now), run_id, retention_class),
            {"run_id": run_id, "purged_class": retention_class, **attributes},
            RetentionClass.PURGE_RECEIPT,
            t.expires_at(RetentionClass.PURGE_RECEIPT, now),
        )
        t.client.put_item(**t.put(item))
