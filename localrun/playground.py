"""The playground's simulated phone: signed WhatsApp webhooks in, the outbox's messages out.

Local run only (never in the template): the phone page posts what the person "types", this
module shapes it as Meta would (payload and ``X-Hub-Signature-256`` with the development app
secret) and hands it to the local inbound route; and it reads back what the product sent. The
page's campaigns panel calls the campaigns API itself, as one of the two local IAM principals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from localrun import whatsapp
from localrun.aws import DEV_SECRETS, LOCAL_PRINCIPALS

PAGE = Path(__file__).with_name("playground") / "index.html"
# The title of a marketing template's stop button as the business registers it with Meta, per template
# language (the configuration names only the button's index; Meta sends the title back when tapped).
STOP_TITLES = {"de": "Stopp Werbung", "it": "Stop promozioni"}
STOP_TITLE = "Stop promotions"
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
    button, text, quick = request.get("button"), request.get("text"), request.get("quick_reply")
    if isinstance(button, dict) and isinstance(button.get("id"), str) and isinstance(button.get("title"), str):
        payload = whatsapp.button_reply(
            sender, button["id"], button["title"], phone_number_id=phone_number_id, timestamp=now
        )
    elif isinstance(quick, dict) and isinstance(quick.get("payload"), str) and isinstance(quick.get("title"), str):
        # a template's quick-reply button: Meta delivers it as a "button" message (payload and title)
        payload = whatsapp.template_reply(
            sender, quick["title"], quick["payload"], phone_number_id=phone_number_id, timestamp=now
        )
    elif isinstance(text, str) and text.strip():
        payload = whatsapp.text(sender, text, phone_number_id=phone_number_id, timestamp=now)
    else:
        raise PhoneInputError("text, button or quick_reply: something to send is required")
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
        code = template["language"]["code"]
        components = template.get("components", [])
        body: dict[str, Any] = next((c for c in components if c["type"] == "body"), {"parameters": []})
        values = ", ".join(p["text"] for p in body["parameters"])
        link, buttons = None, []
        for button in (c for c in components if c["type"] == "button"):
            parameter = button["parameters"][0]
            if button.get("sub_type") == "quick_reply":  # the stop button of a campaign's marketing template
                title = STOP_TITLES.get(code.split("_")[0], STOP_TITLE)
                buttons.append({"id": parameter["payload"], "title": title, "quick_reply": True})
            else:  # the confirmation link's URL button
                link = f"{base_url}/confirm/{parameter['text']}"
        text = f"[template {template['name']} ({code})] {values}"
        return {"type": "template", "text": text, "buttons": buttons, "link": link}
    return {"type": str(kind), "text": "", "buttons": [], "link": None}


def messages(to: str) -> list[dict[str, Any]]:
    """What the product sent to ``to`` through the outbox, oldest first, shaped for the page."""
    from chatconsent.config import current_config
    from chatconsent.wiring import local_outbox

    recipient = "+" + _digits(to)
    base_url = str(current_config().public_base_url).rstrip("/")
    return [{"id": m.id, **_shown(m.payload, base_url)} for m in local_outbox().to(recipient)]


def campaign_setup() -> dict[str, Any]:
    """What the campaigns panel offers: the local principals (their tokens stand in for IAM) and the
    configured templates a campaign may send (never an authentication template)."""
    from chatconsent.config import current_config

    config = current_config()
    templates = [
        {"name": t.name, "category": t.category, "parameters": t.parameters, "purpose": config.template_purpose(t)}
        for t in config.channels.whatsapp.templates
        if t.category != "AUTHENTICATION"
    ]
    principals = [
        {"name": arn.rsplit("/", 1)[-1], "token": token, "arn": arn} for token, arn in LOCAL_PRINCIPALS.items()
    ]
    return {"principals": principals, "templates": templates, "languages": list(config.languages)}
