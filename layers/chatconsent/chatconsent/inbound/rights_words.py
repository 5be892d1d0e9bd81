"""The person's rights from inside the chat: STOP, HELP, DATA, DELETE (and their it/de/en words).

The person is who writes from that number, so no further identification is needed. Withdrawal
is as easy as giving consent: one word, effective before the webhook answers, proven in the
ledger; erasure asks yes/no first.
"""

from __future__ import annotations

import uuid

from chatconsent.consent_state import SubjectState
from chatconsent.inbound.dispatch import ERASE_NO, ERASE_YES, campaign_of
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn, language_of
from chatconsent.retention import RetentionClass
from chatconsent.store import Duplicate


def withdraw(turn: Turn, state: SubjectState) -> Outcome:
    """STOP: every consent withdrawn and the number blocked, one confirmation, then silence.

    The conversation then moves to the withdrawn period off the request path: the withdrawal's
    transaction reaches the retention function through the table's stream (``settle_retention``,
    idempotent and retried until done), so the answer costs the same whatever the history.
    """
    parts, message = turn.parts, turn.message
    suppression = parts.pseudonymizer.suppression(message.channel, message.sender)
    try:
        withdrawn = parts.consents.withdraw(
            turn.subject,
            source="chat:keyword",
            message_hash=turn.message_hash,
            suppression_hash=suppression,
            state=state,
        )
    except Duplicate:
        return Outcome.DUPLICATE
    if not withdrawn:
        if not state.consents:  # someone we never had consent from asks not to be contacted
            parts.store.guards.suppress(suppression)
        return Outcome.ALREADY_WITHDRAWN  # repeated STOP: nothing changes, nothing is sent
    return turn.reply("withdrawn", language_of(state), Outcome.CONSENT_WITHDRAWN, record=False)


MARKETING_STOP_SOURCE = "chat:marketing_stop"  # the ledger's source; a campaign's stop button adds ":<campaign id>"


def marketing_stop(turn: Turn, state: SubjectState) -> Outcome:
    """A campaign's stop button, a marketing template's "STOP", "Stop promotions" or "STOP WERBUNG": the
    campaigns' purpose only (as WhatsApp's in-app stop does); the answer says what remains. With nothing
    else left it is a full withdrawal, as STOP is. Delivered twice, it changes and says nothing more."""
    parts = turn.parts
    marketing = parts.config.campaigns.purpose
    remaining = tuple(p for p in state.active_purposes if p != marketing)
    if not remaining:
        return withdraw(turn, state)
    campaign = campaign_of(turn.message)
    try:
        withdrawn = parts.consents.withdraw(
            turn.subject,
            source=f"{MARKETING_STOP_SOURCE}:{campaign}" if campaign else MARKETING_STOP_SOURCE,
            purposes={marketing},
            message_hash=turn.message_hash,
            state=state,
        )
    except Duplicate:
        return Outcome.DUPLICATE
    if not withdrawn:
        return Outcome.ALREADY_WITHDRAWN
    texts = parts.texts
    language = language_of(state)
    text = texts.text("marketing_withdrawn", language, purposes=texts.purposes(remaining, language))
    return turn.say(text, "marketing_withdrawn", Outcome.CONSENT_WITHDRAWN)


def number_changed(turn: Turn, state: SubjectState) -> Outcome:
    """The sender moved to another number: consent given for this number ends here, silently.

    Consent is bound to the number the person proved was theirs; the new number starts without any
    (the person opts in again from it). Nothing is sent to either number and neither is blocked:
    the person objected to nothing, and the old number may soon belong to someone else.
    """
    parts = turn.parts
    try:
        parts.consents.withdraw(
            turn.subject, source=f"{turn.message.channel}:number_changed", message_hash=turn.message_hash, state=state
        )
    except Duplicate:
        return Outcome.DUPLICATE
    return Outcome.NUMBER_CHANGED  # the withdrawn period follows through the table's stream, as after STOP


def help_reply(turn: Turn, state: SubjectState) -> Outcome:
    """INFO/HELP from someone we know, also after STOP: who we are, the notice, how to stop."""
    language = language_of(state)
    if turn.parts.config.conversation_purpose in state.active_purposes:  # its delivery record lives with the chat
        return turn.reply("help", language, Outcome.HELP_REPLIED, retention=RetentionClass.CONVERSATION)
    if state.pending is not None:  # or with the request
        return turn.reply("help", language, Outcome.HELP_REPLIED, retention=RetentionClass.PENDING_OPTIN_CHAT)
    return turn.reply("help", language, Outcome.HELP_REPLIED, record=False)  # withdrawn: nothing kept


def access(turn: Turn, state: SubjectState) -> Outcome:
    """DATA: a summary of what is stored and how to get the full export (Art. 15)."""
    texts = turn.parts.texts
    language = texts.language(language_of(state))
    purposes = texts.purposes(state.active_purposes, language) if state.active_purposes else "-"
    stored = len(turn.parts.store.messages.inbound(turn.subject))
    period = texts.period(turn.parts.plan.period(RetentionClass.CONVERSATION), language)
    summary = texts.text("access_summary", language, stored=str(stored), period=period, purposes=purposes)
    text = texts.text("access", language, summary=summary)
    return turn.say(text, "access", Outcome.ACCESS_ANSWERED, record=bool(state.active_purposes))


def ask_erasure(turn: Turn, state: SubjectState) -> Outcome:
    """DELETE: ask yes/no before erasing everything."""
    texts = turn.parts.texts
    nonce = uuid.uuid4().hex[:16]
    turn.parts.store.subjects.request_erasure(turn.subject, nonce)
    language = language_of(state)
    buttons = turn.yes_no((ERASE_YES + nonce, ERASE_NO + nonce), ("button_delete", "button_keep"), language)
    if turn.send_buttons(texts.text("erase_question", language), buttons) is None:
        return Outcome.SEND_FAILED
    return Outcome.ERASURE_ASKED


def erase(turn: Turn, state: SubjectState, confirmed: bool) -> Outcome:
    """The answer to the erasure question: erase everything and shred the key, or nothing."""
    parts = turn.parts
    language = language_of(state)
    if not confirmed:
        try:
            parts.store.subjects.cancel_erasure(turn.subject, turn.message_hash)
        except Duplicate:
            return Outcome.DUPLICATE
        return turn.reply("erase_cancelled", language, Outcome.ERASURE_CANCELLED, record=False)
    if parts.rights is None or not turn.record_delivery():
        return Outcome.DUPLICATE
    parts.rights.erase(turn.subject, parts.pseudonymizer.suppression(turn.message.channel, turn.message.sender))
    return turn.reply("erased", language, Outcome.ERASED, record=False)
