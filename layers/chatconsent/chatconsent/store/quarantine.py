"""Special-category quarantine (Art. 9): the question asked in the chat and the messages held.

Health data from someone without the explicit consent is stored under the one-hour quarantine
class and the person is asked once per quarantine period. "Yes" moves the held messages to the
special-category class (the grant itself is a consent transition); "no" deletes them at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatconsent.consent_state import SpecialRequest
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.guards import Guards
from chatconsent.store.messages import Messages
from chatconsent.store.outbox import OwedMessage
from chatconsent.store.records import InboundRecord
from chatconsent.store.table import Conflict, Operation, Table

_TRANSACTION_ROOM = 90  # a transaction holds 100 operations


class Quarantine:
    def __init__(self, table: Table, guards: Guards, messages: Messages) -> None:
        self._t = table
        self._guards = guards
        self._messages = messages

    def ask(self, subject: str, request: SpecialRequest, owed: Sequence[OwedMessage] = ()) -> bool:
        """Record the question, with the question owed; False when one is already open (ask once per
        quarantine period)."""
        t = self._t
        item = t.item(
            keys.special_request(subject),
            {
                "nonce": request.nonce,
                "purpose": request.purpose,
                "language": request.language,
                "notice_version": request.notice_version,
                "notice_sha256": request.notice_sha256,
                "asked_at": request.asked_at,
            },
            RetentionClass.SPECIAL_QUARANTINE,
            t.expires_at(RetentionClass.SPECIAL_QUARANTINE, request.asked_at),
        )
        now = t.now()
        question = t.put(item, "attribute_not_exists(PK) OR #exp <= :now", {":now": now})
        if not owed:
            return t.put_item(question)
        try:
            t.transact([("question", "Put", question), *self._guards.owed_ops(owed, now)])
        except Conflict:
            return False
        return True

    def close_question_op(self, subject: str, nonce: str, now: int | None = None) -> Operation:
        """Close the open question (conditioned on its nonce; with ``now``, on it being live too)."""
        key = keys.special_request(subject)
        if now is None:
            return ("special_request", "Delete", self._t.delete(key, "nonce = :nonce", {":nonce": nonce}))
        condition, values = "nonce = :nonce AND #exp > :now", {":nonce": nonce, ":now": now}
        return ("special_request", "Delete", self._t.delete(key, condition, values))

    def messages(self, subject: str) -> list[InboundRecord]:
        """The subject's messages held in quarantine."""
        quarantine = RetentionClass.SPECIAL_QUARANTINE.value
        return [m for m in self._messages.inbound(subject) if m.retention_class == quarantine]

    def release(self, messages: Sequence[InboundRecord]) -> None:
        """Quarantined messages → the special-category class, counted from their receipt."""
        t = self._t
        for message in messages:
            expires = t.expires_at(RetentionClass.SPECIAL_CATEGORY, message.received_at)
            # purged in the meantime (condition fails): nothing to release
            t.update_item(
                t.update(
                    message.key,
                    "SET released_at = :now",
                    {":now": t.now(), ":quarantine": RetentionClass.SPECIAL_QUARANTINE.value},
                    "#rc = :quarantine",
                    (RetentionClass.SPECIAL_CATEGORY, expires),
                )
            )

    def discard(
        self,
        subject: str,
        nonce: str,
        messages: Sequence[InboundRecord],
        message_hash: str,
        owed: Sequence[OwedMessage] = (),
    ) -> None:
        """The person's "no": the question and every quarantined message go, with the delivery record."""
        t = self._t
        first, rest = list(messages[:_TRANSACTION_ROOM]), list(messages[_TRANSACTION_ROOM:])
        ops = [self.close_question_op(subject, nonce, t.now())]
        ops += [("message", "Delete", t.delete(m.key)) for m in first]
        ops += self._guards.delivery_ops(message_hash, t.now(), owed)
        t.transact(ops)
        if rest:
            t.delete_all([m.key for m in rest])
