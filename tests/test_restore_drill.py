"""Restore drill: a point-in-time copy of the main table must not bring an erased person back.

The drill on the embedded backend: people with active consents (some with sealed messages, one
with nothing sealed at all); a copy of the main table as a point-in-time backup holds them; some
are erased after the restore point, in the chat (DELETE, then yes) and through the admin API (Art.
17: items deleted, data key shredded, receipt and tombstone written); the old copy is restored into
a new table next to the *current* key table (the key table has no point-in-time recovery, so it is
never restored).

What it shows: every sealed item of an erased person in the restored copy is unreadable, while a
person who was not erased still reads; the erasure receipt names no one; the restored copy still
holds the erased people's unsealed items (consent records, ledger head, opt-in requests, counters)
and the replay of the README's "Restore runbook" (``tools/replay_erasures.py``, from the live
table's erasure tombstones) deletes every one of them, copies the block list written since, touches
no one else and changes nothing when run again; the tombstone expires with its class and is in no
export.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.retention import RetentionClass
from chatconsent.store import Store
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.values import deserialize
from localrun.aws import KEY_TABLE_NAME, KMS_ALIAS, TABLE_NAME
from localrun.events import http_event
from localrun.template import load_template, table_definition
from tests.conftest import Env, json_body
from tests.flow import OTHER, PERSON, activate, button, deliver, replies_to, start_optin, subject_of, text
from tools import replay_erasures

RESTORED_TABLE = "chatconsent-local-restored-drill"
QUESTIONS = ["is my order on its way?", "it should have come on Monday", "the tracking link is broken"]


def scan(env: Env, table: str) -> list[dict[str, Any]]:
    """Every item as DynamoDB stores it (typed attribute values), all pages."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = env.dynamodb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def restore(env: Env, backup: list[dict[str, Any]], table: str) -> None:
    """What a point-in-time restore does: a new table, same definition, the items as they were."""
    env.dynamodb.create_table(**table_definition("ChatconsentTable", table))
    for item in backup:
        env.dynamodb.put_item(TableName=table, Item=item)


def erase(env: Env, subject: str) -> dict[str, Any]:
    event = http_event(
        "DELETE",
        f"/admin/subjects/{subject}",
        route_path="/admin/subjects/{subject}",
        path_parameters={"subject": subject},
    )
    response = env.invoke("admin", event)
    assert response["statusCode"] == 200, response
    erased: dict[str, Any] = json_body(response)["erased"]
    return erased


def sealed_items(items: list[dict[str, Any]], subject: str) -> list[dict[str, Any]]:
    return [i for i in items if i["PK"] == f"SUBJ#{subject}" and i.get("sealed") is not None]


def keyring(env: Env) -> SubjectKeyring:
    """A fresh container's keyring on the *current* key table (no cached keys)."""
    return SubjectKeyring(DataKeys(env.dynamodb, KEY_TABLE_NAME), boto3.client("kms"), KMS_ALIAS)


def live_person(env: Env, sender: str) -> str:
    """An active consent, several sealed messages in and a sealed agent reply out; a pending request too."""
    activate(env, sender=sender)
    for question in QUESTIONS:
        deliver(env, text(env, question, sender=sender))
    subject = subject_of(env, sender)
    env.wiring.agents.reply(subject, "We are looking into it.")
    started = start_optin(env, purposes={"marketing": True})
    deliver(env, text(env, f"My code: {started['code']}", sender=sender))  # bound, not yet confirmed
    return subject


def test_template_keeps_point_in_time_recovery_off_the_key_table() -> None:
    """The runbook rests on this: the main table has PITR, the key table has none (so shredding reaches backups)."""
    resources = load_template()["Resources"]
    main = resources["ChatconsentTable"]["Properties"]["PointInTimeRecoverySpecification"]
    keys = resources["SubjectKeyTable"]["Properties"].get("PointInTimeRecoverySpecification", {})
    assert main["PointInTimeRecoveryEnabled"] is True
    assert keys.get("PointInTimeRecoveryEnabled", False) is False


