"""Drives the product as the widget and Telegram would: HTTP events into the Telegram function."""

from __future__ import annotations

import json
from typing import Any

from chatconsent.notices import NoticeRegistry
from chatconsent.wiring import local_outbox
from localrun import telegram
from localrun.aws import DEV_SECRETS
from localrun.events import http_event
from tests.conftest import TELEGRAM_CHAT_IDS, Env, json_body

SECRET_TOKEN = DEV_SECRETS["telegram/secret-token"]
CHAT = int(TELEGRAM_CHAT_IDS[0])  # a private chat's id is the person's Telegram user id
OTHER_CHAT = int(TELEGRAM_CHAT_IDS[1])


def webhook_event(update: dict[str, Any] | str, secret: str | None = SECRET_TOKEN) -> dict[str, Any]:
    body = update if isinstance(update, str) else telegram.body(update)
    return http_event("POST", "/webhooks/telegram", body=body, headers=telegram.headers(secret))


def deliver(env: Env, update: dict[str, Any] | str, secret: str | None = SECRET_TOKEN) -> dict[str, Any]:
    return env.invoke("telegram", webhook_event(update, secret))


def start_optin(env: Env, purposes: dict[str, Any] | None = None, language: str = "en") -> dict[str, Any]:
    notice = NoticeRegistry().get(language)
    body = {
        "purposes": purposes if purposes is not None else {"customer_service": True},
        "channel": "telegram",
        "language": language,
        "notice_version": notice.version,
        "notice_sha256": notice.sha256,
    }
    response = env.invoke("optin", http_event("POST", "/optin", body=json.dumps(body)))
    assert response["statusCode"] == 201, response
    started: dict[str, Any] = json_body(response)
    return started


def text(env: Env, body: str, chat: int = CHAT) -> dict[str, Any]:
    return telegram.message(chat, body, int(env.clock()))


def tap(env: Env, data: str, chat: int = CHAT) -> dict[str, Any]:
    return telegram.callback(chat, data, int(env.clock()))


def sent_to(chat: int = CHAT) -> list[dict[str, Any]]:
    """What the bot sent to the chat (sendMessage payloads), in order."""
    return [dict(m.payload) for m in local_outbox().to(str(chat)) if m.channel == "telegram"]


def callbacks_answered() -> list[str]:
    return [str(m.payload["id"]) for m in local_outbox().messages if m.payload.get("method") == "answerCallbackQuery"]


def last_keyboard(chat: int = CHAT) -> list[dict[str, str]]:
    for payload in reversed(sent_to(chat)):
        markup = payload.get("reply_markup")
        if markup:
            return [row[0] for row in markup["inline_keyboard"]]
    raise AssertionError("no inline keyboard sent")


def subject_of(env: Env, chat: int = CHAT) -> str:
    return env.wiring.pseudonymizer.subject("telegram", str(chat))


def activate(env: Env, chat: int = CHAT, purposes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole double opt-in from Telegram: the deep link's /start <code>, then the yes button."""
    started = start_optin(env, purposes)
    deliver(env, text(env, f"/start {started['code']}", chat))
    yes, _ = last_keyboard(chat)
    deliver(env, tap(env, yes["callback_data"], chat))
    return started
