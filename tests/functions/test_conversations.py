"""Inbound messages under active consent: sealed with the subject's own key, shreddable."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidTag

from chatconsent.keyring import KeyShredded, SubjectKeyring
from localrun.aws import KEY_TABLE_NAME, KMS_ALIAS
from tests.conftest import Env
from tests.flow import OTHER, PERSON, activate, deliver, start_optin, subject_of, text


def test_messages_are_stored_sealed_and_read_back(env: Env) -> None:
    activate(env)
    payload = text(env, "where is my parcel?")
    deliver(env, payload)
    deliver(env, payload)  # replay: stored once
    [item] = env.table.inbound_messages(subject_of(env))
    assert item["retention_class"] == "conversation" and item["expires_at"] == int(env.clock()) + 90 * 86_400
    dump = json.dumps([{k: v for k, v in i.items() if k != "sealed"} for i in env.items()]) + repr(env.items())
    assert "parcel" not in dump and "1701234567" not in dump and "Test Person" not in dump
    content = json.loads(env.runtime.keyring.decrypt(subject_of(env), item["SK"], item["sealed"]))  # type: ignore[union-attr]
    assert content == {"from": "+" + PERSON, "text": "where is my parcel?"}  # profile name never kept


def test_nothing_is_stored_without_active_consent(env: Env) -> None:
    deliver(env, text(env, "where is my parcel?", sender=OTHER))
    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    deliver(env, text(env, "where is my parcel?"))  # pending, not yet active
    assert env.table.inbound_messages(subject_of(env)) == []
    assert env.table.inbound_messages(subject_of(env, OTHER)) == []


def test_deleting_the_key_item_shreds_every_copy(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    [item] = env.table.inbound_messages(subject_of(env))
    env.dynamodb.delete_item(TableName=KEY_TABLE_NAME, Key={"subject": {"S": subject_of(env)}})
    fresh = SubjectKeyring(env.dynamodb, KEY_TABLE_NAME, env.runtime._kms, KMS_ALIAS)  # a new container
    with pytest.raises(KeyShredded):
        fresh.decrypt(subject_of(env), item["SK"], item["sealed"])


def test_sealed_content_is_bound_to_its_subject_and_item(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    [item] = env.table.inbound_messages(subject_of(env))
    keyring = env.runtime.keyring
    assert keyring is not None
    with pytest.raises(InvalidTag):
        keyring.decrypt(subject_of(env), item["SK"] + "x", item["sealed"])


def test_health_data_without_explicit_consent_is_quarantined_for_an_hour(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    [item] = env.table.inbound_messages(subject_of(env))
    assert item["retention_class"] == "special_quarantine" and item["sensitive"] == ["health"]
    assert item["expires_at"] == int(env.clock()) + 3600
    env.clock.advance(3600)
    assert env.table.inbound_messages(subject_of(env)) == []  # gone for every read; the purge deletes it


def test_special_categories_under_explicit_consent_keep_the_stricter_class(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "health_data": True})
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    deliver(env, text(env, "My IBAN is DE89 3704 0044 0532 0130 00"))
    items = env.table.inbound_messages(subject_of(env))
    assert sorted((i["retention_class"], i["sensitive"]) for i in items) == [
        ("special_category", ["bank"]),
        ("special_category", ["health"]),
    ]
    assert all(i["expires_at"] == int(env.clock()) + 30 * 86_400 for i in items)
