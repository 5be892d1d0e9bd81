"""Apple Messages for Business requests, shaped as Apple's service sends them (tests, samples, playground).

Each request is one message: the JSON body and the headers (``Authorization: Bearer <HS256 JWT>``
with ``aud`` = the MSP id, ``id``, ``source-id``, ``destination-id``, ``capability-list``, ...).
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import uuid
from typing import Any

from chatconsent.channels.apple import BUSINESS_EXTENSION, sign_token
from chatconsent.config import current_config

DEFAULT_CAPABILITIES = "TEXT,QUICK,LIST,TIME,AUTH,AUTH2,FORM"
MESSAGE_PATH = "/webhooks/apple/message"


def account() -> tuple[str, str]:
    """The configured MSP id and first business id."""
    apple = current_config().channels.apple
    assert apple is not None, "channels.apple is not configured"
    return apple.msp_id, apple.business_ids[0]


def opaque_id() -> str:
    """A fresh opaque customer id (``urn:mbid:`` and Base64, as Apple's look)."""
    return "urn:mbid:" + base64.b64encode(secrets.token_bytes(60)).decode()


def token(secret_base64: str, iat: int, aud: str | None = None, alg: str = "HS256") -> str:
    """The bearer token Apple sends: HS256 over the Base64-decoded secret, ``aud`` = the MSP id."""
    claims = {"aud": aud if aud is not None else account()[0], "iat": iat}
    if alg != "HS256":  # only for tests of refused algorithms
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "typ": "JWT"}).encode()).rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{body}."
    return sign_token(base64.b64decode(secret_base64), claims)


def headers(
    source: str,
    secret_base64: str,
    iat: int,
    *,
    message_id: str | None = None,
    destination: str | None = None,
    capabilities: str = DEFAULT_CAPABILITIES,
) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token(secret_base64, iat)}",
        "content-type": "application/json",
        "id": message_id or str(uuid.uuid4()),
        "source-id": source,
        "destination-id": destination or account()[1],
        "device-agent": "iPhone",
        "capability-list": capabilities,
    }


def body(kind: str, source: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": kind,
        "id": message_id,
        "sourceId": source,
        "destinationId": account()[1],
        "locale": "en_US",
        **fields,
    }


def text_body(source: str, message_id: str, text: str) -> dict[str, Any]:
    return body("text", source, message_id, body=text)


def quick_reply_body(source: str, message_id: str, identifier: str, title: str, index: int = 0) -> dict[str, Any]:
    """A tapped quick reply: its item's identifier (and index) come back in the interactive data."""
    data = {
        "version": "1.0",
        "requestIdentifier": str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),  # the question's, in Apple's
        "quick-reply": {"selectedIdentifier": identifier, "selectedIndex": index},
    }
    return body(
        "interactive", source, message_id, body=title, interactiveData={"bid": BUSINESS_EXTENSION, "data": data}
    )


def close_body(source: str, message_id: str) -> dict[str, Any]:
    return body("close", source, message_id)


def encoded(payload: dict[str, Any], compress: bool = False) -> tuple[bytes, dict[str, str]]:
    """The body's bytes and the extra headers (gzip when ``compress``)."""
    raw = json.dumps(payload).encode()
    return (gzip.compress(raw, mtime=0), {"content-encoding": "gzip"}) if compress else (raw, {})
