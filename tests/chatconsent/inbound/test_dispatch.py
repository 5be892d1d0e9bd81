"""The dispatch order, case by case: what a message means from a sender in a given state (no AWS)."""

from __future__ import annotations

import pytest

from chatconsent.channels.base import InboundKind, InboundMessage
from chatconsent.consent_state import (
    ConsentRecord,
    ConsentState,
    PendingConfirmation,
    RenewalRequest,
    SpecialRequest,
    SubjectState,
)
from chatconsent.inbound.dispatch import (
    MARKETING_STOP_BUTTON,
    RECORD_FIRST,
    RENEW_NO,
    RENEW_YES,
    Role,
    campaign_of,
    marketing_stops,
    role_of,
)

pytestmark = pytest.mark.unit

CONVERSATION = "customer_service"
MARKETING = marketing_stops("marketing", ("Werbestopp", "stop offerte!"))  # as config.campaigns gives them


def text(body: str) -> InboundMessage:
    return InboundMessage("whatsapp", "+491701234567", "wamid.1", 0, InboundKind.TEXT, body)


def button(button_id: str) -> InboundMessage:
    return InboundMessage("whatsapp", "+491701234567", "wamid.1", 0, InboundKind.BUTTON, None, button_id)


def quick_reply(title: str, payload: str = "promo-stop-1") -> InboundMessage:
    """A template's quick-reply button: its payload is the business's, its title what the person chose."""
    return InboundMessage("whatsapp", "+491701234567", "wamid.1", 0, InboundKind.BUTTON, title, payload)


def campaign_stop(campaign: str = "c-2026-11", title: str = "Stop promotions") -> InboundMessage:
    """The stop button a campaign message carries."""
    return quick_reply(title, MARKETING_STOP_BUTTON + campaign)


def changed() -> InboundMessage:
    return InboundMessage("whatsapp", "+491701234567", "wamid.1", 0, InboundKind.NUMBER_CHANGED)


def record(purpose: str, state: ConsentState = ConsentState.ACTIVE) -> ConsentRecord:
    return ConsentRecord(purpose, state, 1, "req-1", 0, 10**10)


PENDING = PendingConfirmation("req-1", "c" * 64, "whatsapp", (CONVERSATION,), "en", "v1", "s" * 64, "m", 0, 10**10)
SPECIAL = SpecialRequest("nonce1", "health_data", "en", "v1", "s" * 64, 0)
UNKNOWN = SubjectState()
ACTIVE = SubjectState(consents={CONVERSATION: record(CONVERSATION)})
MARKETING_ONLY = SubjectState(consents={"marketing": record("marketing")})
BOTH = SubjectState(consents={CONVERSATION: record(CONVERSATION), "marketing": record("marketing")})
WITHDRAWN = SubjectState(consents={CONVERSATION: record(CONVERSATION, ConsentState.WITHDRAWN)})
ASKED = SubjectState(consents={CONVERSATION: record(CONVERSATION, ConsentState.PENDING)}, pending=PENDING)
QUARANTINE = SubjectState(consents=ACTIVE.consents, special_request=SPECIAL)
ERASING = SubjectState(consents=ACTIVE.consents, erasure_request="nonce2")


