"""Reading the providers' JSON with the standard library: typed fields or ``None``, never an exception.

The webhook functions parse each delivery with these instead of pydantic models: a webhook's first
request then costs no model building, and a field that does not have the documented type is
simply absent for the caller, which decides whether the item is skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

_INT64 = 2**63


def storable(value: Any) -> bool:
    """Whether every string in ``value`` can be stored and sent: a lone surrogate such as ``\\ud800``
    (valid JSON, not valid UTF-8) cannot."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return True


def mapping(value: Any) -> Mapping[str, Any] | None:
    """A JSON object, or None."""
    return value if isinstance(value, dict) else None


def string(value: Any, limit: int) -> str | None:
    """A string of at most ``limit`` characters, or None."""
    return value if isinstance(value, str) and len(value) <= limit else None


def integer(value: Any) -> int | None:
    """A JSON integer (``true`` is not one), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> int | None:
    """A whole number in the signed 64-bit range written as an integer, a float without a fraction
    or decimal digits in a string (Meta sends its timestamps as ``"1700000000"``), or None."""
    if isinstance(value, float):
        whole = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, str):
        digits = value.strip()
        unsigned = digits[1:] if digits[:1] in ("+", "-") else digits
        whole = int(digits) if unsigned.isascii() and unsigned.isdigit() and len(unsigned) <= 19 else None
    else:
        whole = integer(value)
    return whole if whole is not None and -_INT64 <= whole < _INT64 else None


def items(value: Any, limit: int) -> list[Any] | None:
    """A JSON array of at most ``limit`` items (missing is empty), or None."""
    if value is None:
        return []
    return value if isinstance(value, list) and len(value) <= limit else None
