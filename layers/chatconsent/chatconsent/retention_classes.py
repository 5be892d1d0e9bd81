"""The retention classes: every stored item belongs to exactly one (the plan gives each its period)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class RetentionClass(StrEnum):
    PENDING_OPTIN_CHAT = "pending_optin_chat"
    PENDING_OPTIN_LINK = "pending_optin_link"
    CONVERSATION = "conversation"
    CONVERSATION_WITHDRAWN = "conversation_withdrawn"
    SPECIAL_CATEGORY = "special_category"
    SPECIAL_QUARANTINE = "special_quarantine"
    CONSENT_LEDGER = "consent_ledger"
    SUPPRESSION = "suppression"
    WEBHOOK_DEDUPE = "webhook_dedupe"
    RATE_LIMIT = "rate_limit"
    PURGE_RECEIPT = "purge_receipt"
    ADMIN_AUDIT = "admin_audit"
    REACH = "reach"  # the sealed address kept with an active consent
    CAMPAIGN_SEND = "campaign_send"  # per recipient: sent under which consent, and its status
    CAMPAIGN_RESULTS = "campaign_results"  # a campaign and its aggregate counts
    SEND_RATE = "send_rate"  # the shared send-rate bucket (no personal data)
    OUTBOX = "outbox"  # a message owed in answer to one received, sealed, until it is sent
    RIGHTS_REQUEST = "rights_request"  # the register of rights requests (proof of compliance)
    ERASURE_TOMBSTONE = "erasure_tombstone"  # who was erased and when, for as long as a restore can reach


REQUIRED_CLASSES = frozenset(c.value for c in RetentionClass)


# Copies outside the tables, kept by AWS for the periods template.yaml configures (a test compares
# them): the notice, the Art. 30 record and the README's deletion plan name them with these periods.
COPIES: dict[str, timedelta] = {
    "link_jobs": timedelta(hours=1),  # LinkQueue: token and sealed number
    "link_jobs_failed": timedelta(days=1),  # LinkDeadLetters
    "campaign_jobs": timedelta(days=1),  # PlanQueue, SendQueue: pseudonyms and sealed addresses
    # CampaignDeadLetters, PurgeDeadLetters, RetentionDeadLetters, OutboxDeadLetters, RenewalDeadLetters
    "failed_jobs": timedelta(days=14),
    "logs": timedelta(days=30),  # every log group (the LogRetentionDays parameter's default)
    "backups": timedelta(days=35),  # the main table's point-in-time recovery
}
