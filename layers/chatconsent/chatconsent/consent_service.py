"""Consent transitions with their proof: activation and withdrawal, each appended to the ledger.

Both are optimistic: read the subject's state, write conditioned on what was read, and on a lost
race read again. So a withdrawal racing a confirmation always ends withdrawn, and a confirmation
that arrives after a withdrawal changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent_state import ConsentRecord, ConsentState, SubjectState
from chatconsent.ledger import ConsentFact, LedgerEntry, LedgerEvent, LedgerHead, Verification, chain, verify
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.store import (
    Conflict,
    Duplicate,
    LedgerAppend,
    OptInRequest,
    OwedMessage,
    Store,
    Withdrawal,
    retry_on_conflict,
)

# What a ledger fact is about: (notice version, notice language, notice hash, channel, request id).
Source = tuple[str, str, str, str, str]


def _form_evidence(age_confirmed: int, widget_version: str) -> dict[str, str]:
    """What the widget's form adds to the proof, when it gave it: the minimum age the person confirmed
    (``age_confirmed``, Art. 8) and the widget's version (``widget_version``)."""
    return {
        **({"age_confirmed": str(age_confirmed)} if age_confirmed else {}),
        **({"widget_version": widget_version} if widget_version else {}),
    }


class Activation(StrEnum):
    ACTIVATED = "activated"
    STALE = "stale"  # declined, withdrawn, replaced or expired in the meantime
    DUPLICATE = "duplicate"  # the message was processed before


@dataclass(frozen=True)
class ConsentProof:
    head: LedgerHead | None
    entries: tuple[LedgerEntry, ...]
    verification: Verification


