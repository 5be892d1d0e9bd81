"""The playground's Apple-style phone: Apple's authenticated requests in, the outbox's messages out.

Local run only (never in the template): the page (``/playground/apple``) posts what the person
"types" or taps; this module shapes it as Apple's Messages for Business service would (body and
headers, the bearer token signed with the local Base64 secret) and hands it to the local Apple
route; and it reads back what the product sent to that opaque id.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from localrun import apple
from localrun.aws import DEV_SECRETS

PAGE = Path(__file__).with_name("playground") / "apple.html"
Invoke = Callable[[str, str, str, dict[str, str], bytes, str], dict[str, Any]]
_OPAQUE = re.compile(r"urn:mbid:[A-Za-z0-9+/=]{8,200}")


class AppleInputError(ValueError):
    """What the page sent cannot be an Apple message."""


def _device(request: Mapping[str, Any]) -> str:
    device = request.get("from")
    if not isinstance(device, str) or not _OPAQUE.fullmatch(device):
        raise AppleInputError("from: an opaque id (urn:mbid:…) is required")
    return device


def send(body: bytes, invoke: Invoke, now: int) -> dict[str, Any]:
    """One message from the simulated device (text, a tapped quick reply, or the conversation deleted)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise AppleInputError("body: JSON expected") from None
    if not isinstance(request, dict):
        raise AppleInputError("body: a JSON object expected")
    device = _device(request)
    message_id = str(uuid.uuid4())
    text, quick = request.get("text"), request.get("quick_reply")
    if request.get("close") is True:
        payload = apple.close_body(device, message_id)
    elif isinstance(quick, dict) and isinstance(quick.get("id"), str) and isinstance(quick.get("title"), str):
        payload = apple.quick_reply_body(device, message_id, quick["id"], quick["title"])
    elif isinstance(text, str) and text.strip():
        payload = apple.text_body(device, message_id, text)
    else:
        raise AppleInputError("text, quick_reply or close: something to send is required")
    capabilities = apple.DEFAULT_CAPABILITIES if request.get("quick", True) is not False else "TEXT,LIST"
    headers = apple.headers(
        device, DEV_SECRETS["apple/messaging-secret"], now, message_id=message_id, capabilities=capabilities
    )
    raw, _ = apple.encoded(payload)
    response = invoke("POST", apple.MESSAGE_PATH, "", headers, raw, "127.0.0.1")
    return {"status": int(response["statusCode"])}


def _shown(payload: Mapping[str, Any]) -> dict[str, Any]:
    if payload.get("type") == "interactive":
        quick = payload["interactiveData"]["data"].get("quick-reply", {})
        buttons = [{"id": i["identifier"], "title": i["title"]} for i in quick.get("items", [])]
        return {"type": "quick_reply", "text": str(payload.get("body", "")), "buttons": buttons}
    return {"type": str(payload.get("type")), "text": str(payload.get("body", "")), "buttons": []}


def messages(to: str) -> list[dict[str, Any]]:
    """What the product sent to the opaque id ``to`` through the outbox, oldest first."""
    from chatconsent.channels.apple import address
    from chatconsent.wiring import local_outbox

    if not _OPAQUE.fullmatch(to):
        raise AppleInputError("to: an opaque id (urn:mbid:…) is required")
    _, business_id = apple.account()
    return [{"id": m.id, **_shown(m.payload)} for m in local_outbox().to(address(business_id, to))]
