"""Subject pseudonyms: the plaintext identifier is never a key, never logged.

A pseudonym is HMAC-SHA256 under a secret pepper over the channel and the normalised identifier;
phone numbers are normalised to E.164 first, so ``0049…``, ``+49 (0)…`` and full-width digits meet.
"""

from __future__ import annotations

import hashlib
import hmac

_ALIAS_SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O or U to misread


class InvalidIdentifier(ValueError):
    """The identifier cannot be normalised. The message never contains the identifier itself."""


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 form of a phone number, e.g. ``+4930123456``; raises InvalidIdentifier."""
    import phonenumbers  # noqa: PLC0415 (its metadata is needed only where numbers are parsed)

    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentifier("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str:
    """The ISO 3166-1 region of a normalised number (``DE``), or ``ZZ`` when unknown."""
    import phonenumbers  # noqa: PLC0415

    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or "ZZ"


def region_of(identifier: str) -> str | None:
    """The region of a number in any notation (``DE``), or None when it cannot be read."""
    import phonenumbers  # noqa: PLC0415

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(identifier))
    except phonenumbers.NumberParseException:
        return None


def normalize_whatsapp_id(wa_id: str) -> str:
    """WhatsApp sends numbers as bare international digits (``4930123456``)."""
    digits = wa_id.strip().lstrip("+")
    return normalize_phone(f"+{digits}")


class Pseudonymizer:
    """Keyed hashes for every look-up that would otherwise use an identifier or an id that embeds one.

    Separate keys are derived per use from one pepper, so a hash from one table cannot be joined
    with another's.
    """

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("pepper must be at least 16 bytes")
        self._pepper = pepper
        self._keys: dict[str, bytes] = {}

    def _key(self, use: str) -> bytes:
        key = self._keys.get(use)
        if key is None:
            key = hmac.new(self._pepper, f"chatconsent/{use}".encode(), hashlib.sha256).digest()
            self._keys[use] = key
        return key

    def keyed_hash(self, use: str, value: str) -> str:
        return hmac.new(self._key(use), value.encode("utf-8"), hashlib.sha256).hexdigest()

    def subject(self, channel: str, identifier: str) -> str:
        """The subject's pseudonym on a channel; ``identifier`` must already be normalised."""
        return self.keyed_hash("subject", f"{channel}:{identifier}")

    def message(self, channel: str, message_id: str) -> str:
        """Provider message ids (a WhatsApp ``wamid`` embeds the phone number) are hashed too."""
        return self.keyed_hash("message", f"{channel}:{message_id}")

    def audit_ref(self, subject: str) -> str:
        """How the audit trail names a subject: a separately keyed hash of the pseudonym, never the pseudonym."""
        return self.keyed_hash("audit", subject)

    def desk_alias(self, subject: str) -> str:
        """The short name the desk shows for a person (``K7F-2QX``): 30 bits of a separately keyed hash of
        the pseudonym in Crockford's base32, so it holds no part of the number and cannot be joined with
        another table's hashes; stable for as long as the pepper is."""
        digest = int(self.keyed_hash("desk_alias", subject)[:8], 16) >> 2  # 30 bits
        symbols = "".join(_ALIAS_SYMBOLS[(digest >> shift) & 31] for shift in range(25, -1, -5))
        return f"{symbols[:3]}-{symbols[3:]}"

    def suppression(self, channel: str, identifier: str) -> str:
        """The block-list key: separate from the subject pseudonym, so it outlives an erasure unlinked."""
        return self.keyed_hash("suppression", f"{channel}:{identifier}")

    def client_ip(self, ip: str) -> str:
        return self.keyed_hash("ip", ip)
