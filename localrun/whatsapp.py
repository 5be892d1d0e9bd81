"""WhatsApp Cloud API webhook payloads, shaped as Meta sends them (tests, samples, playground)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from chatconsent.channels.whatsapp import signature_for

BUSINESS_ACCOUNT_ID = "102290129340398"


def message_id() -> str:
    return "wamid." + secrets.token_urlsafe(24)


def _envelope(phone_number_id: str, value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": BUSINESS_ACCOUNT_ID,
                "changes": [
                    {
                        "field": field,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "4930123456789", "phone_number_id": phone_number_id},
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def inbound(
    phone_number_id: str, sender_digits: str, message: dict[str, Any], profile_name: str = "Test Person"
) -> dict[str, Any]:
    return _envelope(
        phone_number_id,
        {
            "contacts": [{"profile": {"name": profile_name}, "wa_id": sender_digits}],
            "messages": [{"from": sender_digits, **message}],
        },
    )


def text(
    sender_digits: str, body: str, *, phone_number_id: str, timestamp: int, wamid: str | None = None
) -> dict[str, Any]:
    return inbound(
        phone_number_id,
        sender_digits,
        {"id": wamid or message_id(), "timestamp": str(timestamp), "type": "text", "text": {"body": body}},
    )


def button_reply(
    sender_digits: str, button_id: str, title: str, *, phone_number_id: str, timestamp: int, wamid: str | None = None
) -> dict[str, Any]:
    return inbound(
        phone_number_id,
        sender_digits,
        {
            "id": wamid or message_id(),
            "timestamp": str(timestamp),
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
        },
    )


def media(
    sender_digits: str,
    kind: str,
    media_id: str,
    mime_type: str,
    *,
    phone_number_id: str,
    timestamp: int,
    caption: str | None = None,
    wamid: str | None = None,
) -> dict[str, Any]:
    """A picture, voice note, video, document or sticker, as Meta announces it (the file stays there)."""
    item: dict[str, Any] = {"id": media_id, "mime_type": mime_type, "sha256": "0" * 64}
    if caption is not None:
        item["caption"] = caption
    return inbound(
        phone_number_id,
        sender_digits,
        {"id": wamid or message_id(), "timestamp": str(timestamp), "type": kind, kind: item},
    )


def template_reply(
    sender_digits: str, title: str, payload: str, *, phone_number_id: str, timestamp: int
) -> dict[str, Any]:
    """A template's quick-reply button pressed (``type: "button"``: the business's payload, the title chosen)."""
    return inbound(
        phone_number_id,
        sender_digits,
        {
            "id": message_id(),
            "timestamp": str(timestamp),
            "type": "button",
            "button": {"payload": payload, "text": title},
        },
    )


def number_changed(old_digits: str, new_digits: str, *, phone_number_id: str, timestamp: int) -> dict[str, Any]:
    """Meta's system message when a user moves to another number (it has no contacts array)."""
    message = {
        "from": old_digits,
        "id": message_id(),
        "timestamp": str(timestamp),
        "type": "system",
        "system": {
            "body": f"User Test Person changed from {old_digits} to {new_digits}",
            "wa_id": new_digits,
            "type": "user_changed_number",
        },
    }
    return _envelope(phone_number_id, {"messages": [message]})


def status(recipient_digits: str, wamid: str, state: str, *, phone_number_id: str, timestamp: int) -> dict[str, Any]:
    return _envelope(
        phone_number_id,
        {"statuses": [{"id": wamid, "status": state, "timestamp": str(timestamp), "recipient_id": recipient_digits}]},
    )


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Meta would send for ``payload``."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return body, {"content-type": "application/json", "x-hub-signature-256": signature_for(app_secret.encode(), body)}


def user_preferences(sender_digits: str, value: str, *, phone_number_id: str, timestamp: int) -> dict[str, Any]:
    """The person stopped (or resumed) marketing messages in WhatsApp itself."""
    preference = {
        "wa_id": sender_digits,
        "detail": "User requested to stop marketing messages",
        "category": "marketing_messages",
        "value": value,
        "timestamp": timestamp,
    }
    return _envelope(phone_number_id, {"user_preferences": [preference]}, field="user_preferences")
