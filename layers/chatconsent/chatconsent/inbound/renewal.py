"""Renewal in the chat: the answer to a renewal or re-confirmation question, and the re-confirmation ask.

"Yes" keeps the asked consents active under the notice the question named, with a new validity
and a ``consent_renewed`` (or ``consent_reconfirmed``) ledger entry; "no" withdraws exactly those
purposes, as a withdrawal would. A notice version marked material is asked about at the person's
next message, once per version; until they answer, their consent stays as it was given.
"""

from __future__ import annotations

import contextlib
from functools import cache

from chatconsent.consent_renewal import ConsentRenewal
from chatconsent.consent_service import Activation
from chatconsent.consent_state import ConsentState, SubjectState
from chatconsent.inbound.dispatch import RENEW_NO, RENEW_YES
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn, language_of
from chatconsent.notices import NoticeRegistry
from chatconsent.outbox import Reply
from chatconsent.renewal_rules import new_request, notice_cycle, publication_order, reconfirmation_due
from chatconsent.store import Asked, Conflict, Duplicate


@cache
def _order(notices: NoticeRegistry) -> tuple[str, ...]:
    return tuple(publication_order(notices))


def ask_reconfirmation(turn: Turn, state: SubjectState) -> None:
    """At this contact: re-confirm consents given under a notice that has since changed materially (once)."""
    parts = turn.parts
    records = reconfirmation_due(parts.config, _order(parts.notices), state)
    if not records:
        return
    texts = parts.texts
    language = texts.language(language_of(state))
    notice = parts.notices.get(language)
    cycle = notice_cycle(parts.config.notice_version)
    request = new_request(
        "reconfirm", records, cycle, (notice.version, language, notice.sha256), int(parts.clock()), "chat"
    )
    asked = [Asked(record, cycle) for record in records]
    text = texts.text("reconfirm_question", language, purposes=texts.purposes([r.purpose for r in records], language))
    ids = (RENEW_YES + request.nonce, RENEW_NO + request.nonce)
    question = turn.owe(turn.ask(text, ids, ("button_yes", "button_no"), language), "renewal_question")
    with contextlib.suppress(Conflict):  # asked a moment ago, or changed: nothing written, nothing owed
        parts.store.renewals.ask(turn.subject, request, asked, owed=[question])


def _decline(turn: Turn, state: SubjectState, purposes: list[str]) -> Outcome:
    """No: those purposes are withdrawn as a withdrawal would; with nothing left, as STOP (the number blocked)."""
    request = state.renewal_request
    assert request is not None
    parts, message = turn.parts, turn.message
    texts, language = parts.texts, request.language
    remaining = [p for p in state.active_purposes if p not in purposes]
    suppression = None if remaining else parts.pseudonymizer.suppression(message.channel, message.sender)
    if not remaining:
        said = turn.owe_text("withdrawn", language, track=None)
    else:
        text = texts.text(
            "renewal_declined",
            language,
            purposes=texts.purposes(purposes, language),
            remaining=texts.purposes(remaining, language),
        )
        said = turn.owe(Reply(text=text), "renewal_declined")
    try:
        withdrawn = parts.consents.withdraw(
            turn.subject,
            source="chat:renewal_declined",
            purposes=purposes,
            message_hash=turn.message_hash,
            suppression_hash=suppression,
            owed=[said],
        )
    except Duplicate:
        return Outcome.DUPLICATE
    parts.store.renewals.withdraw_question(turn.subject, request.nonce)
    return Outcome.RENEWAL_DECLINED if withdrawn else Outcome.STALE_ANSWER


def answer(turn: Turn, state: SubjectState, renew: bool) -> Outcome:
    """The person's answer to the open renewal or re-confirmation question."""
    request = state.renewal_request
    assert request is not None
    parts = turn.parts
    texts = parts.texts
    purposes = [p for p in request.purposes if state.state_of(p) is ConsentState.ACTIVE]
    if not renew:
        return _decline(turn, state, purposes)
    key = "renewed" if request.kind == "renewal" else "reconfirmed"
    text = texts.text(
        key,
        request.language,
        purposes=texts.purposes(purposes, request.language),
        period=texts.period(parts.config.consent_validity, request.language),
    )
    said = turn.owe(Reply(text=text), key)
    result = ConsentRenewal(parts.store, parts.consents).renew(turn.subject, state, turn.message_hash, [said])
    if result is Activation.DUPLICATE:
        return Outcome.DUPLICATE
    if result is Activation.STALE:
        return Outcome.STALE_ANSWER
    return Outcome.CONSENT_RENEWED
