"""Special categories in a message: health information (Art. 9) and bank data get stricter handling.

Health terms come from short it/de/en lists (word prefixes, so "allergies", "Allergien" and
"allergia" all match); bank data is an IBAN whose mod-97 check holds or a card number whose Luhn
check holds, so ordinary numbers (order ids, phone numbers) do not count.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Sensitive(StrEnum):
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
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")  # IBANs are written in capitals
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def iban_valid(candidate: str) -> bool:
    iban = candidate.replace(" ", "").upper()
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


def classify(text: str) -> frozenset[Sensitive]:
    found = set()
    if _HEALTH.search(text):
        found.add(Sensitive.HEALTH)
    if any(iban_valid(m.group(0)) for m in _IBAN.finditer(text)) or any(
        luhn_valid(m.group(0)) for m in _CARD.finditer(text)
    ):
        found.add(Sensitive.BANK)
    return frozenset(found)
