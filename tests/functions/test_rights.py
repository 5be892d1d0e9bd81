"""Art. 15 export and Art. 17 erasure through the admin API, with coverage and residue checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.ledger import verify
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.keys import SUBJECT_ITEM_KINDS
from chatconsent.store.values import deserialize
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from localrun.aws import KEY_TABLE_NAME, KMS_ALIAS
from localrun.events import http_event
from localrun.template import resources
from tests.conftest import Env, json_body
from tests.flow import OTHER, PERSON, PHONE_NUMBER_ID, deliver, optin_event, start_optin, subject_of, text

# Partitions that are not a subject's: what they are, and why the export need not list them.
OTHER_PARTITIONS = {
    "OPTIN": "opt-in request: keyed by the code's hash, points to the subject only while pending",
    "LEDGER": "ledger entries: reached through the subject's ledger head (exported with it)",
    "DEDUPE": "webhook dedupe: keyed hash of a message id, not linkable without the id",
    "RATE": "counters: per-IP ones are keyed hashes; the subject's info-reply counters are exported",
    "SUPPRESS": "block list: keyed hash, separate from the pseudonym",
    "RECEIPT": "purge and erasure receipts: counts only",
    "ERASED": "erasure tombstones: the pseudonym of someone already erased, for the restore replay only",
    "AUDIT": "admin actions: who acted, the route, the outcome; the subject only as a separately keyed hash",
    "ACCESS": "access links (DATA): exported as access_links, found through the subject's S#ACCESS marker",
}


def admin(env: Env, method: str, path: str, route: str, subject: str) -> dict[str, Any]:
    event = http_event(method, path, route_path=route, path_parameters={"subject": subject})
    return env.invoke("admin", event)


def full_life(env: Env, sender: str = PERSON) -> None:
    """Every writer, for one subject: request, binding, activation, messages, a reply, a status."""
    started = start_optin(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, f"My code: {started['code']}", sender=sender))
    deliver(env, text(env, "yes", sender=sender))
    deliver(env, text(env, "where is my parcel?", sender=sender))
    deliver(env, text(env, "I have a nut allergy", sender=sender))  # quarantined, explicit consent asked
    env.wiring.agents.reply(subject_of(env, sender), "On its way.")
    reply_id = local_outbox().messages[-1].id
    deliver(env, whatsapp.status(sender, reply_id, "read", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())))
    started = start_optin(env, purposes={"health_data": True})
    deliver(env, text(env, f"My code: {started['code']}", sender=sender))  # a pending request too
    linked = optin_event(purposes={"health_data": True}, phone=f"+{sender}")  # and a confirmation link
    assert env.invoke("optin", linked)["statusCode"] == 202
    env.drain_links()


def all_tables(env: Env) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in ("chatconsent-local", KEY_TABLE_NAME):
        out[name] = [deserialize(i) for i in env.dynamodb.scan(TableName=name)["Items"]]
    return out


def test_export_holds_every_item_decrypted_with_art_15_information(env: Env) -> None:
    full_life(env)
    subject = subject_of(env)
    response = admin(env, "GET", f"/admin/subjects/{subject}/export", "/admin/subjects/{subject}/export", subject)
    assert response["statusCode"] == 200
    document = json_body(response)
    items = document["items"]
    assert {c["SK"].split("#")[-1] for c in items["consents"]} == {"customer_service", "marketing", "health_data"}
    texts = sorted(m["content"]["text"] for m in items["inbound_messages"])
    assert texts == ["I have a nut allergy", "where is my parcel?"]
    assert items["special_category_request"][0]["purpose"] == "health_data"
    flows = sorted(r["flow"] for r in document["optin_requests"])
    assert flows == ["chat", "link"]  # the pending chat request and the link, both naming the subject
    assert items["outbound_messages"] and items["pending_request"] and items["ledger_head"]
    replies = [m["content"] for m in items["outbound_messages"] if m["kind"] == "agent_reply"]
    assert replies == [{"text": "On its way."}]  # agent replies are kept sealed like inbound messages
    assert document["key_table"] == {"data_key": True}
    ledger = document["ledger"]
    assert ledger["verified"] and len(ledger["entries"]) == 2
    assert all(entry["notice_sha256"] in ledger["notices"] for entry in ledger["entries"])
    assert set(document["art_15"]) >= {
        "purposes",
        "categories",
        "recipients",
        "retention",
        "rights",
        "complaint",
        "source",
    }
    assert all(i["expires_at"] > env.clock() for kind in items.values() for i in kind)


def test_export_covers_every_item_type_and_table(env: Env) -> None:
    full_life(env)
    deliver(env, text(env, "hello", sender=OTHER))  # an unknown sender's counter
    deliver(env, text(env, "STOP", sender=OTHER))  # and a block-list entry
    for item in env.items():
        partition = item["PK"].split("#")[0]
        if partition == "SUBJ":
            assert any(item["SK"].startswith(p) for p in SUBJECT_ITEM_KINDS), (
                f"export misses {item['SK'].split('#')[:2]}"
            )
        else:
            assert partition in OTHER_PARTITIONS, f"new partition {partition}: export or explain it"
    tables = set(resources("AWS::DynamoDB::Table"))
    assert tables == {"ChatconsentTable", "SubjectKeyTable"}, "a new table: cover it in the export and erasure"


def test_erasure_leaves_no_trace_and_touches_no_one_else(env: Env) -> None:
    full_life(env, PERSON)
    full_life(env, OTHER)
    subject, other = subject_of(env, PERSON), subject_of(env, OTHER)
    sealed = env.inbound_items(subject)
    before_other = [i for i in env.items() if other in json.dumps(i, default=str)]
    head = env.store.subjects.state(subject).ledger_head
    assert head is not None

    response = admin(env, "DELETE", f"/admin/subjects/{subject}", "/admin/subjects/{subject}", subject)
    assert response["statusCode"] == 200 and json_body(response)["erased"]["inbound_messages"] == 2

    tables = all_tables(env)
    # the one item left naming the pseudonym: the tombstone a restore replays (no number, no content)
    tombstones = [i for i in tables["chatconsent-local"] if i["PK"].startswith("ERASED#")]
    assert [t["subject"] for t in tombstones] == [subject]
    assert set(tombstones[0]) - {"PK", "SK", "retention_class", "expires_at", "expiry_shard"} == {
        "subject",
        "erased_at",
        "erasure_id",
    }
    assert tombstones[0]["retention_class"] == "erasure_tombstone"
    for table, rows in tables.items():
        dump = json.dumps([r for r in rows if r not in tombstones], default=str)
        assert subject not in dump, f"the pseudonym is still in {table}"
        assert PERSON not in json.dumps(rows, default=str) and "1701234567" not in json.dumps(rows, default=str)
    fresh = SubjectKeyring(DataKeys(env.dynamodb, KEY_TABLE_NAME), env.wiring._kms, KMS_ALIAS)
    with pytest.raises(KeyShredded):
        fresh.decrypt(subject, sealed[0]["SK"], sealed[0]["sealed"])
    # the ledger stays verifiable, pointing to nobody
    entries = env.store.ledger.entries(head.ledger_id)
    assert len(entries) == 2 and verify(entries, head).ok
    # the other subject is untouched, and a receipt without personal data exists
    assert [i for i in env.items() if other in json.dumps(i, default=str)] == before_other
    receipts = [i for i in env.items() if i["SK"].endswith("#erasure")]
    assert len(receipts) == 1 and subject not in json.dumps(receipts[0])
