"""Single-word answers and rights keywords in it/de/en plus the platforms' own words.

Only a message that is the word alone counts: "we must stop the delivery" is a normal message.
"""

from __future__ import annotations

import re
import unicodedata
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
# buttons ("Stop promotions") and the same in it/de/en. The rest of the consent stays.
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


def is_marketing_stop(text: str) -> bool:
    """The whole message asks to stop marketing only ("Stop promotions", "STOP WERBUNG")."""
    return " ".join(normalise_word(text).split()) in MARKETING_STOP


def keyword_of(text: str) -> Keyword | None:
    word = normalise_word(text)
    if not word or " " in word:
        return None
    return next((keyword for keyword, words in KEYWORDS.items() if word in words), None)
