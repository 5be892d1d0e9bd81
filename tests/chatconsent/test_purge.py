"""The scheduled purge with a controlled clock: on time, complete, resumable, safe, untouched rest."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chatconsent.purge import Pacing, PurgeJob
from chatconsent.retention import RetentionClass
from chatconsent.store import Store, keys
from chatconsent.store.keys import EXPIRY_INDEX, ItemKey
from localrun.aws import KEY_TABLE_NAME, TABLE_NAME
from tests.conftest import Env

DAY = 86_400


def put(env: Env, pk: str, sk: str, retention: RetentionClass, expires_at: int) -> None:
    table = env.store.table
    item = table.item(ItemKey(pk, sk), {"note": "synthetic"}, retention, expires_at)
    env.dynamodb.put_item(**table.put(item))


def job(env: Env, client: Any = None, **kwargs: Any) -> PurgeJob:
    store = env.store
    if client is not None:
        store = Store(client, TABLE_NAME, store.plan, env.clock, KEY_TABLE_NAME)
    return PurgeJob(
        store.purge,
        env.clock,
        lookback_seconds=14 * DAY,
        page_size=kwargs.pop("page_size", 100),
        time_left_ms=kwargs.pop("time_left_ms", None),
        pacing=Pacing(sleep=lambda _: None, **kwargs),
    )


def expired_left(env: Env) -> list[dict[str, Any]]:
    return [i for i in env.items() if i["expires_at"] <= env.clock() and not i["PK"].startswith("RECEIPT#")]


def populate(env: Env, expired: int, live: int) -> None:
    now = int(env.clock())
    for n in range(expired):
        put(env, f"SUBJ#s{n % 7}", f"M#{n}", RetentionClass.CONVERSATION, now - 1 - n * 60)
    for n in range(live):
        put(env, f"SUBJ#s{n % 7}", f"M#live{n}", RetentionClass.CONVERSATION, now + DAY + n)


def test_deletes_exactly_what_expired_and_leaves_the_rest(env: Env) -> None:
    populate(env, expired=60, live=40)
    put(env, "DEDUPE#x", "DEDUPE", RetentionClass.WEBHOOK_DEDUPE, int(env.clock()) - 10)
    put(env, "LEDGER#l1", "E#0000000001", RetentionClass.CONSENT_LEDGER, int(env.clock()) + 1000 * DAY)
    report = job(env).run("run-1")
    assert report.complete and report.items_deleted == 61 and report.items_left == 0
    assert report.items_read == 61  # the index yields only what expired: one read per delete
    assert expired_left(env) == []
    survivors = [i for i in env.items() if not i["PK"].startswith("RECEIPT#")]
    assert len(survivors) == 41 and all(i["expires_at"] > env.clock() for i in survivors)


def test_receipts_per_class_without_personal_data(env: Env) -> None:
    populate(env, expired=5, live=0)
    put(env, "DEDUPE#x", "DEDUPE", RetentionClass.WEBHOOK_DEDUPE, int(env.clock()) - 7200)
    job(env).run("run-1")
    receipts = {i["purged_class"]: i for i in env.items() if i["PK"].startswith("RECEIPT#")}
    assert set(receipts) == {"conversation", "webhook_dedupe"}
    assert receipts["conversation"]["deleted"] == 5
    assert receipts["webhook_dedupe"]["oldest_overdue_seconds"] == 7200
    for receipt in receipts.values():
        assert receipt["retention_class"] == "purge_receipt"
        assert receipt["expires_at"] == int(env.clock()) + 400 * DAY
        assert "SUBJ#" not in json.dumps(receipt) and "s1" not in json.dumps(receipt)


def test_half_finished_run_stops_cleanly_and_the_next_resumes(env: Env) -> None:
    populate(env, expired=120, live=10)

    def time_left_ms() -> int:  # plenty until the first deletions, then nearly none
        return 60_000 if len(expired_left(env)) == 120 else 1_000

    first = job(env, page_size=25, time_left_ms=time_left_ms).run("run-1")
    assert not first.complete and 0 < first.items_deleted < 120
    assert len(expired_left(env)) == 120 - first.items_deleted
    second = job(env, page_size=25).run("run-2")
    assert second.complete and first.items_deleted + second.items_deleted == 120
    assert expired_left(env) == []


class FlakyClient:
    """Throttles the first batch write and leaves items unprocessed on the next ones."""

    def __init__(self, client: Any, unprocessed_rounds: int) -> None:
        self._client = client
        self.throttled = False
        self.unprocessed_rounds = unprocessed_rounds
        self.batch_calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        self.batch_calls += 1
        if not self.throttled:
            self.throttled = True
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "BatchWriteItem"
            )
        if self.unprocessed_rounds:
            self.unprocessed_rounds -= 1
            [(table, requests)] = RequestItems.items()
            done, left = requests[: len(requests) // 2], requests[len(requests) // 2 :]
            if done:
                self._client.batch_write_item(RequestItems={table: done})
            return {"UnprocessedItems": {table: left}}
        return dict(self._client.batch_write_item(RequestItems=RequestItems))


def test_throttling_and_unprocessed_items_are_retried(env: Env) -> None:
    populate(env, expired=25, live=5)
    flaky = FlakyClient(env.wiring.dynamodb, unprocessed_rounds=3)
    report = job(env, client=flaky).run("run-1")
    assert report.complete and report.items_deleted == 25 and report.items_left == 0
    assert flaky.throttled and flaky.unprocessed_rounds == 0
    assert expired_left(env) == []


def test_items_still_unprocessed_after_every_retry_are_left_for_the_next_run(env: Env) -> None:
    populate(env, expired=10, live=0)
    flaky = FlakyClient(env.wiring.dynamodb, unprocessed_rounds=100)
    report = job(env, client=flaky, max_attempts=3).run("run-1")
    assert report.items_left > 0 and report.items_deleted + report.items_left == 10
    assert job(env).run("run-2").items_deleted == report.items_left
    assert expired_left(env) == []


def test_two_runs_at_once_are_safe(env: Env) -> None:
    populate(env, expired=200, live=20)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            job(env).run(name)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(f"run-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert expired_left(env) == []
    assert len([i for i in env.items() if i["PK"].startswith("SUBJ#")]) == 20


def test_key_item_goes_when_the_subject_has_nothing_left(env: Env) -> None:
    now = int(env.clock())
    put(env, "SUBJ#gone", "M#1", RetentionClass.CONVERSATION, now - 5)
    put(env, "SUBJ#stays", "M#1", RetentionClass.CONVERSATION, now - 5)
    put(env, "SUBJ#stays", "M#2", RetentionClass.CONVERSATION, now + DAY)
    for subject in ("gone", "stays"):
        env.dynamodb.put_item(TableName=KEY_TABLE_NAME, Item={"subject": {"S": subject}, "wrapped_key": {"B": b"k"}})
    report = job(env).run("run-1")
    assert report.subjects_cleared == 1
    keys = {i["subject"]["S"] for i in env.dynamodb.scan(TableName=KEY_TABLE_NAME)["Items"]}
    assert keys == {"stays"}


def test_the_purge_never_scans(env: Env) -> None:
    calls: list[str] = []
    env.wiring.dynamodb._client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    populate(env, expired=3, live=3)
    calls.clear()
    job(env).run("run-1")
    assert "Scan" not in calls and set(calls) <= {"Query", "BatchWriteItem", "BatchGetItem", "PutItem", "DeleteItem"}


def test_expiry_index_is_the_templates(env: Env) -> None:
    description = env.dynamodb.describe_table(TableName=TABLE_NAME)["Table"]
    [index] = [i for i in description["GlobalSecondaryIndexes"] if i["IndexName"] == EXPIRY_INDEX]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["expiry_shard", "expires_at"]


@pytest.mark.parametrize("retention", list(RetentionClass))
def test_every_class_is_purged_once_its_period_is_over(env: Env, retention: RetentionClass) -> None:
    plan = env.store.plan
    start = int(env.clock())
    put(env, "SUBJ#x", f"M#{retention.value}", retention, plan.expires_at(retention, start))
    put(
        env,
        "SUBJ#x",
        "M#other",
        RetentionClass.CONSENT_LEDGER,
        plan.expires_at(RetentionClass.CONSENT_LEDGER, start) + DAY,
    )
    env.clock.advance(plan.period(retention).total_seconds() - 1)
    assert job(env).run("early").items_deleted == 0
    env.clock.advance(61)
    assert job(env).run("on-time").items_deleted == 1
    assert [i["SK"] for i in env.items() if i["PK"] == "SUBJ#x"] == ["M#other"]


def test_keys_module_spells_receipt_keys() -> None:
    assert keys.receipt("2026-11-28", "r", "conversation").as_key() == {
        "PK": "RECEIPT#2026-11-28",
        "SK": "r#conversation",
    }
