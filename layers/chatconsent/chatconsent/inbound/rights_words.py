"""The person's rights from inside the chat: STOP, HELP, DATA, DELETE (and their it/de/en words).

The person is who writes from that number, so no further identification is needed. Withdrawal
is as easy as giving consent: one word, effective before the webhook answers, proven in the
ledger; erasure asks yes/no first.
"""

from __future__ import annotations

import uuid
from collections import Counter

from chatconsent.access import access_url, issue_link
from chatconsent.consent_state import SubjectState
from chatconsent.inbound.dispatch import ERASE_NO, ERASE_YES, campaign_of
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn, language_of
from chatconsent.retention import RetentionClass
from chatconsent.store import Duplicate
from chatconsent.tokens import token_hash


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


# How the DATA reply names the messages kept under each class (in this order), each with the plan's period.
_MESSAGE_TEXTS = {
    RetentionClass.CONVERSATION: "access_messages",
    RetentionClass.CONVERSATION_WITHDRAWN: "access_messages_withdrawn",
    RetentionClass.SPECIAL_CATEGORY: "access_messages_special",
    RetentionClass.SPECIAL_QUARANTINE: "access_messages_held",
}


def _stored_messages(turn: Turn, language: str) -> str:
    """How many messages are kept, per retention class, each with its period from the retention plan."""
    texts, plan = turn.parts.texts, turn.parts.plan
    counts = Counter(RetentionClass(m.retention_class) for m in turn.parts.store.messages.inbound(turn.subject))
    lines = [
        texts.text(
            _MESSAGE_TEXTS.get(kept, "access_messages"),
            language,
            count=str(counts[kept]),
            period=texts.period(plan.period(kept), language),
        )
        for kept in RetentionClass
        if counts[kept]
    ]
    return ", ".join(lines) if lines else texts.text("access_no_messages", language)


def access(turn: Turn, state: SubjectState) -> Outcome:
    """DATA: a one-time link to the person's full copy (Art. 15), and in short what is kept for how long.

    The link works once, for the access link's period, and one is issued per person and period: a
    second DATA within it is told so (the token was never stored, so the link cannot be sent again).
    The link commits with the message's delivery record (a failure before leaves nothing, so the
    redelivery answers); a link whose message could not be sent is withdrawn, so the person may ask
    again at once. Every period in the answer comes from the retention plan.
    """
    parts = turn.parts
    texts = parts.texts
    language = texts.language(language_of(state))
    purposes = texts.purposes(state.active_purposes, language) if state.active_purposes else "-"
    summary = texts.text("access_summary", language, messages=_stored_messages(turn, language), purposes=purposes)
    period = texts.period(parts.store.access.period, language)
    record = bool(state.active_purposes)  # the reply's delivery record lives with the conversation
    audit_ref = parts.pseudonymizer.audit_ref(turn.subject)
    try:
        token = issue_link(parts.store, turn.subject, language, audit_ref, turn.message_hash)
    except Duplicate:
        return Outcome.DUPLICATE
    if token is None:
        if not turn.record_delivery():
            return Outcome.DUPLICATE
        text = texts.text("access_again", language, period=period, summary=summary)
        return turn.say(text, "access_again", Outcome.ACCESS_ANSWERED, record=record)
    link = access_url(parts.config, token)
    outcome = turn.say(
        texts.text("access", language, link=link, period=period, summary=summary),
        "access",
        Outcome.ACCESS_LINK_SENT,
        record=record,
    )
    if outcome is Outcome.SEND_FAILED:
        parts.store.access.release(turn.subject, token_hash(token))
    return outcome


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
    if parts.rights is None or parts.store.guards.was_delivered(turn.message_hash):
        return Outcome.DUPLICATE
    # Everything but the question first, then the question with the answer's delivery record: an
    # erasure cut short (a timeout, a crash) runs again, whole, when the provider delivers the answer again.
    suppression = parts.pseudonymizer.suppression(turn.message.channel, turn.message.sender)
    parts.rights.erase(turn.subject, suppression, keep_question=True, erasure_id=state.erasure_request or "")
    try:
        parts.store.subjects.close_erasure(turn.subject, turn.message_hash)
    except Duplicate:
        return Outcome.DUPLICATE
    return turn.reply("erased", language, Outcome.ERASED, record=False)
