"""Consent transitions, each one conditional transaction: bind, activate, decline, withdraw.

``none → pending → active → withdrawn``. Every write is conditioned on what the caller read
(state, request id, revision), so two webhooks racing each other cannot both win: the loser
gets a Conflict and reads again. Each transition that a webhook message causes commits that
message's delivery record in the same transaction (a duplicate raises Duplicate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatconsent.consent_state import ConsentRecord, ConsentState, PendingConfirmation
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.campaigns import CAMPAIGN_CHANNEL, count_update
from chatconsent.store.guards import Guards
from chatconsent.store.ledger import Ledger
from chatconsent.store.optins import OptIns, form_attributes
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.quarantine import Quarantine
from chatconsent.store.records import LedgerAppend, OptInRequest, Withdrawal
from chatconsent.store.table import Operation, Table

ACTIVATE = (
    "SET #state = :active, updated_at = :now, activated_at = :now,"
    " notice_version = :nv, notice_language = :nl, notice_sha256 = :ns, #channel = :ch,"
    " renewal_slot = :rslot, renewal_at = :rat,"
)
# An active consent leaves the renewal index when it ends (withdrawal, lapse).
LEAVE_RENEWAL = " REMOVE renewal_slot, renewal_at"


@dataclass(frozen=True)
class Reach:
    """How an activated consent can be written under: the sealed address and where it came from."""

    language: str
    address: bytes | None
    proof: LedgerAppend
    suppression_hash: str = ""
    channel: str = CAMPAIGN_CHANNEL  # the messenger the address belongs to


def reach_op(table: Table, subject: str, purpose: str, rev: int, reach: Reach, now: int) -> Operation | None:
    """The reach record of a consent just activated (at revision ``rev``), if it came with an address.

    It keeps the sealed address, the hash of the ledger entry that proves the consent, and the
    campaigns' frequency cap, and it is what the sparse audience index holds (by purpose, language
    and shard; sorted by when the person may next be written to) where campaigns can reach the
    person: on WhatsApp only, so a campaign never reads a consent given on another messenger. A
    withdrawal deletes it, the lapse of the consent ends it (same expiry), an erasure takes it with
    everything else.
    """
    if reach.address is None:
        return None
    proof_hash = next((e.entry_hash for e in reach.proof.entries if e.purpose == purpose), "")
    _, expires = valid_until(table, now)
    audience = (
        {keys.AUDIENCE: keys.audience(purpose, reach.language, subject), keys.AUDIENCE_SORT: now}
        if reach.channel == CAMPAIGN_CHANNEL
        else {}
    )
    item = table.item(
        keys.reach(subject, purpose),
        {
            **audience,
            "address": reach.address,
            "proof_hash": proof_hash,
            "consent_rev": rev,
            "language": reach.language,
            "suppression_hash": reach.suppression_hash,
        },
        RetentionClass.REACH,
        expires,
    )
    return (f"reach:{purpose}", "Put", table.put(item))


def valid_until(table: Table, now: int) -> tuple[RetentionClass, int]:
    """An active consent's retention: it lapses after the configured validity."""
    return RetentionClass.CONSENT_LEDGER, now + int(table.plan.consent_validity.total_seconds())


def renewal_values(subject: str, lapses_at: int, now: int, plan_ask_at: int | None = None) -> dict[str, Any]:
    """The renewal index position (``:rslot``, ``:rat``) of a consent that lapses at ``lapses_at``:
    the job next acts on it at ``plan_ask_at`` (when to ask), by default at the lapse itself."""
    at = plan_ask_at if plan_ask_at is not None else lapses_at
    return {":rslot": keys.renewal_slot(keys.subject_pk(subject), at), ":rat": at}


def activation_renewal(table: Table, subject: str, now: int) -> dict[str, Any]:
    """The renewal index position of a consent activated (or renewed) ``now``: asked before it lapses."""
    _, lapses_at = valid_until(table, now)
    return renewal_values(subject, lapses_at, now, table.plan.renewal_ask_at(lapses_at, now))


class Transitions:
    """What every consent transition writes beside the consent: delivery records, ledger, links, questions."""

    def __init__(self, table: Table, guards: Guards, ledger: Ledger, optins: OptIns, quarantine: Quarantine) -> None:
        self._t = table
        self._guards = guards
        self._ledger = ledger
        self._optins = optins
        self._quarantine = quarantine


