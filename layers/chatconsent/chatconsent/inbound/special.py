"""Special categories (Art. 9) in the chat: the explicit-consent question and its answer.

A health message from someone without the explicit consent is kept in quarantine for one hour;
the person is asked once per quarantine period, with two buttons. "Yes" records the explicit
consent in the ledger and moves the held messages to the special-category class; "no" deletes
them at once; no answer and the purge deletes them.
"""

from __future__ import annotations

import uuid

from chatconsent.consent_service import Activation
from chatconsent.consent_state import SpecialRequest, SubjectState
from chatconsent.inbound.dispatch import ART9_NO, ART9_YES
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn, language_of
from chatconsent.retention import RetentionClass
from chatconsent.store import Conflict, Duplicate


def special_purpose(turn: Turn) -> str | None:
    """The purpose that covers health data, if the business offers one."""
    return next((p.id for p in turn.parts.config.purposes if p.special_category), None)


def ask(turn: Turn, state: SubjectState, purpose: str) -> Outcome:
    """Once per quarantine period: may we process the health data? Yes or no, as buttons."""
    parts = turn.parts
    texts = parts.texts
    language = texts.language(language_of(state))
    notice = parts.notices.get(language)
    nonce = uuid.uuid4().hex[:16]
    request = SpecialRequest(nonce, purpose, language, notice.version, notice.sha256, int(parts.clock()))
    period = texts.period(parts.plan.period(RetentionClass.SPECIAL_QUARANTINE), language)
    text = texts.text("special_question", language, purpose=texts.purposes([purpose], language), period=period)
    reply = turn.ask(text, (ART9_YES + nonce, ART9_NO + nonce), ("button_consent", "button_discard"), language)
    # a neutral kind, gone with the quarantine
    question = turn.owe(reply, "consent_question", RetentionClass.SPECIAL_QUARANTINE)
    if not parts.store.quarantine.ask(turn.subject, request, [question]):
        return Outcome.QUARANTINED  # already asked: this message waits with the others
    return Outcome.QUARANTINED


def answer(turn: Turn, state: SubjectState, granted: bool) -> Outcome:
    """The person's answer to the open question."""
    assert state.special_request is not None
    store = turn.parts.store
    language = state.special_request.language
    quarantined = store.quarantine.messages(turn.subject)
    if not granted:
        declined = turn.owe_text("special_declined", language, track=None)
        nonce = state.special_request.nonce
        try:
            store.quarantine.discard(turn.subject, nonce, quarantined, turn.message_hash, [declined])
        except Duplicate:
            return Outcome.DUPLICATE
        except Conflict:  # answered or expired a moment ago: the purge removes what is left
            return Outcome.STALE_ANSWER if turn.record_delivery() else Outcome.DUPLICATE
        return Outcome.SPECIAL_DECLINED
    granted_reply = turn.owe_text("special_granted", language)
    result = turn.parts.consents.grant_special(
        turn.subject, state, turn.message.channel, turn.message_hash, [granted_reply]
    )
    if result is Activation.DUPLICATE:
        return Outcome.DUPLICATE
    if result is Activation.STALE:
        return Outcome.STALE_ANSWER
    store.quarantine.release(quarantined)
    return Outcome.SPECIAL_GRANTED
