"""The playground's Telegram-style phone over real HTTP: Bot API updates in, the bot's messages out."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from chatconsent.identity import Pseudonymizer
from localrun.aws import DEV_SECRETS, LOCAL_ADMIN_TOKEN
from tests.localrun.test_server import call, server  # noqa: F401 (the module's server fixture)

SEND = "/_local/telegram/send"
PROCESSED = {"status": 200, "answer": {"processed": 1, "skipped": 0}}  # what the page hears back: the route's answer
SKIPPED = {"status": 200, "answer": {"processed": 0, "skipped": 1}}
# fictitious private chats (a chat's id is the person's user id), one per test
OPTIN_CHAT, STOP_CHAT, BLOCK_CHAT = 731_000_101, 731_000_102, 731_000_103


def send(base: str, **request: Any) -> tuple[int, Any]:
    return call(base, "POST", SEND, json.dumps(request).encode(), {"content-type": "application/json"})


def shown(base: str, chat: int) -> list[dict[str, Any]]:
    status, messages = call(base, "GET", f"/_local/telegram/messages?chat={chat}")
    assert status == 200
    return list(messages)


def consents(base: str, chat: int) -> dict[str, Any]:
    """The admin API's view of the chat's consents (the subject: the local pepper's pseudonym)."""
    subject = Pseudonymizer(DEV_SECRETS["pepper"].encode()).subject("telegram", str(chat))
    headers = {"authorization": f"Bearer {LOCAL_ADMIN_TOKEN}"}
    status, view = call(base, "GET", f"/admin/subjects/{subject}/consents", headers=headers)
    assert status == 200
    return dict(view)


def opt_in(base: str, chat: int) -> None:
    """The widget's opt-in, the deep link's ``/start <code>``, the yes button."""
    _, notice = call(base, "GET", "/notices/en")
    body = {
        "purposes": {"customer_service": True},
        "channel": "telegram",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started = call(base, "POST", "/optin", json.dumps(body).encode(), {"content-type": "application/json"})
    link = urllib.parse.urlsplit(started["links"]["telegram"])
    assert status == 201 and (link.scheme, link.netloc) == ("https", "t.me")
    code = urllib.parse.parse_qs(link.query)["start"][0]
    assert code == started["code"]
    assert send(base, chat=chat, text=f"/start {code}") == (200, PROCESSED)
    question = shown(base, chat)[-1]
    assert [b["data"].split(":")[:2] for b in question["buttons"]] == [["optin", "yes"], ["optin", "no"]]
    yes = question["buttons"][0]
    assert send(base, chat=chat, callback_data=yes["data"])[0] == 200
    assert "consent is recorded" in shown(base, chat)[-1]["text"]
    assert consents(base, chat)["purposes"] == {"customer_service": "active"}


def test_the_whole_double_opt_in_from_the_telegram_phone(server: str) -> None:  # noqa: F811
    assert shown(server, OPTIN_CHAT) == []
    opt_in(server, OPTIN_CHAT)
    after = shown(server, OPTIN_CHAT)
    assert len(after) == 2 and after[-1]["buttons"] == []  # the question, then the confirmation
    status, page = call(server, "GET", "/playground/telegram")
    assert status == 200 and "/_local/telegram/send" in page and 'data-testid="tg-start"' in page


def test_stop_typed_on_the_phone_withdraws(server: str) -> None:  # noqa: F811
    opt_in(server, STOP_CHAT)
    assert send(server, chat=str(STOP_CHAT), text="STOP")[0] == 200  # the page may send the id as digits
    assert "withdrawn" in shown(server, STOP_CHAT)[-1]["text"].lower()
    view = consents(server, STOP_CHAT)
    assert view["purposes"] == {"customer_service": "withdrawn"} and view["ledger_verified"] is True


def test_blocking_the_bot_withdraws_and_unblocking_is_no_consent(server: str) -> None:  # noqa: F811
    opt_in(server, BLOCK_CHAT)
    before = shown(server, BLOCK_CHAT)
    assert send(server, chat=BLOCK_CHAT, block=True) == (200, PROCESSED)
    assert consents(server, BLOCK_CHAT)["purposes"] == {"customer_service": "withdrawn"}
    assert send(server, chat=BLOCK_CHAT, unblock=True) == (200, SKIPPED)
    assert send(server, chat=BLOCK_CHAT, text="hello")[0] == 200
    assert shown(server, BLOCK_CHAT) == before  # nothing reaches a chat that blocked the bot
    assert consents(server, BLOCK_CHAT)["purposes"] == {"customer_service": "withdrawn"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "JSON expected"),
        (b"[1]", "a JSON object expected"),
        (json.dumps({"text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": 0, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": -5, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": 2**52, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": True, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": 7.5, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": "9" * 5000, "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": "٣", "text": "hi"}).encode(), "chat:"),
        (json.dumps({"chat": 731_000_199}).encode(), "something to send"),
        (json.dumps({"chat": 731_000_199, "text": "   ", "callback_data": ""}).encode(), "something to send"),
    ],
)
def test_the_telegram_phone_refuses_what_is_no_update(server: str, body: bytes, reason: str) -> None:  # noqa: F811
    status, answer = call(server, "POST", SEND, body, {"content-type": "application/json"})
    assert status == 400 and reason in answer["error"]


@pytest.mark.parametrize("chat", ["", "0", "-1", "abc", str(2**52), "9" * 5000])
def test_the_messages_of_no_chat_are_refused(server: str, chat: str) -> None:  # noqa: F811
    status, answer = call(server, "GET", "/_local/telegram/messages?chat=" + urllib.parse.quote(chat))
    assert status == 400 and answer["error"].startswith("chat:")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", SEND),
        ("POST", "/_local/telegram/messages"),
        ("POST", "/playground/telegram"),
        ("DELETE", "/playground/telegram"),
        ("PUT", "/_local/apple/send"),
        ("POST", "/playground"),
    ],
)
def test_a_wrong_method_is_405(server: str, method: str, path: str) -> None:  # noqa: F811
    assert call(server, method, path, b"{}" if method != "GET" else None)[0] == 405
