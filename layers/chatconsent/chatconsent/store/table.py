"""The base of every store module: request builders, transactions, queries and the two errors.

Values reach DynamoDB only through ``ExpressionAttributeValues`` and attribute names only through
the fixed placeholders below, so no input can change an expression. Every item carries its
``retention_class`` and ``expires_at`` (the TTL attribute) and its expiry-index shard, and every
read drops expired items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chatconsent.clock import Clock
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.store import keys
from chatconsent.store.keys import ItemKey
from chatconsent.store.values import deserialize, serialize, to_attribute

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Attribute names used in expressions: the only names an expression can contain.
_NAMES = {
    "#state": "state",
    "#status": "status",
    "#exp": "expires_at",
    "#rc": "retention_class",
    "#rev": "rev",
    "#req": "request_id",
    "#subject": "subject",
    "#channel": "channel",
    "#seq": "seq",
    "#hits": "hits",
    "#rank": "status_rank",
    "#hash": "hash",
    "#shard": keys.EXPIRY_SHARD,
    "#aud": keys.AUDIENCE,
    "#addr": "address",
    "#queue": keys.RIGHTS_QUEUE,
    "#due": keys.RIGHTS_DUE,
}

# One operation of a transaction: (label, kind, request); the label names it in a Conflict.
Operation = tuple[str, str, dict[str, Any]]


class Duplicate(Exception):
    """The webhook message was processed before (its delivery record exists): no second effect."""


class Conflict(Exception):
    """A conditional write lost a race or its precondition no longer holds."""

    def __init__(self, failed: Sequence[str] = ()) -> None:
        super().__init__("conditional write failed")
        self.failed = tuple(failed)


def retry_on_conflict(attempts: int = 4, pause: float = 0.02) -> Iterator[int]:
    """Attempt numbers for optimistic-concurrency loops, with a short growing pause between."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause * attempt)
        yield attempt


def _names(expression: str) -> dict[str, str]:
    return {k: v for k, v in _NAMES.items() if k in expression}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in values.items()}


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


