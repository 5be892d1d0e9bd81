"""What a restore from a point-in-time backup must replay: erasure tombstones and the block list.

A restored copy of the main table is the table as it was at the restore time *T*. Every erasure
after *T* left a tombstone (``ERASED#<day>``, sorted by time) in the live table: the tombstones of
the days since *T* are read with one query per day, never a scan. Block-list entries written after
*T* are found on the expiry index: an entry written at ``t`` expires at ``t`` plus the suppression
period, so the entries the copy can lack are those expiring after *T* plus that period.
"""

from __future__ import annotations

from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.keys import ItemKey
from chatconsent.store.records import Tombstone
from chatconsent.store.table import Table


class RestoreAccess:
    def __init__(self, table: Table) -> None:
        self._t = table

    def tombstones_since(self, since: int) -> list[Tombstone]:
        """The tombstones of erasures strictly after ``since`` (and not yet purged), oldest first."""
        found: list[Tombstone] = []
        condition = f"{keys.PARTITION} = :pk AND {keys.SORT} >= :after"
        for partition in keys.tombstone_partitions(since, self._t.now()):
            options: dict[str, Any] = {"ConsistentRead": True}
            while True:
                values = {":pk": partition, ":after": keys.tombstone_after(since)}
                items, last = self._t.query_index("", condition, values, **options)
                found += [
                    Tombstone(str(i["subject"]), int(i["erased_at"]), str(i.get("erasure_id", "")))
                    for i in items
                    if self._t.is_live(i)
                ]
                if last is None:
                    break
                options["ExclusiveStartKey"] = last
        return found

    def suppressions_since(self, since: int) -> list[ItemKey]:
        """Block-list entries written (or written again) after ``since``, by the expiry index."""
        t = self._t
        now = t.now()
        horizon = t.expires_at(RetentionClass.SUPPRESSION, since)
        found: list[ItemKey] = []
        condition = "#shard = :partition AND #exp > :horizon"
        for partition in keys.expiry_partitions(t.expires_at(RetentionClass.SUPPRESSION, now), now - since):
            options: dict[str, Any] = {}
            while True:
                items, last = t.query_index(
                    keys.EXPIRY_INDEX, condition, {":partition": partition, ":horizon": horizon}, **options
                )
                found += [keys.key_of(i) for i in items if i.get("retention_class") == RetentionClass.SUPPRESSION.value]
                if last is None:
                    break
                options["ExclusiveStartKey"] = last
        return found

    def copy_missing(self, item_keys: list[ItemKey], into: RestoreAccess) -> int:
        """Copy each item (read consistently here) that ``into`` lacks; returns how many were copied."""
        copied = 0
        for key in item_keys:
            item = self._t.get(key)
            if item is not None and into.put_missing(item):  # None: lifted since it was found
                copied += 1
        return copied

    def put_missing(self, item: dict[str, Any]) -> bool:
        """Write an item copied from another table unless this table has it (False: it had)."""
        return self._t.put_item(self._t.put(item, "attribute_not_exists(PK)"))
