"""Single-word answers and rights keywords: only the word alone counts, in any case, with any edge punctuation."""

from __future__ import annotations

import pytest

from chatconsent.keywords import (
    KEYWORDS,
    MARKETING_STOP,
    NO,
    YES,
    Keyword,
    is_marketing_stop,
    is_single_word,
    keyword_of,
    marketing_stop_words,
    normalise_word,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ja!", "ja"),
        ("  YES.  ", "yes"),
        ("SÌ", "sì"),
        ("SI\u0300", "sì"),  # decomposed grave accent: NFC first
        ("yes 👍", "yes"),
        ("👍", ""),
        ("„Ja“", "ja"),
        ("*stop*", "stop"),
        ("_no_", "no"),
        ("stop\u200b", "stop"),  # zero-width space is edge punctuation too
        ("yes please", "yes please"),
        ("don't", "don't"),  # inner punctuation stays
        ("", ""),
    ],
)
def test_normalise_word(text: str, expected: str) -> None:
    assert normalise_word(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes",
        "YES!",
        "yes 👍",
        "👍 yes",
        "ok",
        "Okay.",
        "ja",
        "Ja!",
        "JA",
        "j",
        "einverstanden",
        "sì",
        "SÌ",
        "si",
    ],
)
def test_yes_in_every_language(text: str) -> None:
    assert is_single_word(text, YES)
    assert not is_single_word(text, NO)


@pytest.mark.parametrize("text", ["no", "No.", "NO!", "nein", "Nein!", "n", "nope", "rifiuto", "ablehnen", "👎 no"])
def test_no_in_every_language(text: str) -> None:
    assert is_single_word(text, NO)
    assert not is_single_word(text, YES)


@pytest.mark.parametrize(
    "text",
    [
        "yes please",
        "yes, but where is my parcel?",
        "I said yes",
        "ja gerne",
        "sì grazie",
        "y e s",
        "yes\tplease",
        "yesyes",
        "noyes",
        "👍",
        "",
        "   ",
        "!!!",
    ],
)
def test_a_sentence_or_noise_is_not_an_answer(text: str) -> None:
    assert not is_single_word(text, YES)
    assert not is_single_word(text, NO)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.WITHDRAW),
        ("Stopp!", Keyword.WITHDRAW),
        ("ABMELDEN", Keyword.WITHDRAW),
        ("basta", Keyword.WITHDRAW),
        ("Disiscrivi", Keyword.WITHDRAW),
        ("UNSUBSCRIBE", Keyword.WITHDRAW),
        ("end", Keyword.WITHDRAW),
        ("cancel.", Keyword.WITHDRAW),
        ("QUIT", Keyword.WITHDRAW),
        ("optout", Keyword.WITHDRAW),
        ("spam", Keyword.WITHDRAW),
        ("revoca", Keyword.WITHDRAW),
        ("🛑 stop 🛑", Keyword.WITHDRAW),
        ("INFO", Keyword.HELP),
        ("Hilfe?", Keyword.HELP),
        ("aiuto", Keyword.HELP),
        ("help", Keyword.HELP),
    ],
)
def test_rights_keywords(text: str, keyword: Keyword) -> None:
    assert keyword_of(text) is keyword


@pytest.mark.parametrize(
    "text",
    ["we must stop the delivery", "stop it now", "please help", "stop stop", "stopping", "info@example.com?", "", "🛑"],
)
def test_keyword_only_when_alone(text: str) -> None:
    assert keyword_of(text) is None


def test_keyword_lists_are_disjoint_and_normalised() -> None:
    lists = list(KEYWORDS.values())
    for i, words in enumerate(lists):
        for other in lists[i + 1 :]:
            assert not words & other  # a word has one meaning
        assert not words & (YES | NO)
    assert not YES & NO
    for word in frozenset().union(*lists) | YES | NO:
        assert normalise_word(word) == word  # a word that does not survive normalisation could never match


def test_twilio_and_apple_opt_out_words_withdraw() -> None:
    for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "SPAM"):
        assert keyword_of(word) is Keyword.WITHDRAW, word


@pytest.mark.parametrize("text", ["ＳＴＯＰ", "ｓｔｏｐ", "ＳＴＯＰ！"])
def test_full_width_stop_withdraws(text: str) -> None:
    """Typed with a CJK input method; compatibility forms fold like full-width digits in numbers."""
    assert keyword_of(text) is Keyword.WITHDRAW


def test_full_width_yes_is_a_yes() -> None:
    assert is_single_word("ＹＥＳ", YES) and is_single_word("ｊａ", YES)


def test_configured_marketing_stop_words_are_normalised_as_messages_are() -> None:
    words = marketing_stop_words(["  Werbe-Stopp! ", "BASTA   Newsletter", "", "👍"])
    assert words > MARKETING_STOP
    assert words - MARKETING_STOP == {"werbe-stopp", "basta newsletter"}
    assert is_marketing_stop("werbe-stopp", words) and is_marketing_stop("Basta newsletter.", words)
    assert not is_marketing_stop("werbe-stopp")  # not one of the built-in words
    assert not is_marketing_stop("werbe-stopp bitte", words)  # the whole message only


@pytest.mark.parametrize("word", ["STOP", "stopp", "Help", "DATEN", "löschen", "ja", "No"])
def test_a_configured_stop_word_that_already_means_something_is_left_out(word: str) -> None:
    assert marketing_stop_words([word]) == MARKETING_STOP
