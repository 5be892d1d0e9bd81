"""Grants: purposes that become active in one step, because the person's act was the confirmation.

A click on the confirmation link (link-confirmed opt-in) and the "yes" to the Art. 9 question
asked in the chat each activate their purposes directly, with the proof, conditioned on what
was read (a withdrawal landing in between cancels them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chatconsent.consent_state import ConsentRecord, ConsentState, SpecialRequest
from chatconsent.store import keys
from chatconsent.store.consents import ACTIVATE, Reach, Transitions, activation_renewal, reach_op, valid_until
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.records import LedgerAppend, OptInRequest
from chatconsent.store.table import Operation


class Grants(Transitions):
    def _grant_ops(
        self,
        subject: str,
        consents: Mapping[str, ConsentRecord],
        purposes: Sequence[str],
        source: OptInRequest,
        proof: LedgerAppend,
        now: int,
    ) -> list[Operation]:
        """Purposes → active in one step (the person's explicit act was the confirmation itself).

        Conditioned on each record's revision as read, so a withdrawal in between makes it fail.
        ``source`` gives the request id, the notice, the channel and the block-list key (if any).
        """
        t = self._t
        ops: list[Operation] = []
        sh = source.suppression_hash
        for purpose in purposes:
            record = consents.get(purpose)
            suppression_hash = sh or (record.suppression_hash if record else "")
            reach = Reach(source.language, source.address, proof, suppression_hash, source.channel)
            if (op := reach_op(t, subject, purpose, record.rev + 1 if record else 1, reach, now)) is not None:
                ops.append(op)
            update = t.update(
                keys.consent(subject, purpose),
                ACTIVATE
                + " #req = :req,"
                + (" suppression_hash = :sh," if sh else "")
                + " #rev = if_not_exists(#rev, :zero) + :one",
                {
                    ":active": ConsentState.ACTIVE.value,
                    ":req": source.request_id,
                    ":now": now,
                    ":nv": source.notice_version,
                    ":nl": source.language,
                    ":ns": source.notice_sha256,
                    ":ch": source.channel,
                    ":zero": 0,
                    ":one": 1,
                    **activation_renewal(t, subject, now),
                    **({":rev": record.rev} if record else {}),
                    **({":sh": sh} if sh else {}),
                },
                # no live record: none at all, or one past its retention that the purge has not reached
                "#rev = :rev" if record else "attribute_not_exists(#rev) OR #exp <= :now",
                valid_until(self._t, now),
            )
            ops.append((f"consent:{purpose}", "Update", update))
        return ops

    def grant_special(  # noqa: PLR0913 (the Art. 9 question, the consents, the proof, the answer and its reply)
        self,
        subject: str,
        request: SpecialRequest,
        consents: Mapping[str, ConsentRecord],
        proof: LedgerAppend,
        channel: str,
        message_hash: str,
        covering: ConsentRecord,
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """The person's "yes" to the Art. 9 question: the special purpose → active, with proof, once.

        Only while the conversation's own consent is still as read (``covering``): a withdrawal
        that lands first cancels it.
        """
        now = self._t.now()
        source = OptInRequest(
            request_id=f"art9:{request.nonce}",
            code_hash="",
            flow="chat",
            channel=channel,
            language=request.language,
            purposes=(request.purpose,),
            notice_version=request.notice_version,
            notice_sha256=request.notice_sha256,
            status="",
            created_at=request.asked_at,
            expires_at=0,
        )
        ops = [
            self._quarantine.close_question_op(subject, request.nonce, now),
            self._guards.still_active(subject, covering),
        ]
        ops += self._grant_ops(subject, consents, [request.purpose], source, proof, now)
        ops += self._ledger.append_ops(subject, proof, now)
        ops += self._guards.delivery_ops(message_hash, now, owed)
        self._t.transact(ops)

    def confirm_link(
        self, request: OptInRequest, purposes: Sequence[str], consents: Mapping[str, ConsentRecord], proof: LedgerAppend
    ) -> None:
        """pending link → confirmed; ``purposes`` → active, with the proof, atomically and once.

        Fails (Conflict) when the link is no longer open or the number went on the block list.
        """
        now = self._t.now()
        subject = request.subject
        ops = self._optins.close_link_ops(subject, request.code_hash, request.request_id, "confirmed", now)
        if request.suppression_hash:
            ops.append(self._guards.not_suppressed_check(request.suppression_hash, now))
        ops += self._grant_ops(subject, consents, purposes, request, proof, now)
        ops += self._ledger.append_ops(subject, proof, now)
        self._t.transact(ops)
