"""The playground's Telegram-style phone: Telegram's updates in, the outbox's messages out.

Local run only (never in the template): the page (``/playground/telegram``) posts what the person
"types", taps or does to the bot; this module shapes it as the Bot API's webhook would (an update,
with ``X-Telegram-Bot-Api-Secret-Token`` set to the local secret token) and hands it to the local
``POST /webhooks/telegram`` route; and it reads back what the bot sent to that chat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from localrun import telegram
from localrun.aws import DEV_SECRETS

PAGE = Path(__file__).with_name("playground") / "telegram.html"
WEBHOOK_PATH = "/webhooks/telegram"
Invoke = Callable[[str, str, str, dict[str, str], bytes, str], dict[str, Any]]
MAX_CHAT_ID = 2**52  # a private chat's id is the user's id, a positive integer below 2**52


class TelegramInputError(ValueError):
    """What the page sent cannot be a Telegram update."""


def _chat_id(value: Any) -> int:
    # the page sends a number; the messages query a string of ASCII digits (at most 16: below 2**52)
    chat = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16 else value
    if not isinstance(chat, int) or isinstance(chat, bool) or not 0 < chat < MAX_CHAT_ID:
        raise TelegramInputError("chat: a private chat's id (a positive integer below 2**52) is required")
    return chat


def _update(request: Mapping[str, Any], chat: int, now: int) -> dict[str, Any]:
    text, tapped = request.get("text"), request.get("callback_data")
    if request.get("block") is True:
        return telegram.member_status(chat, "kicked", now)
    if request.get("unblock") is True:
        return telegram.member_status(chat, "member", now)
    if isinstance(tapped, str) and tapped:
        return telegram.callback(chat, tapped, now)
    if isinstance(text, str) and text.strip():
        return telegram.message(chat, text, now)
    raise TelegramInputError("text, callback_data, block or unblock: something to send is required")


def send(body: bytes, invoke: Invoke, now: int) -> dict[str, Any]:
    """One update from the simulated phone (text, a tapped inline button, or the bot blocked/unblocked)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise TelegramInputError("body: JSON expected") from None
    if not isinstance(request, dict):
        raise TelegramInputError("body: a JSON object expected")
    update = _update(request, _chat_id(request.get("chat")), now)
    headers = telegram.headers(DEV_SECRETS["telegram/secret-token"])
    response = invoke("POST", WEBHOOK_PATH, "", headers, telegram.body(update).encode(), "127.0.0.1")
    try:
        answer = json.loads(response.get("body") or "{}")
    except ValueError:
        answer = {}
    return {"status": int(response["statusCode"]), "answer": answer if isinstance(answer, dict) else {}}


def _shown(payload: Mapping[str, Any]) -> dict[str, Any]:
    markup = payload.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    buttons = [{"data": b["callback_data"], "title": b["text"]} for row in rows for b in row]
    return {"text": str(payload.get("text", "")), "buttons": buttons}


def messages(chat: str) -> list[dict[str, Any]]:
    """What the bot sent to the chat through the outbox (``sendMessage`` only), oldest first."""
    from chatconsent.wiring import local_outbox

    to = str(_chat_id(chat))
    sent = local_outbox().to(to)
    return [{"id": m.id, **_shown(m.payload)} for m in sent if m.payload.get("method") == "sendMessage"]
