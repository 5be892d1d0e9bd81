"""Single-word answers and rights keywords in it/de/en plus the platforms' own words.

Only a message that is the word alone counts: "we must stop the delivery" is a normal message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum

YES = frozenset({"yes", "y", "ok", "okay", "agree", "ja", "j", "einverstanden", "si", "sì", "acconsento", "certo"})
NO = frozenset({"no", "n", "nein", "nope", "ablehnen", "rifiuto"})

_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def normalise_word(text: str) -> str:
    """Casefolded, compatibility-folded text without surrounding punctuation, emoji or spaces.

    ``"Ja!"`` → ``"ja"``; full-width ``"ＳＴＯＰ"`` (typed with a CJK input method) → ``"stop"``.
    """
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return _EDGE_PUNCTUATION.sub("", folded)


def is_single_word(text: str, words: frozenset[str]) -> bool:
    word = normalise_word(text)
    return bool(word) and " " not in word and word in words


class Keyword(StrEnum):
    WITHDRAW = "withdraw"
    HELP = "help"
    ACCESS = "access"
    ERASE = "erase"
    AGENT = "agent"  # how to reach a person (a channel's own words: Apple's agent/support/help)
    MENU = "menu"  # what can be written here (a channel's own words: Apple's menu/list/?)


KEYWORDS: dict[Keyword, frozenset[str]] = {
    # it/de/en, Twilio's and Apple's opt-out words (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
    # OPTOUT; Apple also SPAM).
    Keyword.WITHDRAW: frozenset(
        {
            "stop",
            "stopp",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "spam",
            "abmelden",
            "abbestellen",
            "widerruf",
            "widerrufen",
            "basta",
            "disiscrivi",
            "disiscrivimi",
            "revoca",
        }
    ),
    Keyword.HELP: frozenset({"info", "help", "hilfe", "aiuto", "privacy", "datenschutz"}),
    Keyword.ACCESS: frozenset({"data", "dati", "daten", "auskunft", "access"}),
    Keyword.ERASE: frozenset({"delete", "erase", "löschen", "loeschen", "cancella", "elimina"}),
}


# Withdrawing marketing only, as a whole message: the words of marketing templates' own quick-reply
# buttons ("Stop promotions") and the same in it/de/en. The rest of the consent stays. The business
# adds its own (``config.campaigns.stop_words``): see :func:`marketing_stop_words`.
MARKETING_STOP = frozenset(
    {
        "stop promotions",
        "stop promotion",
        "stop marketing",
        "stop offers",
        "stop werbung",
        "keine werbung",
        "werbung stopp",
        "stopp werbung",
        "basta promozioni",
        "stop promozioni",
        "basta pubblicità",
        "basta offerte",
    }
)


def whole_message(text: str) -> str:
    """A whole message as the phrase lists hold it: normalised, words separated by one space."""
    return " ".join(normalise_word(text).split())


def _means_something_else(phrase: str) -> bool:
    """A single word that already has a meaning here (STOP withdraws everything, "no" declines, ...)."""
    return " " not in phrase and (phrase in YES or phrase in NO or any(phrase in w for w in KEYWORDS.values()))


def marketing_stop_words(configured: Iterable[str] = ()) -> frozenset[str]:
    """The built-in marketing stops and the business's own, normalised as messages are.

    A configured word that already means something else (STOP, HELP, yes, no) is left out: a typed
    STOP stays the full withdrawal whatever the configuration says.
    """
    own = {whole_message(word) for word in configured}
    return MARKETING_STOP | {phrase for phrase in own if phrase and not _means_something_else(phrase)}


def is_marketing_stop(text: str, words: frozenset[str] = MARKETING_STOP) -> bool:
    """The whole message asks to stop marketing only ("Stop promotions", "STOP WERBUNG"); ``words`` are
    the phrases that do (by default the built-in ones, see :func:`marketing_stop_words`)."""
    return whole_message(text) in words


def keyword_of(text: str, channel_words: Mapping[Keyword, frozenset[str]] | None = None) -> Keyword | None:
    """The rights word ``text`` is, if it is one alone; ``channel_words``: the channel's own words besides
    the it/de/en ones (``chatconsent.channels.registry.channel_words``). A channel's own meaning of a word
    comes first (Apple: "help" asks for a person), and its words may be punctuation alone (Apple: "?")."""
    word = normalise_word(text)
    if not word:  # punctuation alone: only a channel's own word can be one
        bare = unicodedata.normalize("NFKC", text).strip()
        return next((keyword for keyword, words in (channel_words or {}).items() if bare and bare in words), None)
    if " " in word:
        return None
    found = next((keyword for keyword, words in (channel_words or {}).items() if word in words), None)
    return found or next((keyword for keyword, words in KEYWORDS.items() if word in words), None)
