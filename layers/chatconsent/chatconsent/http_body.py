"""The raw bytes of an HTTP body, bounded, exactly as received (signatures are over these bytes)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BodyRejected(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def raw_body(body: str | None, is_base64: bool, limit: int) -> bytes:
    """Decode API Gateway's body (base64 when binary) and refuse anything over ``limit`` bytes."""
    if not body:
        return b""
    if len(body) > (limit * 4 // 3 + 4 if is_base64 else limit * 4):  # cheap bound before decoding
        raise BodyRejected(413, "request body too large")
    if is_base64:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BodyRejected(400, "request body is not valid base64") from None
    else:
        data = body.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise BodyRejected(413, "request body too large")
    return data


def rejected_response(error: BodyRejected) -> dict[str, Any]:
    """An API Gateway (payload v2) answer for a body refused before routing."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": error.reason}),
        "isBase64Encoded": False,
    }
