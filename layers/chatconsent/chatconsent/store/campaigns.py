"""Campaigns as stored: the campaign, its results, the audience it reads and each send's record.

A campaign moves ``draft → approved → (scheduled →) running ⇄ paused``, or to ``cancelled``;
every move is one conditional write on the status read, so two principals racing each other
cannot both win. The audience is the sparse ``by_audience`` index (reach records of consents
active on WhatsApp, sharded); a send is claimed in one transaction (``store.sends``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.guards import Guards
from chatconsent.store.table import Conflict, Operation, Table

_NOT_COUNTS = frozenset({keys.PARTITION, keys.SORT, keys.EXPIRY_SHARD, "expires_at", "retention_class"})
AUDIENCE_PAGE = 500  # index items per planner query (DynamoDB stops at 1 MB anyway)
CAMPAIGN_CHANNEL = "whatsapp"  # campaigns are WhatsApp templates (chatconsent.broadcast)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Claim(StrEnum):
    """What claiming one send found."""

    CLAIMED = "claimed"  # the send record is written, the cap counted: send now
    SENT_BEFORE = "sent_before"  # a redelivered job: the record says sent (or failed for good)
    IN_DOUBT = "in_doubt"  # claimed before and never closed (a crash or a timeout): never sent twice
    WITHDRAWN = "withdrawn"  # the consent is no longer active as read: a withdrawal that landed first wins
    BLOCKED = "blocked"  # the number is on the block list
    CAPPED = "capped"  # the frequency cap promised in the notice is reached
    RESTRICTED = "restricted"  # processing restricted (Art. 18): nothing is sent
    OTHER_CHANNEL = "other_channel"  # the consent was given on a messenger campaigns do not send on


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    template: str
    purpose: str
    parameters: tuple[str, ...]
    languages: tuple[str, ...]
    status: CampaignStatus
    created_by: str  # keyed hash of the principal
    created_at: int
    approved_by: str = ""
    scheduled_for: int = 0
    started_at: int = 0
    paused_reason: str = ""
    plans_open: int = -1  # audience partitions still being read (-1: the planner has not started)
    planned: int = 0  # recipients queued so far


@dataclass(frozen=True)
class Recipient:
    """One audience index item: a person a campaign may write to, as the index had it."""

    subject: str
    purpose: str
    consent_rev: int
    language: str
    address: bytes
    proof_hash: str
    suppression_hash: str
    cap_until: int = 0
    cap_count: int = 0


@dataclass(frozen=True)
class Cap:
    """At most ``messages`` per ``period_seconds`` (a window that opens with its first send)."""

    messages: int
    period_seconds: int


def _campaign(data: Mapping[str, Any]) -> Campaign:
    return Campaign(
        campaign_id=data["campaign_id"],
        template=data["template"],
        purpose=data["purpose"],
        parameters=tuple(data.get("parameters") or ()),
        languages=tuple(data.get("languages") or ()),
        status=CampaignStatus(data["status"]),
        created_by=data["created_by"],
        created_at=data["created_at"],
        approved_by=data.get("approved_by", ""),
        scheduled_for=data.get("scheduled_for", 0),
        started_at=data.get("started_at", 0),
        paused_reason=data.get("paused_reason", ""),
        plans_open=data.get("plans_open", -1),
        planned=data.get("planned", 0),
    )


def count_update(table: Table, campaign_id: str, shard: str, counts: Mapping[str, int]) -> dict[str, Any] | None:
    """The Update that adds ``counts`` to one shard of a campaign's results (None: nothing to add).

    Count names are this product's own words (sent, read, failed_131026, ...), passed as attribute
    names because some of them are reserved in DynamoDB expressions.
    """
    counts = {name: n for name, n in counts.items() if n}
    if not counts:
        return None
    adds = ", ".join(f"#n{n} :v{n}" for n in range(len(counts)))
    values = {f":v{n}": value for n, value in enumerate(counts.values())}
    retention = (RetentionClass.CAMPAIGN_RESULTS, table.expires_at(RetentionClass.CAMPAIGN_RESULTS, table.now()))
    request = table.update(keys.campaign_counter(campaign_id, shard), "ADD " + adds, values, None, retention)
    request.setdefault("ExpressionAttributeNames", {}).update({f"#n{n}": name for n, name in enumerate(counts)})
    return request


def partitions(purpose: str, languages: tuple[str, ...]) -> list[str]:
    return keys.audience_partitions(purpose, languages)


def recipient_of(data: Mapping[str, Any]) -> Recipient:
    subject = keys.key_of(data).subject
    assert subject is not None
    return Recipient(
        subject=subject,
        purpose=keys.reach_purpose_of(str(data[keys.SORT])),
        consent_rev=int(data["consent_rev"]),
        language=str(data["language"]),
        address=bytes(data["address"]),
        proof_hash=str(data.get("proof_hash", "")),
        suppression_hash=str(data.get("suppression_hash", "")),
        cap_until=int(data.get("cap_until", 0)),
        cap_count=int(data.get("cap_count", 0)),
    )


class Campaigns:
    def __init__(self, table: Table, guards: Guards) -> None:
        self._t = table
        self._guards = guards

    # -- the campaign ------------------------------------------------------------------------------

    def create(self, campaign: Campaign) -> None:
        t = self._t
        attributes = {
            "campaign_id": campaign.campaign_id,
            "template": campaign.template,
            "purpose": campaign.purpose,
            "parameters": list(campaign.parameters),
            "languages": list(campaign.languages),
            "status": campaign.status.value,
            "created_by": campaign.created_by,
            "created_at": campaign.created_at,
        }
        item = t.item(
            keys.campaign(campaign.campaign_id),
            attributes,
            RetentionClass.CAMPAIGN_RESULTS,
            t.expires_at(RetentionClass.CAMPAIGN_RESULTS, campaign.created_at),
        )
        listed = t.item(
            keys.campaign_entry(campaign.created_at, campaign.campaign_id),
            {"campaign_id": campaign.campaign_id},
            RetentionClass.CAMPAIGN_RESULTS,
            int(item["expires_at"]),
        )
        t.transact([("campaign", "Put", t.put(item, "attribute_not_exists(PK)")), ("list", "Put", t.put(listed))])

    def get(self, campaign_id: str) -> Campaign | None:
        data = self._t.get(keys.campaign(campaign_id))
        return _campaign(data) if data is not None and self._t.is_live(data) else None

    def move(
        self,
        campaign_id: str,
        allowed: Sequence[CampaignStatus],
        to: CampaignStatus,
        changes: Mapping[str, Any] | None = None,
        extra_condition: tuple[str, Mapping[str, Any]] | None = None,
    ) -> bool:
        """Status ``allowed`` → ``to`` with ``changes`` (attribute: value), conditionally; False when not allowed."""
        t = self._t
        values: dict[str, Any] = {":to": to.value, ":now": t.now()}
        sets = ["#status = :to", "updated_at = :now"]
        for n, (name, value) in enumerate((changes or {}).items()):
            sets.append(f"{name} = :c{n}")  # names are this module's own constants, never input
            values[f":c{n}"] = value
        froms = []
        for n, status in enumerate(allowed):
            froms.append(f":f{n}")
            values[f":f{n}"] = status.value
        condition = f"#status IN ({', '.join(froms)})"
        if extra_condition is not None:
            condition += f" AND ({extra_condition[0]})"
            values |= dict(extra_condition[1])
        update = t.update(keys.campaign(campaign_id), "SET " + ", ".join(sets), values, condition)
        return t.update_item(update)

    def plan_started(self, campaign_id: str, partitions: int) -> None:
        t = self._t
        t.client.update_item(
            **t.update(keys.campaign(campaign_id), "SET plans_open = :n", {":n": partitions}, "attribute_exists(PK)")
        )

    def planned(self, campaign_id: str, recipients: int, partition_done: bool) -> None:
        """Count queued recipients; one partition fewer to read when ``partition_done``."""
        t = self._t
        update = "ADD planned :n" + (", plans_open :minus" if partition_done else "")
        values = {":n": recipients, **({":minus": -1} if partition_done else {})}
        t.client.update_item(**t.update(keys.campaign(campaign_id), update, values, "attribute_exists(PK)"))

    def recent(self, limit: int = 50) -> list[Campaign]:
        """The most recent campaigns, newest first (their list entries share one small partition)."""
        t = self._t
        items, _ = t.query_index(
            "", f"{keys.PARTITION} = :pk", {":pk": keys.CAMPAIGN_LIST}, Limit=limit, ScanIndexForward=False
        )
        found = (self.get(str(i["campaign_id"])) for i in items)
        return [c for c in found if c is not None]

    # -- results -----------------------------------------------------------------------------------

    def add_results(self, campaign_id: str, shard: str, counts: Mapping[str, int], job_id: str = "") -> bool:
        """Add to the campaign's results (one shard, chosen by ``shard``): aggregate counts only.

        With ``job_id`` (the send job's message id, the same on every delivery of the job) the counts
        are added once: the job's mark and the counts in one transaction. False: counted before.
        """
        t = self._t
        request = count_update(t, campaign_id, shard, counts)
        if not job_id:
            if request is not None:
                t.client.update_item(**request)
            return True
        now = t.now()
        mark = t.item(
            keys.campaign_job(campaign_id, job_id),
            {},
            RetentionClass.CAMPAIGN_RESULTS,
            t.expires_at(RetentionClass.CAMPAIGN_RESULTS, now),
        )
        ops: list[Operation] = [("job", "Put", t.put(mark, "attribute_not_exists(PK)"))]
        if request is not None:
            ops.append(("counts", "Update", request))
        try:
            t.transact(ops)
        except Conflict as conflict:
            if "job" in conflict.failed:
                return False
            raise
        return True

    def counted(self, campaign_id: str, job_id: str) -> bool:
        """Whether a send job's counts are in the results: it ran to its end on an earlier delivery."""
        return self._t.get(keys.campaign_job(campaign_id, job_id)) is not None

    def results(self, campaign_id: str) -> dict[str, int]:
        """The campaign's aggregate counts, summed over its shards (one query)."""
        totals: dict[str, int] = {}
        for data in self._t.query(keys.campaign_pk(campaign_id), keys.COUNTER_PREFIX):
            for name, value in data.items():
                if isinstance(value, int) and not isinstance(value, bool) and name not in _NOT_COUNTS:
                    totals[name] = totals.get(name, 0) + value
        return totals

    # -- the audience ------------------------------------------------------------------------------

    def audience_page(
        self, partition: str, now: int, cursor: Mapping[str, Any] | None = None, limit: int = AUDIENCE_PAGE
    ) -> tuple[list[Recipient], dict[str, Any] | None]:
        """One page of a partition of the audience: reach records the cap lets be written to now."""
        options: dict[str, Any] = {"Limit": limit}
        if cursor:
            options["ExclusiveStartKey"] = dict(cursor)
        items, last = self._t.query_index(
            keys.AUDIENCE_INDEX,
            f"{keys.AUDIENCE} = :aud AND {keys.AUDIENCE_SORT} <= :now",
            {":aud": partition, ":now": now},
            **options,
        )
        live = [recipient_of(i) for i in items if self._t.is_live(i, now)]
        return live, last

    def audience_size(self, partitions: Sequence[str], now: int) -> int:
        """How many people a campaign would reach now: a count, no personal data leaves the index."""
        total = 0
        for partition in partitions:
            request: dict[str, Any] = {
                "TableName": self._t.name,
                "IndexName": keys.AUDIENCE_INDEX,
                "KeyConditionExpression": f"{keys.AUDIENCE} = :aud AND {keys.AUDIENCE_SORT} <= :now",
                "FilterExpression": "expires_at > :now",
                "ExpressionAttributeValues": {":aud": {"S": partition}, ":now": {"N": str(now)}},
                "Select": "COUNT",
            }
            while True:
                response = self._t.client.query(**request)
                total += int(response.get("Count", 0))
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return total
