"""The three providers' HTTP senders against a local server: the request each makes, and what each
provider answer means (sent, refused for good, throttled, blocked, down, unknown)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chatconsent.channels.apple import AppleAccount, MspGatewaySender
from chatconsent.channels.base import ChannelError, ChannelRejected
from chatconsent.channels.telegram import BotApiSender
from chatconsent.channels.whatsapp import GraphApiSender

PERSON = "+4917000000001"


@dataclass
class Script:
    """What the local provider answers next, and what it received."""

    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


class _Provider(BaseHTTPRequestHandler):
    script: Script

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.script.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        time.sleep(self.script.delay)
        try:
            self.send_response(self.script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.script.body)))
            self.end_headers()
            self.wfile.write(self.script.body)
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (the timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[tuple[str, Script]]:
    script = Script()
    handler = type("Provider", (_Provider,), {"script": script})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def whatsapp(base: str, timeout: float = 5.0) -> GraphApiSender:
    return GraphApiSender("token-1", "1234567890", "v21.0", timeout=timeout, base_url=base)


def telegram(base: str, timeout: float = 5.0) -> BotApiSender:
    return BotApiSender("123:ABC", timeout=timeout, base_url=base)


def apple(base: str, timeout: float = 5.0) -> MspGatewaySender:
    account = AppleAccount("msp-1", ("biz-1",), (b"k" * 32,))
    return MspGatewaySender(account, lambda: 1_795_000_000, timeout=timeout, url=f"{base}/v1/message")


APPLE_PAYLOAD = {"id": "m-1", "sourceId": "biz-1", "destinationId": "urn:mbid:AQAAYopaque", "type": "text"}


# -- WhatsApp --------------------------------------------------------------------------------------------


def test_whatsapp_posts_the_payload_with_the_token_and_returns_the_message_id(provider: tuple[str, Script]) -> None:
    base, script = provider
    script.body = json.dumps({"messages": [{"id": "wamid.X1"}]}).encode()
    sent = whatsapp(base).deliver("whatsapp", PERSON, {"to": PERSON, "type": "text"})
    assert sent == "wamid.X1"
    [(path, headers, body)] = script.received
    assert path == "/v21.0/1234567890/messages"
    assert headers["authorization"] == "Bearer token-1" and headers["content-type"] == "application/json"
    assert json.loads(body) == {"to": PERSON, "type": "text"}


@pytest.mark.parametrize(
    ("status", "answer", "code", "unavailable"),
    [
        (400, {"error": {"code": 131026}}, 131026, False),  # undeliverable: final
        (400, {"error": {"code": 130429}}, 130429, False),  # throughput: the outbox reads RETRY_LATER
        (500, {"error": {"code": 131000}}, 131000, False),
        (503, b"<html>down</html>", None, True),  # the API itself is down
        (400, {"error": {"code": True}}, None, False),  # not a code
        (502, b"[" * 5000 + b"]" * 5000, None, True),  # nested deeper than the JSON reader goes
    ],
)
def test_whatsapp_error_answers(
    provider: tuple[str, Script], status: int, answer: Any, code: int | None, unavailable: bool
) -> None:
    base, script = provider
    script.status, script.body = status, answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    with pytest.raises(ChannelRejected) as refused:
        whatsapp(base).deliver("whatsapp", PERSON, {"to": PERSON})
    assert (refused.value.code, refused.value.unavailable) == (code, unavailable)
    assert PERSON not in str(refused.value)


@pytest.mark.parametrize(
    "answer", [b"not json", b'{"messages": []}', b'{"messages": [{}]}', b"[1]", b"[" * 5000 + b"]" * 5000]
)
def test_whatsapp_answer_without_a_message_id_is_an_unknown_outcome(
    provider: tuple[str, Script], answer: bytes
) -> None:
    base, script = provider
    script.body = answer
    with pytest.raises(ChannelError) as failed:
        whatsapp(base).deliver("whatsapp", PERSON, {"to": PERSON})
    assert not isinstance(failed.value, ChannelRejected)  # it may have been sent: tried again with the same id


# -- Telegram --------------------------------------------------------------------------------------------


def test_telegram_calls_the_method_and_returns_chat_and_message_id(provider: tuple[str, Script]) -> None:
    base, script = provider
    script.body = json.dumps({"ok": True, "result": {"message_id": 77}}).encode()
    sent = telegram(base).deliver("telegram", "4242", {"method": "sendMessage", "chat_id": 4242, "text": "hi"})
    assert sent == "4242:77"
    [(path, _, body)] = script.received
    assert path == "/bot123:ABC/sendMessage" and json.loads(body) == {"chat_id": 4242, "text": "hi"}


def test_telegram_answers_a_callback_query_by_its_id(provider: tuple[str, Script]) -> None:
    base, script = provider
    script.body = b'{"ok": true, "result": true}'
    assert telegram(base).deliver("telegram", "callback:9", {"method": "answerCallbackQuery", "id": "9"}) == ""
    [(path, _, body)] = script.received
    assert path == "/bot123:ABC/answerCallbackQuery" and json.loads(body) == {"callback_query_id": "9"}


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (429, {"ok": False, "parameters": {"retry_after": 7}}, {"code": 429, "retry_after": 7}),
        (429, b"garbage", {"code": 429, "retry_after": 1}),
        (403, {"ok": False, "description": "Forbidden: bot was blocked by the user"}, {"code": 403, "blocked": True}),
        (403, {"ok": False, "description": "Forbidden: bot can't initiate conversation"}, {"blocked": False}),
        (400, {"ok": False, "description": "Bad Request: chat not found"}, {"code": 400, "unavailable": False}),
        (502, b"", {"code": 502, "unavailable": True}),
        (403, b"[" * 5000 + b"]" * 5000, {"code": 403, "blocked": False}),
    ],
)
def test_telegram_error_answers(
    provider: tuple[str, Script], status: int, answer: Any, expected: dict[str, Any]
) -> None:
    base, script = provider
    script.status, script.body = status, answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    with pytest.raises(ChannelRejected) as refused:
        telegram(base).deliver("telegram", "4242", {"method": "sendMessage", "chat_id": 4242, "text": "hi"})
    assert {name: getattr(refused.value, name) for name in expected} == expected


def test_telegram_answer_without_a_message_id_is_an_unknown_outcome(provider: tuple[str, Script]) -> None:
    base, script = provider
    script.body = b'{"ok": true, "result": {}}'
    with pytest.raises(ChannelError) as failed:
        telegram(base).deliver("telegram", "4242", {"method": "sendMessage", "chat_id": 4242, "text": "hi"})
    assert not isinstance(failed.value, ChannelRejected)


# -- Apple -----------------------------------------------------------------------------------------------


def test_apple_returns_the_message_id_it_sent(provider: tuple[str, Script]) -> None:
    base, script = provider
    assert apple(base).deliver("apple", "biz-1:urn:mbid:AQAAYopaque", APPLE_PAYLOAD) == "m-1"
    [(path, headers, body)] = script.received
    assert path == "/v1/message" and headers["id"] == "m-1" and json.loads(body) == APPLE_PAYLOAD


# -- what every sender shares ----------------------------------------------------------------------------

SENDERS = {
    "whatsapp": (whatsapp, {"to": PERSON}),
    "telegram": (telegram, {"method": "sendMessage", "chat_id": 4242, "text": "hi"}),
    "apple": (apple, APPLE_PAYLOAD),
}


@pytest.mark.parametrize("name", SENDERS)
def test_a_refused_connection_means_not_sent_and_the_provider_down(name: str) -> None:
    build, payload = SENDERS[name]
    with pytest.raises(ChannelRejected) as refused:
        build(closed_port()).deliver(name, PERSON, payload)
    assert refused.value.unavailable and refused.value.code is None


@pytest.mark.parametrize("name", SENDERS)
def test_a_timeout_is_an_unknown_outcome(provider: tuple[str, Script], name: str) -> None:
    base, script = provider
    script.delay = 0.5
    build, payload = SENDERS[name]
    with pytest.raises(ChannelError) as failed:
        build(base, timeout=0.1).deliver(name, PERSON, payload)
    assert not isinstance(failed.value, ChannelRejected)
    assert PERSON not in str(failed.value)
