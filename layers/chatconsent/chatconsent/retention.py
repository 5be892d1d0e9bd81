"""The retention plan: every stored item has a class, a start event and an expiry.

Reads ignore what has expired; a scheduled purge deletes it; DynamoDB TTL is only the backstop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from chatconsent.config import BusinessConfig, RetentionClassConfig
from chatconsent.retention_classes import REQUIRED_CLASSES, RetentionClass

__all__ = ["REQUIRED_CLASSES", "RetentionClass", "RetentionPlan"]


@dataclass(frozen=True)
class RetentionPlan:
    classes: dict[str, RetentionClassConfig]
    consent_validity: timedelta
    renewal_ask_before: timedelta = timedelta(days=30)

    @classmethod
    def from_config(cls, config: BusinessConfig) -> RetentionPlan:
        return cls(
            classes=dict(config.retention),
            consent_validity=config.consent_validity,
            renewal_ask_before=config.consent_renewal.ask_before,
        )

    def renewal_ask_at(self, lapses_at: int, now: int) -> int:
        """When the person is asked to renew a consent that lapses at ``lapses_at`` (never before ``now``)."""
        return max(now, lapses_at - int(self.renewal_ask_before.total_seconds()))

    def period(self, retention_class: RetentionClass) -> timedelta:
        return self.classes[retention_class.value].period

    def expires_at(self, retention_class: RetentionClass, start: float) -> int:
        """Epoch seconds after which an item of this class, started at ``start``, must be gone."""
        return math.ceil(start + self.period(retention_class).total_seconds())

    def consent_record_expires_at(self, event_time: float) -> int:
        """Consent records are proof: kept for the ledger period after the consent can last end.

        A consent event at ``event_time`` belongs to a consent that ends (withdrawal, lapse) at the
        latest ``consent_validity`` later, so its record outlives that end by the ledger period.
        """
        horizon = self.consent_validity.total_seconds()
        return self.expires_at(RetentionClass.CONSENT_LEDGER, event_time + horizon)

    def consent_records_expired_before(self, now: float) -> int:
        """Consent records of events before this time have reached the end of their retention."""
        return math.floor(
            now - self.consent_validity.total_seconds() - self.period(RetentionClass.CONSENT_LEDGER).total_seconds()
        )

    @staticmethod
    def is_live(expires_at: int | float | None, now: float) -> bool:
        return expires_at is not None and now < float(expires_at)
