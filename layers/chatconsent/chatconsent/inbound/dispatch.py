"""What an inbound message is, decided in one place and in one order (the dispatch order).

:func:`role_of` is pure: it reads the message and the sender's state and says what the message
means; the service then runs that role's step. The order matters and is tested case by case:
a withdrawal word beats everything; an answer to an open question beats ordinary text; a message
is kept only in a conversation under consent with no open request and no rights word in it.

Marketing stops before everything but a number change, in one tap: the stop button campaigns carry
(payload ``MARKETING_STOP_BUTTON`` + campaign id), a marketing template's quick-reply whose title is a
withdrawal word ("STOP"), or a whole message of the built-in or configured marketing stop words. A
typed STOP stays the full withdrawal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chatconsent.buttons import MARKETING_STOP_BUTTON
from chatconsent.channels.base import InboundKind, InboundMessage
from chatconsent.channels.registry import channel_words
from chatconsent.consent_state import SubjectState
from chatconsent.keywords import (
    NO,
    YES,
    Keyword,
    is_marketing_stop,
    is_single_word,
    keyword_of,
    marketing_stop_words,
)

BUTTON_YES = "optin:yes:"
BUTTON_NO = "optin:no:"
ERASE_YES = "erase:yes:"
ERASE_NO = "erase:no:"
ART9_YES = "art9:yes:"
ART9_NO = "art9:no:"
RENEW_YES = "renew:yes:"  # the renewal or re-confirmation question (also the renewal template's first quick reply)
RENEW_NO = "renew:no:"
OUR_BUTTONS = (
    BUTTON_YES,
    BUTTON_NO,
    ERASE_YES,
    ERASE_NO,
    ART9_YES,
    ART9_NO,
    RENEW_YES,
    RENEW_NO,
    MARKETING_STOP_BUTTON,
)
# What a campaign id may look like to be written to the ledger (the payload comes back from the person's app).
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class MarketingStops:
    """What stops marketing only: the purpose campaigns write under and the whole messages that stop it."""

    purpose: str
    words: frozenset[str]


def marketing_stops(purpose: str, configured: Iterable[str] = ()) -> MarketingStops:
    """``config.campaigns.purpose`` and its ``stop_words``, besides the built-in ones."""
    return MarketingStops(purpose, marketing_stop_words(configured))


class Role(StrEnum):
    NUMBER_CHANGED = "number_changed"  # the sender moved to another number: the old one's consent ends
    BLOCKED = "blocked"  # blocked in the messenger (or Apple's conversation deleted): a withdrawal, silently
    MARKETING_STOP = "marketing_stop"  # a campaign's stop button, "Stop promotions" (or typed): marketing only
    WITHDRAWAL = "withdrawal"  # STOP and its synonyms
    SPECIAL_YES = "special_yes"  # the answer to the open Art. 9 question
    SPECIAL_NO = "special_no"
    STALE_SPECIAL = "stale_special"  # an Art. 9 button whose question expired or was answered
    ERASE_YES = "erase_yes"  # the answer to the open erasure question
    ERASE_NO = "erase_no"
    RENEWAL_YES = "renewal_yes"  # the answer to the open renewal or re-confirmation question
    RENEWAL_NO = "renewal_no"
    STALE_RENEWAL = "stale_renewal"  # a renewal button whose question was answered, replaced or ended
    CONSENT_YES = "consent_yes"  # the answer to the pending opt-in request
    CONSENT_NO = "consent_no"
    CONVERSATION = "conversation"  # an ordinary message under consent: kept
    ACCESS = "access"  # DATA: a one-time link to the person's copy, committed with the delivery record
    # The roles below change nothing but the delivery record (written first), and may answer.
    ERASE_ASK = "erase_ask"
    HELP = "help"
    AGENT = "agent"  # how to reach a person (Apple's agent/support/help)
    MENU = "menu"  # what can be written here (Apple's menu/list/?)
    REMINDER = "reminder"  # anything else while the opt-in question is open
    ACCEPTED = "accepted"  # consent without the conversation purpose: nothing kept
    SUPPRESSED = "suppressed"  # withdrawn: nothing is sent any more
    INFO = "info"  # someone we know nothing about
    INFO_HELP = "info_help"  # someone we know nothing about asks for help


RECORD_FIRST = frozenset({Role.ACCEPTED, Role.SUPPRESSED})


def _button(message: InboundMessage, yes: str, no: str, nonce: str | None) -> bool | None:
    """True/False for the yes/no button of the question ``nonce``; None for anything else. Where the
    device cannot show buttons (the question asked for a typed answer), a typed yes or no counts."""
    if nonce is not None and message.kind is InboundKind.TEXT and message.text and not message.takes_buttons:
        return True if is_single_word(message.text, YES) else False if is_single_word(message.text, NO) else None
    if nonce is None or message.kind is not InboundKind.BUTTON or not message.button_id:
        return None
    if message.button_id == yes + nonce:
        return True
    if message.button_id == no + nonce:
        return False
    return None


def consent_answer(message: InboundMessage, state: SubjectState) -> bool | None:
    """True/False for a yes/no to the subject's pending request (button or typed word), else None."""
    pending = state.pending
    if pending is None:
        return None
    if message.kind is InboundKind.BUTTON:
        return _button(message, BUTTON_YES, BUTTON_NO, pending.request_id)
    if message.kind is InboundKind.TEXT and message.text:
        if is_single_word(message.text, YES):
            return True
        if is_single_word(message.text, NO):
            return False
    return None


