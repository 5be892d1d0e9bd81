"""Opaque page cursors: the store's position as URL-safe base64 JSON, refused with 400 when forged."""

from __future__ import annotations

import base64
import json
from typing import Any

from chatconsent.errors import InvalidInput

BAD_CURSOR = "cursor: not one this API handed out"


def encode_cursor(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position a cursor names (the store checks that it is one it handed out); InvalidInput otherwise."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(decoded, dict):
        raise InvalidInput(BAD_CURSOR)
    return decoded
