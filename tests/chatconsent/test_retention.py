"""The retention plan: every class's period from the configuration, and what "expired" means."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chatconsent.config import current_config
from chatconsent.retention import REQUIRED_CLASSES, RetentionClass, RetentionPlan

HOUR, DAY = 3_600, 86_400
START = 1_795_000_000

# design.md §6 and the README's deletion plan
DEFAULT_PERIODS = {
    RetentionClass.PENDING_OPTIN_CHAT: HOUR,
    RetentionClass.PENDING_OPTIN_LINK: 24 * HOUR,
    RetentionClass.CONVERSATION: 90 * DAY,
    RetentionClass.SPECIAL_CATEGORY: 30 * DAY,
    RetentionClass.SPECIAL_QUARANTINE: HOUR,
    RetentionClass.CONSENT_LEDGER: 1095 * DAY,
    RetentionClass.SUPPRESSION: 1095 * DAY,
    RetentionClass.WEBHOOK_DEDUPE: 8 * DAY,
    RetentionClass.RATE_LIMIT: DAY,
    RetentionClass.PURGE_RECEIPT: 400 * DAY,
    RetentionClass.ADMIN_AUDIT: 730 * DAY,
    RetentionClass.CONVERSATION_WITHDRAWN: 30 * DAY,
    RetentionClass.REACH: 730 * DAY,
    RetentionClass.CAMPAIGN_SEND: 365 * DAY,
    RetentionClass.CAMPAIGN_RESULTS: 730 * DAY,
    RetentionClass.SEND_RATE: DAY,
    RetentionClass.OUTBOX: DAY,
    RetentionClass.RIGHTS_REQUEST: 1095 * DAY,
    RetentionClass.ERASURE_TOMBSTONE: 35 * DAY,  # the point-in-time-recovery window
}


@pytest.fixture
def plan() -> RetentionPlan:
    return RetentionPlan.from_config(current_config())


def test_every_class_has_a_default_period() -> None:
    assert set(DEFAULT_PERIODS) == set(RetentionClass)
    assert {c.value for c in DEFAULT_PERIODS} == REQUIRED_CLASSES


@pytest.mark.parametrize(("retention", "seconds"), DEFAULT_PERIODS.items(), ids=[c.value for c in DEFAULT_PERIODS])
def test_expires_at_per_class(plan: RetentionPlan, retention: RetentionClass, seconds: int) -> None:
    assert plan.period(retention) == timedelta(seconds=seconds)
    assert plan.expires_at(retention, START) == START + seconds
    assert plan.expires_at(retention, 0) == seconds


def test_expires_at_is_whole_seconds_rounded_up(plan: RetentionPlan) -> None:
    expires = plan.expires_at(RetentionClass.WEBHOOK_DEDUPE, START + 0.25)
    assert isinstance(expires, int)
    assert expires == START + 8 * DAY + 1  # never earlier than the period allows


def test_consent_validity_defaults_to_two_years(plan: RetentionPlan) -> None:
    assert plan.consent_validity == timedelta(days=730)


def test_consent_record_outlives_the_longest_consent_by_the_ledger_period(plan: RetentionPlan) -> None:
    assert plan.consent_record_expires_at(START) == START + 730 * DAY + 1095 * DAY
    assert plan.consent_record_expires_at(START) > plan.expires_at(RetentionClass.CONSENT_LEDGER, START)


def test_consent_record_follows_a_changed_validity() -> None:
    config = current_config()
    plan = RetentionPlan.from_config(config.model_copy(update={"consent_validity": timedelta(days=365)}))
    assert plan.consent_record_expires_at(START) == START + 365 * DAY + 1095 * DAY


def test_plan_follows_the_configuration() -> None:
    config = current_config()
    retention = dict(config.retention)
    retention["webhook_dedupe"] = retention["webhook_dedupe"].model_copy(update={"period": timedelta(days=10)})
    plan = RetentionPlan.from_config(config.model_copy(update={"retention": retention}))
    assert plan.expires_at(RetentionClass.WEBHOOK_DEDUPE, START) == START + 10 * DAY
    assert plan.expires_at(RetentionClass.CONVERSATION, START) == START + 90 * DAY


@pytest.mark.parametrize(
    ("expires_at", "now", "live"),
    [
        (START + 1, START, True),
        (START, START, False),  # at the expiry instant the item is gone
        (START - 1, START, False),
        (START, START - 0.001, True),
        (START, START + 0.001, False),
        (float(START), START - 1, True),
        (None, START, False),  # an item without expiry is never trusted as live
        (0, START, False),
    ],
)
def test_is_live_boundaries(expires_at: int | float | None, now: float, live: bool) -> None:
    assert RetentionPlan.is_live(expires_at, now) is live


def test_an_item_is_live_for_exactly_its_period(plan: RetentionPlan) -> None:
    expires = plan.expires_at(RetentionClass.PENDING_OPTIN_CHAT, START)
    assert plan.is_live(expires, START + HOUR - 1)
    assert not plan.is_live(expires, START + HOUR)
