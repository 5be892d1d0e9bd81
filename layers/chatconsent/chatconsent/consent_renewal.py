"""Renewal with its proof: the yes to a renewal or re-confirmation question, and the lapse.

Both are optimistic like every consent transition: read the subject's state, write conditioned on
the revisions read, and on a lost race read again. A renewal and a lapse racing each other end
with whichever committed first; the other writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from chatconsent.consent_service import Activation, ConsentService
from chatconsent.consent_state import ConsentState, SubjectState
from chatconsent.ledger import LedgerEvent
from chatconsent.store import Conflict, Duplicate, OwedMessage, Renewed, Store, retry_on_conflict


class ConsentRenewal:
    def __init__(self, store: Store, consents: ConsentService) -> None:
        self._store = store
        self._consents = consents

    def renew(
        self, subject: str, state: SubjectState, message_hash: str, owed: Sequence[OwedMessage] = ()
    ) -> Activation:
        """The person's yes to the open renewal or re-confirmation question: the asked consents stay
        active under the notice the question named, with a new validity and the proof, once.

        STALE when nothing asked is still active (withdrawn or lapsed first) or no question is open.
        """
        for attempt in retry_on_conflict():
            if attempt:
                state = self._store.subjects.state(subject)
            request = state.renewal_request
            records = tuple(
                record
                for purpose in (request.purposes if request else ())
                if (record := state.consents.get(purpose)) is not None and record.state is ConsentState.ACTIVE
            )
            if request is None or not records:
                return Activation.STALE if self._store.guards.record_delivery(message_hash) else Activation.DUPLICATE
            event = LedgerEvent.CONSENT_RENEWED if request.kind == "renewal" else LedgerEvent.CONSENT_RECONFIRMED
            facts = [
                self._consents.fact(
                    event,
                    record.purpose,
                    (
                        request.notice_version,
                        request.language,
                        request.notice_sha256,
                        record.channel,
                        f"{request.kind}:{request.nonce}",
                    ),
                    {
                        "method": request.method,
                        "asked_at": str(request.asked_at),
                        "confirmation_message": message_hash,
                        "previous_notice_version": record.notice_version,
                        "previous_valid_until": str(record.expires_at),
                        **({"previous_proof": record.proof_hash} if record.proof_hash else {}),
                    },
                )
                for record in records
            ]
            try:
                self._store.renewals.renew(
                    subject,
                    Renewed(request, records, self._consents.append_proof(state, facts), message_hash, tuple(owed)),
                )
            except Duplicate:
                return Activation.DUPLICATE
            except Conflict:
                continue
            return Activation.ACTIVATED
        raise Conflict(["renewal_retries_exhausted"])

    def lapse(self, subject: str, purposes: Collection[str], ending_by: int) -> tuple[str, ...]:
        """active → lapsed for ``purposes`` whose validity ends by ``ending_by``, with the proof; returns
        what lapsed. A renewal committed first moved the validity: nothing lapses, nothing is written."""
        for _ in retry_on_conflict(attempts=6):
            state = self._store.subjects.state(subject, lapsing=True)
            records = [
                record
                for purpose, record in state.consents.items()
                if purpose in purposes and record.state is ConsentState.ACTIVE and record.expires_at <= ending_by
            ]
            if not records:
                return ()
            facts = [
                self._consents.fact(
                    LedgerEvent.CONSENT_LAPSED,
                    r.purpose,
                    (r.notice_version, r.notice_language, r.notice_sha256, r.channel, r.request_id),
                    {
                        "source": "renewal_job",
                        "valid_until": str(r.expires_at),
                        "renewal_asked": r.renewal_asked or "-",
                    },
                )
                for r in records
            ]
            question = state.renewal_request
            lapsing = {r.purpose for r in records}
            others = {p for p in question.purposes if state.state_of(p) is ConsentState.ACTIVE} if question else set()
            close = question if question is not None and others <= lapsing else None
            try:
                self._store.renewals.lapse(
                    subject, records, self._consents.append_proof(state, facts), close.nonce if close else None
                )
            except Conflict:
                continue
            return tuple(sorted(lapsing))
        raise Conflict(["lapse_retries_exhausted"])
