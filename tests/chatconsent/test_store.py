"""Store against moto with a controlled clock: dedupe, rate limits, retention on every item,
expiry on every read, never-downgraded statuses, atomic transitions and their races, no injection."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chatconsent.clock import FrozenClock
from chatconsent.config import current_config
from chatconsent.consent_state import ConsentRecord, ConsentState, PendingConfirmation, SubjectState
from chatconsent.identity import Pseudonymizer
from chatconsent.ledger import ConsentFact, LedgerEntry, LedgerEvent, LedgerHead, chain, verify
from chatconsent.retention import REQUIRED_CLASSES, RetentionClass, RetentionPlan
from chatconsent.store import STATUS_RANK, Conflict, Duplicate, LedgerAppend, OptInRequest, Store, Withdrawal
from chatconsent.store.keys import expiry_shard
from chatconsent.store.table import _NAMES
from chatconsent.tokens import code_hash, new_code
from chatconsent.wiring import Wiring
from localrun.aws import KEY_TABLE_NAME, TABLE_NAME, create_data_key, create_tables, seed_secrets
from tests.conftest import START, Env, JitterClient, SerializedClient

HOUR, DAY = 3_600, 86_400
PURPOSES = ("customer_service", "marketing")


# conftest's ``env`` builds a fresh moto world per test (~0.5 s, mostly client creation). These tests
# share one world per module instead, built the same way, emptied and with the clock reset before each.


@pytest.fixture(scope="module")
def world() -> Iterator[Env]:
    with mock_aws():
        dynamodb, ssm, kms = boto3.client("dynamodb"), boto3.client("ssm"), boto3.client("kms")
        create_tables(dynamodb)
        seed_secrets(ssm)
        create_data_key(kms)
        clock = FrozenClock(START)
        wiring = Wiring(clock=clock, dynamodb=SerializedClient(dynamodb), kms=kms)
        yield Env(dynamodb=dynamodb, ssm=ssm, clock=clock, wiring=wiring)


@pytest.fixture
def env(world: Env) -> Env:
    for table, keys in ((TABLE_NAME, ("PK", "SK")), (KEY_TABLE_NAME, ("subject",))):
        for item in world.dynamodb.scan(TableName=table)["Items"]:
            world.dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})
    world.clock.now = float(START)
    assert world.items() == []
    return world


# -- building states through the store, as inbound.py and consents.py do -------------------------------


def optin_request(env: Env, purposes: Sequence[str] = PURPOSES, flow: str = "chat") -> OptInRequest:
    now = int(env.clock())
    retention = RetentionClass.PENDING_OPTIN_CHAT if flow == "chat" else RetentionClass.PENDING_OPTIN_LINK
    request = OptInRequest(
        request_id=str(uuid.uuid4()),
        code_hash=code_hash(new_code()),
        flow=flow,
        channel="whatsapp",
        language="en",
        purposes=tuple(purposes),
        notice_version="2026-12-01",
        notice_sha256="ab" * 32,
        status="pending",
        created_at=now,
        expires_at=env.store.plan.expires_at(retention, now),
    )
    env.store.optins.create_request(request)
    return request


def bind(table: Store, request: OptInRequest, subject: str, message_hash: str | None = None) -> SubjectState:
    code_message = message_hash or f"code-{uuid.uuid4().hex}"
    table.consents.bind(request, subject, list(request.purposes), code_message, f"suppress-{subject}")
    return table.subjects.state(subject)


def pending_subject(env: Env, subject: str, purposes: Sequence[str] = PURPOSES) -> SubjectState:
    state = bind(env.store, optin_request(env, purposes), subject)
    assert state.pending is not None and {state.state_of(p) for p in purposes} == {ConsentState.PENDING}
    return state


def facts_for(
    event: LedgerEvent, records: Sequence[ConsentRecord], pending: PendingConfirmation | None = None
) -> list[ConsentFact]:
    config = current_config()
    return [
        ConsentFact(
            event=event,
            purpose=record.purpose,
            legal_basis=config.purpose(record.purpose).legal_basis,
            notice_version=pending.notice_version if pending else record.notice_version,
            notice_language=pending.language if pending else record.notice_language,
            notice_sha256=pending.notice_sha256 if pending else record.notice_sha256,
            channel=pending.channel if pending else record.channel,
            request_id=record.request_id,
            evidence={"source": "test"},
        )
        for record in records
    ]


def activate(table: Store, subject: str, state: SubjectState, message_hash: str) -> None:
    """pending → active with its ledger proof, conditioned on ``state`` (which may be stale)."""
    pending = state.pending
    assert pending is not None
    records = [state.consents[p] for p in pending.purposes]
    entries, head = chain(
        state.ledger_head, uuid.uuid4().hex, table.now(), facts_for(LedgerEvent.CONSENT_GIVEN, records, pending)
    )
    proof = LedgerAppend(state.ledger_head, head, tuple(entries))
    table.consents.activate(subject, pending, state.consents, proof, message_hash)


def withdraw(table: Store, subject: str, state: SubjectState, message_hash: str | None = None) -> None:
    """active or pending → withdrawn, conditioned on the revisions in ``state`` (which may be stale)."""
    targets = [r for r in state.consents.values() if r.state in (ConsentState.ACTIVE, ConsentState.PENDING)]
    active = [r for r in targets if r.state is ConsentState.ACTIVE]
    entries: list[LedgerEntry] = []
    head: LedgerHead | None = None
    if active:
        entries, head = chain(
            state.ledger_head, uuid.uuid4().hex, table.now(), facts_for(LedgerEvent.CONSENT_WITHDRAWN, active)
        )
    pending = state.pending
    clear = (
        pending
        if pending and any(r.state is ConsentState.PENDING and r.request_id == pending.request_id for r in targets)
        else None
    )
    table.consents.withdraw(
        Withdrawal(
            subject,
            tuple(targets),
            proof=LedgerAppend(state.ledger_head, head, tuple(entries)) if head else None,
            message_hash=message_hash,
            clear_pending=clear,
            suppression_hash=f"suppress-{subject}",
        )
    )


def withdraw_until_done(table: Store, subject: str, attempts: int = 25) -> int:
    """The optimistic loop: on a lost race read the state again and retry. Returns the attempts used."""
    for attempt in range(1, attempts + 1):
        state = table.subjects.state(subject)
        if not any(r.state in (ConsentState.ACTIVE, ConsentState.PENDING) for r in state.consents.values()):
            return attempt
        try:
            withdraw(table, subject, state)
        except Conflict:
            continue
        return attempt
    raise AssertionError("withdrawal never succeeded")


def ledger_of(table: Store, subject: str) -> tuple[LedgerHead | None, list[LedgerEntry]]:
    head = table.subjects.state(subject).ledger_head
    return head, table.ledger.entries(head.ledger_id) if head else []


# -- webhook dedupe ---------------------------------------------------------------------------------


def test_record_delivery_is_idempotent(env: Env) -> None:
    assert env.store.guards.record_delivery("hash-1") is True
    assert env.store.guards.record_delivery("hash-1") is False
    assert env.store.guards.record_delivery("hash-1") is False
    assert env.store.guards.record_delivery("hash-2") is True
    [item] = [i for i in env.items() if i["PK"] == "DEDUPE#hash-1"]
    assert item["retention_class"] == "webhook_dedupe" and item["expires_at"] == int(env.clock()) + 8 * DAY


def test_an_expired_delivery_record_lets_the_id_through_again(env: Env) -> None:
    assert env.store.guards.record_delivery("hash-1")
    env.clock.advance(8 * DAY - 1)
    assert not env.store.guards.record_delivery("hash-1")  # WhatsApp retries for up to 7 days: still a replay
    env.clock.advance(1)
    assert env.store.guards.record_delivery("hash-1")  # expired (TTL has not deleted it yet): a new message
    [item] = [i for i in env.items() if i["PK"] == "DEDUPE#hash-1"]
    assert item["expires_at"] == int(env.clock()) + 8 * DAY  # and protected again from now
    assert not env.store.guards.record_delivery("hash-1")


# -- rate limits ------------------------------------------------------------------------------------


def test_consume_rate_allows_exactly_the_limit_per_window(env: Env) -> None:
    table = env.store
    assert [table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 3) for _ in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert table.guards.consume_rate("optin-ip", "other-ip", HOUR, 3)  # counters are per key
    assert table.guards.consume_rate("other-scope", "ip-hash", HOUR, 3)  # and per scope
    window = int(env.clock()) - int(env.clock()) % HOUR
    [counter] = [i for i in env.items() if i["PK"] == f"RATE#optin-ip#ip-hash#{window}"]
    assert counter["hits"] == 3  # refused hits are not counted
    assert counter["retention_class"] == "rate_limit" and counter["expires_at"] == window + DAY


def test_consume_rate_resets_in_the_next_window(env: Env) -> None:
    table = env.store
    assert table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 1)
    assert not table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 1)
    env.clock.advance(HOUR - int(env.clock()) % HOUR - 1)  # the last second of the window
    assert not table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 1)
    env.clock.advance(1)  # the next window's first second
    assert table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 1)
    assert not table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 1)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_zero_limit_allows_nothing(env: Env, limit: int) -> None:
    assert not env.store.guards.consume_rate("info-reply", "subject", DAY, limit)
    assert env.items() == []  # and counts nothing


# -- retention on every item ------------------------------------------------------------------------


def write_every_kind_of_item(env: Env) -> None:
    """Every store method that writes, at least once."""
    table = env.store
    table.guards.record_delivery("dedupe-hash")
    table.guards.consume_rate("optin-ip", "ip-hash", HOUR, 10)
    optin_request(env, flow="link")
    # a subject that activates, gets messages, receives statuses and withdraws
    state = pending_subject(env, "subject-a")
    env.clock.advance(60)
    activate(table, "subject-a", state, "yes-hash")
    table.messages.record_outbound("subject-a", "out-hash", "activated")
    table.messages.update_status("subject-a", "out-hash", "delivered")
    table.messages.store_inbound("subject-a", "in-hash", "text", lambda item_id: b"sealed:" + item_id.encode())
    env.clock.advance(60)
    withdraw(table, "subject-a", table.subjects.state("subject-a"), "stop-hash")
    # a subject that declines, one that is only suppressed
    declined = pending_subject(env, "subject-b")
    assert declined.pending is not None
    table.consents.decline("subject-b", declined.pending, declined.consents, "no-hash")
    table.guards.suppress("suppress-unknown")
    table.subjects.record_erasure("subject-gone", "erasure-1", {"consents": 2})
    pending_subject(env, "subject-c")  # and one still asked for their yes


EXPECTED_CLASSES = {
    "DEDUPE#": {"webhook_dedupe"},
    "RATE#": {"rate_limit"},
    "OPTIN#": {"pending_optin_chat", "pending_optin_link"},
    "SUBJ#": {"consent_ledger", "conversation", "pending_optin_chat"},
    "LEDGER#": {"consent_ledger"},
    "SUPPRESS#": {"suppression"},
    "RECEIPT#": {"purge_receipt"},
    "ERASED#": {"erasure_tombstone"},
}


def test_every_item_written_carries_its_retention(env: Env) -> None:
    write_every_kind_of_item(env)
    now = int(env.clock())
    items = env.items()
    assert {i["PK"].split("#", 1)[0] + "#" for i in items} == set(EXPECTED_CLASSES)
    for item in items:
        where = f"{item['PK'].split('#', 1)[0]}/{item['SK'].split('#', 1)[0]}"
        assert item["retention_class"] in REQUIRED_CLASSES, where
        assert isinstance(item["expires_at"], int) and not isinstance(item["expires_at"], bool), where
        assert item["expires_at"] > now, where
        assert item["expiry_shard"] == expiry_shard(item["PK"], item["expires_at"]), where
        prefix = item["PK"].split("#", 1)[0] + "#"
        assert item["retention_class"] in EXPECTED_CLASSES[prefix], where
    # the raw attribute is a DynamoDB Number (what TTL needs), not a string
    raw = env.dynamodb.scan(TableName=TABLE_NAME)["Items"]
    assert all(set(i["expires_at"]) == {"N"} for i in raw)


def test_expiry_follows_each_class_period(env: Env, plan: RetentionPlan) -> None:
    write_every_kind_of_item(env)
    now = int(env.clock())
    by_key = {(i["PK"], i["SK"]): i for i in env.items()}
    assert by_key[("DEDUPE#stop-hash", "DEDUPE")]["expires_at"] == now + 8 * DAY
    assert by_key[("SUPPRESS#suppress-unknown", "SUPPRESS")]["expires_at"] == now + 1095 * DAY
    withdrawn = by_key[("SUBJ#subject-a", "S#CONSENT#marketing")]
    assert withdrawn["state"] == "withdrawn" and withdrawn["expires_at"] == now + 1095 * DAY
    [link] = [i for i in by_key.values() if i.get("flow") == "link"]
    assert link["retention_class"] == "pending_optin_link" and link["expires_at"] == link["created_at"] + 24 * HOUR
    # ledger entries are kept for the ledger period after the consent they prove could last end
    ledger = sorted(i["expires_at"] for i in by_key.values() if i["PK"].startswith("LEDGER#"))
    given, withdrawn_until = plan.consent_record_expires_at(now - 60), plan.consent_record_expires_at(now)
    assert ledger == [given, given, withdrawn_until, withdrawn_until]
    assert by_key[("SUBJ#subject-a", "S#LEDGER")]["expires_at"] == withdrawn_until
    pending = by_key[("SUBJ#subject-c", "S#PENDING")]
    assert pending["retention_class"] == "pending_optin_chat" and pending["expires_at"] == now + HOUR
    [message] = [i for i in by_key.values() if i["SK"].startswith("M#IN#")]
    assert message["expires_at"] == message["received_at"] + 90 * DAY


def test_no_item_holds_a_number_or_a_message_id(env: Env) -> None:
    """Built with the real pseudonymizer: keys and evidence are keyed hashes only."""
    number, wamid = "+491701234567", "wamid.HBgNNDkxNzAxMjM0NTY3FQIAEhgg"
    pseudonyms = Pseudonymizer(b"a-test-pepper-of-32-bytes-length")
    subject = pseudonyms.subject("whatsapp", number)
    request = optin_request(env)
    state = bind(env.store, request, subject, pseudonyms.message("whatsapp", wamid))
    activate(env.store, subject, state, pseudonyms.message("whatsapp", wamid + "yes"))
    env.store.messages.record_outbound(subject, pseudonyms.message("whatsapp", "wamid.out"), "activated")
    dump = json.dumps(env.items(), default=str)
    assert not any(needle in dump for needle in (number, number.lstrip("+"), "1701234567", "wamid", "HBgN"))


# -- reads ignore what expired ----------------------------------------------------------------------


def test_subject_state_ignores_an_expired_pending_request(env: Env) -> None:
    pending_subject(env, "subject-a")
    env.clock.advance(HOUR - 1)
    assert env.store.subjects.state("subject-a").pending is not None
    env.clock.advance(1)
    state = env.store.subjects.state("subject-a")
    assert state.pending is None and state.consents == {} and not state.is_known
    assert state.state_of("customer_service") is ConsentState.NONE
    assert len([i for i in env.items() if i["PK"] == "SUBJ#subject-a"]) == 3  # still there until the purge


def test_subject_state_ignores_a_lapsed_consent_but_keeps_the_ledger_head(env: Env, plan: RetentionPlan) -> None:
    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes-hash")
    assert env.store.subjects.state("subject-a").active_purposes == PURPOSES
    env.clock.advance(plan.consent_validity.total_seconds())
    state = env.store.subjects.state("subject-a")
    assert state.active_purposes == () and state.consents == {}
    assert state.ledger_head is not None and state.ledger_head.seq == 2  # the proof outlives the consent


def test_optin_request_ignores_an_expired_request(env: Env) -> None:
    request = optin_request(env)
    assert env.store.optins.request(request.code_hash) == request
    env.clock.advance(HOUR)
    assert env.store.optins.request(request.code_hash) is None
    assert env.store.optins.request(code_hash(new_code())) is None


def test_suppression_lasts_its_period(env: Env) -> None:
    env.store.guards.suppress("suppress-x")
    assert env.store.guards.is_suppressed("suppress-x") and not env.store.guards.is_suppressed("suppress-y")
    env.clock.advance(1095 * DAY - 1)
    assert env.store.guards.is_suppressed("suppress-x")
    env.clock.advance(1)
    assert not env.store.guards.is_suppressed("suppress-x")


def test_ledger_entries_ignore_expired_ones(env: Env, plan: RetentionPlan) -> None:
    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes-hash")
    head, entries = ledger_of(env.store, "subject-a")
    assert head is not None and len(entries) == 2 and verify(entries, head).ok
    env.clock.advance(plan.consent_record_expires_at(0))
    assert env.store.ledger.entries(head.ledger_id) == []


def test_inbound_messages_ignore_expired_ones(env: Env) -> None:
    env.store.messages.store_inbound("subject-a", "in-1", "text", lambda _: b"sealed")
    env.clock.advance(10)
    env.store.messages.store_inbound("subject-a", "in-2", "text", lambda _: b"sealed")
    with pytest.raises(Duplicate):  # the message and its dedupe record are one transaction
        env.store.messages.store_inbound("subject-a", "in-2", "text", lambda _: b"sealed")
    assert len(env.inbound_items("subject-a")) == 2
    env.clock.advance(90 * DAY - 10)
    assert [m["received_at"] for m in env.inbound_items("subject-a")] == [int(env.clock()) - 90 * DAY + 10]


# -- delivery statuses ------------------------------------------------------------------------------


def status_of(env: Env, subject: str, message_hash: str) -> str:
    [item] = [i for i in env.items() if i["PK"] == f"SUBJ#{subject}" and i["SK"] == f"M#OUT#{message_hash}"]
    return str(item["status"])


def test_statuses_move_forward_only(env: Env) -> None:
    table = env.store
    table.messages.record_outbound("subject-a", "out-1", "reply")
    assert status_of(env, "subject-a", "out-1") == "accepted"
    assert table.messages.update_status("subject-a", "out-1", "sent")
    assert table.messages.update_status("subject-a", "out-1", "read")  # delivered may be skipped
    assert not table.messages.update_status("subject-a", "out-1", "delivered")  # read → delivered: refused
    assert not table.messages.update_status("subject-a", "out-1", "sent")
    assert not table.messages.update_status("subject-a", "out-1", "read")  # the same status twice
    assert status_of(env, "subject-a", "out-1") == "read"


def test_failed_is_final(env: Env) -> None:
    table = env.store
    table.messages.record_outbound("subject-a", "out-1", "reply")
    assert table.messages.update_status("subject-a", "out-1", "sent")
    assert table.messages.update_status("subject-a", "out-1", "failed")
    for later in ("sent", "delivered", "read", "failed"):
        assert not table.messages.update_status("subject-a", "out-1", later), later
    assert status_of(env, "subject-a", "out-1") == "failed"


def test_a_status_for_an_unknown_message_creates_nothing(env: Env) -> None:
    table = env.store
    table.messages.record_outbound("subject-a", "out-1", "reply")
    before = env.items()
    assert not table.messages.update_status("subject-a", "out-unknown", "delivered")
    assert not table.messages.update_status("subject-b", "out-1", "delivered")  # another subject's message
    assert env.items() == before


def test_status_ranks() -> None:
    assert STATUS_RANK["accepted"] < STATUS_RANK["sent"] < STATUS_RANK["delivered"] < STATUS_RANK["read"]
    assert STATUS_RANK["failed"] > max(v for k, v in STATUS_RANK.items() if k != "failed")


# -- transitions --------------------------------------------------------------------------------------


def test_binding_twice_with_the_same_message_is_a_replay(env: Env) -> None:
    request = optin_request(env)
    bind(env.store, request, "subject-a", "code-message")
    other = optin_request(env)
    before = env.items()
    with pytest.raises(Duplicate):
        bind(env.store, request, "subject-a", "code-message")
    with pytest.raises(Duplicate):  # even with another, valid code: the message was processed
        bind(env.store, other, "subject-b", "code-message")
    assert env.items() == before  # nothing changed
    assert env.store.optins.request(other.code_hash) == other  # still pending
    assert env.store.subjects.state("subject-b") == SubjectState()


def test_a_code_binds_once(env: Env) -> None:
    request = optin_request(env)
    bind(env.store, request, "subject-a")
    with pytest.raises(Conflict) as error:
        bind(env.store, request, "subject-b")  # someone else sends the same code
    assert "request" in error.value.failed
    assert env.store.subjects.state("subject-b") == SubjectState()
    stored = env.store.optins.request(request.code_hash)
    assert stored is not None and stored.status == "bound" and stored.subject == "subject-a"


def test_an_expired_code_does_not_bind(env: Env) -> None:
    request = optin_request(env)
    env.clock.advance(HOUR)
    with pytest.raises(Conflict) as error:
        bind(env.store, request, "subject-a")
    assert "request" in error.value.failed
    assert env.store.subjects.state("subject-a") == SubjectState()


def test_binding_over_an_active_purpose_names_it(env: Env) -> None:
    state = pending_subject(env, "subject-a", ("customer_service",))
    activate(env.store, "subject-a", state, "yes-hash")
    with pytest.raises(Conflict) as error:
        bind(env.store, optin_request(env), "subject-a")
    assert error.value.failed == ("consent:customer_service",)
    assert env.store.subjects.state("subject-a").active_purposes == ("customer_service",)


def test_activation_appends_a_verifiable_proof(env: Env) -> None:
    state = pending_subject(env, "subject-a")
    env.clock.advance(30)
    activate(env.store, "subject-a", state, "yes-hash")
    after = env.store.subjects.state("subject-a")
    assert after.pending is None and after.active_purposes == PURPOSES
    assert all(r.rev == 2 for r in after.consents.values())
    head, entries = ledger_of(env.store, "subject-a")
    assert head is not None and verify(entries, head).ok
    assert [(e.event, e.purpose) for e in entries] == [(LedgerEvent.CONSENT_GIVEN, p) for p in PURPOSES]
    request = env.store.optins.request(state.pending.code_hash if state.pending else "")
    assert request is not None and request.status == "confirmed"
    with pytest.raises(Duplicate):  # the same "yes" again
        activate(env.store, "subject-a", state, "yes-hash")


def test_a_stale_activation_changes_nothing(env: Env) -> None:
    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes-1")
    before = env.items()
    with pytest.raises(Conflict):
        activate(env.store, "subject-a", state, "yes-2")  # the same read state, a new message
    assert env.items() == before
    assert env.store.guards.record_delivery("yes-2")  # the failed transaction left no dedupe record


def test_withdrawal_is_idempotent_in_effect(env: Env) -> None:
    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes")
    assert withdraw_until_done(env.store, "subject-a") == 1
    assert withdraw_until_done(env.store, "subject-a") == 1  # a second STOP finds nothing left to withdraw
    head, entries = ledger_of(env.store, "subject-a")
    assert head is not None and verify(entries, head).ok
    assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2 + [LedgerEvent.CONSENT_WITHDRAWN] * 2
    assert env.store.guards.is_suppressed("suppress-subject-a")


def test_decline_discards_the_request(env: Env) -> None:
    state = pending_subject(env, "subject-a")
    assert state.pending is not None
    env.store.consents.decline("subject-a", state.pending, state.consents, "no-hash")
    assert env.store.subjects.state("subject-a") == SubjectState()
    request = env.store.optins.request(state.pending.code_hash)
    assert request is not None and request.status == "declined" and request.subject == ""
    with pytest.raises(Duplicate):
        env.store.consents.decline("subject-a", state.pending, state.consents, "no-hash")


def test_stored_ledger_verifies_and_detects_an_edited_entry(env: Env) -> None:
    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes")
    withdraw_until_done(env.store, "subject-a")
    head, entries = ledger_of(env.store, "subject-a")
    assert head is not None and len(entries) == 4 and verify(entries, head).ok
    # someone with table access rewrites the notice hash of the first consent
    key = {"PK": {"S": f"LEDGER#{head.ledger_id}"}, "SK": {"S": "E#0000000001"}}
    env.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=key,
        UpdateExpression="SET notice_sha256 = :forged",
        ExpressionAttributeValues={":forged": {"S": "f" * 64}},
    )
    assert not verify(env.store.ledger.entries(head.ledger_id), head).ok


def test_a_deleted_first_entry_within_retention_is_detected_by_the_proof(env: Env) -> None:
    from chatconsent.consent_service import ConsentService

    state = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", state, "yes")
    head, _ = ledger_of(env.store, "subject-a")
    assert head is not None
    env.dynamodb.delete_item(
        TableName=TABLE_NAME, Key={"PK": {"S": f"LEDGER#{head.ledger_id}"}, "SK": {"S": "E#0000000001"}}
    )
    proof = ConsentService(env.store, current_config(), env.clock).proof("subject-a")
    assert len(proof.entries) == 1  # the entry is gone, nowhere near its expiry
    assert not proof.verification.ok


# -- a withdrawal racing a confirmation ------------------------------------------------------------------


def test_withdrawal_first_then_a_stale_activation_conflicts(env: Env) -> None:
    read = pending_subject(env, "subject-a")  # both webhooks read this state
    withdraw(env.store, "subject-a", read, "stop-hash")
    with pytest.raises(Conflict):
        activate(env.store, "subject-a", read, "yes-hash")
    state = env.store.subjects.state("subject-a")
    assert {r.state for r in state.consents.values()} == {ConsentState.WITHDRAWN}
    assert state.pending is None and state.ledger_head is None  # a pending request was never consent
    assert not [i for i in env.items() if i["PK"].startswith("LEDGER#")]
    assert env.store.guards.record_delivery("yes-hash")  # the lost activation wrote nothing, not even its dedupe


def test_activation_first_then_a_stale_withdrawal_retries_and_ends_withdrawn(env: Env) -> None:
    read = pending_subject(env, "subject-a")
    activate(env.store, "subject-a", read, "yes-hash")
    with pytest.raises(Conflict):
        withdraw(env.store, "subject-a", read, "stop-hash")  # its revisions are stale
    assert env.store.subjects.state("subject-a").active_purposes == PURPOSES  # the failed withdrawal wrote nothing
    assert withdraw_until_done(env.store, "subject-a") == 1  # re-read: active → withdrawn, with proof
    state = env.store.subjects.state("subject-a")
    assert {r.state for r in state.consents.values()} == {ConsentState.WITHDRAWN}
    head, entries = ledger_of(env.store, "subject-a")
    assert head is not None and verify(entries, head).ok
    assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2 + [LedgerEvent.CONSENT_WITHDRAWN] * 2


def race(env: Env, subject: str, seed: int) -> tuple[bool, int]:
    """A "yes" (one read, one conditional activation) against a STOP (withdraw, re-read and retry on
    Conflict), started together on two threads. Returns whether the yes won and the STOP's attempts."""
    plan = env.store.plan
    rng = random.Random(seed)
    clients: list[Any] = [JitterClient(env.wiring.dynamodb, random.Random(rng.random())) for _ in range(2)]
    confirm_table, stop_table = (Store(client, TABLE_NAME, plan, env.clock) for client in clients)
    confirm_delay, stop_delay = rng.random() * 0.004, rng.random() * 0.004
    barrier = threading.Barrier(2)
    activated: list[bool] = []
    attempts: list[int] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        barrier.wait()
        time.sleep(confirm_delay)
        try:
            state = confirm_table.subjects.state(subject)
            if state.pending is None:  # withdrawn before the "yes" was read: stale
                activated.append(False)
                return
            activate(confirm_table, subject, state, f"yes-{subject}")
            activated.append(True)
        except Conflict:
            activated.append(False)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def stop() -> None:
        barrier.wait()
        time.sleep(stop_delay)
        try:
            attempts.append(withdraw_until_done(stop_table, subject))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=confirm), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return activated == [True], attempts[0]


