"""The raw bytes of an HTTP body, bounded, exactly as received (signatures are over these bytes).

A body refused here is refused before routing: ``refused_body`` tells the handler, and
``rejected_response`` is API Gateway's answer for it (payload format 2.0).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any


class BodyRejected(ValueError):
    """The body cannot be read: too large (413), not the base64 it claims to be or not UTF-8 (400),
    or not the media type the route reads (415)."""

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


def refused_body(event: Mapping[str, Any], limit: int) -> BodyRejected | None:
    """Why the event's body is refused before any parsing, or ``None`` when it is acceptable."""
    try:
        raw_body(event.get("body"), bool(event.get("isBase64Encoded")), limit)
    except BodyRejected as error:
        return error
    return None


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in ("", "application/json")


_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def refused_json_body(event: dict[str, Any], limit: int) -> BodyRejected | None:
    """Why a JSON route refuses the event's body before any parsing, or ``None`` when it may be parsed.

    Besides the limits of :func:`refused_body`: a request that names another media type is refused
    (415), with a body or without one, so a form or multipart request is never read as an empty
    object (which on the withdrawal route would mean "withdraw everything"); a body must be UTF-8
    (400). A JSON media type in any case is passed on as ``application/json`` (media types are
    case-insensitive; the resolver compares them exactly).
    """
    refused = refused_body(event, limit)
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    if refused is not None or (method not in _WITH_BODY and not event.get("body")):
        return refused
    headers = event.get("headers") or {}
    name = next((k for k in headers if str(k).lower() == "content-type"), None)
    content_type = str(headers[name]) if name is not None else ""
    if not _is_json(content_type):
        return BodyRejected(415, "send the body as JSON (Content-Type: application/json)")
    if name is not None and content_type.split(";", 1)[0].strip() != "application/json":
        headers[name] = "application/json"
    if not event.get("body"):
        return None
    data = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), limit)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return BodyRejected(400, "request body is not valid UTF-8")
    return None


def gateway_response(
    status: int, content_type: str, body: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway (payload v2) answer built without the resolver, for requests refused before routing."""
    return {
        "statusCode": status,
        "headers": {**(headers or {}), "Content-Type": content_type},
        "body": body,
        "isBase64Encoded": False,
    }


def rejected_response(error: BodyRejected) -> dict[str, Any]:
    """The JSON answer for a body refused before routing."""
    return gateway_response(error.status, "application/json", json.dumps({"error": error.reason}))


def decoded_body(data: bytes, content_encoding: str, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (gzip or none), refused over ``limit`` bytes *after*
    decompression: a gzip bomb is inflated in steps of at most the bytes still allowed, and refused
    (413) as soon as it passes the limit, never inflated whole."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(data) > limit:
            raise BodyRejected(413, "request body too large")
        return data
    if encoding not in ("gzip", "x-gzip"):
        raise BodyRejected(415, "Content-Encoding must be gzip or none")
    import zlib  # noqa: PLC0415 (only compressed bodies need it)

    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, limit + 1 - len(out))
            if len(out) > limit:
                raise BodyRejected(413, "request body too large once decompressed")
            pending = inflater.unconsumed_tail
    except zlib.error:
        raise BodyRejected(400, "request body is not valid gzip") from None
    if not inflater.eof or inflater.unused_data:
        raise BodyRejected(400, "request body is not one complete gzip stream")
    return bytes(out)
