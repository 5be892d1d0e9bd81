"""The opt-in's secrets: single-use codes (chat-started) and link tokens (link-confirmed).

Both are high-entropy random strings that exist in plain form only in the answer (or the link)
given to the person; everything stored holds their SHA-256, which high entropy makes sufficient.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

CODE_PREFIX = "CC-"
CODE_PATTERN = re.compile(r"\bCC-([A-Z2-7]{26})\b", re.IGNORECASE)
LINK_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 (a pattern, not a secret)


def new_code() -> str:
    """128 random bits, Base32 without padding (26 characters), easy to type and to link."""
    return CODE_PREFIX + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def code_hash(code: str) -> str:
    """Codes are stored only hashed; high entropy makes a plain SHA-256 sufficient."""
    return hashlib.sha256(code.upper().encode("ascii")).hexdigest()


def find_code(text: str) -> str | None:
    """The first code in a message, normalised to upper case (people retype codes in any case)."""
    match = CODE_PATTERN.search(text)
    return f"{CODE_PREFIX}{match.group(1).upper()}" if match else None


def new_link_token() -> str:
    """256 random bits, URL-safe: the confirmation link's only secret."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Link tokens are stored only hashed, like codes."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
