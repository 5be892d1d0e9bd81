"""Chat-started double opt-in, steps two and three: the code arrives, then the yes or no.

A message carrying a valid code binds its sender to the pending request and gets a yes/no
question; "yes" activates the consent with the proof in the ledger; "no" discards the request.
Wrong, used, foreign or expired codes change nothing (the sender gets the short info reply).
"""

from __future__ import annotations

import hashlib

from chatconsent.channels.base import InboundKind
from chatconsent.consent_service import Activation
from chatconsent.consent_state import SubjectState
from chatconsent.inbound.dispatch import BUTTON_NO, BUTTON_YES
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn
from chatconsent.inbound.unknown import info
from chatconsent.outbox import Reply
from chatconsent.retention import RetentionClass
from chatconsent.store import Conflict, Duplicate, OptInRequest, OwedMessage
from chatconsent.store.keys import ADDRESS_ID
from chatconsent.tokens import code_hash


def code(turn: Turn, found: str) -> Outcome:
    """A message carrying an opt-in code: bind the sender to its request and ask yes or no."""
    store = turn.parts.store
    if turn.silenced():  # restricted (Art. 18): a code changes nothing and nothing answers (read first)
        return Outcome.RESTRICTED if turn.record_delivery() else Outcome.DUPLICATE
    request = store.optins.request(code_hash(found))
    if request is not None and request.status == "bound" and request.subject == turn.subject:
        return _code_again(turn, request)
    if request is None or request.status != "pending" or request.channel != turn.message.channel:
        outcome = info(turn, "info")
        return Outcome.DUPLICATE if outcome is Outcome.DUPLICATE else Outcome.CODE_REJECTED
    purposes = list(request.purposes)
    suppression = turn.parts.pseudonymizer.suppression(turn.message.channel, turn.message.sender)
    while True:
        question = _reply(turn, request.request_id, tuple(purposes), request.language)
        asked = _ask(turn, request.request_id, tuple(purposes), request.language)
        try:
            store.consents.bind(
                request, turn.subject, purposes, turn.message_hash, suppression, _sha256(question.text), [asked]
            )
            break
        except Duplicate:
            return Outcome.DUPLICATE
        except Conflict as conflict:
            active = {label.split(":", 1)[1] for label in conflict.failed if label.startswith("consent:")}
            if not active or "request" in conflict.failed:
                # Used, expired or taken by someone else a moment ago: nothing changes.
                return Outcome.CODE_REJECTED if turn.record_delivery() else Outcome.DUPLICATE
            purposes = [p for p in purposes if p not in active]
            if not purposes:
                return turn.answer([turn.owe_text("already_active", request.language)], Outcome.ALREADY_ACTIVE)
    return Outcome.CODE_BOUND


def _code_again(turn: Turn, request: OptInRequest) -> Outcome:
    """The person sent their code again: ask again, change nothing."""
    state = turn.parts.store.subjects.state(turn.subject)
    if state.pending is None or state.pending.request_id != request.request_id:
        return turn.answer([], Outcome.CODE_REJECTED)
    return turn.answer([_ask(turn, request.request_id, request.purposes, request.language)], Outcome.CODE_REPEATED)


def _question(turn: Turn, purposes: tuple[str, ...], language: str) -> str:
    """The yes/no question exactly as sent (its hash goes into the proof)."""
    texts = turn.parts.texts
    return texts.text("confirm_question", language, purposes=texts.purposes(purposes, language))


def _reply(turn: Turn, request_id: str, purposes: tuple[str, ...], language: str) -> Reply:
    """The question as sent: with yes/no buttons, or asking for a typed answer where they cannot be shown."""
    ids, labels = (BUTTON_YES + request_id, BUTTON_NO + request_id), ("button_yes", "button_no")
    return turn.ask(_question(turn, purposes, language), ids, labels, language)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ask(turn: Turn, request_id: str, purposes: tuple[str, ...], language: str) -> OwedMessage:
    """The yes/no question, owed; its outbound record goes with the request unless the person says yes."""
    return turn.owe(
        _reply(turn, request_id, purposes, language), "confirmation_question", RetentionClass.PENDING_OPTIN_CHAT
    )


def activate(turn: Turn, state: SubjectState) -> Outcome:
    """The person's yes: the pending request's purposes become active, with the proof."""
    pending = state.pending
    assert pending is not None
    method = "button" if turn.message.kind is InboundKind.BUTTON else "text"
    keyring = turn.parts.keyring

    def seal() -> bytes:  # where the person can be written to first, kept with the consent
        assert keyring is not None
        return keyring.encrypt(turn.subject, ADDRESS_ID, turn.message.reply_to.encode("utf-8"))

    result = turn.parts.consents.activate(
        turn.subject,
        state,
        pending.request_id,
        turn.message_hash,
        {"confirmation_method": method},
        seal if keyring is not None else None,
        [turn.owe_text("activated", pending.language)],
    )
    if result is Activation.DUPLICATE:
        return Outcome.DUPLICATE
    if result is Activation.STALE:
        return Outcome.STALE_ANSWER
    return Outcome.CONSENT_ACTIVATED


def decline(turn: Turn, state: SubjectState) -> Outcome:
    """The person's no: the request is discarded, nothing about it is kept."""
    pending = state.pending
    assert pending is not None
    declined = turn.owe_text("declined", pending.language, track=None)
    try:
        turn.parts.store.consents.decline(turn.subject, pending, state.consents, turn.message_hash, [declined])
    except Duplicate:
        return Outcome.DUPLICATE
    except Conflict:
        return Outcome.STALE_ANSWER if turn.record_delivery() else Outcome.DUPLICATE
    return Outcome.CONSENT_DECLINED