def _conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class Table:
    """One DynamoDB table (and the key table's name) with the plan and the clock."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        plan: RetentionPlan,
        clock: Clock,
        key_table_name: str | None = None,
    ) -> None:
        self.client = client
        self.name = table_name
        self.key_table = key_table_name
        self.plan = plan
        self.clock = clock

    def now(self) -> int:
        return int(self.clock())

    def is_live(self, item: Mapping[str, Any], now: float | None = None) -> bool:
        return self.plan.is_live(item.get("expires_at"), self.clock() if now is None else now)

    def expires_at(self, retention_class: RetentionClass, start: float) -> int:
        return self.plan.expires_at(retention_class, start)

    # -- request builders ------------------------------------------------------------------------

    def item(
        self, key: ItemKey, attributes: Mapping[str, Any], retention_class: RetentionClass, expires_at: int
    ) -> dict[str, Any]:
        """An item with its retention: class, expiry (the TTL attribute) and expiry-index shard."""
        return {
            **key.as_key(),
            **attributes,
            "retention_class": retention_class.value,
            "expires_at": int(expires_at),
            keys.EXPIRY_SHARD: keys.expiry_shard(key.pk, int(expires_at)),
        }

    def put(
        self, item: dict[str, Any], condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if not {"retention_class", "expires_at", keys.EXPIRY_SHARD} <= item.keys():
            raise ValueError("every item needs a retention class and an expiry")  # a bug, never input
        request: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            request["ConditionExpression"] = condition
            if names := _names(condition):
                request["ExpressionAttributeNames"] = names
            if values:
                request["ExpressionAttributeValues"] = _values(values)
        return request

    def update(
        self,
        key: ItemKey,
        update: str,
        values: Mapping[str, Any],
        condition: str | None = None,
        retention: tuple[RetentionClass, int] | None = None,
    ) -> dict[str, Any]:
        """An Update; with ``retention`` it (re)sets the item's class, expiry and expiry shard."""
        if retention is not None:
            retention_class, expires_at = retention
            if not update.startswith("SET ") and " SET " not in update:
                update += " SET #rc = :rc, #exp = :exp, #shard = :shard"
            else:
                update = update.replace("SET ", "SET #rc = :rc, #exp = :exp, #shard = :shard, ", 1)
            values = {
                **values,
                ":rc": retention_class.value,
                ":exp": int(expires_at),
                ":shard": keys.expiry_shard(key.pk, int(expires_at)),
            }
        request: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize(key.as_key()),
            "UpdateExpression": update,
            "ExpressionAttributeValues": _values(values),
        }
        expression = update + (condition or "")
        if names := _names(expression):
            request["ExpressionAttributeNames"] = names
        if condition:
            request["ConditionExpression"] = condition
        return request

    def delete(
        self, key: ItemKey, condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.name, "Key": serialize(key.as_key())}
        if condition:
            request["ConditionExpression"] = condition
            if values:
                request["ExpressionAttributeValues"] = _values(values)
            if names := _names(condition):
                request["ExpressionAttributeNames"] = names
        return request

    # -- running them ----------------------------------------------------------------------------

    def transact(self, operations: Sequence[Operation]) -> None:
        """Run labelled operations atomically; a lost condition raises Duplicate or Conflict."""
        try:
            self.client.transact_write_items(
                TransactItems=[{kind: request} for _, kind, request in operations]  # type: ignore[misc]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = _cancellation_codes(error)
            failed = [
                label
                for (label, _, _), code in zip(operations, codes, strict=False)
                if code == "ConditionalCheckFailed"
            ]
            if "delivery" in failed:
                raise Duplicate() from None
            if not failed and any(code == "TransactionConflict" for code in codes):
                failed = ["transaction_conflict"]
            raise Conflict(failed) from None

    def put_item(self, request: dict[str, Any]) -> bool:
        """A conditional Put; False when its condition failed."""
        return self._conditional(self.client.put_item, request)

    def delete_item(self, request: dict[str, Any]) -> bool:
        """A conditional Delete; False when its condition failed."""
        return self._conditional(self.client.delete_item, request)

    def update_item(self, request: dict[str, Any]) -> bool:
        """A conditional Update; False when its condition failed."""
        return self._conditional(self.client.update_item, request)

    @staticmethod
    def _conditional(call: Callable[..., Any], request: dict[str, Any]) -> bool:
        try:
            call(**request)
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def get(self, key: ItemKey) -> dict[str, Any] | None:
        """One item, read consistently, live or not (callers check what they need)."""
        response = self.client.get_item(TableName=self.name, Key=serialize(key.as_key()), ConsistentRead=True)
        return deserialize(response["Item"]) if "Item" in response else None

    def query(self, pk: str, sk_prefix: str = "") -> Iterator[dict[str, Any]]:
        """Every item of a partition (with a sort-key prefix), consistently, page after page."""
        values = {":pk": pk, ":prefix": sk_prefix} if sk_prefix else {":pk": pk}
        condition = f"{keys.PARTITION} = :pk" + (f" AND begins_with({keys.SORT}, :prefix)" if sk_prefix else "")
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _values(values),
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                yield deserialize(item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_index(
        self, index: str, condition: str, values: Mapping[str, Any], **options: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of an index query (``index`` empty: the table): the items and the raw key to continue from."""
        request: dict[str, Any] = {
            "TableName": self.name,
            **({"IndexName": index} if index else {}),
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _values(values),
            **options,
        }
        if names := _names(condition):
            request["ExpressionAttributeNames"] = names
        response = self.client.query(**request)
        return [deserialize(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def count_index(self, index: str, condition: str, values: Mapping[str, Any]) -> int:
        """How many items of an index match (``Select=COUNT``: no item is returned), page after page."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _values(values),
            "Select": "COUNT",
        }
        if names := _names(condition):
            request["ExpressionAttributeNames"] = names
        count = 0
        while True:
            response = self.client.query(**request)
            count += int(response.get("Count", 0))
            if "LastEvaluatedKey" not in response:
                return count
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def has_items(self, pk: str) -> bool:
        response = self.client.query(
            TableName=self.name,
            KeyConditionExpression=f"{keys.PARTITION} = :pk",
            ExpressionAttributeValues=_values({":pk": pk}),
            ConsistentRead=True,
            Limit=1,
        )
        return bool(response.get("Items"))

    def delete_batch(self, item_keys: Sequence[ItemKey]) -> list[ItemKey]:
        """One BatchWriteItem (at most 25 deletes); returns the keys DynamoDB left unprocessed."""
        if len(item_keys) > 25:
            raise ValueError("BatchWriteItem takes at most 25 requests")
        requests = [{"DeleteRequest": {"Key": serialize(k.as_key())}} for k in item_keys]
        response = self.client.batch_write_item(RequestItems={self.name: requests})  # type: ignore[dict-item]
        left = response.get("UnprocessedItems", {}).get(self.name, [])
        return [keys.key_of(deserialize(request["DeleteRequest"]["Key"])) for request in left]

    def delete_all(self, item_keys: Sequence[ItemKey]) -> int:
        """Delete items by key in batches of 25, retrying unprocessed ones; returns how many."""
        for offset in range(0, len(item_keys), 25):
            left = list(item_keys[offset : offset + 25])
            for attempt in range(8):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                left = self.delete_batch(left)
                if not left:
                    break
            else:
                raise RuntimeError("deletes left unprocessed after retries")
        return len(item_keys)
