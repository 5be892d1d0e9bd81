"""Inbound messages under active consent: sealed with the subject's own key, shreddable."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidTag

from chatconsent.consent_service import ConsentService
from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.ledger import LedgerEvent
from chatconsent.notices import NoticeRegistry
from chatconsent.store.data_keys import DataKeys
from localrun import whatsapp
from localrun.aws import KEY_TABLE_NAME, KMS_ALIAS
from tests.conftest import Env
from tests.flow import (
    OTHER,
    PERSON,
    PHONE_NUMBER_ID,
    activate,
    button,
    deliver,
    last_buttons,
    replies_to,
    reply_text,
    start_optin,
    subject_of,
    text,
)


def test_messages_are_stored_sealed_and_read_back(env: Env) -> None:
    activate(env)
    payload = text(env, "where is my parcel?")
    deliver(env, payload)
    deliver(env, payload)  # replay: stored once
    [item] = env.inbound_items(subject_of(env))
    assert item["retention_class"] == "conversation" and item["expires_at"] == int(env.clock()) + 90 * 86_400
    dump = json.dumps([{k: v for k, v in i.items() if k not in ("sealed", "address")} for i in env.items()])
    dump += repr(env.items())
    assert "parcel" not in dump and "1701234567" not in dump and "Test Person" not in dump
    content = json.loads(env.wiring.keyring.decrypt(subject_of(env), item["SK"], item["sealed"]))  # type: ignore[union-attr]
    assert content == {"from": "+" + PERSON, "text": "where is my parcel?"}  # profile name never kept


def test_nothing_is_stored_without_active_consent(env: Env) -> None:
    deliver(env, text(env, "where is my parcel?", sender=OTHER))
    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    deliver(env, text(env, "where is my parcel?"))  # pending, not yet active
    assert env.inbound_items(subject_of(env)) == []
    assert env.inbound_items(subject_of(env, OTHER)) == []


def test_deleting_the_key_item_shreds_every_copy(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    [item] = env.inbound_items(subject_of(env))
    env.dynamodb.delete_item(TableName=KEY_TABLE_NAME, Key={"subject": {"S": subject_of(env)}})
    fresh = SubjectKeyring(DataKeys(env.dynamodb, KEY_TABLE_NAME), env.wiring._kms, KMS_ALIAS)  # a new container
    with pytest.raises(KeyShredded):
        fresh.decrypt(subject_of(env), item["SK"], item["sealed"])


def test_sealed_content_is_bound_to_its_subject_and_item(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    [item] = env.inbound_items(subject_of(env))
    keyring = env.wiring.keyring
    assert keyring is not None
    with pytest.raises(InvalidTag):
        keyring.decrypt(subject_of(env), item["SK"] + "x", item["sealed"])


def test_health_data_without_explicit_consent_is_quarantined_for_an_hour(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    [item] = env.inbound_items(subject_of(env))
    assert item["retention_class"] == "special_quarantine" and item["sensitive"] == ["health"]
    assert item["expires_at"] == int(env.clock()) + 3600
    env.clock.advance(3600)
    assert env.inbound_items(subject_of(env)) == []  # gone for every read; the purge deletes it


def test_special_categories_under_explicit_consent_keep_the_stricter_class(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "health_data": True})
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    deliver(env, text(env, "My IBAN is DE89 3704 0044 0532 0130 00"))
    items = env.inbound_items(subject_of(env))
    assert sorted((i["retention_class"], i["sensitive"]) for i in items) == [
        ("special_category", ["bank"]),
        ("special_category", ["health"]),
    ]
    assert all(i["expires_at"] == int(env.clock()) + 30 * 86_400 for i in items)


def _question(sender: str = PERSON) -> list[dict[str, str]]:
    return last_buttons(sender)


def test_quarantine_asks_for_explicit_consent_once_with_buttons(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    question = replies_to()[-1]
    assert question["type"] == "interactive"
    assert "Art. 9(2)(a)" in reply_text(question) and "1 hour" in reply_text(question)
    assert "/notices/en" in reply_text(question)
    yes, no = _question()
    assert yes["id"].startswith("art9:yes:") and no["id"].startswith("art9:no:")
    deliver(env, text(env, "and I am diabetic"))  # a second health message waits, no second question
    assert len([p for p in replies_to() if p["type"] == "interactive"]) == 2  # opt-in question + this one
    assert len(env.quarantined(subject_of(env))) == 2


def test_yes_records_explicit_consent_and_releases_the_quarantine(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    env.clock.advance(600)
    yes, _ = _question()
    deliver(env, button(env, yes["id"], yes["title"]))
    subject = subject_of(env)
    state = env.store.subjects.state(subject)
    assert "health_data" in state.active_purposes and state.special_request is None
    record = state.consents["health_data"]
    notice = NoticeRegistry().get("en")
    assert (record.notice_version, record.notice_sha256) == (notice.version, notice.sha256)
    [item] = env.inbound_items(subject)
    assert item["retention_class"] == "special_category"
    assert item["expires_at"] == item["received_at"] + 30 * 86_400  # counted from receipt
    proof = ConsentService(env.store, env.wiring.config, env.clock).proof(subject)
    assert proof.verification.ok
    last = proof.entries[-1]
    assert (last.event, last.purpose, last.legal_basis) == (
        LedgerEvent.CONSENT_GIVEN,
        "health_data",
        "explicit_consent",
    )
    assert last.evidence["method"] == "chat_button"
    assert "explicit consent is recorded" in reply_text(replies_to()[-1])
    deliver(env, text(env, "my allergy got worse"))  # now covered: stored under the special class
    assert {i["retention_class"] for i in env.inbound_items(subject)} == {"special_category"}


def test_no_deletes_the_quarantined_content_at_once(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    _, no = _question()
    payload = button(env, no["id"], no["title"])
    deliver(env, payload)
    deliver(env, payload)  # replay: nothing more happens
    subject = subject_of(env)
    assert [i["retention_class"] for i in env.inbound_items(subject)] == ["conversation"]
    assert env.quarantined(subject) == []
    state = env.store.subjects.state(subject)
    assert "health_data" not in state.active_purposes and state.special_request is None
    assert "Please write without it" in reply_text(replies_to()[-1])
    assert len([p for p in replies_to() if "Please write without it" in reply_text(p)]) == 1


def test_an_answer_after_the_quarantine_expired_changes_nothing(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    yes, _ = _question()
    env.clock.advance(3600)
    sent = len(replies_to())
    deliver(env, button(env, yes["id"], yes["title"]))
    state = env.store.subjects.state(subject_of(env))
    assert "health_data" not in state.active_purposes
    assert env.inbound_items(subject_of(env)) == []  # the late answer is not kept either
    assert len(replies_to()) == sent


def test_a_forged_answer_to_someone_elses_question_changes_nothing(env: Env) -> None:
    activate(env)
    activate(env, sender=OTHER)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    yes, _ = _question()
    deliver(env, button(env, yes["id"], yes["title"], sender=OTHER))
    assert "health_data" not in env.store.subjects.state(subject_of(env, OTHER)).active_purposes
    assert "health_data" not in env.store.subjects.state(subject_of(env)).active_purposes


def test_media_is_stored_as_sealed_metadata_and_shown_to_agents(env: Env) -> None:
    activate(env)
    photo = whatsapp.media(
        PERSON,
        "image",
        "1013859600285441",
        "image/jpeg",
        phone_number_id=PHONE_NUMBER_ID,
        timestamp=int(env.clock()),
        caption="private question",
    )
    deliver(env, photo)
    subject = subject_of(env)
    [item] = env.inbound_items(subject)
    assert item["kind"] == "media" and "1013859600285441" not in json.dumps({**item, "sealed": ""})
    content = json.loads(env.wiring.keyring.decrypt(subject, item["SK"], item["sealed"]))  # type: ignore[union-attr]
    assert content == {
        "from": "+" + PERSON,
        "media": {"type": "image", "id": "1013859600285441", "mime_type": "image/jpeg", "size": None},
    }  # no caption, no file
    [shown] = env.wiring.agents.conversation(subject)
    assert shown.media == content["media"] and shown.text is None


def test_after_stop_an_answer_to_the_health_question_sends_and_changes_nothing(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    yes, no = _question()
    deliver(env, text(env, "STOP"))
    sent = len(replies_to())
    for answer in (yes, no):
        deliver(env, button(env, answer["id"], answer["title"]))
    subject = subject_of(env)
    assert len(replies_to()) == sent  # nothing of any kind after the withdrawal's confirmation
    state = env.store.subjects.state(subject)
    assert state.active_purposes == () and state.special_request is None
    assert {i["retention_class"] for i in env.subject_items(subject) if i["SK"].startswith("M#IN#")} == {
        "special_quarantine"
    }


def test_only_the_conversations_own_consent_keeps_messages(env: Env) -> None:
    activate(env, purposes={"marketing": True})
    deliver(env, text(env, "where is my parcel?"))
    assert env.inbound_items(subject_of(env)) == []


def test_a_withdrawal_landing_between_read_and_write_keeps_nothing(env: Env) -> None:
    from chatconsent.channels.base import InboundKind, InboundMessage
    from chatconsent.inbound import Outcome, conversation
    from chatconsent.inbound.parts import Turn

    activate(env)
    subject = subject_of(env)
    stale = env.store.subjects.state(subject)  # read before the STOP lands
    deliver(env, text(env, "STOP"))
    late = InboundMessage(
        "whatsapp", "+" + PERSON, "wamid.late", int(env.clock()), InboundKind.TEXT, "where is my parcel?"
    )
    assert conversation.keep(Turn(env.wiring.inbound.parts, late, subject, "h" * 64), stale) is Outcome.SUPPRESSED
    assert env.inbound_items(subject) == []


def test_agents_do_not_see_quarantined_health_data(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    [shown] = env.wiring.agents.conversation(subject_of(env))
    assert shown.kind == "quarantined" and shown.text is None


def test_a_declined_health_question_leaves_no_lasting_trace(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    _, no = _question()
    deliver(env, button(env, no["id"], no["title"]))
    outbound = [i for i in env.subject_items(subject_of(env)) if i["SK"].startswith("M#OUT#")]
    kinds = {i["kind"]: i for i in outbound}
    assert "special_question" not in kinds and "special_declined" not in kinds
    assert kinds["consent_question"]["retention_class"] == "special_quarantine"


def test_a_key_replaced_through_another_container_is_read_again(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import chatconsent.keyring as keyring_module

    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    other = SubjectKeyring(DataKeys(env.dynamodb, KEY_TABLE_NAME), env.wiring._kms, KMS_ALIAS)  # another warm container
    [item] = env.inbound_items(subject)
    other.decrypt(subject, item["SK"], item["sealed"])  # caches the first key
    # the person is erased through this container and opts in again: a new key
    env.wiring.rights.erase(subject)
    activate(env)
    deliver(env, text(env, "hello again"))
    [fresh] = env.inbound_items(subject)
    assert json.loads(other.decrypt(subject, fresh["SK"], fresh["sealed"]))["text"] == "hello again"
    # and a container that only ever encrypts drops its cached key after the maximum age
    now = keyring_module.time.monotonic()
    monkeypatch.setattr(keyring_module.time, "monotonic", lambda: now + 301)
    assert other.key_for(subject, create=False) == env.wiring.keyring.key_for(subject, create=False)  # type: ignore[union-attr]


def test_reading_a_shredded_conversation_is_gone_not_an_error(env: Env) -> None:
    from localrun.events import http_event

    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    env.dynamodb.delete_item(TableName=KEY_TABLE_NAME, Key={"subject": {"S": subject}})
    env.wiring.keyring.forget(subject)  # type: ignore[union-attr]
    event = http_event(
        "GET",
        f"/admin/subjects/{subject}/messages",
        route_path="/admin/subjects/{subject}/messages",
        path_parameters={"subject": subject},
    )
    response = env.invoke("admin", event)
    assert response["statusCode"] == 410


def test_a_card_number_is_never_stored_and_the_person_is_told_once(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    deliver(env, text(env, "my card is 4111 1111 1111 1111, can you refund it?"))
    [item] = env.inbound_items(subject)
    content = json.loads(env.wiring.keyring.decrypt(subject, item["SK"], item["sealed"]))  # type: ignore[union-attr]
    assert content["text"] == "my card is •••• 1111, can you refund it?"
    assert "4111 1111 1111" not in content["text"] and "bank" not in (item.get("sensitive") or [])
    assert "do not send payment card numbers" in reply_text(replies_to()[-1])
    sent = len(replies_to())
    env.clock.advance(10)
    deliver(env, text(env, "or this one 5500-0000-0000-0004"))
    assert len(replies_to()) == sent  # told once
    assert "•••• 0004" in json.loads(env.wiring.keyring.decrypt(subject, *_sealed(env, subject)))["text"]  # type: ignore[union-attr]
    env.clock.advance(10)
    deliver(env, text(env, "order 1234 5678 9012 3456 7"))  # not a valid card number: kept as written
    assert "1234 5678 9012 3456 7" in json.loads(env.wiring.keyring.decrypt(subject, *_sealed(env, subject)))["text"]  # type: ignore[union-attr]


def _sealed(env: Env, subject: str) -> tuple[str, bytes]:
    last = env.inbound_items(subject)[-1]
    return str(last["SK"]), last["sealed"]