def words_of(message: InboundMessage) -> str | None:
    """What the person wrote or chose: a text, or a template quick-reply's title (not our own buttons)."""
    if message.kind is InboundKind.TEXT:
        return message.text or None
    if message.kind is InboundKind.BUTTON and not (message.button_id or "").startswith(OUR_BUTTONS):
        return message.text or None
    return None


def keyword_in(message: InboundMessage) -> Keyword | None:
    """The rights word the message is: the it/de/en words, and the channel's own (its registry entry)."""
    words = words_of(message)
    return keyword_of(words, channel_words(message.channel)) if words else None


def campaign_of(message: InboundMessage) -> str | None:
    """The campaign whose stop button this is, if the message is one and its id looks like one."""
    button_id = message.button_id or ""
    if message.kind is not InboundKind.BUTTON or not button_id.startswith(MARKETING_STOP_BUTTON):
        return None
    campaign = button_id[len(MARKETING_STOP_BUTTON) :]
    return campaign if _CAMPAIGN_ID.fullmatch(campaign) else None


def stops_marketing(message: InboundMessage, state: SubjectState, marketing: MarketingStops) -> bool:
    """Whether the message stops marketing only (see the module's docstring)."""
    if message.kind is InboundKind.BUTTON and (message.button_id or "").startswith(MARKETING_STOP_BUTTON):
        return True
    words = words_of(message)
    if not words:
        return False
    if is_marketing_stop(words, marketing.words):
        return True
    # A template's quick-reply "STOP" is a marketing template's stop button while marketing is on; without
    # marketing to stop it withdraws everything, as typed STOP does.
    return (
        message.kind is InboundKind.BUTTON
        and keyword_of(words) is Keyword.WITHDRAW
        and marketing.purpose in state.active_purposes
    )


def _answer_role(message: InboundMessage, state: SubjectState) -> Role | None:
    """An answer to one of the questions the product asked, if the message is one."""
    special = state.special_request
    answer = _button(message, ART9_YES, ART9_NO, special.nonce if special else None)
    if answer is not None:
        return Role.SPECIAL_YES if answer else Role.SPECIAL_NO
    if message.kind is InboundKind.BUTTON and (message.button_id or "").startswith((ART9_YES, ART9_NO)):
        return Role.STALE_SPECIAL
    answer = _button(message, ERASE_YES, ERASE_NO, state.erasure_request)
    if answer is not None:
        return Role.ERASE_YES if answer else Role.ERASE_NO
    answer = consent_answer(message, state)
    if answer is not None:
        return Role.CONSENT_YES if answer else Role.CONSENT_NO
    answer = renewal_answer(message, state)
    if answer is not None:
        return Role.RENEWAL_YES if answer else Role.RENEWAL_NO
    if message.kind is InboundKind.BUTTON and (message.button_id or "").startswith((RENEW_YES, RENEW_NO)):
        return Role.STALE_RENEWAL
    return None


def renewal_answer(message: InboundMessage, state: SubjectState) -> bool | None:
    """True/False for a yes/no to the open renewal question: its buttons, or a typed (or template
    quick-reply) yes or no word; None for anything else."""
    request = state.renewal_request
    if request is None or not any(p in state.active_purposes for p in request.purposes):
        return None  # nothing it asked about is still active (withdrawn since): no answer to take
    answer = _button(message, RENEW_YES, RENEW_NO, request.nonce)
    if answer is not None:
        return answer
    words = words_of(message)
    if words and is_single_word(words, YES):
        return True
    if words and is_single_word(words, NO):
        return False
    return None


def role_of(message: InboundMessage, state: SubjectState, conversation_purpose: str, marketing: MarketingStops) -> Role:
    """What ``message`` means from a sender in ``state`` (a message carrying a code is handled before)."""
    if message.kind is InboundKind.NUMBER_CHANGED:
        return Role.NUMBER_CHANGED
    if message.kind is InboundKind.BLOCKED:
        return Role.BLOCKED
    if stops_marketing(message, state, marketing):
        return Role.MARKETING_STOP
    keyword = keyword_in(message)
    if keyword is Keyword.WITHDRAW:
        return Role.WITHDRAWAL
    answer = _answer_role(message, state)
    if answer is not None:
        return answer
    if conversation_purpose in state.active_purposes and state.pending is None and keyword is None:
        return Role.CONVERSATION  # rights words are handled, not kept
    known = bool(state.consents or state.pending)
    if keyword is Keyword.ACCESS and known:
        return Role.ACCESS
    if keyword is Keyword.ERASE and known:
        return Role.ERASE_ASK
    if keyword is Keyword.HELP and known:  # answered after STOP too: who we are and the notice
        return Role.HELP
    if keyword is Keyword.AGENT and known:
        return Role.AGENT
    if keyword is Keyword.MENU and known:
        return Role.MENU
    if state.pending is not None:
        return Role.REMINDER
    if state.active_purposes:
        return Role.ACCEPTED
    if state.consents:  # withdrawn: no further messages of any kind
        return Role.SUPPRESSED
    return Role.INFO_HELP if keyword in (Keyword.HELP, Keyword.AGENT, Keyword.MENU) else Role.INFO
