"""The playground's simulated phone: signed WhatsApp webhooks in, the outbox's messages out.

Local run only (never in the template): the phone page posts what the person "types", this
module shapes it as Meta would (payload and ``X-Hub-Signature-256`` with the development app
secret) and hands it to the local inbound route; and it reads back what the product sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from localrun import whatsapp
from localrun.aws import DEV_SECRETS

PAGE = Path(__file__).with_name("playground") / "index.html"
Invoke = Callable[[str, str, str, dict[str, str], bytes, str], dict[str, Any]]


class PhoneInputError(ValueError):
    """What the phone page sent cannot be a WhatsApp message."""


def _digits(number: object) -> str:
    from chatconsent.identity import InvalidIdentifier, normalize_phone

    if not isinstance(number, str):
        raise PhoneInputError("from: a phone number is required")
    try:
        return normalize_phone(number).lstrip("+")
    except InvalidIdentifier:
        raise PhoneInputError("from: not a valid phone number (international form, e.g. +49 151 23456789)") from None


def send(body: bytes, invoke: Invoke) -> dict[str, Any]:
    """Deliver one message from the simulated phone to the inbound route, signed."""
    from chatconsent.config import current_config

    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise PhoneInputError("body: JSON expected") from None
    if not isinstance(request, dict):
        raise PhoneInputError("body: a JSON object expected")
    sender = _digits(request.get("from"))
    phone_number_id = current_config().channels.whatsapp.phone_number_id
    now = int(time.time())
    button, text = request.get("button"), request.get("text")
    if isinstance(button, dict) and isinstance(button.get("id"), str) and isinstance(button.get("title"), str):
        payload = whatsapp.button_reply(
            sender, button["id"], button["title"], phone_number_id=phone_number_id, timestamp=now
        )
    elif isinstance(text, str) and text.strip():
        payload = whatsapp.text(sender, text, phone_number_id=phone_number_id, timestamp=now)
    else:
        raise PhoneInputError("text or button: something to send is required")
    raw, headers = whatsapp.signed(payload, DEV_SECRETS["whatsapp/app-secret"])
    response = invoke("POST", "/webhooks/whatsapp", "", headers, raw, "127.0.0.1")
    return {"status": int(response["statusCode"])}


def _shown(payload: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    kind = payload.get("type")
    if kind == "text":
        return {"type": "text", "text": payload["text"]["body"], "buttons": [], "link": None}
    if kind == "interactive":
        interactive = payload["interactive"]
        buttons = [b["reply"] for b in interactive.get("action", {}).get("buttons", [])]
        return {"type": "buttons", "text": interactive["body"]["text"], "buttons": buttons, "link": None}
    if kind == "template":
        template = payload["template"]
        components = template.get("components", [])
        body: dict[str, Any] = next((c for c in components if c["type"] == "body"), {"parameters": []})
        button = next((c for c in components if c["type"] == "button"), None)
        values = ", ".join(p["text"] for p in body["parameters"])
        link = f"{base_url}/confirm/{button['parameters'][0]['text']}" if button else None
        text = f"[template {template['name']} ({template['language']['code']})] {values}"
        return {"type": "template", "text": text, "buttons": [], "link": link}
    return {"type": str(kind), "text": "", "buttons": [], "link": None}


def messages(to: str) -> list[dict[str, Any]]:
    """What the product sent to ``to`` through the outbox, oldest first, shaped for the page."""
    from chatconsent.config import current_config
    from chatconsent.wiring import local_outbox

    recipient = "+" + _digits(to)
    base_url = str(current_config().public_base_url).rstrip("/")
    return [{"id": m.id, **_shown(m.payload, base_url)} for m in local_outbox().to(recipient)]
