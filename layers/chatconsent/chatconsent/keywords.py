"""Single-word answers in it/de/en. Only a message that is the word alone counts."""

from __future__ import annotations

import re
import unicodedata

YES = frozenset({"yes", "y", "ok", "okay", "agree", "ja", "j", "einverstanden", "si", "sì", "acconsento", "certo"})
NO = frozenset({"no", "n", "nein", "nope", "ablehnen", "rifiuto"})

_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def normalise_word(text: str) -> str:
    """Casefolded text without surrounding punctuation, emoji or spaces (``"Ja!"`` → ``"ja"``)."""
    folded = unicodedata.normalize("NFC", text).strip().casefold()
    return _EDGE_PUNCTUATION.sub("", folded)


def is_single_word(text: str, words: frozenset[str]) -> bool:
    word = normalise_word(text)
    return bool(word) and " " not in word and word in words