@pytest.mark.parametrize(
    ("message", "state", "role"),
    [
        # the provider's number change beats everything; then marketing-only and full withdrawal words
        (changed(), ASKED, Role.NUMBER_CHANGED),
        (text("Stop promotions"), ACTIVE, Role.MARKETING_STOP),
        (text("STOP WERBUNG"), ASKED, Role.MARKETING_STOP),
        (text("basta  promozioni!"), ACTIVE, Role.MARKETING_STOP),
        (quick_reply("Stop promotions"), ACTIVE, Role.MARKETING_STOP),  # a marketing template's button
        # the business's own stop words (config.campaigns.stop_words), normalised as messages are
        (text("WERBESTOPP"), BOTH, Role.MARKETING_STOP),
        (text("Stop   Offerte"), ACTIVE, Role.MARKETING_STOP),
        (quick_reply("Werbestopp"), BOTH, Role.MARKETING_STOP),
        # a campaign's stop button, whatever its title and whatever is still active
        (campaign_stop(), BOTH, Role.MARKETING_STOP),
        (campaign_stop(title="STOP"), BOTH, Role.MARKETING_STOP),
        (campaign_stop(title="Yes please"), ACTIVE, Role.MARKETING_STOP),
        (campaign_stop(campaign="../not an id"), BOTH, Role.MARKETING_STOP),
        (campaign_stop(), ASKED, Role.MARKETING_STOP),
        # a template's quick-reply "STOP" stops marketing while it is on; typed STOP withdraws everything
        (quick_reply("STOP"), BOTH, Role.MARKETING_STOP),
        (quick_reply("Abmelden"), MARKETING_ONLY, Role.MARKETING_STOP),
        (text("STOP"), BOTH, Role.WITHDRAWAL),
        (quick_reply("STOP"), ACTIVE, Role.WITHDRAWAL),  # no marketing to stop: everything
        (quick_reply("STOP"), UNKNOWN, Role.WITHDRAWAL),
        (quick_reply("STOP", "optin:no:req-9"), BOTH, Role.CONVERSATION),  # our own buttons' titles are not words
        (quick_reply("Yes please"), ACTIVE, Role.CONVERSATION),  # any other template button: part of the chat
        (text("stop promotions please"), ACTIVE, Role.CONVERSATION),  # a sentence, not the words alone
        (text("Werbestopp bitte"), BOTH, Role.CONVERSATION),
        # a withdrawal word beats everything, even an open question
        (text("STOP"), ACTIVE, Role.WITHDRAWAL),
        (text("stopp"), ASKED, Role.WITHDRAWAL),
        (text("Basta"), QUARANTINE, Role.WITHDRAWAL),
        (text("STOP"), UNKNOWN, Role.WITHDRAWAL),
        # answers to the questions the product asked
        (button("art9:yes:nonce1"), QUARANTINE, Role.SPECIAL_YES),
        (button("art9:no:nonce1"), QUARANTINE, Role.SPECIAL_NO),
        (button("art9:yes:other"), QUARANTINE, Role.STALE_SPECIAL),
        (button("art9:yes:nonce1"), ACTIVE, Role.STALE_SPECIAL),
        (button("erase:yes:nonce2"), ERASING, Role.ERASE_YES),
        (button("erase:no:nonce2"), ERASING, Role.ERASE_NO),
        (button("optin:yes:req-1"), ASKED, Role.CONSENT_YES),
        (button("optin:no:req-1"), ASKED, Role.CONSENT_NO),
        (text("Ja"), ASKED, Role.CONSENT_YES),
        (text("no"), ASKED, Role.CONSENT_NO),
        (button("optin:yes:req-old"), ASKED, Role.REMINDER),  # another request's button
        # ordinary messages: kept only under the conversation's consent, never a rights word
        (text("where is my parcel?"), ACTIVE, Role.CONVERSATION),
        (text("yes"), ACTIVE, Role.CONVERSATION),  # no question open: an ordinary word
        (text("we must stop the delivery"), ACTIVE, Role.CONVERSATION),
        (text("where is my parcel?"), MARKETING_ONLY, Role.ACCEPTED),
        (text("where is my parcel?"), ASKED, Role.REMINDER),
        (text("where is my parcel?"), WITHDRAWN, Role.SUPPRESSED),
        # rights words from someone known; help from a stranger is the info reply
        (text("DATA"), ACTIVE, Role.ACCESS),
        (text("DATEN"), WITHDRAWN, Role.ACCESS),
        (text("LÖSCHEN"), ACTIVE, Role.ERASE_ASK),
        (text("HELP"), ACTIVE, Role.HELP),
        (text("HELP"), ASKED, Role.HELP),
        (text("HELP"), WITHDRAWN, Role.HELP),  # INFO is answered after STOP too
        (text("HELP"), UNKNOWN, Role.INFO_HELP),
        (text("DATA"), UNKNOWN, Role.INFO),
        (text("hello"), UNKNOWN, Role.INFO),
    ],
)
def test_role_of(message: InboundMessage, state: SubjectState, role: Role) -> None:
    assert role_of(message, state, CONVERSATION, MARKETING) is role


def test_the_built_in_stop_words_stay_without_configured_ones() -> None:
    built_in = marketing_stops("marketing")
    assert role_of(text("Stop promotions"), BOTH, CONVERSATION, built_in) is Role.MARKETING_STOP
    assert role_of(text("Werbestopp"), BOTH, CONVERSATION, built_in) is Role.CONVERSATION


def test_the_marketing_purpose_is_the_configured_one() -> None:
    offers = SubjectState(consents={CONVERSATION: record(CONVERSATION), "offers": record("offers")})
    stops = marketing_stops("offers")
    assert role_of(quick_reply("STOP"), offers, CONVERSATION, stops) is Role.MARKETING_STOP
    assert role_of(quick_reply("STOP"), BOTH, CONVERSATION, stops) is Role.WITHDRAWAL  # "marketing" is not it


@pytest.mark.parametrize("word", ["stop", "STOPP", "help", "ja", "no", "delete"])
def test_a_configured_stop_word_never_takes_a_words_meaning_away(word: str) -> None:
    stops = marketing_stops("marketing", (word,))
    assert role_of(text(word), BOTH, CONVERSATION, stops) is role_of(text(word), BOTH, CONVERSATION, MARKETING)
    assert role_of(text("STOP"), BOTH, CONVERSATION, stops) is Role.WITHDRAWAL


