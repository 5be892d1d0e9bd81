"""Telegram Bot API updates, shaped as Telegram sends them (tests, samples, playground).

Every update carries the profile fields Telegram sends (first name, username, language) so that
the tests can show they are never read.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from chatconsent.channels.telegram import SECRET_HEADER

_UPDATE_IDS = itertools.count(500_000_001)


def next_update_id() -> int:
    return next(_UPDATE_IDS)


def _user(chat_id: int) -> dict[str, Any]:
    return {
        "id": chat_id,
        "is_bot": False,
        "first_name": "Testperson",
        "username": "test_person",
        "language_code": "de",
    }


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "first_name": "Testperson", "username": "test_person", "type": "private"}


def message(chat_id: int, text: str, date: int, update_id: int | None = None) -> dict[str, Any]:
    """A text message (``/start <code>`` after a deep link)."""
    update_id = update_id if update_id is not None else next_update_id()
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000,
            "from": _user(chat_id),
            "chat": _chat(chat_id),
            "date": date,
            "text": text,
            **({"entities": [{"offset": 0, "length": 6, "type": "bot_command"}]} if text.startswith("/") else {}),
        },
    }


def photo(chat_id: int, date: int, caption: str = "") -> dict[str, Any]:
    update_id = next_update_id()
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000,
            "from": _user(chat_id),
            "chat": _chat(chat_id),
            "date": date,
            "photo": [
                {"file_id": "AgACsmall", "file_unique_id": "s", "file_size": 1200, "width": 90, "height": 90},
                {"file_id": "AgAClarge", "file_unique_id": "l", "file_size": 54000, "width": 800, "height": 800},
            ],
            **({"caption": caption} if caption else {}),
        },
    }


def callback(chat_id: int, data: str, date: int, update_id: int | None = None) -> dict[str, Any]:
    """A tap on an inline keyboard button of the bot's message."""
    update_id = update_id if update_id is not None else next_update_id()
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"4{update_id}",
            "from": _user(chat_id),
            "message": {
                "message_id": update_id % 1_000_000 - 1,
                "from": {"id": 1, "is_bot": True, "first_name": "Shop", "username": "ExampleShopBot"},
                "chat": _chat(chat_id),
                "date": date,
                "text": "(the bot's question)",
            },
            "chat_instance": "-1234567890",
            "data": data,
        },
    }


def member_status(chat_id: int, status: str, date: int, update_id: int | None = None) -> dict[str, Any]:
    """The bot's membership in the private chat changed: ``kicked`` (blocked) or ``member`` (unblocked)."""
    old = "member" if status == "kicked" else "kicked"
    bot = {"id": 1, "is_bot": True, "first_name": "Shop", "username": "ExampleShopBot"}
    return {
        "update_id": update_id if update_id is not None else next_update_id(),
        "my_chat_member": {
            "chat": _chat(chat_id),
            "from": _user(chat_id),
            "date": date,
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {"user": bot, "status": status, **({"until_date": 0} if status == "kicked" else {})},
        },
    }


def headers(secret_token: str | None) -> dict[str, str]:
    """The request's headers; None: without the secret-token header."""
    found = {"content-type": "application/json"}
    if secret_token is not None:
        found[SECRET_HEADER] = secret_token
    return found


def body(update: dict[str, Any]) -> str:
    return json.dumps(update, separators=(",", ":"))
