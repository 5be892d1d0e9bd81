"""Drives the product as the widget and Apple's Messages for Business service would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chatconsent.channels.apple import address
from chatconsent.wiring import local_outbox
from localrun import apple
from localrun.aws import DEV_SECRETS, KEY_TABLE_NAME, TABLE_NAME
from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.flow import optin_event

SECRET = DEV_SECRETS["apple/messaging-secret"]
PREVIOUS_SECRET = DEV_SECRETS["apple/messaging-secret-previous"]
MSP_ID, BUSINESS_ID = apple.account()
# Opaque ids as Apple's look; the suite-wide check in tests/conftest.py looks for them in every output.
PERSON = "urn:mbid:AQAAY45PVG4jgPersonOpaqueIdForTestsOnly0000000000000000000000000000000000000000="
OTHER = "urn:mbid:AQAAY0qk7se2OtherOpaqueIdForTestsOnly000000000000000000000000000000000000000000="


def event(
    env: Env,
    payload: dict[str, Any] | bytes,
    *,
    source: str = PERSON,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    compress: bool = False,
    capabilities: str = apple.DEFAULT_CAPABILITIES,
) -> dict[str, Any]:
    """An API Gateway event of Apple's request (``headers`` override the signed ones; None values drop)."""
    message_id = message_id or (payload.get("id") if isinstance(payload, dict) else None) or str(uuid.uuid4())
    sent = apple.headers(source, SECRET, int(env.clock()), message_id=message_id, capabilities=capabilities)
    if isinstance(payload, bytes):
        raw, extra = payload, {}
    else:
        raw, extra = apple.encoded(payload, compress)
    merged = {**sent, **extra, **(headers or {})}
    return http_event(
        "POST",
        apple.MESSAGE_PATH,
        body=raw,
        headers={k: v for k, v in merged.items() if v is not None},
        base64_body=compress or isinstance(payload, bytes),
    )


def post(env: Env, payload: dict[str, Any] | bytes, **kwargs: Any) -> dict[str, Any]:
    return env.invoke("apple", event(env, payload, **kwargs))


def send_text(
    env: Env, body: str, source: str = PERSON, message_id: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    message_id = message_id or str(uuid.uuid4())
    return post(env, apple.text_body(source, message_id, body), source=source, message_id=message_id, **kwargs)


def tap(env: Env, identifier: str, title: str = "Yes", source: str = PERSON, **kwargs: Any) -> dict[str, Any]:
    message_id = str(uuid.uuid4())
    body = apple.quick_reply_body(source, message_id, identifier, title)
    return post(env, body, source=source, message_id=message_id, **kwargs)


def close(env: Env, source: str = PERSON, message_id: str | None = None) -> dict[str, Any]:
    message_id = message_id or str(uuid.uuid4())
    return post(env, apple.close_body(source, message_id), source=source, message_id=message_id)


def start_optin(env: Env, **kwargs: Any) -> dict[str, Any]:
    response = env.invoke("optin", optin_event(channel="apple", **kwargs))
    assert response["statusCode"] == 201, response
    started: dict[str, Any] = json_body(response)
    return started


def replies_to(source: str = PERSON) -> list[dict[str, Any]]:
    return [dict(m.payload) for m in local_outbox().to(address(BUSINESS_ID, source))]


def quick_reply_items(source: str = PERSON) -> list[dict[str, str]]:
    for payload in reversed(replies_to(source)):
        if payload.get("type") == "interactive":
            return list(payload["interactiveData"]["data"]["quick-reply"]["items"])  # type: ignore[index]
    raise AssertionError("no quick reply sent")


def subject_of(env: Env, source: str = PERSON) -> str:
    return env.wiring.pseudonymizer.subject("apple", source)


def activate(env: Env, source: str = PERSON, **optin: Any) -> None:
    """The whole double opt-in from Apple's Messages: the code (as the link types it), then the quick reply."""
    started = start_optin(env, **optin)
    send_text(env, f"My code: {started['code']}", source=source)
    yes = quick_reply_items(source)[0]
    tap(env, yes["identifier"], yes["title"], source=source)


def snapshot(env: Env) -> str:
    """Every item of both tables, as a comparable text."""
    items: list[Any] = []
    for table in (TABLE_NAME, KEY_TABLE_NAME):
        items += sorted(
            env.dynamodb.scan(TableName=table)["Items"], key=lambda i: json.dumps(i, sort_keys=True, default=str)
        )
    return json.dumps(items, sort_keys=True, default=str)
