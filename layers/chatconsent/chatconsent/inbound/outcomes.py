"""What became of each item of a webhook delivery: one outcome each, counted as a metric."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    DUPLICATE = "duplicate"  # processed before: no second effect
    CODE_BOUND = "code_bound"
    CODE_REPEATED = "code_repeated"
    CODE_REJECTED = "code_rejected"
    ALREADY_ACTIVE = "already_active"
    CONSENT_ACTIVATED = "consent_activated"
    CONSENT_DECLINED = "consent_declined"
    STALE_ANSWER = "stale_answer"
    REMINDED = "reminded"
    ACCEPTED = "accepted"
    INFO_REPLIED = "info_replied"
    INFO_SUPPRESSED = "info_suppressed"
    STATUS_UPDATED = "status_updated"
    STATUS_IGNORED = "status_ignored"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ALREADY_WITHDRAWN = "already_withdrawn"
    HELP_REPLIED = "help_replied"
    SUPPRESSED = "suppressed"
    STORED = "stored"
    IGNORED = "ignored"
    ACCESS_ANSWERED = "access_answered"  # DATA again within the period: told when a new link can be asked for
    ACCESS_LINK_SENT = "access_link_sent"  # DATA: a one-time link to the person's copy
    ERASURE_ASKED = "erasure_asked"
    ERASURE_CANCELLED = "erasure_cancelled"
    ERASED = "erased"
    QUARANTINED = "quarantined"
    SPECIAL_GRANTED = "special_granted"
    SPECIAL_DECLINED = "special_declined"
    CONSENT_RENEWED = "consent_renewed"  # yes to the renewal or re-confirmation question
    RENEWAL_DECLINED = "renewal_declined"  # no to it: those purposes withdrawn
    NUMBER_CHANGED = "number_changed"  # the old number's consent ended
    RESTRICTED = "restricted"  # processing restricted (Art. 18): delivery recorded, nothing done or sent
    OUTDATED = "outdated"  # dated outside the window a delivery can still arrive in: dropped, not stored
