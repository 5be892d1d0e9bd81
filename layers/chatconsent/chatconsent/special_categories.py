"""The special-category detector: health information (Art. 9) and bank data get stricter handling.

Health terms come from short it/de/en lists (word prefixes, so "allergies", "Allergien" and
"allergia" all match); bank data is an IBAN whose mod-97 check holds or a card number whose Luhn
check holds, so ordinary numbers (order ids, phone numbers) do not count.
"""

from __future__ import annotations

import re
from enum import StrEnum


class SpecialCategory(StrEnum):
    HEALTH = "health"
    BANK = "bank"


_HEALTH_STEMS = (
    # en
    "allerg", "asthma", "diabet", "pregnan", "disease", "illness", "diagnos", "medication", "prescription",
    "symptom", "cancer", "depress", "epilep", "surgery", "intoleran", "migraine",
    # de
    "krank", "schwanger", "medikament", "rezept", "arzt", "ärzt", "diagnose", "unverträglich", "migräne",
    "zöliakie", "operation",
    # it
    "malatt", "gravidanz", "incinta", "farmac", "medicin", "ricetta medica", "intolleran", "sintom", "celiac",
)  # fmt: skip
_HEALTH = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in _HEALTH_STEMS) + r")", re.IGNORECASE)
# An IBAN's start (country, check digits) anywhere, in any case, grouped by spaces or dashes.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_IBAN_SEPARATORS = " -"
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def iban_valid(candidate: str) -> bool:
    iban = candidate.replace(" ", "").replace("-", "").upper()
    if not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def contains_iban(text: str) -> bool:
    """Whether some run of characters from an IBAN-like start passes the mod-97 check.

    Every length from 15 to 34 is tried, so words after the IBAN ("… BIC COBADEFFXXX") do not hide it.
    """
    for start in _IBAN_START.finditer(text):
        chars: list[str] = []
        for char in text[start.start() :]:
            if char in _IBAN_SEPARATORS:
                continue
            if not char.isascii() or not char.isalnum() or len(chars) == 34:
                break
            chars.append(char)
            if len(chars) >= 15 and iban_valid("".join(chars)):
                return True
    return False


def detect(text: str) -> frozenset[SpecialCategory]:
    found = set()
    if _HEALTH.search(text):
        found.add(SpecialCategory.HEALTH)
    if contains_iban(text) or any(luhn_valid(m.group(0)) for m in _CARD.finditer(text)):
        found.add(SpecialCategory.BANK)
    return frozenset(found)
