"""Data access: the one module that knows the table's keys, indexes and expressions.

Values reach DynamoDB only through ``ExpressionAttributeValues`` and attribute names only through
the fixed placeholders below, so no input can change an expression. Every item carries its
``retention_class`` and ``expires_at`` (the TTL attribute), and every read drops expired items.

Key layout (single table, ``PK``/``SK`` strings):

=====================================  ==================  ===================================
PK                                     SK                  item
=====================================  ==================  ===================================
``OPTIN#<code hash>``                  ``REQUEST``         opt-in request with its single-use code or link token
``SUBJ#<pseudonym>``                   ``S#CONSENT#<p>``   consent state for purpose ``p``
``SUBJ#<pseudonym>``                   ``S#PENDING``       request bound to the subject, awaiting yes/no
``SUBJ#<pseudonym>``                   ``S#LEDGER``        ledger head (id, last seq, last hash)
``SUBJ#<pseudonym>``                   ``S#ERASE``         erasure asked in the chat, awaiting yes/no
``SUBJ#<pseudonym>``                   ``S#LINK``          confirmation link sent (one per number and period)
``SUBJ#<pseudonym>``                   ``S#ART9``          explicit consent asked for a quarantined message
``SUBJ#<pseudonym>``                   ``S#CONV``          conversation summary (index ``by_activity``)
``SUBJ#<pseudonym>``                   ``M#OUT#<hash>``    outbound message and its delivery status
``SUBJ#<pseudonym>``                   ``M#IN#<t>#<hash>`` inbound message, sealed with the subject's key
``LEDGER#<ledger id>``                 ``E#<seq>``         consent ledger entry (no personal data)
``DEDUPE#<hash>``                      ``DEDUPE``          webhook message already processed
``RATE#<scope>#<hash>#<window>``       ``RATE``            rate-limit counter
``SUPPRESS#<hash>``                    ``SUPPRESS``        withdrawn: do not contact (keyed hash)
``RECEIPT#<day>``                      ``<run>#<class>``   purge receipt (counts only)
``AUDIT#<day>``                        ``<t>#<id>``        an admin action: who, what, when (keyed hash)
=====================================  ==================  ===================================
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chatconsent.attributes import from_attribute, to_attribute
from chatconsent.clock import Clock
from chatconsent.consent import (
    ConsentRecord,
    ConsentState,
    PendingConfirmation,
    PendingLink,
    SpecialRequest,
    SubjectState,
)
from chatconsent.ledger import LedgerEntry, LedgerEvent, LedgerHead
from chatconsent.retention import RetentionClass, RetentionPlan

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
    "#shard": "expiry_shard",
}

# Every kind of item in a subject's partition, by sort-key prefix: the export and the erasure
# must know them all (a test fails when a writer adds one that is missing here).
SUBJECT_ITEM_TYPES = {
    "S#CONSENT#": "consents",
    "S#PENDING": "pending_request",
    "S#LEDGER": "ledger_head",
    "S#ERASE": "erasure_request",
    "S#LINK": "link_request",
    "S#ART9": "special_category_request",
    "S#CONV": "conversation_summary",
    "M#IN#": "inbound_messages",
    "M#OUT#": "outbound_messages",
}

EXPIRY_SHARDS = 4
EXPIRY_INDEX = "by_expiry"
ACTIVITY_INDEX = "by_activity"


def activity_day(at: int) -> str:
    return "ACT#" + time.strftime("%Y-%m-%d", time.gmtime(at))


class BadCursor(ValueError):
    """A listing cursor that this API did not hand out."""


def expiry_shard(pk: str, expires_at: int) -> str:
    """The expiry index's partition: the expiry day and one of a few shards (no hot partition)."""
    shard = int(hashlib.sha256(pk.encode("utf-8")).hexdigest()[:4], 16) % EXPIRY_SHARDS
    return f"{expires_at // 86_400}#{shard}"


STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 9}

TABLE_KEY_SCHEMA = ("PK", "SK")


class Replay(Exception):
    """The webhook message was processed before: no second side effect."""


class Conflict(Exception):
    """A conditional write lost a race or its precondition no longer holds."""

    def __init__(self, failed: Sequence[str] = ()) -> None:
        super().__init__("conditional write failed")
        self.failed = tuple(failed)


@dataclass(frozen=True)
class OptInRequest:
    request_id: str
    code_hash: str
    flow: str
    channel: str
    language: str
    purposes: tuple[str, ...]
    notice_version: str
    notice_sha256: str
    status: str
    created_at: int
    expires_at: int
    subject: str = ""
    sent_message: str = ""  # keyed hash of the provider's id of the message that carried the link
    suppression_hash: str = ""  # link flow: the number's block-list key, checked again on the click


def _names(expression: str) -> dict[str, str]:
    return {k: v for k, v in _NAMES.items() if k in expression}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in values.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in item.items() if v is not None}


