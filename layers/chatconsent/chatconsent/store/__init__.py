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

Each aggregate's module is imported when the aggregate is first used, and the names below when first
read (``from chatconsent.store import Campaign`` works as ever): a function imports only the parts
of the store it uses (the webhook never loads campaigns, the purge never loads opt-ins), and a
SnapStart snapshot holds those it primes.
"""

from __future__ import annotations

import importlib
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chatconsent.clock import Clock
from chatconsent.retention import RetentionPlan
from chatconsent.store.table import Conflict, Duplicate, Table, retry_on_conflict

if TYPE_CHECKING:
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

# ruff: noqa: PLC0415 (each aggregate's module is imported where the aggregate is built)

_LAZY = {  # name → the module of this package that defines it
    "AccessLink": "access",
    "AccessLinks": "access",
    "AuditTrail": "audit",
    "Campaign": "campaigns",
    "Campaigns": "campaigns",
    "CampaignStatus": "campaigns",
    "Cap": "campaigns",
    "Claim": "campaigns",
    "Recipient": "campaigns",
    "Consents": "consents",
    "DataKeys": "data_keys",
    "Grants": "grants",
    "Guards": "guards",
    "RateCounter": "guards",
    "Ledger": "ledger",
    "STATUS_RANK": "messages",
    "BadCursor": "messages",
    "Messages": "messages",
    "OptIns": "optins",
    "Outbox": "outbox",
    "OutboxItem": "outbox",
    "OwedMessage": "outbox",
    "PurgeAccess": "purge",
    "Quarantine": "quarantine",
    "AuditRecord": "records",
    "ConversationRow": "records",
    "ExpiredItem": "records",
    "InboundRecord": "records",
    "LedgerAppend": "records",
    "OptInRequest": "records",
    "OutboundRecord": "records",
    "RightsRequest": "records",
    "SubjectItem": "records",
    "Tombstone": "records",
    "Withdrawal": "records",
    "Asked": "renewals",
    "DueConsent": "renewals",
    "Renewals": "renewals",
    "Renewed": "renewals",
    "RestoreAccess": "restore",
    "RightsRegister": "rights_register",
    "Sends": "sends",
    "ErasureCounts": "subjects",
    "Subjects": "subjects",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__`` read for the first time: its module is imported then."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
    """The main table (and the key table) through one object per aggregate, each built on first use."""

    def __init__(
        self, client: Any, table_name: str, plan: RetentionPlan, clock: Clock, key_table_name: str | None = None
    ) -> None:
        self.table = Table(client, table_name, plan, clock, key_table_name)
        self._client = client
        self._key_table_name = key_table_name

    @cached_property
    def data_keys(self) -> DataKeys:
        from chatconsent.store.data_keys import DataKeys

        return DataKeys(self._client, self._key_table_name)

    @cached_property
    def guards(self) -> Guards:
        from chatconsent.store.guards import Guards

        return Guards(self.table)

    @cached_property
    def ledger(self) -> Ledger:
        from chatconsent.store.ledger import Ledger

        return Ledger(self.table)

    @cached_property
    def optins(self) -> OptIns:
        from chatconsent.store.optins import OptIns

        return OptIns(self.table, self.guards)

    @cached_property
    def messages(self) -> Messages:
        from chatconsent.store.messages import Messages

        return Messages(self.table, self.guards)

    @cached_property
    def quarantine(self) -> Quarantine:
        from chatconsent.store.quarantine import Quarantine

        return Quarantine(self.table, self.guards, self.messages)

    @cached_property
    def consents(self) -> Consents:
        from chatconsent.store.consents import Consents

        return Consents(self.table, self.guards, self.ledger, self.optins, self.quarantine)

    @cached_property
    def grants(self) -> Grants:
        from chatconsent.store.grants import Grants

        return Grants(self.table, self.guards, self.ledger, self.optins, self.quarantine)

    @cached_property
    def renewals(self) -> Renewals:
        from chatconsent.store.renewals import Renewals

        return Renewals(self.table, self.guards, self.ledger, self.optins, self.quarantine)

    @cached_property
    def subjects(self) -> Subjects:
        from chatconsent.store.subjects import Subjects

        return Subjects(self.table, self.guards, self.data_keys)

    @cached_property
    def audit(self) -> AuditTrail:
        from chatconsent.store.audit import AuditTrail

        return AuditTrail(self.table)

    @cached_property
    def access(self) -> AccessLinks:
        from chatconsent.store.access import AccessLinks

        return AccessLinks(self.table, self.guards, self.audit)

    @cached_property
    def purge(self) -> PurgeAccess:
        from chatconsent.store.purge import PurgeAccess

        return PurgeAccess(self.table, self.data_keys)

    @cached_property
    def restore(self) -> RestoreAccess:
        from chatconsent.store.restore import RestoreAccess

        return RestoreAccess(self.table)

    @cached_property
    def campaigns(self) -> Campaigns:
        from chatconsent.store.campaigns import Campaigns

        return Campaigns(self.table, self.guards)

    @cached_property
    def sends(self) -> Sends:
        from chatconsent.store.sends import Sends

        return Sends(self.table, self.guards)

    @cached_property
    def outbox(self) -> Outbox:
        from chatconsent.store.outbox import Outbox

        return Outbox(self.table)

    @cached_property
    def rights(self) -> RightsRegister:
        from chatconsent.store.rights_register import RightsRegister

        return RightsRegister(self.table)

    @property
    def plan(self) -> RetentionPlan:
        return self.table.plan

    def now(self) -> int:
        return self.table.now()