class Consents(Transitions):
    def bind(
        self,
        request: OptInRequest,
        subject: str,
        purposes: Sequence[str],
        message_hash: str,
        suppression_hash: str,
        question_sha256: str = "",
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """pending request → bound to ``subject``; its purposes → pending. Atomic, single-use.

        ``message_hash`` is the code message's (kept as evidence and recorded as delivered);
        ``question_sha256`` the hash of the yes/no question that will be asked (kept as evidence too).
        Raises Duplicate, or Conflict with ``request`` (code used/expired/foreign) or
        ``consent:<purpose>`` (that purpose is active: bind again without it).
        """
        t = self._t
        now = t.now()
        pending = t.item(
            keys.pending(subject),
            {
                "request_id": request.request_id,
                "code_hash": request.code_hash,
                "channel": request.channel,
                "purposes": list(purposes),
                "language": request.language,
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "code_message": message_hash,
                "bound_at": now,
                "requested_at": request.created_at,
                "question_sha256": question_sha256,
                **form_attributes(request.age_confirmed, request.widget_version),
            },
            RetentionClass.PENDING_OPTIN_CHAT,
            request.expires_at,
        )
        ops: list[Operation] = [
            (
                "request",
                "Update",
                t.update(
                    keys.optin(request.code_hash),
                    "SET #status = :bound, #subject = :subject, bound_at = :now",
                    {
                        ":bound": "bound",
                        ":pending": "pending",
                        ":subject": subject,
                        ":now": now,
                        ":channel": request.channel,
                    },
                    "#status = :pending AND #exp > :now AND #channel = :channel",
                ),
            ),
            ("pending", "Put", t.put(pending)),
        ]
        for purpose in purposes:
            update = t.update(
                keys.consent(subject, purpose),
                "SET #state = :pending, #req = :req, updated_at = :now, suppression_hash = :sh,"
                " #rev = if_not_exists(#rev, :zero) + :one" + LEAVE_RENEWAL,
                {
                    ":pending": ConsentState.PENDING.value,
                    ":active": ConsentState.ACTIVE.value,
                    ":req": request.request_id,
                    ":now": now,
                    ":sh": suppression_hash,  # so a withdrawal elsewhere can block the number too
                    ":zero": 0,
                    ":one": 1,
                },
                "attribute_not_exists(#state) OR #state <> :active OR #exp <= :now",
                (RetentionClass.PENDING_OPTIN_CHAT, request.expires_at),
            )
            ops.append((f"consent:{purpose}", "Update", update))
        # The person opted in again themselves: lift their block-list entry.
        ops.append(self._guards.lift_suppression_op(suppression_hash))
        ops += self._guards.delivery_ops(message_hash, now, owed)
        t.transact(ops)

    def _withdrawn_after(self, subject: str, record: ConsentRecord) -> Operation:
        """Count the withdrawal in the results of the campaign that last wrote under the consent."""
        t = self._t
        counter = count_update(t, record.last_campaign, subject, {"withdrawn_after": 1})
        assert counter is not None
        return (f"results:{record.purpose}", "Update", counter)

    def _close_pending_ops(self, subject: str, pending: PendingConfirmation, status: str, now: int) -> list[Operation]:
        t = self._t
        values: dict[str, Any] = {f":{status}": status, ":bound": "bound"}
        update = f"SET #status = :{status}" + (", confirmed_at = :now" if status == "confirmed" else "")
        condition = "#status = :bound"
        if status == "confirmed":
            values |= {":subject": subject, ":now": now}
            condition += " AND #subject = :subject"
        return [
            ("pending", "Delete", t.delete(keys.pending(subject), "#req = :req", {":req": pending.request_id})),
            (
                "request",
                "Update",
                t.update(keys.optin(pending.code_hash), update + " REMOVE #subject", values, condition),
            ),
        ]

    def activate(
        self,
        subject: str,
        pending: PendingConfirmation,
        consents: Mapping[str, ConsentRecord],
        proof: LedgerAppend,
        message_hash: str,
        address: bytes | None = None,
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """pending → active for the request's purposes, with the proof appended to the ledger.

        ``address`` (the yes's sender, sealed) is kept with each consent (its reach record).
        """
        t = self._t
        now = t.now()
        ops: list[Operation] = []
        for purpose in pending.purposes:
            record = consents[purpose]
            reach = Reach(pending.language, address, proof, record.suppression_hash, pending.channel)
            if (op := reach_op(t, subject, purpose, record.rev + 1, reach, now)) is not None:
                ops.append(op)
            update = t.update(
                keys.consent(subject, purpose),
                ACTIVATE + " #rev = #rev + :one",
                {
                    ":active": ConsentState.ACTIVE.value,
                    ":pending": ConsentState.PENDING.value,
                    ":req": pending.request_id,
                    ":rev": consents[purpose].rev,
                    ":now": now,
                    ":nv": pending.notice_version,
                    ":nl": pending.language,
                    ":ns": pending.notice_sha256,
                    ":ch": pending.channel,
                    ":one": 1,
                    **activation_renewal(t, subject, now),
                },
                "#state = :pending AND #req = :req AND #rev = :rev AND #exp > :now",
                valid_until(self._t, now),
            )
            ops.append((f"consent:{purpose}", "Update", update))
        ops += self._close_pending_ops(subject, pending, "confirmed", now)  # the request no longer links
        ops += self._ledger.append_ops(subject, proof, now)
        ops += self._guards.delivery_ops(message_hash, now, owed)
        t.transact(ops)

    def decline(
        self,
        subject: str,
        pending: PendingConfirmation,
        consents: Mapping[str, ConsentRecord],
        message_hash: str,
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """pending → none: the request is discarded, nothing about it is kept."""
        t = self._t
        now = t.now()
        ops: list[Operation] = [
            (
                f"consent:{purpose}",
                "Delete",
                t.delete(
                    keys.consent(subject, purpose),
                    "#state = :pending AND #req = :req AND #rev = :rev",
                    {":pending": ConsentState.PENDING.value, ":req": pending.request_id, ":rev": consents[purpose].rev},
                ),
            )
            for purpose in pending.purposes
        ]
        ops += self._close_pending_ops(subject, pending, "declined", now)
        ops += self._guards.delivery_ops(message_hash, now, owed)
        t.transact(ops)

    def withdraw(self, withdrawal: Withdrawal) -> None:
        """active or pending → withdrawn for the withdrawal's records, with what goes with it, atomically.

        Conditioned on each record's revision, so a confirmation that lands in between makes this
        fail and be retried on the fresh state: a withdrawal racing a confirmation ends withdrawn.
        A link being voided in the same transaction cannot be clicked after it; an open Art. 9
        question is closed conditioned on being the one read (a "yes" landing first makes this
        retry and withdraw that consent too).
        """
        t = self._t
        now = t.now()
        subject, pending = withdrawal.subject, withdrawal.clear_pending
        expires = t.expires_at(RetentionClass.CONSENT_LEDGER, now)
        ops: list[Operation] = [
            (
                f"consent:{record.purpose}",
                "Update",
                t.update(
                    keys.consent(subject, record.purpose),
                    "SET #state = :withdrawn, updated_at = :now, withdrawn_at = :now, #rev = #rev + :one"
                    + LEAVE_RENEWAL,
                    {":withdrawn": ConsentState.WITHDRAWN.value, ":rev": record.rev, ":now": now, ":one": 1},
                    "#rev = :rev",
                    (RetentionClass.CONSENT_LEDGER, expires),
                ),
            )
            for record in withdrawal.records
        ]
        # Nobody is written to under a withdrawn consent: its reach record goes in the same transaction.
        ops += [(f"reach:{r.purpose}", "Delete", t.delete(keys.reach(subject, r.purpose))) for r in withdrawal.records]
        ops += [self._withdrawn_after(subject, r) for r in withdrawal.records if r.last_campaign]
        if pending:
            ops.append(
                ("pending", "Delete", t.delete(keys.pending(subject), "#req = :req", {":req": pending.request_id}))
            )
        if pending and withdrawal.detach_request:  # the request no longer links to the subject
            update = t.update(
                keys.optin(pending.code_hash),
                "SET #status = :withdrawn REMOVE #subject",
                {":withdrawn": "withdrawn", ":subject": subject},
                "#subject = :subject",
            )
            ops.append(("request", "Update", update))
        if (link := withdrawal.void_link) is not None:
            ops += self._optins.close_link_ops(subject, link.token_hash, link.request_id, "withdrawn", now)
        if withdrawal.close_special is not None:
            ops.append(self._quarantine.close_question_op(subject, withdrawal.close_special.nonce))
        if withdrawal.proof is not None:
            ops += self._ledger.append_ops(subject, withdrawal.proof, now)
        if withdrawal.suppression_hash:
            ops.append(self._guards.suppression_op(withdrawal.suppression_hash, now))
        if withdrawal.message_hash:
            ops += self._guards.delivery_ops(withdrawal.message_hash, now, withdrawal.owed)
        t.transact(ops)