class Keys:
    """Key builders: the only place that spells a key."""

    @staticmethod
    def optin(code_hash: str) -> dict[str, str]:
        return {"PK": f"OPTIN#{code_hash}", "SK": "REQUEST"}

    @staticmethod
    def subject_pk(subject: str) -> str:
        return f"SUBJ#{subject}"

    @staticmethod
    def consent(subject: str, purpose: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": f"S#CONSENT#{purpose}"}

    @staticmethod
    def pending(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#PENDING"}

    @staticmethod
    def erasure_request(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#ERASE"}

    @staticmethod
    def link(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#LINK"}

    @staticmethod
    def conversation(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#CONV"}

    @staticmethod
    def special_request(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#ART9"}

    @staticmethod
    def ledger_head(subject: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": "S#LEDGER"}

    @staticmethod
    def outbound(subject: str, message_hash: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": f"M#OUT#{message_hash}"}

    @staticmethod
    def inbound(subject: str, received_at: int, message_hash: str) -> dict[str, str]:
        return {"PK": f"SUBJ#{subject}", "SK": f"M#IN#{received_at:010d}#{message_hash[:24]}"}

    @staticmethod
    def ledger_entry(ledger_id: str, seq: int) -> dict[str, str]:
        return {"PK": f"LEDGER#{ledger_id}", "SK": f"E#{seq:010d}"}

    @staticmethod
    def dedupe(message_hash: str) -> dict[str, str]:
        return {"PK": f"DEDUPE#{message_hash}", "SK": "DEDUPE"}

    @staticmethod
    def rate(scope: str, key_hash: str, window: int) -> dict[str, str]:
        return {"PK": f"RATE#{scope}#{key_hash}#{window}", "SK": "RATE"}

    @staticmethod
    def suppression(suppression_hash: str) -> dict[str, str]:
        return {"PK": f"SUPPRESS#{suppression_hash}", "SK": "SUPPRESS"}

    @staticmethod
    def purge_receipt(day: str, run_id: str, retention_class: str) -> dict[str, str]:
        return {"PK": f"RECEIPT#{day}", "SK": f"{run_id}#{retention_class}"}

    @staticmethod
    def audit(day: str, at: int, entry_id: str) -> dict[str, str]:
        return {"PK": f"AUDIT#{day}", "SK": f"{at:010d}#{entry_id}"}

    @staticmethod
    def subject_key(subject: str) -> dict[str, str]:
        """Key of the subject's data-key item in the separate key table."""
        return {"subject": subject}


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


class ChatconsentTable:
    """Every read and write of the main table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        plan: RetentionPlan,
        clock: Clock,
        key_table_name: str | None = None,
    ) -> None:
        self._client = client
        self._table = table_name
        self._key_table = key_table_name
        self._plan = plan
        self._clock = clock

    # -- helpers -------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self._clock())

    def _stamp(self, item: dict[str, Any], retention_class: RetentionClass, expires_at: int) -> dict[str, Any]:
        """Give an item its retention: class, expiry (the TTL attribute) and expiry-index shard."""
        item["retention_class"] = retention_class.value
        item["expires_at"] = int(expires_at)
        item["expiry_shard"] = expiry_shard(item["PK"], int(expires_at))
        return item

    def _put(
        self, item: dict[str, Any], condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if not {"retention_class", "expires_at", "expiry_shard"} <= item.keys():
            raise ValueError("every item needs a retention class and an expiry")  # a bug, never input
        request: dict[str, Any] = {"TableName": self._table, "Item": serialize(item)}
        if condition:
            request["ConditionExpression"] = condition
            if names := _names(condition):
                request["ExpressionAttributeNames"] = names
            if values:
                request["ExpressionAttributeValues"] = _values(values)
        return request

    def _update(
        self,
        key: Mapping[str, str],
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
                ":shard": expiry_shard(key["PK"], int(expires_at)),
            }
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": serialize(key),
            "UpdateExpression": update,
            "ExpressionAttributeValues": _values(values),
        }
        expression = update + (condition or "")
        if names := _names(expression):
            request["ExpressionAttributeNames"] = names
        if condition:
            request["ConditionExpression"] = condition
        return request

    def _delete(self, key: Mapping[str, str], condition: str, values: Mapping[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": serialize(key),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": _values(values),
        }
        if names := _names(condition):
            request["ExpressionAttributeNames"] = names
        return request

    def _transact(self, operations: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Run labelled operations atomically; on a lost condition raise Replay or Conflict."""
        try:
            self._client.transact_write_items(
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
            if "dedupe" in failed:
                raise Replay() from None
            if not failed and any(code == "TransactionConflict" for code in codes):
                failed = ["transaction_conflict"]
            raise Conflict(failed) from None

    def _dedupe_put(self, message_hash: str, now: int) -> dict[str, Any]:
        item = self._stamp(
            {**Keys.dedupe(message_hash), "received_at": now},
            RetentionClass.WEBHOOK_DEDUPE,
            self._plan.expires_at(RetentionClass.WEBHOOK_DEDUPE, now),
        )
        # An expired record no longer protects: the message id may be processed again.
        return self._put(item, "attribute_not_exists(PK) OR #exp <= :now", {":now": now})

    # -- webhook dedupe ------------------------------------------------------------------------

    def mark_processed(self, message_hash: str) -> bool:
        """Record a webhook message as processed; False when it already was (a replay)."""
        try:
            self._client.put_item(**self._dedupe_put(message_hash, self.now()))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- rate limits ---------------------------------------------------------------------------

    def consume_rate(self, scope: str, key_hash: str, window_seconds: int, limit: int) -> bool:
        """Count one hit in the current fixed window; False when the limit is already reached."""
        if limit <= 0:
            return False
        now = self.now()
        window = now - now % window_seconds
        request = self._update(
            Keys.rate(scope, key_hash, window),
            "ADD #hits :one",
            {":one": 1, ":limit": limit},
            "attribute_not_exists(#hits) OR #hits < :limit",
            (RetentionClass.RATE_LIMIT, self._plan.expires_at(RetentionClass.RATE_LIMIT, window)),
        )
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- opt-in requests -----------------------------------------------------------------------

    def create_optin_request(self, request: OptInRequest) -> None:
        retention = RetentionClass.PENDING_OPTIN_CHAT if request.flow == "chat" else RetentionClass.PENDING_OPTIN_LINK
        item = self._stamp(
            {
                **Keys.optin(request.code_hash),
                "request_id": request.request_id,
                "flow": request.flow,
                "channel": request.channel,
                "language": request.language,
                "purposes": list(request.purposes),
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "status": request.status,
                "created_at": request.created_at,
            },
            retention,
            request.expires_at,
        )
        self._client.put_item(**self._put(item, "attribute_not_exists(PK)"))

    def optin_request(self, code_hash: str) -> OptInRequest | None:
        response = self._client.get_item(
            TableName=self._table, Key=serialize(Keys.optin(code_hash)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        data = deserialize(response["Item"])
        if not self._plan.is_live(data.get("expires_at"), self._clock()):
            return None
        return OptInRequest(
            request_id=data["request_id"],
            code_hash=code_hash,
            flow=data["flow"],
            channel=data["channel"],
            language=data["language"],
            purposes=tuple(data["purposes"]),
            notice_version=data["notice_version"],
            notice_sha256=data["notice_sha256"],
            status=data["status"],
            created_at=data["created_at"],
            expires_at=data["expires_at"],
            subject=data.get("subject", ""),
            sent_message=data.get("sent_message", ""),
            suppression_hash=data.get("suppression_hash", ""),
        )

    # -- subject state -------------------------------------------------------------------------

    def subject_state(self, subject: str) -> SubjectState:
        """Consents, pending confirmation and ledger head of one subject, in one query."""
        now = self._clock()
        consents: dict[str, ConsentRecord] = {}
        pending: PendingConfirmation | None = None
        head: LedgerHead | None = None
        erasure: str | None = None
        link: PendingLink | None = None
        special: SpecialRequest | None = None
        for data in self._query(Keys.subject_pk(subject), "S#"):
            sk = data["SK"]
            if not self._plan.is_live(data.get("expires_at"), now):
                continue
            if sk == "S#LEDGER":
                head = LedgerHead(
                    ledger_id=data["ledger_id"], seq=data["seq"], hash=data["hash"], at=data.get("last_at", 0)
                )
                continue
            if sk.startswith("S#CONSENT#"):
                purpose = sk.removeprefix("S#CONSENT#")
                consents[purpose] = ConsentRecord(
                    purpose=purpose,
                    state=ConsentState(data["state"]),
                    rev=data["rev"],
                    request_id=data.get("request_id", ""),
                    updated_at=data["updated_at"],
                    expires_at=data["expires_at"],
                    notice_version=data.get("notice_version", ""),
                    notice_language=data.get("notice_language", ""),
                    notice_sha256=data.get("notice_sha256", ""),
                    channel=data.get("channel", ""),
                    suppression_hash=data.get("suppression_hash", ""),
                )
            elif sk == "S#PENDING":
                pending = PendingConfirmation(
                    request_id=data["request_id"],
                    code_hash=data["code_hash"],
                    channel=data["channel"],
                    purposes=tuple(data["purposes"]),
                    language=data["language"],
                    notice_version=data["notice_version"],
                    notice_sha256=data["notice_sha256"],
                    code_message=data["code_message"],
                    bound_at=data["bound_at"],
                    expires_at=data["expires_at"],
                )
            elif sk == "S#ERASE":
                erasure = data["nonce"]
            elif sk == "S#ART9":
                special = SpecialRequest(
                    nonce=data["nonce"],
                    purpose=data["purpose"],
                    language=data["language"],
                    notice_version=data["notice_version"],
                    notice_sha256=data["notice_sha256"],
                    asked_at=data["asked_at"],
                )
            elif sk == "S#LINK":
                link = PendingLink(
                    request_id=data["request_id"],
                    token_hash=data["token_hash"],
                    status=data["status"],
                    expires_at=data["expires_at"],
                )
        return SubjectState(
            consents=consents,
            pending=pending,
            ledger_head=head,
            erasure_request=erasure,
            link_request=link,
            special_request=special,
        )

    def _query(self, pk: str, sk_prefix: str) -> Iterator[dict[str, Any]]:
        values = {":pk": pk, ":prefix": sk_prefix} if sk_prefix else {":pk": pk}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)" if sk_prefix else "PK = :pk",
            "ExpressionAttributeValues": _values(values),
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                yield deserialize(item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- consent transitions -------------------------------------------------------------------

    def bind_request(
        self,
        request: OptInRequest,
        subject: str,
        purposes: Sequence[str],
        code_message: str,
        message_hash: str,
        suppression_hash: str,
    ) -> None:
        """pending request → bound to ``subject``; its purposes → pending. Atomic, single-use.

        Raises Replay (message seen), Conflict with ``request`` (code used/expired/foreign) or
        ``consent:<purpose>`` (that purpose is active: bind again without it).
        """
        now = self.now()
        ops: list[tuple[str, str, dict[str, Any]]] = [
            (
                "request",
                "Update",
                self._update(
                    Keys.optin(request.code_hash),
                    "SET #status = :bound, #subject = :subject, bound_at = :now",
                    {
                        ":bound": "bound",
                        ":pending": "pending",
                        ":subject": subject,
                        ":now": now,
                        ":channel": request.channel,
                    },
                    "#status = :pending AND #exp > :now AND #channel = :channel",
                ),
            ),
            (
                "pending",
                "Put",
                self._put(
                    self._stamp(
                        {
                            **Keys.pending(subject),
                            "request_id": request.request_id,
                            "code_hash": request.code_hash,
                            "channel": request.channel,
                            "purposes": list(purposes),
                            "language": request.language,
                            "notice_version": request.notice_version,
                            "notice_sha256": request.notice_sha256,
                            "code_message": code_message,
                            "bound_at": now,
                        },
                        RetentionClass.PENDING_OPTIN_CHAT,
                        request.expires_at,
                    )
                ),
            ),
        ]
        for purpose in purposes:
            ops.append(
                (
                    f"consent:{purpose}",
                    "Update",
                    self._update(
                        Keys.consent(subject, purpose),
                        "SET #state = :pending, #req = :req, updated_at = :now, suppression_hash = :sh,"
                        " #rev = if_not_exists(#rev, :zero) + :one",
                        {
                            ":pending": ConsentState.PENDING.value,
                            ":active": ConsentState.ACTIVE.value,
                            ":req": request.request_id,
                            ":now": now,
                            ":sh": suppression_hash,  # so a withdrawal elsewhere can block the number too
                            ":zero": 0,
                            ":one": 1,
                        },
                        "attribute_not_exists(#state) OR #state <> :active OR #exp <= :now",
                        (RetentionClass.PENDING_OPTIN_CHAT, request.expires_at),
                    ),
                )
            )
        # The person opted in again themselves: lift their block-list entry.
        ops.append(
            ("suppression", "Delete", {"TableName": self._table, "Key": serialize(Keys.suppression(suppression_hash))})
        )
        ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)

    def _ledger_ops(
        self, subject: str, head: LedgerHead | None, new_head: LedgerHead, entries: Sequence[LedgerEntry], now: int
    ) -> list[tuple[str, str, dict[str, Any]]]:
        expires = self._plan.consent_record_expires_at(now)
        ops: list[tuple[str, str, dict[str, Any]]] = [
            (
                "ledger_head",
                "Update",
                self._update(
                    Keys.ledger_head(subject),
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
        for entry in entries:
            item = self._stamp(
                {**Keys.ledger_entry(entry.ledger_id, entry.seq), **entry.body(), "entry_hash": entry.entry_hash},
                RetentionClass.CONSENT_LEDGER,
                expires,
            )
            ops.append((f"ledger:{entry.seq}", "Put", self._put(item, "attribute_not_exists(PK)")))
        return ops

    def activate(
        self,
        subject: str,
        pending: PendingConfirmation,
        consents: Mapping[str, ConsentRecord],
        head: LedgerHead | None,
        new_head: LedgerHead,
        entries: Sequence[LedgerEntry],
        message_hash: str,
    ) -> None:
        """pending → active for the request's purposes, with the proof appended to the ledger."""
        now = self.now()
        ops: list[tuple[str, str, dict[str, Any]]] = []
        for purpose in pending.purposes:
            record = consents[purpose]
            ops.append(
                (
                    f"consent:{purpose}",
                    "Update",
                    self._update(
                        Keys.consent(subject, purpose),
                        "SET #state = :active, updated_at = :now, activated_at = :now,"
                        " notice_version = :nv, notice_language = :nl, notice_sha256 = :ns, #channel = :ch,"
                        " #rev = #rev + :one",
                        {
                            ":active": ConsentState.ACTIVE.value,
                            ":pending": ConsentState.PENDING.value,
                            ":req": pending.request_id,
                            ":rev": record.rev,
                            ":now": now,
                            ":nv": pending.notice_version,
                            ":nl": pending.language,
                            ":ns": pending.notice_sha256,
                            ":ch": pending.channel,
                            ":one": 1,
                        },
                        "#state = :pending AND #req = :req AND #rev = :rev AND #exp > :now",
                        (RetentionClass.CONSENT_LEDGER, now + int(self._plan.consent_validity.total_seconds())),
                    ),
                )
            )
        ops.append(
            ("pending", "Delete", self._delete(Keys.pending(subject), "#req = :req", {":req": pending.request_id}))
        )
        ops.append(
            (
                "request",
                "Update",
                self._update(
                    Keys.optin(pending.code_hash),
                    "SET #status = :confirmed, confirmed_at = :now REMOVE #subject",  # the link is no longer needed
                    {":confirmed": "confirmed", ":bound": "bound", ":subject": subject, ":now": now},
                    "#status = :bound AND #subject = :subject",
                ),
            )
        )
        ops += self._ledger_ops(subject, head, new_head, entries, now)
        ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)

    def decline(
        self, subject: str, pending: PendingConfirmation, consents: Mapping[str, ConsentRecord], message_hash: str
    ) -> None:
        """pending → none: the request is discarded, nothing about it is kept."""
        now = self.now()
        ops: list[tuple[str, str, dict[str, Any]]] = []
        for purpose in pending.purposes:
            ops.append(
                (
                    f"consent:{purpose}",
                    "Delete",
                    self._delete(
                        Keys.consent(subject, purpose),
                        "#state = :pending AND #req = :req AND #rev = :rev",
                        {
                            ":pending": ConsentState.PENDING.value,
                            ":req": pending.request_id,
                            ":rev": consents[purpose].rev,
                        },
                    ),
                )
            )
        ops.append(
            ("pending", "Delete", self._delete(Keys.pending(subject), "#req = :req", {":req": pending.request_id}))
        )
        ops.append(
            (
                "request",
                "Update",
                self._update(
                    Keys.optin(pending.code_hash),
                    "SET #status = :declined REMOVE #subject",
                    {":declined": "declined", ":bound": "bound"},
                    "#status = :bound",
                ),
            )
        )
        ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)

    def withdraw(
        self,
        subject: str,
        records: Sequence[ConsentRecord],
        head: LedgerHead | None,
        new_head: LedgerHead | None,
        entries: Sequence[LedgerEntry],
        message_hash: str | None,
        clear_pending: PendingConfirmation | None,
        suppression_hash: str | None = None,
        detach_request: bool = True,
        void_link: PendingLink | None = None,
        close_special: SpecialRequest | None = None,
    ) -> None:
        """active or pending → withdrawn for ``records``, appended to the ledger, atomically.

        With ``close_special`` the open Art. 9 question is withdrawn too (conditioned on it being
        the one read, so a "yes" that lands first makes this retry and withdraw that consent).

        With ``void_link`` the confirmation link still awaiting a click stops working in the same
        transaction, so a click racing the withdrawal cannot win after it.

        Conditioned on each record's revision, so a confirmation that lands in between makes this
        fail and be retried on the fresh state: a withdrawal racing a confirmation ends withdrawn.
        """
        now = self.now()
        ops: list[tuple[str, str, dict[str, Any]]] = []
        for record in records:
            ops.append(
                (
                    f"consent:{record.purpose}",
                    "Update",
                    self._update(
                        Keys.consent(subject, record.purpose),
                        "SET #state = :withdrawn, updated_at = :now, withdrawn_at = :now, #rev = #rev + :one",
                        {":withdrawn": ConsentState.WITHDRAWN.value, ":rev": record.rev, ":now": now, ":one": 1},
                        "#rev = :rev",
                        (RetentionClass.CONSENT_LEDGER, self._plan.expires_at(RetentionClass.CONSENT_LEDGER, now)),
                    ),
                )
            )
        if clear_pending:
            ops.append(
                (
                    "pending",
                    "Delete",
                    self._delete(Keys.pending(subject), "#req = :req", {":req": clear_pending.request_id}),
                )
            )
        if clear_pending and detach_request:  # the request no longer links to the subject
            ops.append(
                (
                    "request",
                    "Update",
                    self._update(
                        Keys.optin(clear_pending.code_hash),
                        "SET #status = :withdrawn REMOVE #subject",
                        {":withdrawn": "withdrawn", ":subject": subject},
                        "#subject = :subject",
                    ),
                )
            )
        if void_link is not None:
            ops += self._close_link_ops(subject, void_link.token_hash, void_link.request_id, "withdrawn", now)
        if close_special is not None:
            ops.append(
                (
                    "special_request",
                    "Delete",
                    self._delete(Keys.special_request(subject), "nonce = :nonce", {":nonce": close_special.nonce}),
                )
            )
        if entries and new_head:
            ops += self._ledger_ops(subject, head, new_head, entries, now)
        if suppression_hash:
            ops.append(("suppression", "Put", self._suppression_put(suppression_hash, now)))
        if message_hash:
            ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)

    # -- the admin audit trail ------------------------------------------------------------------

    def record_admin_action(self, actor: str, action: str, subject_ref: str | None, status: int) -> None:
        """Who did what, when, with which outcome; the subject only as a keyed hash."""
        now = self.now()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        item = self._stamp(
            {
                **Keys.audit(day, now, uuid.uuid4().hex),
                "at": now,
                "actor": actor,
                "action": action,
                "subject_ref": subject_ref,
                "status": status,
            },
            RetentionClass.ADMIN_AUDIT,
            self._plan.expires_at(RetentionClass.ADMIN_AUDIT, now),
        )
        self._client.put_item(**self._put(item, "attribute_not_exists(PK)"))

    def admin_actions(self, day: str) -> list[dict[str, Any]]:
        """The audit trail of one UTC day, oldest first."""
        now = self._clock()
        return [i for i in self._query(f"AUDIT#{day}", "") if self._plan.is_live(i.get("expires_at"), now)]

    # -- link-confirmed opt-in ------------------------------------------------------------------

    def create_link_request(self, request: OptInRequest) -> bool:
        """The request and the subject's one-per-period marker, atomically, unless the number is blocked.

        False (nothing written) when a link for this subject was created within the period, when
        the number is on the block list (checked in the same transaction, so a STOP that lands
        first always wins), or when a simultaneous request for the same number got there first.
        """
        now = self.now()
        request_item = self._stamp(
            {
                **Keys.optin(request.code_hash),
                "request_id": request.request_id,
                "flow": "link",
                "channel": request.channel,
                "language": request.language,
                "purposes": list(request.purposes),
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "status": "pending",
                "created_at": request.created_at,
                "subject": request.subject,
                "suppression_hash": request.suppression_hash,
            },
            RetentionClass.PENDING_OPTIN_LINK,
            request.expires_at,
        )
        marker = self._stamp(
            {
                **Keys.link(request.subject),
                "request_id": request.request_id,
                "token_hash": request.code_hash,
                "status": "pending",
                "created_at": request.created_at,
            },
            RetentionClass.PENDING_OPTIN_LINK,
            request.expires_at,
        )
        ops = [
            ("request", "Put", self._put(request_item, "attribute_not_exists(PK)")),
            ("link", "Put", self._put(marker, "attribute_not_exists(PK) OR #exp <= :now", {":now": now})),
            self._not_suppressed(request.suppression_hash, now),
        ]
        for _ in retry_on_conflict():
            try:
                self._transact(ops)
            except Conflict as conflict:
                if conflict.failed == ("transaction_conflict",):  # a simultaneous request: try again
                    continue
                if {"link", "suppression"} & set(conflict.failed):
                    return False
                raise
            return True
        return False  # still contended: another request for this number is being written

    def _not_suppressed(self, suppression_hash: str, now: int) -> tuple[str, str, dict[str, Any]]:
        return (
            "suppression",
            "ConditionCheck",
            self._delete(Keys.suppression(suppression_hash), "attribute_not_exists(PK) OR #exp <= :now", {":now": now}),
        )

    def claim_link_send(self, token_hash: str) -> bool:
        """Mark a pending request as being sent; False when it is closed or was claimed before."""
        request = self._update(
            Keys.optin(token_hash),
            "SET send_claimed_at = :now",
            {":now": self.now(), ":pending": "pending"},
            "#status = :pending AND #exp > :now AND attribute_not_exists(send_claimed_at)",
        )
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_link_sent(self, token_hash: str, message_hash: str) -> None:
        """Which provider message carried the link (its keyed hash): evidence for the ledger.

        The link may already be used, declined or voided by then: that is no error.
        """
        request = self._update(
            Keys.optin(token_hash),
            "SET sent_message = :m, sent_at = :now",
            {":m": message_hash, ":now": self.now(), ":pending": "pending"},
            "#status = :pending",
        )
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def release_link_request(self, request: OptInRequest) -> None:
        """Undo a request whose message could not be sent, so the person may try again."""
        self._transact(
            [
                (
                    "request",
                    "Delete",
                    self._delete(Keys.optin(request.code_hash), "#req = :req", {":req": request.request_id}),
                ),
                (
                    "link",
                    "Delete",
                    self._delete(Keys.link(request.subject), "#req = :req", {":req": request.request_id}),
                ),
            ]
        )

    def _grant_ops(
        self,
        subject: str,
        consents: Mapping[str, ConsentRecord],
        purposes: Sequence[str],
        request_id: str,
        notice: tuple[str, str, str],
        channel: str,
        now: int,
        suppression_hash: str = "",
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Purposes → active in one step (the person's explicit act was the confirmation itself).

        Conditioned on each record's revision as read, so a withdrawal in between makes it fail.
        ``notice`` is (version, language, sha256).
        """
        ops: list[tuple[str, str, dict[str, Any]]] = []
        version, language, sha256 = notice
        for purpose in purposes:
            record = consents.get(purpose)
            ops.append(
                (
                    f"consent:{purpose}",
                    "Update",
                    self._update(
                        Keys.consent(subject, purpose),
                        "SET #state = :active, #req = :req, updated_at = :now, activated_at = :now,"
                        " notice_version = :nv, notice_language = :nl, notice_sha256 = :ns, #channel = :ch,"
                        + (" suppression_hash = :sh," if suppression_hash else "")
                        + " #rev = if_not_exists(#rev, :zero) + :one",
                        {
                            ":active": ConsentState.ACTIVE.value,
                            ":req": request_id,
                            ":now": now,
                            ":nv": version,
                            ":nl": language,
                            ":ns": sha256,
                            ":ch": channel,
                            ":zero": 0,
                            ":one": 1,
                            **({":rev": record.rev} if record else {}),
                            **({":sh": suppression_hash} if suppression_hash else {}),
                        },
                        # no live record: none at all, or one past its retention that the purge has not reached
                        "#rev = :rev" if record else "attribute_not_exists(#rev) OR #exp <= :now",
                        (RetentionClass.CONSENT_LEDGER, now + int(self._plan.consent_validity.total_seconds())),
                    ),
                )
            )
        return ops

    # -- explicit consent for special categories, asked in the chat ------------------------------

    def ask_special_consent(self, subject: str, request: SpecialRequest) -> bool:
        """Record the question; False when one is already open (ask once per quarantine period)."""
        now = self.now()
        item = self._stamp(
            {
                **Keys.special_request(subject),
                "nonce": request.nonce,
                "purpose": request.purpose,
                "language": request.language,
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "asked_at": request.asked_at,
            },
            RetentionClass.SPECIAL_QUARANTINE,
            self._plan.expires_at(RetentionClass.SPECIAL_QUARANTINE, request.asked_at),
        )
        try:
            self._client.put_item(**self._put(item, "attribute_not_exists(PK) OR #exp <= :now", {":now": now}))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _close_special_op(self, subject: str, nonce: str) -> tuple[str, str, dict[str, Any]]:
        now = self.now()
        return (
            "special_request",
            "Delete",
            self._delete(
                Keys.special_request(subject), "nonce = :nonce AND #exp > :now", {":nonce": nonce, ":now": now}
            ),
        )

    def grant_special_consent(
        self,
        subject: str,
        request: SpecialRequest,
        consents: Mapping[str, ConsentRecord],
        head: LedgerHead | None,
        new_head: LedgerHead,
        entries: Sequence[LedgerEntry],
        channel: str,
        message_hash: str,
        covering: ConsentRecord,
    ) -> None:
        """The person's "yes" to the question: the special purpose → active, with proof, once.

        Only while the conversation's own consent is still as read (``covering``): a withdrawal
        that lands first cancels it.
        """
        now = self.now()
        ops = [self._close_special_op(subject, request.nonce), self._still_active(subject, covering)]
        ops += self._grant_ops(
            subject,
            consents,
            [request.purpose],
            f"art9:{request.nonce}",
            (request.notice_version, request.language, request.notice_sha256),
            channel,
            now,
        )
        ops += self._ledger_ops(subject, head, new_head, entries, now)
        ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)

    def quarantined_messages(self, subject: str) -> list[dict[str, Any]]:
        quarantine = RetentionClass.SPECIAL_QUARANTINE.value
        return [m for m in self.inbound_messages(subject) if m.get("retention_class") == quarantine]

    def release_quarantine(self, subject: str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Quarantined messages → the special-category class, counted from their receipt."""
        for message in messages:
            expires = self._plan.expires_at(RetentionClass.SPECIAL_CATEGORY, message["received_at"])
            request = self._update(
                {"PK": message["PK"], "SK": message["SK"]},
                "SET released_at = :now",
                {":now": self.now(), ":quarantine": RetentionClass.SPECIAL_QUARANTINE.value},
                "#rc = :quarantine",
                (RetentionClass.SPECIAL_CATEGORY, expires),
            )
            try:
                self._client.update_item(**request)
            except ClientError as error:  # purged in the meantime: nothing to release
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def discard_quarantine(
        self, subject: str, nonce: str, messages: Sequence[Mapping[str, Any]], message_hash: str
    ) -> None:
        """The person's "no": the question and every quarantined message go, with the dedupe record."""
        now = self.now()
        first, rest = list(messages[:90]), list(messages[90:])  # a transaction holds 100 operations
        ops = [self._close_special_op(subject, nonce)]
        ops += [
            ("message", "Delete", {"TableName": self._table, "Key": serialize({"PK": m["PK"], "SK": m["SK"]})})
            for m in first
        ]
        ops.append(("dedupe", "Put", self._dedupe_put(message_hash, now)))
        self._transact(ops)
        if rest:
            self.delete_keys([{"PK": m["PK"], "SK": m["SK"]} for m in rest])

    def _close_link_ops(
        self, subject: str, token_hash: str, request_id: str, status: str, now: int
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """pending link → ``status``; the request no longer names the subject."""
        return [
            (
                "link_request",
                "Update",
                self._update(
                    Keys.optin(token_hash),
                    "SET #status = :status, closed_at = :now REMOVE #subject, suppression_hash",
                    {":status": status, ":pending": "pending", ":now": now, ":subject": subject},
                    "#status = :pending AND #exp > :now AND #subject = :subject",
                ),
            ),
            (
                "link",
                "Update",
                self._update(
                    Keys.link(subject),
                    "SET #status = :status",
                    {":status": status, ":req": request_id},
                    "#req = :req",
                ),
            ),
        ]

    def confirm_link(
        self,
        request: OptInRequest,
        purposes: Sequence[str],
        consents: Mapping[str, ConsentRecord],
        head: LedgerHead | None,
        new_head: LedgerHead,
        entries: Sequence[LedgerEntry],
    ) -> None:
        """pending link → confirmed; ``purposes`` → active, with the proof, atomically and once.

        Fails (Conflict) when the link is no longer open or the number went on the block list.
        """
        now = self.now()
        subject = request.subject
        ops = self._close_link_ops(subject, request.code_hash, request.request_id, "confirmed", now)
        if request.suppression_hash:
            ops.append(self._not_suppressed(request.suppression_hash, now))
        ops += self._grant_ops(
            subject,
            consents,
            purposes,
            request.request_id,
            (request.notice_version, request.language, request.notice_sha256),
            request.channel,
            now,
            suppression_hash=request.suppression_hash,
        )
        ops += self._ledger_ops(subject, head, new_head, entries, now)
        self._transact(ops)

    def void_link(self, subject: str, link: PendingLink, status: str) -> bool:
        """Close the subject's open link (erasure, withdrawal elsewhere); False when it was not open."""
        try:
            self._transact(self._close_link_ops(subject, link.token_hash, link.request_id, status, self.now()))
        except Conflict:
            return False
        return True

    def optin_item(self, code_hash: str) -> dict[str, Any] | None:
        """The raw request item (the export shows it as stored)."""
        response = self._client.get_item(
            TableName=self._table, Key=serialize(Keys.optin(code_hash)), ConsistentRead=True
        )
        return deserialize(response["Item"]) if "Item" in response else None

    def decline_link(self, request: OptInRequest) -> None:
        """pending link → declined: no consent, and the request forgets the subject."""
        self._transact(
            self._close_link_ops(request.subject, request.code_hash, request.request_id, "declined", self.now())
        )

    def _suppression_put(self, suppression_hash: str, now: int) -> dict[str, Any]:
        item = self._stamp(
            {**Keys.suppression(suppression_hash), "since": now},
            RetentionClass.SUPPRESSION,
            self._plan.expires_at(RetentionClass.SUPPRESSION, now),
        )
        return self._put(item)

    def suppress(self, suppression_hash: str) -> None:
        """Put someone on the block list (keyed hash only) for the suppression period."""
        self._client.put_item(**self._suppression_put(suppression_hash, self.now()))

    def is_suppressed(self, suppression_hash: str) -> bool:
        response = self._client.get_item(
            TableName=self._table, Key=serialize(Keys.suppression(suppression_hash)), ConsistentRead=True
        )
        item = response.get("Item")
        return item is not None and self._plan.is_live(deserialize(item).get("expires_at"), self._clock())

    # -- ledger --------------------------------------------------------------------------------

    def ledger_entries(self, ledger_id: str) -> list[LedgerEntry]:
        entries = []
        now = self._clock()
        for data in self._query(f"LEDGER#{ledger_id}", "E#"):
            if not self._plan.is_live(data.get("expires_at"), now):
                continue
            entries.append(
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
            )
        return entries

    # -- outbound messages ---------------------------------------------------------------------

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
        """An inbound message and its dedupe record, in one transaction (a replay stores nothing).

        ``seal`` encrypts the content for the item's sort key (the key is associated data).
        ``covered_by`` is the consent that allows keeping it, as read: a withdrawal landing
        after that read cancels the write (Conflict ``covering_consent``), so nothing is kept.
        """
        now = self.now()
        key = Keys.inbound(subject, now, message_hash)
        item = self._stamp(
            {
                **key,
                "kind": kind,
                "received_at": now,
                "sealed": seal(key["SK"]),
                "sensitive": sorted(sensitive) or None,
            },
            retention,
            self._plan.expires_at(retention, now),
        )
        ops = [
            ("dedupe", "Put", self._dedupe_put(message_hash, now)),
            ("message", "Put", self._put(item)),
            ("conversation", "Update", self._conversation_update(subject, now, inbound=True)),
        ]
        if covered_by is not None:
            ops.append(self._still_active(subject, covered_by))
        self._transact(ops)

    def _still_active(self, subject: str, record: ConsentRecord) -> tuple[str, str, dict[str, Any]]:
        return (
            "covering_consent",
            "ConditionCheck",
            self._delete(
                Keys.consent(subject, record.purpose),
                "#state = :active AND #rev = :rev",
                {":active": ConsentState.ACTIVE.value, ":rev": record.rev},
            ),
        )

    def _conversation_update(self, subject: str, now: int, inbound: bool) -> dict[str, Any]:
        """The subject's conversation summary moves to today's partition of ``by_activity``."""
        update = "SET activity_day = :day, last_activity = :now"
        values: dict[str, Any] = {":day": activity_day(now), ":now": now}
        if inbound:
            update += ", last_inbound_at = :now ADD messages_in :one"
            values[":one"] = 1
        return self._update(
            Keys.conversation(subject),
            update,
            values,
            retention=(RetentionClass.CONVERSATION, self._plan.expires_at(RetentionClass.CONVERSATION, now)),
        )

    def recent_conversations(
        self, limit: int, cursor: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Conversations by latest activity, newest first, one index partition per UTC day.

        Looks back as far as conversations are kept. Returns a page and the cursor of the next one.
        """
        now = self.now()
        days = int(self._plan.period(RetentionClass.CONVERSATION).total_seconds() // 86_400) + 1
        today = now // 86_400
        offset, start_key = 0, None
        if cursor is not None:
            offset, start_key = self._parse_cursor(cursor, today, days)
        found: list[dict[str, Any]] = []
        while offset < days and len(found) < limit:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": ACTIVITY_INDEX,
                "KeyConditionExpression": "activity_day = :day",
                "ExpressionAttributeValues": _values({":day": activity_day(now - offset * 86_400)}),
                "ScanIndexForward": False,
                "Limit": limit - len(found),
            }
            if start_key:
                request["ExclusiveStartKey"] = serialize(start_key)
            response = self._client.query(**request)
            found += [
                item
                for item in (deserialize(i) for i in response.get("Items", []))
                if self._plan.is_live(item.get("expires_at"), now)
            ]
            last = response.get("LastEvaluatedKey")
            start_key = deserialize(last) if last else None
            if start_key is None:
                offset += 1
        if offset >= days:
            return found, None
        return found, {"day": today - offset, "key": start_key}  # an absolute day: stable across midnight

    @staticmethod
    def _parse_cursor(cursor: Mapping[str, Any], today: int, days: int) -> tuple[int, dict[str, Any] | None]:
        bad = BadCursor("cursor: not one this API handed out")
        day, key = cursor.get("day"), cursor.get("key")
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= today - day < days:
            raise bad
        if key is None:
            return today - day, None
        if (
            not isinstance(key, dict)
            or set(key) != {"PK", "SK", "activity_day", "last_activity"}
            or not all(isinstance(key[k], str) for k in ("PK", "SK", "activity_day"))
            or not str(key["PK"]).startswith("SUBJ#")
            or key["SK"] != "S#CONV"
            or key["activity_day"] != activity_day(day * 86_400)  # the partition the cursor names
            or not isinstance(key["last_activity"], int)
            or isinstance(key["last_activity"], bool)
            or not 0 <= key["last_activity"] < 2**40
        ):
            raise bad
        return today - day, dict(key)

    def inbound_messages(self, subject: str) -> list[dict[str, Any]]:
        """The subject's live inbound messages, oldest first, still sealed."""
        now = self._clock()
        return [
            i for i in self._query(Keys.subject_pk(subject), "M#IN#") if self._plan.is_live(i.get("expires_at"), now)
        ]

    # -- the subject's items (Art. 15 export, Art. 17 erasure) ---------------------------------

    def subject_items(self, subject: str) -> list[dict[str, Any]]:
        """Every item in the subject's partition, live or not yet purged."""
        return list(self._query(Keys.subject_pk(subject), ""))

    def request_erasure(self, subject: str, nonce: str) -> None:
        """The person asked for erasure in the chat; their yes must follow within the hour."""
        now = self.now()
        item = self._stamp(
            {**Keys.erasure_request(subject), "nonce": nonce, "asked_at": now},
            RetentionClass.PENDING_OPTIN_CHAT,
            self._plan.expires_at(RetentionClass.PENDING_OPTIN_CHAT, now),
        )
        self._client.put_item(**self._put(item))

    def cancel_erasure(self, subject: str, message_hash: str) -> None:
        self._transact(
            [
                ("erasure", "Delete", {"TableName": self._table, "Key": serialize(Keys.erasure_request(subject))}),
                ("dedupe", "Put", self._dedupe_put(message_hash, self.now())),
            ]
        )

    def subject_rate_keys(self, subject: str) -> list[dict[str, str]]:
        """The info-reply counters keyed by the subject (current and previous day window)."""
        now = self.now()
        window = now - now % 86_400
        return [Keys.rate("info-reply", subject, w) for w in (window, window - 86_400)]

    def rate_counters(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        found = []
        for key in keys:
            response = self._client.get_item(TableName=self._table, Key=serialize(key), ConsistentRead=True)
            if "Item" in response:
                found.append(deserialize(response["Item"]))
        return found

    def delete_keys(self, keys: Sequence[Mapping[str, str]]) -> int:
        """Delete items by key in batches of 25, retrying unprocessed ones; returns how many."""
        for offset in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": serialize(k)}} for k in keys[offset : offset + 25]]
            for attempt in range(8):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                response = self._client.batch_write_item(RequestItems={self._table: requests})  # type: ignore[dict-item]
                requests = response.get("UnprocessedItems", {}).get(self._table, [])  # type: ignore[assignment]
                if not requests:
                    break
            else:
                raise RuntimeError("deletes left unprocessed after retries")
        return len(keys)

    def delete_subject_key(self, subject: str) -> None:
        if self._key_table:
            self._client.delete_item(TableName=self._key_table, Key=serialize(Keys.subject_key(subject)))

    def put_erasure_receipt(self, erasure_id: str, counts: Mapping[str, int]) -> None:
        """A receipt without personal data: when, and how many items of which kind were erased."""
        now = self.now()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        item = self._stamp(
            {**Keys.purge_receipt(day, erasure_id, "erasure"), "erased_at": now, "counts": dict(counts)},
            RetentionClass.PURGE_RECEIPT,
            self._plan.expires_at(RetentionClass.PURGE_RECEIPT, now),
        )
        self._client.put_item(**self._put(item))

    def record_outbound(
        self,
        subject: str,
        message_hash: str,
        kind: str,
        seal: Callable[[str], bytes] | None = None,
        retention: RetentionClass = RetentionClass.CONVERSATION,
        covered_by: ConsentRecord | None = None,
    ) -> None:
        """An outbound message for status tracking; with ``seal``, its content too (agent replies).

        With ``covered_by`` the content is kept only if that consent is still as it was read.
        """
        now = self.now()
        key = Keys.outbound(subject, message_hash)
        item = self._stamp(
            {
                **key,
                "kind": kind,
                "status": "accepted",
                "status_rank": 0,
                "sent_at": now,
                "sealed": seal(key["SK"]) if seal else None,
            },
            retention,
            self._plan.expires_at(retention, now),
        )
        if seal is None:
            self._client.put_item(**self._put(item))
            return
        ops = [  # an agent's reply is part of the conversation
            ("message", "Put", self._put(item)),
            ("conversation", "Update", self._conversation_update(subject, now, inbound=False)),
        ]
        if covered_by is not None:
            ops.append(self._still_active(subject, covered_by))
        self._transact(ops)

    def shorten_conversation(self, subject: str, retention: RetentionClass) -> int:
        """Bring every message (and the conversation summary) under ``retention`` from now, never later.

        Runs after a withdrawal: an item that would be gone sooner anyway keeps its expiry.
        Idempotent; returns how many items were shortened.
        """
        now = self.now()
        cap = self._plan.expires_at(retention, now)
        shortened = 0
        items = self._query(Keys.subject_pk(subject), "")  # one query: the messages and the summary
        for item in items:
            if not (item["SK"].startswith("M#") or item["SK"] == "S#CONV"):
                continue
            if not self._plan.is_live(item.get("expires_at"), now) or item["expires_at"] <= cap:
                continue
            request = self._update(
                {"PK": item["PK"], "SK": item["SK"]},
                "SET shortened_at = :now",
                {":now": now, ":cap": cap},
                "#exp > :cap",
                (retention, cap),
            )
            try:
                self._client.update_item(**request)
            except ClientError as error:  # purged or shortened meanwhile
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            shortened += 1
        return shortened

    def outbound_messages(self, subject: str) -> list[dict[str, Any]]:
        """The subject's live outbound messages whose content was kept (agent replies), still sealed."""
        now = self._clock()
        return [
            i
            for i in self._query(Keys.subject_pk(subject), "M#OUT#")
            if "sealed" in i and self._plan.is_live(i.get("expires_at"), now)
        ]

    def update_outbound_status(self, subject: str, message_hash: str, status: str) -> bool:
        """Move a known outbound message forward (sent < delivered < read; failed is final).

        Never creates an item (statuses of messages we did not record leave no trace) and never
        downgrades: an out-of-order status fails its condition and changes nothing.
        """
        rank = STATUS_RANK[status]
        request = self._update(
            Keys.outbound(subject, message_hash),
            "SET #status = :status, #rank = :rank, status_at = :now",
            {":status": status, ":rank": rank, ":now": self.now()},
            "attribute_exists(PK) AND #rank < :rank",
        )
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


@dataclass(frozen=True)
class ExpiredItem:
    pk: str
    sk: str
    retention_class: str
    expires_at: int

    @property
    def subject(self) -> str | None:
        return self.pk.removeprefix("SUBJ#") if self.pk.startswith("SUBJ#") else None


def retry_on_conflict(attempts: int = 4, pause: float = 0.02) -> Iterator[int]:
    """Attempt numbers for optimistic-concurrency loops, with a short growing pause between."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause * attempt)
        yield attempt


class PurgeAccess:
    """The purge's reads and deletes: the expiry index, batch deletes, receipts, key items."""

    def __init__(self, table: ChatconsentTable) -> None:
        self._t = table

    @staticmethod
    def partitions(now: int, lookback_seconds: int) -> list[str]:
        """Expiry-index partitions that can hold items expired by ``now``, oldest first."""
        first, last = (now - lookback_seconds) // 86_400, now // 86_400
        return [f"{day}#{shard}" for day in range(first, last + 1) for shard in range(EXPIRY_SHARDS)]

    def expired_page(
        self, partition: str, now: int, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[list[ExpiredItem], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._t._table,
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "#shard = :partition AND #exp <= :now",
            "ExpressionAttributeNames": _names("#shard #exp"),
            "ExpressionAttributeValues": _values({":partition": partition, ":now": now}),
            "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = self._t._client.query(**request)
        items = [deserialize(i) for i in response.get("Items", [])]
        page = [ExpiredItem(i["PK"], i["SK"], i.get("retention_class", ""), i["expires_at"]) for i in items]
        return page, response.get("LastEvaluatedKey")

    def delete(self, items: Sequence[ExpiredItem]) -> list[ExpiredItem]:
        """One BatchWriteItem (at most 25 deletes); returns the items DynamoDB left unprocessed."""
        if len(items) > 25:
            raise ValueError("BatchWriteItem takes at most 25 requests")
        requests = [{"DeleteRequest": {"Key": serialize({"PK": i.pk, "SK": i.sk})}} for i in items]
        response = self._t._client.batch_write_item(RequestItems={self._t._table: requests})  # type: ignore[dict-item]
        left = response.get("UnprocessedItems", {}).get(self._t._table, [])
        left_keys = {(k["DeleteRequest"]["Key"]["PK"]["S"], k["DeleteRequest"]["Key"]["SK"]["S"]) for k in left}
        return [i for i in items if (i.pk, i.sk) in left_keys]

    def subject_has_items(self, subject: str) -> bool:
        response = self._t._client.query(
            TableName=self._t._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=_values({":pk": Keys.subject_pk(subject)}),
            ConsistentRead=True,
            Limit=1,
        )
        return bool(response.get("Items"))

    def subjects_with_keys(self, subjects: Sequence[str]) -> set[str]:
        """Which of ``subjects`` still have a data-key item (BatchGetItem, 100 keys a call)."""
        if not self._t._key_table or not subjects:
            return set()
        found: set[str] = set()
        ordered = sorted(set(subjects))
        for offset in range(0, len(ordered), 100):
            request: dict[str, Any] = {
                self._t._key_table: {
                    "Keys": [serialize(Keys.subject_key(s)) for s in ordered[offset : offset + 100]],
                    "ProjectionExpression": "subject",
                }
            }
            for attempt in range(8):
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                response = self._t._client.batch_get_item(RequestItems=request)
                found |= {i["subject"]["S"] for i in response.get("Responses", {}).get(self._t._key_table, [])}
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def delete_subject_key(self, subject: str) -> bool:
        """Remove a subject's data-key item once nothing of theirs is left (no-op without a key table)."""
        if not self._t._key_table:
            return False
        self._t.delete_subject_key(subject)
        return True

    def put_receipt(self, run_id: str, retention_class: str, attributes: Mapping[str, Any]) -> None:
        """A receipt per run and purged class: counts and ages only, no personal data."""
        now = self._t.now()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        item = self._t._stamp(
            {
                **Keys.purge_receipt(day, run_id, retention_class),
                "run_id": run_id,
                "purged_class": retention_class,
                **attributes,
            },
            RetentionClass.PURGE_RECEIPT,
            self._t._plan.expires_at(RetentionClass.PURGE_RECEIPT, now),
        )
        self._t._client.put_item(**self._t._put(item))