def test_a_withdrawal_racing_an_activation_always_ends_withdrawn(env: Env) -> None:
    for iteration in range(20):
        subject = f"race-{iteration}"
        request = optin_request(env)
        env.store.consents.bind(request, subject, PURPOSES, f"code-{iteration}", "suppress")
        yes_won, attempts = race(env, subject, iteration)
        assert 1 <= attempts <= 3
        state = env.store.subjects.state(subject)
        assert {r.state for r in state.consents.values()} == {ConsentState.WITHDRAWN}, iteration
        assert state.pending is None and state.active_purposes == ()
        head = state.ledger_head
        entries = env.store.ledger.entries(head.ledger_id) if head else []
        if yes_won:  # given, then withdrawn, both proven
            assert head is not None and verify(entries, head).ok
            assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2 + [LedgerEvent.CONSENT_WITHDRAWN] * 2
        else:  # the STOP won: the yes changed nothing and left no proof of a consent that never was
            assert head is None and entries == []


# -- no user-supplied value in an expression ------------------------------------------------------------

HOSTILE = 'x" OR #evil = :evil) OR (attribute_exists(PK) #rev :one'
EXPRESSION_KEYS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)


class RecordingClient:
    """Passes every request through and keeps it, to inspect the expressions sent."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            if name == "transact_write_items":
                self.requests += [request for item in kwargs["TransactItems"] for request in item.values()]
            else:
                self.requests.append(kwargs)
            return attribute(**kwargs)

        return call


def test_values_never_become_expression_syntax(env: Env) -> None:
    recording = RecordingClient(env.wiring.dynamodb)
    client: Any = recording
    table = Store(client, TABLE_NAME, env.store.plan, env.clock)
    subject = f"SUBJ#{HOSTILE}"
    purposes = (f"p {HOSTILE}", "#state", ":pending")
    assert table.guards.record_delivery(HOSTILE) and not table.guards.record_delivery(HOSTILE)
    assert table.guards.consume_rate(HOSTILE, HOSTILE, HOUR, 1) and not table.guards.consume_rate(
        HOSTILE, HOSTILE, HOUR, 1
    )
    now = int(env.clock())
    request = OptInRequest(
        request_id=HOSTILE,
        code_hash=f"#{HOSTILE}:",
        flow="chat",
        channel=HOSTILE,
        language=":evil-language",
        purposes=purposes,
        notice_version="#evil-version",
        notice_sha256=HOSTILE,
        status="pending",
        created_at=now,
        expires_at=now + HOUR,
    )
    table.optins.create_request(request)
    assert table.optins.request(request.code_hash) == request
    table.consents.bind(request, subject, list(purposes), HOSTILE + "code", HOSTILE)
    state = table.subjects.state(subject)
    assert state.pending is not None and state.pending.request_id == HOSTILE
    assert state.pending.purposes == purposes and set(state.consents) == set(purposes)
    assert {r.request_id for r in state.consents.values()} == {HOSTILE}
    table.messages.record_outbound(subject, HOSTILE, HOSTILE)
    assert table.messages.update_status(subject, HOSTILE, "read")
    table.guards.suppress(HOSTILE)
    assert table.guards.is_suppressed(HOSTILE) and not table.guards.is_suppressed(HOSTILE + " ")
    records = tuple(state.consents.values())
    withdrawal = Withdrawal(
        subject, records, message_hash=HOSTILE + "stop", clear_pending=state.pending, suppression_hash=HOSTILE
    )
    table.consents.withdraw(withdrawal)
    assert {r.state for r in table.subjects.state(subject).consents.values()} == {ConsentState.WITHDRAWN}

    assert recording.requests
    allowed_names = set(_NAMES.values())
    for sent in recording.requests:
        expressions = " ".join(str(sent[k]) for k in EXPRESSION_KEYS if k in sent)
        assert not any(fragment in expressions for fragment in (HOSTILE, 'x"', "#evil", ":evil", "p x"))
        assert set(sent.get("ExpressionAttributeNames", {}).values()) <= allowed_names
        assert all(placeholder.startswith("#") for placeholder in sent.get("ExpressionAttributeNames", {}))
    # and the values are stored as data
    stored = [i for i in env.items() if i["PK"] == f"SUBJ#{subject}"]
    assert {i["SK"] for i in stored} >= {f"S#CONSENT#{p}" for p in purposes} | {f"M#OUT#{HOSTILE}"}
    [outbound] = [i for i in stored if i["SK"] == f"M#OUT#{HOSTILE}"]
    assert outbound["kind"] == HOSTILE and outbound["status"] == "read"
