"""The playground's Apple-style device over real HTTP: Apple's requests in, the outbox's answers out."""

from __future__ import annotations

import json
import urllib.parse

from tests.apple_flow import OTHER
from tests.localrun.test_server import call, server  # noqa: F401 (the module's server fixture)

DEVICE = OTHER


def test_opt_in_quick_reply_and_close_through_the_apple_device(server: str) -> None:  # noqa: F811
    _, notice = call(server, "GET", "/notices/en")
    body = {
        "purposes": {"customer_service": True},
        "channel": "apple",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started = call(server, "POST", "/optin", json.dumps(body).encode(), {"content-type": "application/json"})
    assert status == 201 and started["links"]["apple"].startswith("https://bcrw.apple.com/urn:biz:")
    prefilled = urllib.parse.parse_qs(urllib.parse.urlsplit(started["links"]["apple"]).query)["body"][0]
    send = "/_local/apple/send"
    assert call(server, "POST", send, json.dumps({"from": DEVICE, "text": prefilled}).encode()) == (
        200,
        {"status": 200},
    )
    messages = "/_local/apple/messages?to=" + urllib.parse.quote(DEVICE)
    _, chat = call(server, "GET", messages)
    assert chat[-1]["type"] == "quick_reply"
    yes = chat[-1]["buttons"][0]
    assert call(server, "POST", send, json.dumps({"from": DEVICE, "quick_reply": yes}).encode())[0] == 200
    _, chat = call(server, "GET", messages)
    assert "consent is recorded" in chat[-1]["text"]
    assert call(server, "POST", send, json.dumps({"from": DEVICE, "close": True}).encode()) == (200, {"status": 200})
    assert call(server, "POST", send, json.dumps({"from": DEVICE, "text": "hello"}).encode())[0] == 200
    _, after = call(server, "GET", messages)
    assert len(after) == len(chat)  # nothing after a delete
    assert call(server, "GET", "/playground/apple")[0] == 200


def test_the_apple_device_refuses_what_is_no_message(server: str) -> None:  # noqa: F811
    send = "/_local/apple/send"
    assert call(server, "POST", send, b"not json")[0] == 400
    assert call(server, "POST", send, json.dumps({"from": "+49 170 1", "text": "hi"}).encode())[0] == 400
    assert call(server, "POST", send, json.dumps({"from": DEVICE}).encode())[0] == 400
    assert call(server, "GET", "/_local/apple/messages?to=x")[0] == 400