def test_a_restored_copy_of_the_main_table_cannot_bring_an_erased_person_back(env: Env) -> None:
    erased_subject = live_person(env, PERSON)
    kept_subject = live_person(env, OTHER)
    backup = scan(env, TABLE_NAME)  # the restore point: both people, everything sealed under their keys
    before = [deserialize(i) for i in backup]
    assert len(sealed_items(before, erased_subject)) >= len(QUESTIONS) + 1  # three questions and the reply

    counts = erase(env, erased_subject)
    assert counts["inbound_messages"] >= len(QUESTIONS)

    restore(env, backup, RESTORED_TABLE)
    restored = [deserialize(i) for i in scan(env, RESTORED_TABLE)]
    assert len(restored) == len(backup)

    # Every sealed item of the erased person in the restored copy is unreadable: the key is gone.
    ring = keyring(env)
    erased_sealed = sealed_items(restored, erased_subject)
    assert len(erased_sealed) == len(sealed_items(before, erased_subject))
    for item in erased_sealed:
        with pytest.raises(KeyShredded):
            ring.decrypt(erased_subject, str(item["SK"]), bytes(item["sealed"]))
    # ... while the person who was not erased still reads from the same copy (the drill can tell).
    kept_sealed = sealed_items(restored, kept_subject)
    assert kept_sealed
    opened = [json.loads(ring.decrypt(kept_subject, str(i["SK"]), bytes(i["sealed"]))) for i in kept_sealed]
    assert any(question in json.dumps(opened) for question in QUESTIONS)
    # The runbook's way to find whom to erase again: sealed items in the copy, no key in the key table.
    data_keys = DataKeys(env.dynamodb, KEY_TABLE_NAME)
    with_sealed = {str(i["PK"]).removeprefix("SUBJ#") for i in restored if i.get("sealed") is not None}
    assert {s for s in with_sealed if data_keys.wrapped(s) is None} == {erased_subject}


def test_the_erasure_leaves_a_receipt_that_names_no_one(env: Env) -> None:
    subject = live_person(env, PERSON)
    backup = scan(env, TABLE_NAME)
    counts = erase(env, subject)

    current = [deserialize(i) for i in scan(env, TABLE_NAME)]
    receipts = [i for i in current if str(i["PK"]).startswith("RECEIPT#") and str(i["SK"]).endswith("#erasure")]
    assert len(receipts) == 1
    [receipt] = receipts
    assert receipt["counts"] == counts
    dump = json.dumps(receipt, default=str)
    for needle in (subject, PERSON, PERSON[-10:], *QUESTIONS):
        assert needle not in dump, "the erasure receipt names the person"
    # The receipt was written after the restore point: a restored copy does not have it.
    assert not any(str(deserialize(i)["SK"]).endswith("#erasure") for i in backup)


def test_what_a_restore_brings_back_unsealed_is_what_the_runbook_must_delete_again(env: Env) -> None:
    """Crypto-shredding covers sealed fields only: the restored copy still holds the person's unsealed items.

    They carry no message content, but they are personal data of someone who asked to be erased
    (which purposes they consented to and when, the ledger head, pending requests); the runbook's
    replay step deletes them. The receipt lists counts only, so it cannot say whose they were.
    """
    subject = live_person(env, PERSON)
    backup = scan(env, TABLE_NAME)
    erase(env, subject)
    restore(env, backup, RESTORED_TABLE)
    restored = [deserialize(i) for i in scan(env, RESTORED_TABLE)]
    unsealed = [i for i in restored if i["PK"] == f"SUBJ#{subject}" and i.get("sealed") is None]
    kinds = {str(i["SK"]).split("#")[1] for i in unsealed}
    assert {"CONSENT", "LEDGER"} <= kinds, kinds
    consent = next(i for i in unsealed if str(i["SK"]).startswith("S#CONSENT#"))
    assert consent["state"] == "active"  # readable without any key
    linked = [i for i in restored if str(i["PK"]).startswith("OPTIN#") and i.get("subject") == subject]
    assert linked, "the pending opt-in request names the subject in the restored copy"
    # What says that this subject was erased is the tombstone alone: the replay's way to find them.
    current = [deserialize(i) for i in scan(env, TABLE_NAME)]
    naming = [i for i in current if subject in json.dumps(i, default=str)]
    assert [str(i["PK"]).split("#")[0] for i in naming] == ["ERASED"]


# -- the replay: every erasure after the restore point, from the live table's tombstones ----------

THIRD = "4915112345678"  # a third person, never erased
WITHDRAWING = "393331234567"  # opted in, writes STOP after the restore point: a block-list entry the copy lacks


def chat_only_person(env: Env, sender: str) -> str:
    """Nothing sealed: an info reply's counter, an active consent, a pending request; no message kept."""
    deliver(env, text(env, "hello", sender=sender))  # an unknown sender: the info-reply counter names them
    activate(env, sender=sender)
    started = start_optin(env, purposes={"marketing": True})
    deliver(env, text(env, f"My code: {started['code']}", sender=sender))
    return subject_of(env, sender)


