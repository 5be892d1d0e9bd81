"""The per-person key table: one wrapped data key per subject (no point-in-time recovery).

Deleting a subject's item shreds every copy of their sealed fields, backups included. The
keyring (:mod:`chatconsent.keyring`) wraps and unwraps; this module only stores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chatconsent.store import keys
from chatconsent.store.values import from_attribute, serialize, to_attribute

_BATCH_GET = 100


class DataKeys:
    def __init__(self, client: Any, table_name: str | None) -> None:
        self._client = client
        self._table = table_name

    @property
    def enabled(self) -> bool:
        return bool(self._table)

    def wrapped(self, subject: str) -> bytes | None:
        """The subject's wrapped data key, or None when there is none (never created, or shredded)."""
        response = self._client.get_item(
            TableName=self._table, Key=serialize(keys.data_key(subject)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return bytes(from_attribute(response["Item"]["wrapped_key"]))

    def create(self, subject: str, wrapped: bytes) -> bool:
        """Store a new wrapped key; False when the subject has one already (another container was first)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**serialize(keys.data_key(subject)), "wrapped_key": to_attribute(wrapped)},
                ConditionExpression=f"attribute_not_exists({keys.KEY_TABLE_KEY})",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def delete(self, subject: str) -> bool:
        """Shred the subject's key (no-op without a key table); True when a key table was asked."""
        if not self._table:
            return False
        self._client.delete_item(TableName=self._table, Key=serialize(keys.data_key(subject)))
        return True

    def wrapped_many(self, subjects: Sequence[str]) -> dict[str, bytes]:
        """The wrapped keys of those of ``subjects`` that have one (BatchGetItem, 100 keys a call)."""
        if not self._table or not subjects:
            return {}
        found: dict[str, bytes] = {}
        ordered = sorted(set(subjects))
        for offset in range(0, len(ordered), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {"Keys": [serialize(keys.data_key(s)) for s in ordered[offset : offset + _BATCH_GET]]}
            }
            for attempt in range(8):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    found[from_attribute(item[keys.KEY_TABLE_KEY])] = bytes(from_attribute(item["wrapped_key"]))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def existing(self, subjects: Sequence[str]) -> set[str]:
        """Which of ``subjects`` still have a data-key item (BatchGetItem, 100 keys a call)."""
        if not self._table or not subjects:
            return set()
        found: set[str] = set()
        ordered = sorted(set(subjects))
        for offset in range(0, len(ordered), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [serialize(keys.data_key(s)) for s in ordered[offset : offset + _BATCH_GET]],
                    "ProjectionExpression": keys.KEY_TABLE_KEY,
                }
            }
            for attempt in range(8):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                response = self._client.batch_get_item(RequestItems=request)
                found |= {
                    from_attribute(i[keys.KEY_TABLE_KEY]) for i in response.get("Responses", {}).get(self._table, [])
                }
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found
