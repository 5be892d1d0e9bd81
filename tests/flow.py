"""Drives the product as the widget and Meta would: HTTP events into the handlers."""

from __future__ import annotations

import json
from typing import Any

from chatconsent.config import current_config
from chatconsent.notices import NoticeRegistry
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from localrun.aws import DEV_SECRETS
from localrun.events import http_event
from tests.conftest import Env, json_body

PHONE_NUMBER_ID = current_config().channels.whatsapp.phone_number_id
APP_SECRET = DEV_SECRETS["whatsapp/app-secret"]
PERSON = "491701234567"  # a WhatsApp sender id (digits), E.164 +491701234567
OTHER = "393471234567"


def optin_event(purposes: dict[str, Any] | None = None, language: str = "en", **overrides: Any) -> dict[str, Any]:
    notice = NoticeRegistry().get(language if language in ("de", "en", "it") else "en")
    body = {
        "purposes": purposes if purposes is not None else {"customer_service": True},
        "channel": "whatsapp",
        "language": language,
        "notice_version": notice.version,
        "notice_sha256": notice.sha256,
        **overrides,
    }
    return http_event("POST", "/optin", body=json.dumps(body), headers={"content-type": "application/json"})


def start_optin(env: Env, **kwargs: Any) -> dict[str, Any]:
    response = env.invoke("optin", optin_event(**kwargs))
    assert response["statusCode"] == 201, response
    started: dict[str, Any] = json_body(response)
    return started


def webhook_event(payload: dict[str, Any], secret: str = APP_SECRET) -> dict[str, Any]:
    body, headers = whatsapp.signed(payload, secret)
    return http_event("POST", "/webhooks/whatsapp", body=body, headers=headers)


def deliver(env: Env, payload: dict[str, Any], secret: str = APP_SECRET) -> dict[str, Any]:
    return env.invoke("inbound", webhook_event(payload, secret))


def text(env: Env, body: str, sender: str = PERSON, wamid: str | None = None) -> dict[str, Any]:
    return whatsapp.text(sender, body, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()), wamid=wamid)


def button(
    env: Env, button_id: str, title: str = "Yes", sender: str = PERSON, wamid: str | None = None
) -> dict[str, Any]:
    return whatsapp.button_reply(
        sender, button_id, title, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()), wamid=wamid
    )


def replies_to(sender: str = PERSON) -> list[dict[str, Any]]:
    return [dict(m.payload) for m in local_outbox().to("+" + sender)]


def last_buttons(sender: str = PERSON) -> list[dict[str, str]]:
    for payload in reversed(replies_to(sender)):
        if payload.get("type") == "interactive":
            return [b["reply"] for b in payload["interactive"]["action"]["buttons"]]  # type: ignore[index]
    raise AssertionError("no button message sent")


def reply_text(payload: dict[str, Any]) -> str:
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    return str(payload["interactive"]["body"]["text"])


def subject_of(env: Env, sender: str = PERSON) -> str:
    return env.wiring.pseudonymizer.subject("whatsapp", "+" + sender)


def activate(env: Env, purposes: dict[str, Any] | None = None, sender: str = PERSON) -> None:
    """The whole double opt-in for ``sender``: code, then yes."""
    started = start_optin(env, purposes=purposes)
    deliver(env, text(env, f"My code: {started['code']}", sender=sender))
    deliver(env, text(env, "yes", sender=sender))
