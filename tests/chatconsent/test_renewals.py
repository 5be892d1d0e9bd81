"""Renewal in the store and the domain: the sparse renewal index, asking once, lapse and renewal racing,
and which notice versions ask for re-confirmation (fake clock, embedded backend)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatconsent.config import NoticeChange, current_config
from chatconsent.consent_renewal import ConsentRenewal
from chatconsent.consent_state import ConsentRecord, ConsentState, SubjectState
from chatconsent.ledger import LedgerEvent
from chatconsent.renewal_rules import cycle_of, needs_reconfirmation, new_request, reconfirmation_due
from chatconsent.store import Asked, Conflict
from tests.conftest import Env
from tests.flow import activate, subject_of

DAY = 86_400
ORDER = ["2026-11-01", "2026-11-30", "2026-11-30.2", "2026-11-30.3"]


def due_purposes(env: Env, subject: str) -> set[str]:
    lookback = int(current_config().purge.lookback.total_seconds())
    return {d.purpose for d in env.store.renewals.due(int(env.clock()), lookback) if d.subject == subject}


def test_an_active_consent_enters_the_renewal_index_at_its_ask_time_and_leaves_it_when_withdrawn(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    end = env.store.subjects.state(subject).consents["marketing"].expires_at
    env.clock.now = end - 30 * DAY - 60
    assert due_purposes(env, subject) == set()  # not yet
    env.clock.now = end - 30 * DAY
    assert due_purposes(env, subject) == {"customer_service", "marketing"}
    env.wiring.consents.withdraw(subject, source="test", purposes={"marketing"})
    assert due_purposes(env, subject) == {"customer_service"}  # sparse: a withdrawn consent is gone from it
    items = [i for i in env.subject_items(subject) if i["SK"] == "S#CONSENT#marketing"]
    assert "renewal_slot" not in items[0] and "renewal_at" not in items[0]


def ask(env: Env, subject: str, records: list[ConsentRecord], next_at: int | None = None) -> None:
    request = new_request("renewal", records, cycle_of(records[0]), ("v", "en", "s" * 64), int(env.clock()), "chat")
    env.store.renewals.ask(subject, request, [Asked(r, cycle_of(r), next_at) for r in records])


def test_asking_is_once_per_cycle_and_moves_the_consent_to_its_lapse(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    record = env.store.subjects.state(subject).consents["customer_service"]
    env.clock.now = record.expires_at - 30 * DAY
    ask(env, subject, [record], next_at=record.expires_at - 3600)
    with pytest.raises(Conflict):  # a second run (or a racing one) with the same read
        ask(env, subject, [record], next_at=record.expires_at - 3600)
    state = env.store.subjects.state(subject)
    assert state.consents["customer_service"].renewal_asked == cycle_of(record)
    assert state.renewal_request is not None and state.renewal_request.purposes == {"customer_service": record.rev}
    assert due_purposes(env, subject) == set()  # until the lapse
    env.clock.now = record.expires_at - 3600
    assert due_purposes(env, subject) == {"customer_service"}


def test_a_lapse_read_before_a_renewal_commits_changes_nothing(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    record = env.store.subjects.state(subject).consents["customer_service"]
    env.clock.now = record.expires_at - 30 * DAY
    ask(env, subject, [record])
    renewal = ConsentRenewal(env.store, env.wiring.consents)
    asked = env.store.subjects.state(subject)
    assert renewal.renew(subject, asked, "m" * 64).value == "activated"
    # the lapse, with the state read before the renewal: its transaction is refused
    lapsed_view = env.store.subjects.state(subject, lapsing=True)
    stale = replace(lapsed_view.consents["customer_service"], rev=record.rev)
    proof = env.wiring.consents.append_proof(
        asked,
        [
            env.wiring.consents.fact(
                LedgerEvent.CONSENT_LAPSED, "customer_service", ("v", "en", "s", "whatsapp", "r"), {}
            )
        ],
    )
    with pytest.raises(Conflict):
        env.store.renewals.lapse(subject, [stale], proof)
    # and the domain's lapse, read fresh, finds nothing ending: the renewal moved the validity
    env.clock.now = record.expires_at - 1800
    assert renewal.lapse(subject, ["customer_service"], int(env.clock()) + 3600) == ()
    events = [e.event for e in env.wiring.consents.proof(subject).entries]
    assert events == [LedgerEvent.CONSENT_GIVEN, LedgerEvent.CONSENT_RENEWED]
    assert env.store.subjects.state(subject).state_of("customer_service") is ConsentState.ACTIVE


def test_a_late_lapse_is_still_written_while_the_record_waits_for_the_purge(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    end = env.store.subjects.state(subject).consents["customer_service"].expires_at
    env.clock.now = end + 3 * DAY  # the job was down; reads already show no consent
    assert env.store.subjects.state(subject).consents == {}
    renewal = ConsentRenewal(env.store, env.wiring.consents)
    assert renewal.lapse(subject, ["customer_service"], int(env.clock())) == ("customer_service",)
    assert renewal.lapse(subject, ["customer_service"], int(env.clock())) == ()  # once
    assert env.store.subjects.state(subject).state_of("customer_service") is ConsentState.LAPSED
    assert [e.event for e in env.wiring.consents.proof(subject).entries][-1] is LedgerEvent.CONSENT_LAPSED


# -- which notice versions ask ---------------------------------------------------------------------------


def config_with(material: dict[str, bool]):  # type: ignore[no-untyped-def]
    changes = {v: NoticeChange(material=m) for v, m in material.items()}
    return current_config().model_copy(update={"notice_changes": changes, "notice_version": "2026-11-30.3"})


@pytest.mark.unit
@pytest.mark.parametrize(
    ("material", "consented_under", "asks"),
    [
        ({"2026-11-30.3": True}, "2026-11-30.2", True),  # the current version changed purposes or recipients
        ({"2026-11-30.3": False}, "2026-11-30.2", False),  # it only clarifies
        ({}, "2026-11-01", False),  # nothing marked: clarifying
        ({"2026-11-30.2": True}, "2026-11-01", True),  # a material version in between, a clarifying one since
        ({"2026-11-30.2": True}, "2026-11-30.2", False),  # consented under the material version itself
        ({"2026-11-30.3": True}, "2026-11-30.3", False),  # under the current one
    ],
)
def test_reconfirmation_asks_only_after_a_material_version(
    material: dict[str, bool], consented_under: str, asks: bool
) -> None:
    assert needs_reconfirmation(config_with(material), ORDER, consented_under) is asks


@pytest.mark.unit
def test_reconfirmation_is_asked_once_per_version_and_not_while_a_question_is_open() -> None:
    config = config_with({"2026-11-30.3": True})
    record = ConsentRecord("customer_service", ConsentState.ACTIVE, 2, "r", 0, 10**10, notice_version="2026-11-30")
    state = SubjectState(consents={"customer_service": record})
    assert reconfirmation_due(config, ORDER, state) == (record,)
    asked = replace(record, renewal_asked="notice:2026-11-30.3")
    assert reconfirmation_due(config, ORDER, SubjectState(consents={"customer_service": asked})) == ()
    request = new_request("renewal", [record], "lapse:1", ("v", "en", "s"), 0, "chat")
    open_question = SubjectState(consents={"customer_service": record}, renewal_request=request)
    assert reconfirmation_due(config, ORDER, open_question) == ()
    withdrawn = replace(record, state=ConsentState.WITHDRAWN)
    assert reconfirmation_due(config, ORDER, SubjectState(consents={"customer_service": withdrawn})) == ()