class ConsentService:
    def __init__(
        self,
        store: Store,
        config: BusinessConfig,
        clock: Clock,
        new_ledger_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._new_ledger_id = new_ledger_id

    def activate(
        self,
        subject: str,
        state: SubjectState,
        request_id: str,
        message_hash: str,
        evidence: Mapping[str, str],
        seal_address: Callable[[], bytes] | None = None,
        owed: Sequence[OwedMessage] = (),
    ) -> Activation:
        """pending → active for every purpose of the subject's pending request ``request_id``.

        ``seal_address`` seals where the yes came from, called only when there is something to activate
        (a replayed yes costs no data key). ``owed`` is the answer, written with the activation.
        """
        address: bytes | None = None
        for attempt in retry_on_conflict():
            if attempt:
                state = self._store.subjects.state(subject)
            pending = state.pending
            if (
                pending is None
                or pending.request_id != request_id
                or not all(
                    state.state_of(p) is ConsentState.PENDING and state.consents[p].request_id == request_id
                    for p in pending.purposes
                )
            ):
                return Activation.STALE if self._store.guards.record_delivery(message_hash) else Activation.DUPLICATE
            source = (pending.notice_version, pending.language, pending.notice_sha256, pending.channel, request_id)
            evidence_given = {
                "code_message": pending.code_message,
                "code_received_at": str(pending.bound_at),
                **({"form_requested_at": str(pending.requested_at)} if pending.requested_at else {}),
                **({"question_sha256": pending.question_sha256} if pending.question_sha256 else {}),
                **_form_evidence(pending.age_confirmed, pending.widget_version),
                "confirmation_message": message_hash,
                **evidence,
            }
            facts = [self._given(purpose, source, evidence_given) for purpose in pending.purposes]
            if address is None and seal_address is not None:
                address = seal_address()
            try:
                self._store.consents.activate(
                    subject, pending, state.consents, self.append_proof(state, facts), message_hash, address, owed
                )
            except Duplicate:
                return Activation.DUPLICATE
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
        owed: Sequence[OwedMessage] = (),
    ) -> tuple[str, ...]:
        """active or pending → withdrawn (all purposes, or ``purposes``); returns what changed.

        With ``suppression_hash`` the same transaction puts the person on the block list. Withdrawing
        again is a no-op. Raises Duplicate when ``message_hash`` was processed before. ``owed`` (the
        confirmation) is written with the withdrawal, and only when something was withdrawn.
        """
        detach_request = True
        for attempt in retry_on_conflict(attempts=8):
            if attempt or state is None:  # a state the caller just read saves a query
                state = self._store.subjects.state(subject)
            withdrawal = self._withdrawal(subject, state, source, purposes, message_hash, suppression_hash)
            if withdrawal is None:
                if message_hash and not self._store.guards.record_delivery(message_hash):
                    raise Duplicate()
                return ()
            try:
                self._store.consents.withdraw(replace(withdrawal, detach_request=detach_request, owed=tuple(owed)))
            except Conflict as conflict:
                if conflict.failed == ("request",):  # the request item is already gone: nothing to detach
                    detach_request = False
                continue
            return tuple(record.purpose for record in withdrawal.records) or ("link",)
        raise Conflict(["withdrawal_retries_exhausted"])

    def _withdrawal(
        self,
        subject: str,
        state: SubjectState,
        source: str,
        purposes: Collection[str] | None,
        message_hash: str | None,
        suppression_hash: str | None,
    ) -> Withdrawal | None:
        """What withdrawing means on ``state``; None when there is nothing left to withdraw."""
        targets = tuple(
            record
            for purpose, record in state.consents.items()
            if record.state in (ConsentState.ACTIVE, ConsentState.PENDING) and (purposes is None or purpose in purposes)
        )
        void_link = state.open_link if purposes is None else None  # a full withdrawal voids the link
        special = state.special_request
        close_special = (
            special if special is not None and (purposes is None or self._conversation in purposes) else None
        )
        if not targets and void_link is None and close_special is None:
            return None
        evidence = {"source": source, **({"message": message_hash} if message_hash else {})}
        # a pending request was never consent: nothing to prove
        facts = [self._withdrawn(r, evidence) for r in targets if r.state is ConsentState.ACTIVE]
        pending = state.pending
        clear_pending = (
            pending
            if pending and any(r.state is ConsentState.PENDING and r.request_id == pending.request_id for r in targets)
            else None
        )
        return Withdrawal(
            subject=subject,
            records=targets,
            proof=self.append_proof(state, facts) if facts else None,
            message_hash=message_hash,
            clear_pending=clear_pending,
            void_link=void_link,
            close_special=close_special,
            suppression_hash=suppression_hash,
        )

    def fact(self, event: LedgerEvent, purpose: str, source: Source, evidence: Mapping[str, str]) -> ConsentFact:
        """One ledger fact; ``source`` is (notice version, notice language, notice hash, channel, request id)."""
        version, language, sha256, channel, request_id = source
        return ConsentFact(
            event=event,
            purpose=purpose,
            legal_basis=self._config.purpose(purpose).legal_basis,
            notice_version=version,
            notice_language=language,
            notice_sha256=sha256,
            channel=channel,
            request_id=request_id,
            evidence=dict(evidence),
        )

    def _given(self, purpose: str, source: Source, evidence: Mapping[str, str]) -> ConsentFact:
        return self.fact(LedgerEvent.CONSENT_GIVEN, purpose, source, evidence)

    def _withdrawn(self, record: ConsentRecord, evidence: Mapping[str, str]) -> ConsentFact:
        source = (
            record.notice_version,
            record.notice_language,
            record.notice_sha256,
            record.channel,
            record.request_id,
        )
        return self.fact(LedgerEvent.CONSENT_WITHDRAWN, record.purpose, source, evidence)

    def append_proof(self, state: SubjectState, facts: list[ConsentFact]) -> LedgerAppend:
        entries, head = chain(state.ledger_head, self._new_ledger_id(), int(self._clock()), facts)
        return LedgerAppend(state.ledger_head, head, tuple(entries))

    @property
    def _conversation(self) -> str:
        return self._config.conversation_purpose

    def state(self, subject: str) -> SubjectState:
        """The subject's consents and open requests, as stored now."""
        return self._store.subjects.state(subject)

    def settle_retention(self, subject: str) -> int:
        """Without the conversation's consent, its messages fall under the plan's withdrawn period.

        Run off the request path by the retention function, for each subject whose consent records
        changed (the table's stream), and by the admin API's withdrawal: idempotent, so a run cut short
        is completed by the next one (the stream retries the batch).
        """
        state = self._store.subjects.state(subject)
        if not state.consents or self._config.conversation_purpose in state.active_purposes:
            return 0
        return self._store.messages.shorten_conversation(subject, RetentionClass.CONVERSATION_WITHDRAWN)

    def grant_special(
        self, subject: str, state: SubjectState, channel: str, message_hash: str, owed: Sequence[OwedMessage] = ()
    ) -> Activation:
        """The person's "yes" to the Art. 9 question asked in the chat: the special purpose → active."""
        for attempt in retry_on_conflict():
            if attempt:
                state = self._store.subjects.state(subject)
            request = state.special_request
            covering = state.consents.get(self._config.conversation_purpose)
            if request is None or covering is None or covering.state is not ConsentState.ACTIVE:
                return Activation.STALE if self._store.guards.record_delivery(message_hash) else Activation.DUPLICATE
            source = (
                request.notice_version,
                request.language,
                request.notice_sha256,
                channel,
                f"art9:{request.nonce}",
            )
            evidence = {
                "method": "chat_button",
                "asked_at": str(request.asked_at),
                "confirmation_message": message_hash,
            }
            fact = self._given(request.purpose, source, evidence)
            try:
                self._store.grants.grant_special(
                    subject,
                    request,
                    state.consents,
                    self.append_proof(state, [fact]),
                    channel,
                    message_hash,
                    covering,
                    owed,
                )
            except Duplicate:
                return Activation.DUPLICATE
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
            state = self._store.subjects.state(request.subject)
            link = state.open_link
            if link is None or link.request_id != request.request_id or not purposes:
                return False
            source = (
                request.notice_version,
                request.language,
                request.notice_sha256,
                request.channel,
                request.request_id,
            )
            link_evidence = {
                "method": "link",
                "form_requested_at": str(request.created_at),
                "token_sha256": request.code_hash,
                "link_message": request.sent_message,
                **_form_evidence(request.age_confirmed, request.widget_version),
                **evidence,
            }
            facts = [self._given(purpose, source, link_evidence) for purpose in purposes]
            try:
                self._store.grants.confirm_link(request, purposes, state.consents, self.append_proof(state, facts))
            except Conflict as conflict:
                if {"link_request", "link", "suppression"} & set(conflict.failed):
                    return False  # closed or blocked in the meantime: the click changes nothing
                continue
            return True
        raise Conflict(["confirmation_retries_exhausted"])

    def proof(self, subject: str) -> ConsentProof:
        """The subject's ledger and whether it verifies (Art. 7(1): the controller must prove consent)."""
        head = self._store.subjects.state(subject).ledger_head
        entries = tuple(self._store.ledger.entries(head.ledger_id)) if head else ()
        threshold = RetentionPlan.from_config(self._config).consent_records_expired_before(self._clock())
        return ConsentProof(head, entries, verify(list(entries), head, expired_prefix=True, expired_before=threshold))
