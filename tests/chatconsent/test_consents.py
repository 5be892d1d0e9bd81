"""Consent transitions with proof: activation, withdrawal, and the race between them."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from chatconsent.channels.base import InboundKind, InboundMessage
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import ConsentState
from chatconsent.inbound import InboundParts, InboundService, Outcome
from chatconsent.ledger import LedgerEvent
from chatconsent.optin import OptInAsk
from chatconsent.store import Duplicate, Store
from tests.conftest import Env, JitterClient

NUMBER = "+491701234567"


def message(text: str, message_id: str) -> InboundMessage:
    return InboundMessage("whatsapp", NUMBER, message_id, 0, InboundKind.TEXT, text)


def services(env: Env, client: Any = None) -> tuple[InboundService, ConsentService]:
    wiring = env.wiring
    store = Store(client or wiring.dynamodb, "chatconsent-local", wiring.store.plan, env.clock)
    consents = ConsentService(store, wiring.config, env.clock)
    parts = InboundParts(
        store,
        wiring.pseudonymizer,
        wiring.whatsapp,
        wiring.config,
        env.clock,
        consents,
        wiring.notices,
        wiring.outbox_sealer,
    )
    return InboundService(parts), consents


def pending_subject(env: Env, purposes: tuple[str, ...] = ("customer_service", "marketing"), tag: str = "") -> str:
    started = env.wiring.optin.start(
        OptInAsk(
            purposes=purposes,
            channel="whatsapp",
            language="en",
            notice_version=env.wiring.notices.latest_version,
        ),
        "198.51.100.7",
    )
    inbound, _ = services(env)
    assert inbound.handle_message(message(f"code {started.code}", f"wamid.code{tag}")) is Outcome.CODE_BOUND
    return env.wiring.pseudonymizer.subject("whatsapp", NUMBER)


def test_withdrawal_after_activation_is_proven_and_idempotent(env: Env) -> None:
    subject = pending_subject(env)
    inbound, consents = services(env)
    assert inbound.handle_message(message("yes", "wamid.yes")) is Outcome.CONSENT_ACTIVATED
    env.clock.advance(30)
    assert set(consents.withdraw(subject, source="keyword:STOP", message_hash="h-stop")) == {
        "customer_service",
        "marketing",
    }
    state = env.store.subjects.state(subject)
    assert {r.state for r in state.consents.values()} == {ConsentState.WITHDRAWN}
    proof = consents.proof(subject)
    assert proof.verification.ok
    assert [e.event for e in proof.entries] == [LedgerEvent.CONSENT_GIVEN] * 2 + [LedgerEvent.CONSENT_WITHDRAWN] * 2
    withdrawn = proof.entries[-1]
    assert withdrawn.notice_sha256 == proof.entries[0].notice_sha256 and withdrawn.evidence["source"] == "keyword:STOP"
    # the withdrawn state is kept for the ledger period from the withdrawal
    plan = env.wiring.store.plan
    assert all(
        r.expires_at == int(env.clock()) + int(plan.classes["consent_ledger"].period.total_seconds())
        for r in state.consents.values()
    )
    # repeated STOP: nothing changes; the same webhook again is a replay
    assert consents.withdraw(subject, source="keyword:STOP", message_hash="h-stop-2") == ()
    with pytest.raises(Duplicate):
        consents.withdraw(subject, source="keyword:STOP", message_hash="h-stop-2")
    assert len(consents.proof(subject).entries) == 4


def test_withdrawal_of_a_pending_request_leaves_no_proof_and_blocks_the_yes(env: Env) -> None:
    subject = pending_subject(env)
    inbound, consents = services(env)
    assert set(consents.withdraw(subject, source="keyword:STOP")) == {"customer_service", "marketing"}
    assert env.store.subjects.state(subject).pending is None
    assert inbound.handle_message(message("yes", "wamid.yes")) is not Outcome.CONSENT_ACTIVATED
    assert env.store.subjects.state(subject).state_of("customer_service") is ConsentState.WITHDRAWN
    assert consents.proof(subject).entries == ()


def test_withdrawing_one_purpose_keeps_the_other(env: Env) -> None:
    subject = pending_subject(env)
    inbound, consents = services(env)
    inbound.handle_message(message("yes", "wamid.yes"))
    assert consents.withdraw(subject, source="whatsapp:user_preferences", purposes={"marketing"}) == ("marketing",)
    state = env.store.subjects.state(subject)
    assert state.active_purposes == ("customer_service",)
    assert state.state_of("marketing") is ConsentState.WITHDRAWN


@pytest.mark.parametrize("seed", range(100))
def test_withdrawal_racing_a_confirmation_always_ends_withdrawn(env: Env, seed: int) -> None:
    subject = pending_subject(env, tag=str(seed))
    rng = random.Random(seed)
    inbound, _ = services(env, JitterClient(env.wiring.dynamodb, rng))
    _, consents = services(env, JitterClient(env.wiring.dynamodb, rng))
    barrier = threading.Barrier(2)
    outcome: list[Outcome] = []

    def confirm() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        outcome.append(inbound.handle_message(message("yes", f"wamid.yes{seed}")))

    def stop() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        consents.withdraw(subject, source="keyword:STOP")

    threads = [threading.Thread(target=confirm), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = env.store.subjects.state(subject)
    assert {r.state for r in state.consents.values()} == {ConsentState.WITHDRAWN}
    proof = consents.proof(subject)
    assert proof.verification.ok
    events = [e.event for e in proof.entries]
    if outcome == [Outcome.CONSENT_ACTIVATED]:  # the yes won: given, then withdrawn, both proven
        assert events == [LedgerEvent.CONSENT_GIVEN] * 2 + [LedgerEvent.CONSENT_WITHDRAWN] * 2
    else:  # the STOP won (before or while the yes was read): the yes changed nothing
        assert outcome[0] in (Outcome.STALE_ANSWER, Outcome.SUPPRESSED) and events == []
