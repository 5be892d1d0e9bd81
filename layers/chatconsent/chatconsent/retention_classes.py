"""The retention classes: every stored item belongs to exactly one (the plan gives each its period)."""

from __future__ import annotations

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
    ERASURE_TOMBSTONE = "erasure_tombstone"  # who was erased and when, for as long as a restore can reach


REQUIRED_CLASSES = frozenset(c.value for c in RetentionClass)
