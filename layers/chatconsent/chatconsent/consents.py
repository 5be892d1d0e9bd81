"""Consent transitions with their proof: activation and withdrawal, each appended to the ledger.

Both are optimistic: read the subject's state, write conditioned on what was read, and on a lost
race read again. So a withdrawal racing a confirmation always ends withdrawn, and a confirmation
that arrives after a withdrawal changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent import ConsentState, SubjectState
from chatconsent.ledger import ConsentFact, LedgerEntry, LedgerEvent, LedgerHead, Verification, chain, verify
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.store import ChatconsentTable, Conflict, OptInRequest, Replay, retry_on_conflict


class Activation(StrEnum):
    ACTIVATED = "activated"
    STALE = "stale"  # declined, withdrawn, replaced or expired in the meantime
    REPLAY = "replay"


@dataclass(frozen=True)
class ConsentProof:
    head: LedgerHead | None
    entries: tuple[LedgerEntry, ...]
    verification: Verification


class ConsentService:
    def __init__(
        self,
        table: ChatconsentTable,
        config: BusinessConfig,
        clock: Clock,
        new_ledger_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._table = table
        self._config = config
        self._clock = clock
        self._new_ledger_id = new_ledger_id

    def activate(
        self, subject: str, state: SubjectState, request_id: str, message_hash: str, evidence: Mapping[str, str]
    ) -> Activation:
        """pending → active for every purpose of the subject's pending request ``request_id``."""
        for attempt in retry_on_conflict():
            if attempt:
                state = self._table.subject_state(subject)
            pending = state.pending
            if (
                pending is None
                or pending.request_id != request_id
                or not all(
                    state.state_of(p) is ConsentState.PENDING and state.consents[p].request_id == request_id
                    for p in pending.purposes
                )
            ):
                return Activation.STALE if self._table.mark_processed(message_hash) else Activation.REPLAY
            facts = [
                ConsentFact(
                    event=LedgerEvent.CONSENT_GIVEN,
                    purpose=purpose,
                    legal_basis=self._config.purpose(purpose).legal_basis,
                    notice_version=pending.notice_version,
                    notice_language=pending.language,
                    notice_sha256=pending.notice_sha256,
                    channel=pending.channel,
                    request_id=pending.request_id,
                    evidence={
                        "code_message": pending.code_message,
                        "code_received_at": str(pending.bound_at),
                        "confirmation_message": message_hash,
                        **evidence,
                    },
                )
                for purpose in pending.purposes
            ]
            entries, head = chain(state.ledger_head, self._new_ledger_id(), int(self._clock()), facts)
            try:
                self._table.activate(subject, pending, state.consents, state.ledger_head, head, entries, message_hash)
            except Replay:
                return Activation.REPLAY
            except Conflict:
                continue
            return Activation.ACTIVATED
        raise Conflict(["activation_retries_exhausted"])

    def withdraw(
        self,
        subject: str,
        source: str,
        purposes: Collection[str] | None = None,
        message_hash: str | None = None,
        suppression_hash: str | None = None,
        state: SubjectState | None = None,
    ) -> tuple[str, ...]:
        """active or pending → withdrawn (all purposes, or ``purposes``); returns what changed.

        With ``suppression_hash`` the same transaction puts the person on the block list. Withdrawing
        again is a no-op. Raises Replay when ``message_hash`` was processed before.
        """
        detach_request = True
        for attempt in retry_on_conflict(attempts=8):
            if attempt or state is None:  # a state the caller just read saves a query
                state = self._table.subject_state(subject)
            targets = [
                record
                for purpose, record in state.consents.items()
                if record.state in (ConsentState.ACTIVE, ConsentState.PENDING)
                and (purposes is None or purpose in purposes)
            ]
            void_link = state.open_link if purposes is None else None  # a full withdrawal voids the link
            conversation = self._config.conversation_purpose
            close_special = (
                state.special_request
                if state.special_request is not None and (purposes is None or conversation in purposes)
                else None
            )
            if not targets and void_link is None and close_special is None:
                if message_hash and not self._table.mark_processed(message_hash):
                    raise Replay()
                return ()
            facts = [
                ConsentFact(
                    event=LedgerEvent.CONSENT_WITHDRAWN,
                    purpose=record.purpose,
                    legal_basis=self._config.purpose(record.purpose).legal_basis,
                    notice_version=record.notice_version,
                    notice_language=record.notice_language,
                    notice_sha256=record.notice_sha256,
                    channel=record.channel,
                    request_id=record.request_id,
                    evidence={"source": source, **({"message": message_hash} if message_hash else {})},
                )
                for record in targets
                if record.state is ConsentState.ACTIVE  # a pending request was never consent: nothing to prove
            ]
            entries, head = (
                chain(state.ledger_head, self._new_ledger_id(), int(self._clock()), facts) if facts else ([], None)
            )
            pending = state.pending
            clear_pending = (
                pending
                if pending
                and any(r.state is ConsentState.PENDING and r.request_id == pending.request_id for r in targets)
                else None
            )
            try:
                self._table.withdraw(
                    subject,
                    targets,
                    state.ledger_head,
                    head,
                    entries,
                    message_hash,
                    clear_pending,
                    suppression_hash,
                    detach_request=detach_request,
                    void_link=void_link,
                    close_special=close_special,
                )
            except Conflict as conflict:
                if conflict.failed == ("request",):  # the request item is already gone: nothing to detach
                    detach_request = False
                continue
            return tuple(record.purpose for record in targets) or ("link",)
        raise Conflict(["withdrawal_retries_exhausted"])

    def settle_retention(self, subject: str) -> int:
        """Without the conversation's consent, its messages fall under the plan's withdrawn period.

        Run after a withdrawal has been confirmed to the person, and again on a repeated STOP or a
        redelivered webhook: idempotent, so a run cut short is completed by the next one.
        """
        state = self._table.subject_state(subject)
        if not state.consents or self._config.conversation_purpose in state.active_purposes:
            return 0
        return self._table.shorten_conversation(subject, RetentionClass.CONVERSATION_WITHDRAWN)

    def grant_special(self, subject: str, state: SubjectState, channel: str, message_hash: str) -> Activation:
        """The person's "yes" to the Art. 9 question asked in the chat: the special purpose → active."""
        for attempt in retry_on_conflict():
            if attempt:
                state = self._table.subject_state(subject)
            request = state.special_request
            covering = state.consents.get(self._config.conversation_purpose)
            if request is None or covering is None or covering.state is not ConsentState.ACTIVE:
                return Activation.STALE if self._table.mark_processed(message_hash) else Activation.REPLAY
            fact = ConsentFact(
                event=LedgerEvent.CONSENT_GIVEN,
                purpose=request.purpose,
                legal_basis=self._config.purpose(request.purpose).legal_basis,
                notice_version=request.notice_version,
                notice_language=request.language,
                notice_sha256=request.notice_sha256,
                channel=channel,
                request_id=f"art9:{request.nonce}",
                evidence={
                    "method": "chat_button",
                    "asked_at": str(request.asked_at),
                    "confirmation_message": message_hash,
                },
            )
            entries, head = chain(state.ledger_head, self._new_ledger_id(), int(self._clock()), [fact])
            try:
                self._table.grant_special_consent(
                    subject, request, state.consents, state.ledger_head, head, entries, channel, message_hash, covering
                )
            except Replay:
                return Activation.REPLAY
            except Conflict:
                continue
            return Activation.ACTIVATED
        raise Conflict(["grant_retries_exhausted"])

    def confirm_link(self, request: OptInRequest, evidence: Mapping[str, str]) -> bool:
        """A click on the confirmation link: the request's purposes become active, once.

        False when the link is no longer open (used, declined, voided by a withdrawal or an
        erasure, or expired) or the number is on the block list.
        """
        purposes = [p for p in request.purposes if p in self._config.purpose_ids]  # still offered
        for _ in retry_on_conflict():
            state = self._table.subject_state(request.subject)
            link = state.open_link
            if link is None or link.request_id != request.request_id or not purposes:
                return False
            facts = [
                ConsentFact(
                    event=LedgerEvent.CONSENT_GIVEN,
                    purpose=purpose,
                    legal_basis=self._config.purpose(purpose).legal_basis,
                    notice_version=request.notice_version,
                    notice_language=request.language,
                    notice_sha256=request.notice_sha256,
                    channel=request.channel,
                    request_id=request.request_id,
                    evidence={
                        "method": "link",
                        "form_requested_at": str(request.created_at),
                        "token_sha256": request.code_hash,
                        "link_message": request.sent_message,
                        **evidence,
                    },
                )
                for purpose in purposes
            ]
            entries, head = chain(state.ledger_head, self._new_ledger_id(), int(self._clock()), facts)
            try:
                self._table.confirm_link(request, purposes, state.consents, state.ledger_head, head, entries)
            except Conflict as conflict:
                if {"link_request", "link", "suppression"} & set(conflict.failed):
                    return False  # closed or blocked in the meantime: the click changes nothing
                continue
            return True
        raise Conflict(["confirmation_retries_exhausted"])

    def proof(self, subject: str) -> ConsentProof:
        """The subject's ledger and whether it verifies (Art. 7(1): the controller must prove consent)."""
        head = self._table.subject_state(subject).ledger_head
        entries = tuple(self._table.ledger_entries(head.ledger_id)) if head else ()
        threshold = RetentionPlan.from_config(self._config).consent_records_expired_before(self._clock())
        return ConsentProof(head, entries, verify(list(entries), head, expired_prefix=True, expired_before=threshold))