@pytest.mark.parametrize(
    ("message", "campaign"),
    [
        (campaign_stop("c-2026-11"), "c-2026-11"),
        (campaign_stop("0f3a9c"), "0f3a9c"),
        (campaign_stop(""), None),
        (campaign_stop("x" * 65), None),
        (campaign_stop("a#b"), None),
        (quick_reply("STOP"), None),
        (text(MARKETING_STOP_BUTTON + "c-1"), None),  # typed, not tapped
    ],
)
def test_campaign_of(message: InboundMessage, campaign: str | None) -> None:
    assert campaign_of(message) == campaign


def test_a_closed_conversation_is_a_block_whatever_is_open() -> None:
    """Apple's close (the person deleted the conversation) beats every open question, as a block does."""
    closed = InboundMessage(
        "apple", "urn:mbid:x", "m", 0, InboundKind.BLOCKED, signal="close", capabilities=frozenset()
    )
    for state in (SubjectState(), ASKED):
        assert role_of(closed, state, CONVERSATION, marketing_stops("marketing")) is Role.BLOCKED


def test_only_roles_that_neither_change_nor_answer_record_their_delivery_first() -> None:
    changing = {
        Role.NUMBER_CHANGED,
        Role.BLOCKED,
        Role.MARKETING_STOP,
        Role.WITHDRAWAL,
        Role.SPECIAL_YES,
        Role.SPECIAL_NO,
    }
    changing |= {Role.ERASE_YES, Role.ERASE_NO}
    changing |= {Role.CONSENT_YES, Role.CONSENT_NO, Role.CONVERSATION, Role.STALE_SPECIAL}
    changing |= {Role.RENEWAL_YES, Role.RENEWAL_NO, Role.STALE_RENEWAL}
    changing |= {Role.ACCESS}  # DATA issues a link, with the delivery record in the same transaction
    # the answer is owed in the transaction of the delivery record (the outbox): not recorded first
    changing |= {Role.HELP, Role.REMINDER, Role.INFO, Role.INFO_HELP, Role.ERASE_ASK}
    changing |= {Role.AGENT, Role.MENU}
    assert changing.isdisjoint(RECORD_FIRST)
    assert changing | RECORD_FIRST == set(Role)


# -- the renewal question ----------------------------------------------------------------------------

RENEWAL = RenewalRequest("nonce2", "renewal", {CONVERSATION: 1}, "lapse:1", "en", "v1", "s" * 64, 0, "template")
ASKED = SubjectState(consents={CONVERSATION: record(CONVERSATION)}, renewal_request=RENEWAL)


@pytest.mark.parametrize(
    ("message", "role"),
    [
        (button(RENEW_YES + "nonce2"), Role.RENEWAL_YES),
        (button(RENEW_NO + "nonce2"), Role.RENEWAL_NO),
        (text("Ja"), Role.RENEWAL_YES),
        (text("no"), Role.RENEWAL_NO),
        (quick_reply("Sì", RENEW_YES + "nonce2"), Role.RENEWAL_YES),  # the template's first quick reply
        (quick_reply("No", "No"), Role.RENEWAL_NO),  # its second, titled "No"
        (button(RENEW_YES + "older"), Role.STALE_RENEWAL),  # a question answered or replaced
        (text("STOP"), Role.WITHDRAWAL),  # a withdrawal word beats the answer
        (text("yes, but where is my parcel?"), Role.CONVERSATION),  # a sentence is a message
    ],
)
def test_answers_to_the_renewal_question(message: InboundMessage, role: Role) -> None:
    assert role_of(message, ASKED, CONVERSATION, MARKETING) is role


def test_without_an_open_renewal_question_yes_is_a_message_and_its_button_is_stale() -> None:
    assert role_of(text("yes"), ACTIVE, CONVERSATION, MARKETING) is Role.CONVERSATION
    assert role_of(button(RENEW_YES + "nonce2"), ACTIVE, CONVERSATION, MARKETING) is Role.STALE_RENEWAL


def test_a_pending_opt_in_is_answered_before_the_renewal_question() -> None:
    both = SubjectState(consents=ASKED.consents, pending=PENDING, renewal_request=RENEWAL)
    assert role_of(text("yes"), both, CONVERSATION, MARKETING) is Role.CONSENT_YES


def test_after_a_withdrawal_the_open_renewal_question_takes_no_answer() -> None:
    withdrawn = SubjectState(
        consents={CONVERSATION: record(CONVERSATION, ConsentState.WITHDRAWN)}, renewal_request=RENEWAL
    )
    assert role_of(text("yes"), withdrawn, CONVERSATION, MARKETING) is Role.SUPPRESSED
    assert role_of(button(RENEW_YES + "nonce2"), withdrawn, CONVERSATION, MARKETING) is Role.STALE_RENEWAL
