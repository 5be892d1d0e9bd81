"""Restore drill: a point-in-time copy of the main table must not bring an erased person back.

The drill on the embedded backend: a person with an active consent and sealed messages; a copy of
the main table as a point-in-time backup holds it; the person is erased (Art. 17: items deleted,
data key shredded, receipt written); the old copy is restored into a new table next to the
*current* key table (the key table has no point-in-time recovery, so it is never restored).

What it shows: every sealed item of the erased person in the restored copy is unreadable, while a
person who was not erased still reads; an erasure receipt exists and names no one; and what the
README's "Restore runbook" must replay by hand: the restored copy still holds the erased person's
unsealed items (consent records, ledger head, opt-in requests), which the receipt cannot point to.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.values import deserialize
from localrun.aws import KEY_TABLE_NAME, KMS_ALIAS, TABLE_NAME
from localrun.events import http_event
from localrun.template import load_template, table_definition
from tests.conftest import Env, json_body
from tests.flow import OTHER, PERSON, activate, deliver, start_optin, subject_of, text

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
    # Nothing in the current table says that this subject was erased: only counts were kept.
    current = [deserialize(i) for i in scan(env, TABLE_NAME)]
    assert subject not in json.dumps(current, default=str)