def erase_in_chat(env: Env, sender: str) -> None:
    deliver(env, text(env, "DELETE", sender=sender))
    for payload in reversed(replies_to(sender)):
        if payload.get("type") == "interactive":
            delete = payload["interactive"]["action"]["buttons"][0]["reply"]
            break
    else:
        raise AssertionError("no erasure question sent")
    deliver(env, button(env, delete["id"], delete["title"], sender=sender))


def naming(items: list[dict[str, Any]], subject: str) -> list[dict[str, Any]]:
    """Every item that names the subject: its partition, requests and counters pointing to it."""
    return [i for i in items if subject in json.dumps(i, default=str)]


def replay(env: Env, capfd: pytest.CaptureFixture[str], since: int) -> dict[str, Any]:
    capfd.readouterr()  # what the functions logged before
    assert replay_erasures.main(["--copy-table", RESTORED_TABLE, "--restored-at", str(since)], env.wiring) == 0
    out = capfd.readouterr().out
    summary: dict[str, Any] = json.loads(out)
    return {**summary, "_out": out}


def test_the_replay_erases_again_everyone_erased_after_the_restore_point(
    env: Env, capfd: pytest.CaptureFixture[str]
) -> None:
    chat_subject = chat_only_person(env, PERSON)
    admin_subject = live_person(env, OTHER)
    kept_subject = live_person(env, THIRD)
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=WITHDRAWING)
    env.clock.advance(60)
    restored_at = int(env.clock())
    backup = [deserialize(i) for i in scan(env, TABLE_NAME)]
    raw_backup = scan(env, TABLE_NAME)
    assert not sealed_items(backup, chat_subject)  # nothing sealed: no key-table check could find them
    assert any(str(i["PK"]).startswith("RATE#info-reply#") for i in naming(backup, chat_subject))
    env.clock.advance(60)

    erase_in_chat(env, PERSON)
    erase(env, admin_subject)
    deliver(env, text(env, "STOP", sender=WITHDRAWING))  # on the block list after the restore point
    assert len(env.items_with_prefix("SUPPRESS#")) == 1
    assert not naming([deserialize(i) for i in scan(env, TABLE_NAME) if "ERASED#" not in str(i)], chat_subject)
    env.clock.advance(3_600)

    restore(env, raw_backup, RESTORED_TABLE)
    before = [deserialize(i) for i in scan(env, RESTORED_TABLE)]
    for subject in (chat_subject, admin_subject):  # both come back in the copy, unsealed items and all
        kinds = {str(i["PK"]).split("#")[0] for i in naming(before, subject)}
        assert {"SUBJ", "OPTIN"} <= kinds, kinds
    keys_before = {s: DataKeys(env.dynamodb, KEY_TABLE_NAME).wrapped(s) for s in (kept_subject, chat_subject)}

    summary = replay(env, capfd, restored_at)
    for subject in (chat_subject, admin_subject, kept_subject, PERSON, OTHER):
        assert subject not in summary["_out"], "the summary names someone"
    assert summary["tombstones"] == 2 and summary["subjects"] == 2 and summary["erased"] == 2
    assert summary["items"]["consents"] >= 2 and summary["items"]["rate_counters"] >= 1
    assert summary["block_list_found"] == 1 and summary["block_list_copied"] == 1

    after = [deserialize(i) for i in scan(env, RESTORED_TABLE)]
    for subject in (chat_subject, admin_subject):
        left = naming(after, subject)  # nothing but the copy's own tombstone of the replayed erasure
        assert [str(i["PK"]).split("#")[0] for i in left] == ["ERASED"], left
    # everyone else is untouched: the copy is the backup without the erased, plus receipts and the block list
    erased_items = naming(before, chat_subject) + naming(before, admin_subject)
    untouched = [i for i in before if i not in erased_items]
    new = [i for i in after if i not in before]
    assert [i for i in after if i in before] == untouched
    assert {str(i["PK"]).split("#")[0] for i in new} == {"RECEIPT", "ERASED", "SUPPRESS"}
    assert naming(after, kept_subject) == naming(before, kept_subject)
    # the replay shreds no key of the live key table (a person may have opted in again since)
    data_keys = DataKeys(env.dynamodb, KEY_TABLE_NAME)
    assert {s: data_keys.wrapped(s) for s in keys_before} == keys_before
    assert keys_before[kept_subject] is not None

    again = replay(env, capfd, restored_at)  # idempotent: running it twice changes nothing
    assert again["erased"] == 0 and again["block_list_copied"] == 0 and again["items"] == {}
    assert [deserialize(i) for i in scan(env, RESTORED_TABLE)] == after


