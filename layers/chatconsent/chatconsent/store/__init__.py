"""Data access: every read and write of the tables, one module per aggregate.

==================  ==========================================================================
module              what is stored there
==================  ==========================================================================
``keys``            the key layout, index names and prefixes (the only module that knows them)
``values``          DynamoDB attribute values (encoding and decoding)
``table``           request builders, transactions, queries; the Duplicate and Conflict errors
``guards``          delivery records (dedupe), rate limits, the block list
``outbox``          messages owed in answer to a delivery, until the outbox sender sends them
``subjects``        a subject's state in one query, all its items, erasure
``consents``        consent transitions: bind, activate, decline, withdraw
``grants``          one-step activations: a confirmation link's click, the Art. 9 "yes"
``ledger``          the consent ledger's entries and head
``optins``          opt-in requests (codes and link tokens) and confirmation links
``messages``        messages in both directions, delivery statuses, the conversation list
``quarantine``      special-category quarantine and the Art. 9 question
``renewals``        the renewal index, the renewal question, renewal and lapse
``audit``           the admin audit trail
``access``          one-time links to the person's Art. 15 copy (DATA in the chat)
``purge``           the expiry index, batch deletes and receipts for the purge
``restore``         what a restored copy must replay: erasure tombstones, block-list entries
``data_keys``       the per-person key table
``campaigns``       campaigns, their results and the audience index
``sends``           each send of a campaign (claim, close, release) and the shared send rate
``rights_register`` rights requests received by e-mail or post; the Art. 18 restriction marker
==================  ==========================================================================

:class:`Store` puts them together for one table; services take the store and use its parts
(``store.consents.withdraw(...)``, ``store.guards.record_delivery(...)``).
"""

from __future__ import annotations

from typing import Any

from chatconsent.clock import Clock
from chatconsent.retention import RetentionPlan
from chatconsent.store.access import AccessLink, AccessLinks
from chatconsent.store.audit import AuditTrail
from chatconsent.store.campaigns import Campaign, Campaigns, CampaignStatus, Cap, Claim, Recipient
from chatconsent.store.consents import Consents
from chatconsent.store.data_keys import DataKeys
from chatconsent.store.grants import Grants
from chatconsent.store.guards import Guards, RateCounter
from chatconsent.store.ledger import Ledger
from chatconsent.store.messages import STATUS_RANK, BadCursor, Messages
from chatconsent.store.optins import OptIns
from chatconsent.store.outbox import Outbox, OutboxItem, OwedMessage
from chatconsent.store.purge import PurgeAccess
from chatconsent.store.quarantine import Quarantine
from chatconsent.store.records import (
    AuditRecord,
    ConversationRow,
    ExpiredItem,
    InboundRecord,
    LedgerAppend,
    OptInRequest,
    OutboundRecord,
    RightsRequest,
    SubjectItem,
    Tombstone,
    Withdrawal,
)
from chatconsent.store.renewals import Asked, DueConsent, Renewals, Renewed
from chatconsent.store.restore import RestoreAccess
from chatconsent.store.rights_register import RightsRegister
from chatconsent.store.sends import Sends
from chatconsent.store.subjects import ErasureCounts, Subjects
from chatconsent.store.table import Conflict, Duplicate, Table, retry_on_conflict

__all__ = [
    "STATUS_RANK",
    "AccessLink",
    "Asked",
    "AuditRecord",
    "BadCursor",
    "Campaign",
    "CampaignStatus",
    "Cap",
    "Claim",
    "Conflict",
    "ConversationRow",
    "DueConsent",
    "Duplicate",
    "ErasureCounts",
    "ExpiredItem",
    "InboundRecord",
    "LedgerAppend",
    "OptInRequest",
    "OutboundRecord",
    "OutboxItem",
    "OwedMessage",
    "RateCounter",
    "Recipient",
    "Renewed",
    "RightsRequest",
    "Store",
    "SubjectItem",
    "Tombstone",
    "Withdrawal",
    "retry_on_conflict",
]


class Store:
    """The main table (and the key table) through one object per aggregate."""

    def __init__(
        self, client: Any, table_name: str, plan: RetentionPlan, clock: Clock, key_table_name: str | None = None
    ) -> None:
        self.table = Table(client, table_name, plan, clock, key_table_name)
        self.data_keys = DataKeys(client, key_table_name)
        self.guards = Guards(self.table)
        self.ledger = Ledger(self.table)
        self.optins = OptIns(self.table, self.guards)
        self.messages = Messages(self.table, self.guards)
        self.quarantine = Quarantine(self.table, self.guards, self.messages)
        self.consents = Consents(self.table, self.guards, self.ledger, self.optins, self.quarantine)
        self.grants = Grants(self.table, self.guards, self.ledger, self.optins, self.quarantine)
        self.renewals = Renewals(self.table, self.guards, self.ledger, self.optins, self.quarantine)
        self.subjects = Subjects(self.table, self.guards, self.data_keys)
        self.audit = AuditTrail(self.table)
        self.access = AccessLinks(self.table, self.guards, self.audit)
        self.purge = PurgeAccess(self.table, self.data_keys)
        self.restore = RestoreAccess(self.table)
        self.campaigns = Campaigns(self.table, self.guards)
        self.sends = Sends(self.table, self.guards)
        self.outbox = Outbox(self.table)
        self.rights = RightsRegister(self.table)

    @property
    def plan(self) -> RetentionPlan:
        return self.table.plan

    def now(self) -> int:
        return self.table.now()
