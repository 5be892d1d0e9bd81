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
from chatconsent.outbox import Reply
from chatconsent.retention import RetentionClass
from chatconsent.store import Duplicate, OwedMessage


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
            owed=[turn.owe_text("withdrawn", language_of(state), track=None)],
        )
    except Duplicate:
        return Outcome.DUPLICATE
    if not withdrawn:
        if not state.consents:  # someone we never had consent from asks not to be contacted
            parts.store.guards.suppress(suppression)
        return Outcome.ALREADY_WITHDRAWN  # repeated STOP: nothing changes, nothing is sent
    return Outcome.CONSENT_WITHDRAWN


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
    texts = parts.texts
    language = language_of(state)
    text = texts.text("marketing_withdrawn", language, purposes=texts.purposes(remaining, language))
    try:
        withdrawn = parts.consents.withdraw(
            turn.subject,
            source=f"{MARKETING_STOP_SOURCE}:{campaign}" if campaign else MARKETING_STOP_SOURCE,
            purposes={marketing},
            message_hash=turn.message_hash,
            state=state,
            owed=[turn.owe(Reply(text=text), "marketing_withdrawn")],
        )
    except Duplicate:
        return Outcome.DUPLICATE
    if not withdrawn:
        return Outcome.ALREADY_WITHDRAWN
    return Outcome.CONSENT_WITHDRAWN


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


def blocked(turn: Turn, state: SubjectState) -> Outcome:
    """The person blocked the business in the messenger (Telegram: the bot ``kicked``; Apple: the
    conversation deleted, ``close``): every consent withdrawn with the signal as the ledger's source, the
    address on the block list, nothing sent (nothing could reach them, nothing may after a delete).
    Delivered twice, or from someone without consent, it changes nothing more."""
    parts, message = turn.parts, turn.message
    try:
        withdrawn = parts.consents.withdraw(
            turn.subject,
            source=f"{message.channel}:{message.signal or 'blocked'}",
            message_hash=turn.message_hash,
            suppression_hash=parts.pseudonymizer.suppression(message.channel, message.sender),
            state=state,
        )
    except Duplicate:
        return Outcome.DUPLICATE
    return Outcome.CONSENT_WITHDRAWN if withdrawn else Outcome.ALREADY_WITHDRAWN


def help_reply(turn: Turn, state: SubjectState, key: str = "help") -> Outcome:
    """INFO/HELP from someone we know, also after STOP: who we are, the notice, how to stop (``key``:
    ``agent`` says how to reach a person, ``menu`` what can be written here: Apple's trigger words)."""
    language = language_of(state)
    track: RetentionClass | None = None  # withdrawn: nothing kept
    if turn.parts.config.conversation_purpose in state.active_purposes:  # its outbound record lives with the chat
        track = RetentionClass.CONVERSATION
    elif state.pending is not None:  # or with the request
        track = RetentionClass.PENDING_OPTIN_CHAT
    return turn.answer([turn.owe_text(key, language, track)], Outcome.HELP_REPLIED)


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
    The link commits with the message's delivery record and its answer (a failure before leaves
    nothing, so the redelivery answers); the outbox sends that answer however long the messenger
    takes. Every period in the answer comes from the retention plan.
    """
    parts = turn.parts
    texts = parts.texts
    language = texts.language(language_of(state))
    purposes = texts.purposes(state.active_purposes, language) if state.active_purposes else "-"
    summary = texts.text("access_summary", language, messages=_stored_messages(turn, language), purposes=purposes)
    period = texts.period(parts.store.access.period, language)
    # the reply's outbound record lives with the conversation
    track = RetentionClass.CONVERSATION if state.active_purposes else None
    audit_ref = parts.pseudonymizer.audit_ref(turn.subject)

    def answer(token: str) -> OwedMessage:
        text = texts.text("access", language, link=access_url(parts.config, token), period=period, summary=summary)
        return turn.owe(Reply(text=text), "access", track)

    try:
        issued = issue_link(parts.store, turn.subject, language, audit_ref, turn.message_hash, answer)
    except Duplicate:
        return Outcome.DUPLICATE
    if issued:
        return Outcome.ACCESS_LINK_SENT
    text = texts.text("access_again", language, period=period, summary=summary)
    return turn.answer([turn.owe(Reply(text=text), "access_again", track)], Outcome.ACCESS_ANSWERED)


def ask_erasure(turn: Turn, state: SubjectState) -> Outcome:
    """DELETE: ask yes/no before erasing everything."""
    texts = turn.parts.texts
    nonce = uuid.uuid4().hex[:16]
    language = language_of(state)
    ids, labels = (ERASE_YES + nonce, ERASE_NO + nonce), ("button_delete", "button_keep")
    question = turn.owe(turn.ask(texts.text("erase_question", language), ids, labels, language), "erase_question", None)
    try:
        turn.parts.store.subjects.request_erasure(turn.subject, nonce, turn.message_hash, [question])
    except Duplicate:
        return Outcome.DUPLICATE
    return Outcome.ERASURE_ASKED


def erase(turn: Turn, state: SubjectState, confirmed: bool) -> Outcome:
    """The answer to the erasure question: erase everything and shred the key, or nothing."""
    parts = turn.parts
    language = language_of(state)
    if not confirmed:
        cancelled = turn.owe_text("erase_cancelled", language, track=None)
        try:
            parts.store.subjects.cancel_erasure(turn.subject, turn.message_hash, [cancelled])
        except Duplicate:
            return Outcome.DUPLICATE
        return Outcome.ERASURE_CANCELLED
    if parts.rights is None or parts.store.guards.was_delivered(turn.message_hash):
        return Outcome.DUPLICATE
    # Everything but the question first, then the question with the answer's delivery record: an
    # erasure cut short (a timeout, a crash) runs again, whole, when the provider delivers the answer again.
    suppression = parts.pseudonymizer.suppression(turn.message.channel, turn.message.sender)
    parts.rights.erase(turn.subject, suppression, keep_question=True, erasure_id=state.erasure_request or "")
    try:
        parts.store.subjects.close_erasure(turn.subject, turn.message_hash, [turn.owe_text("erased", language, None)])
    except Duplicate:
        return Outcome.DUPLICATE
    return Outcome.ERASED