def test_the_replay_ignores_erasures_before_the_restore_point(env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    subject = live_person(env, PERSON)
    erase(env, subject)
    env.clock.advance(60)
    restored_at = int(env.clock())  # the erasure is in the backup already
    restore(env, scan(env, TABLE_NAME), RESTORED_TABLE)
    summary = replay(env, capfd, restored_at)
    assert summary["tombstones"] == 0 and summary["erased"] == 0


def test_the_replay_refuses_the_live_table_and_a_future_restore_time(env: Env) -> None:
    with pytest.raises(SystemExit):
        replay_erasures.main(["--copy-table", RESTORED_TABLE, "--restored-at", str(int(env.clock()) + 60)], env.wiring)
    with pytest.raises(SystemExit):
        replay_erasures.main(["--copy-table", RESTORED_TABLE, "--restored-at", "2026-11-30T08:00:00"], env.wiring)
    with pytest.raises(ValueError, match="another table"):
        replay_erasures.main(["--copy-table", TABLE_NAME, "--restored-at", "0"], env.wiring)


def test_the_tombstone_lasts_as_long_as_a_restore_can_reach_and_no_longer(env: Env) -> None:
    resources = load_template()["Resources"]
    pitr = resources["ChatconsentTable"]["Properties"]["PointInTimeRecoverySpecification"]
    window = timedelta(days=pitr.get("RecoveryPeriodInDays", 35))  # DynamoDB's default and maximum
    assert env.store.plan.period(RetentionClass.ERASURE_TOMBSTONE) == window

    since = int(env.clock()) - 1
    subject = live_person(env, PERSON)
    erase(env, subject)
    [tombstone] = env.store.restore.tombstones_since(since)
    assert tombstone.subject == subject
    env.clock.advance(window.total_seconds() - 60)
    assert env.store.restore.tombstones_since(since) == [tombstone]  # still within the window
    env.clock.advance(120)
    assert env.store.restore.tombstones_since(since) == []  # expired: read as gone
    env.invoke("purge", {"job": "purge"})
    assert env.items_with_prefix("ERASED#") == []  # and deleted by the purge like any expired item
    assert env.items_with_prefix("RECEIPT#")  # the receipt (counts only) stays for its own period


def test_no_export_shows_a_tombstone(env: Env) -> None:
    chat_subject = chat_only_person(env, PERSON)
    kept_subject = live_person(env, OTHER)
    erase_in_chat(env, PERSON)
    [tombstone] = env.items_with_prefix("ERASED#")
    for subject in (chat_subject, kept_subject):
        dump = json.dumps(env.wiring.rights.export(subject), default=str)
        assert "ERASED#" not in dump and str(tombstone["erasure_id"]) not in dump
        assert str(tombstone["SK"]) not in dump
    assert all(not v for v in env.wiring.rights.export(chat_subject)["items"].values())


class Recording:
    """The DynamoDB client, noting which operations were called (a fake: it passes every call on)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._inner, name)


def test_one_tombstone_per_erasure_found_by_a_query_per_day_never_a_scan(env: Env) -> None:
    client = Recording(env.dynamodb)
    store = Store(client, TABLE_NAME, env.store.plan, env.clock)
    since = int(env.clock()) - 2 * 86_400
    assert store.subjects.record_erasure("subject-a", "erasure-1", {"consents": 1}) is True
    first = int(env.clock())
    assert store.subjects.record_erasure("subject-a", "erasure-1", {"consents": 1}) is False  # run again
    assert len(env.items_with_prefix("ERASED#")) == 1 and len(env.items_with_prefix("RECEIPT#")) == 1
    env.clock.advance(86_400)  # the next UTC day: another partition
    store.subjects.record_erasure("subject-b", "erasure-2", {})
    store.guards.suppress("blocked-after")

    client.calls.clear()
    found = store.restore.tombstones_since(since)
    assert [(t.subject, t.erasure_id) for t in found] == [("subject-a", "erasure-1"), ("subject-b", "erasure-2")]
    assert client.calls == ["query"] * 4  # one per UTC day since ``since``: four days, four queries
    assert [t.subject for t in store.restore.tombstones_since(first)] == ["subject-b"]  # strictly after
    assert [k.pk for k in store.restore.suppressions_since(first)] == ["SUPPRESS#blocked-after"]
    assert store.restore.suppressions_since(int(env.clock())) == []
    assert "scan" not in client.calls and set(client.calls) == {"query"}
