"""The Apple channel on its own: tokens, bodies, parsing, outbound payloads and the gateway's requests."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from chatconsent.api.body import BodyRejected, decoded_body
from chatconsent.channels.apple import (
    BUSINESS_EXTENSION,
    AppleAccount,
    AppleChannel,
    MspGatewaySender,
    Refusal,
    address,
    decode_secret,
    link,
    prefilled,
    sign_token,
)
from chatconsent.channels.base import Button, ChannelRejected, InboundKind
from chatconsent.channels.outbox import Outbox

NOW = 1_795_000_000
MSP = "3c9f8e2a-7d41-4b6e-9a0c-51f2d8e4b7a6"
BUSINESS = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SECRET_B64 = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
KEY = decode_secret(SECRET_B64)
OPAQUE = "urn:mbid:AQAAYunittestopaque+/=="


def channel(keys: tuple[bytes, ...] = (KEY,), sender: Any = None) -> AppleChannel:
    account = AppleAccount(MSP, (BUSINESS,), keys)
    return AppleChannel(account, sender or Outbox(), lambda: NOW)


def headers(token: str | None = None, **extra: str) -> dict[str, str]:
    value = {"Authorization": f"Bearer {token or sign_token(KEY, {'aud': MSP, 'iat': NOW})}"}
    return {**value, "destination-id": BUSINESS, "source-id": OPAQUE, "id": "m-1", **extra}


def _segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _hs(header: dict[str, Any], claims: dict[str, Any], key: bytes = KEY, digest: Any = hashlib.sha256) -> str:
    signing = f"{_segment(header)}.{_segment(claims)}"
    signature = hmac.new(key, signing.encode(), digest).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _signed_raw(claims: bytes) -> str:
    """A token signed with the right key whose claims segment is ``claims`` as they are."""
    signing = f"{_segment({'alg': 'HS256'})}.{base64.urlsafe_b64encode(claims).rstrip(b'=').decode()}"
    signature = hmac.new(KEY, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


# -- tokens ----------------------------------------------------------------------------------------------


def test_a_token_signed_with_the_decoded_secret_passes() -> None:
    assert channel().refusal(headers()) is None


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW}, key=SECRET_B64.encode()), Refusal.BAD_TOKEN),  # not decoded
        (_hs({"alg": "HS512"}, {"aud": MSP, "iat": NOW}, digest=hashlib.sha512), Refusal.BAD_TOKEN),
        (f"{_segment({'alg': 'none'})}.{_segment({'aud': MSP, 'iat': NOW})}.", Refusal.BAD_TOKEN),
        (f"{_segment({'alg': 'none'})}.{_segment({'aud': MSP, 'iat': NOW})}.AAAA", Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256", "crit": ["x"]}, {"aud": MSP, "iat": NOW}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, {"aud": BUSINESS, "iat": NOW}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, {"aud": [MSP, "x"], "iat": NOW}), None),  # a list that names us
        (_hs({"alg": "HS256"}, {"aud": MSP}), Refusal.BAD_TOKEN),  # no iat
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": "now"}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW - 3601}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW + 3601}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW - 3600}), None),
        (_hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW, "exp": NOW - 120}), Refusal.BAD_TOKEN),
        (_hs({"alg": "HS256"}, [MSP]), Refusal.BAD_TOKEN),
        ("a.b", Refusal.BAD_TOKEN),
        ("x" * 5000, Refusal.BAD_TOKEN),
        # a header nested deeper than the JSON reader goes, under the size limit: no signature needed
        (f"{base64.urlsafe_b64encode(b'[' * 1500 + b']' * 1500).decode().rstrip('=')}.e30.c2ln", Refusal.BAD_TOKEN),
        (_signed_raw(b"[" * 1400 + b"]" * 1400), Refusal.BAD_TOKEN),  # signed, but its claims nested too deep
    ],
)
def test_tokens(token: str, expected: Refusal | None) -> None:
    assert channel().refusal(headers(token)) is expected


def test_a_tampered_payload_fails_the_signature() -> None:
    token = sign_token(KEY, {"aud": MSP, "iat": NOW})
    head, _, signature = token.split(".")
    forged = f"{head}.{_segment({'aud': MSP, 'iat': NOW + 1})}.{signature}"
    assert channel().refusal(headers(forged)) is Refusal.BAD_TOKEN


def test_no_header_is_401_and_an_unknown_destination_404() -> None:
    without = {k: v for k, v in headers().items() if k != "Authorization"}
    assert channel().refusal(without) is Refusal.NO_AUTHORIZATION
    assert channel().refusal(headers(**{"destination-id": "someone-else"})) is Refusal.UNKNOWN_DESTINATION
    # a bad token with an unknown destination is a bad token: nothing is told about our ids without one
    forged = _hs({"alg": "HS256"}, {"aud": MSP, "iat": NOW}, key=b"x" * 32)
    assert channel().refusal(headers(forged, **{"destination-id": "x"})) is Refusal.BAD_TOKEN


def test_both_secrets_of_a_rotation_are_accepted() -> None:
    old = b"an-older-secret-of-enough-length"
    rotating = channel(keys=(KEY, old))
    assert rotating.refusal(headers(sign_token(old, {"aud": MSP, "iat": NOW}))) is None
    assert channel().refusal(headers(sign_token(old, {"aud": MSP, "iat": NOW}))) is Refusal.BAD_TOKEN


@pytest.mark.parametrize("secret", ["not base64!", "c2hvcnQ=", ""])
def test_a_secret_that_is_not_base64_or_too_short_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="Apple messaging secret"):
        decode_secret(secret)


def test_the_account_never_prints_its_keys() -> None:
    assert KEY.decode() not in repr(AppleAccount(MSP, (BUSINESS,), (KEY,)))


# -- bodies ----------------------------------------------------------------------------------------------


def test_gzip_and_plain_bodies_and_the_limit_after_decompression() -> None:
    raw = json.dumps({"type": "text", "body": "hi"}).encode()
    assert decoded_body(raw, "", 1024) == raw
    assert decoded_body(gzip.compress(raw), "gzip", 1024) == raw
    with pytest.raises(BodyRejected) as refused:
        decoded_body(gzip.compress(b"x" * 2000), "gzip", 1024)
    assert refused.value.status == 413
    with pytest.raises(BodyRejected) as refused:
        decoded_body(gzip.compress(raw) + b"trailing", "gzip", 1024)
    assert refused.value.status == 400


def test_a_gzip_bomb_is_never_inflated_whole() -> None:
    bomb = gzip.compress(b"\0" * 100_000_000)  # 100 MB inflated, ~100 KB compressed
    tracemalloc.start()
    try:
        with pytest.raises(BodyRejected) as refused:
            decoded_body(bomb, "gzip", 262_144)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    assert peak < 4_000_000  # a few times the limit at most, never the 100 MB


# -- parsing ---------------------------------------------------------------------------------------------


def _read(body: dict[str, Any], **extra: str) -> Any:
    return channel().read(json.dumps(body).encode(), headers(**extra))


def test_text_with_the_capabilities_and_the_reply_address() -> None:
    delivery = _read({"type": "text", "body": "Hello"}, **{"capability-list": "LIST, QUICK ,TIME"})
    [message] = delivery.parsed.messages
    assert (message.channel, message.sender, message.message_id, message.kind) == ("apple", OPAQUE, "m-1", "text")
    assert message.text == "Hello" and message.capabilities == frozenset({"LIST", "QUICK", "TIME"})
    assert message.takes_buttons and message.reply_to == address(BUSINESS, OPAQUE)
    assert OPAQUE not in repr(message) and "Hello" not in repr(message)


def test_no_capability_list_means_no_quick_replies() -> None:
    [message] = _read({"type": "text", "body": "Hello"}).parsed.messages
    assert not message.takes_buttons


def test_quick_reply_and_list_picker_answers() -> None:
    quick = {"quick-reply": {"selectedIdentifier": "optin:yes:r1", "selectedIndex": 0}}
    [message] = _read({"type": "interactive", "body": "Yes", "interactiveData": {"data": quick}}).parsed.messages
    assert (message.kind, message.button_id, message.text) == (InboundKind.BUTTON, "optin:yes:r1", "Yes")
    by_index = {"quick-reply": {"selectedIndex": 1, "items": [{"identifier": "a"}, {"identifier": "b", "title": "B"}]}}
    [message] = _read({"type": "interactive", "interactiveData": {"data": by_index}}).parsed.messages
    assert (message.button_id, message.text) == ("b", "B")
    picker = {"listPicker": {"sections": [{"items": [{"identifier": "erase:no:n", "title": "Keep"}]}]}}
    [message] = _read({"type": "interactive", "interactiveData": {"data": picker}}).parsed.messages
    assert message.button_id == "erase:no:n"


def test_close_and_typing_and_unknown_types() -> None:
    [message] = _read({"type": "close"}).parsed.messages
    assert message.kind is InboundKind.BLOCKED and message.signal == "close"  # the ledger's source: apple:close
    for kind in ("typing_start", "typing_end", "richlink", "hologram"):
        delivery = _read({"type": kind})
        assert delivery.parsed.messages == () and delivery.parsed.skipped == 1
    assert _read({"type": "hologram"}).kind == "other"  # metric names stay a fixed set


def test_attachments_keep_type_and_size_only() -> None:
    attachment = {"name": "passport.pdf", "mimeType": "application/pdf", "size": 99, "url": "https://x", "key": "k"}
    [message] = _read({"type": "text", "body": "\ufffc", "attachments": [attachment]}).parsed.messages
    assert message.kind is InboundKind.MEDIA and message.media is not None
    assert (message.media.type, message.media.id, message.media.mime_type, message.media.size) == (
        "document",
        "",
        "application/pdf",
        99,
    )


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        ({"type": "text", "body": "hi"}, {"source-id": "not-an-opaque-id"}),
        ({"type": "text", "body": "hi"}, {"id": ""}),
        ({"type": "text", "body": ""}, {}),
        ({"type": "text", "body": "\ud800"}, {}),
        ({"type": "interactive", "interactiveData": "x"}, {}),
    ],
)
def test_items_without_the_shape_are_skipped(body: dict[str, Any], extra: dict[str, str]) -> None:
    delivery = _read(body, **extra)
    assert delivery.parsed.messages == () and delivery.parsed.skipped == 1


def test_ids_fall_back_to_the_body() -> None:
    raw = json.dumps({"type": "text", "body": "hi", "id": "m-2", "sourceId": OPAQUE}).encode()
    only_auth = {k: v for k, v in headers().items() if k in ("Authorization", "destination-id")}
    [message] = channel().read(raw, only_auth).parsed.messages
    assert (message.message_id, message.sender) == ("m-2", OPAQUE)


# -- outbound --------------------------------------------------------------------------------------------


def test_text_and_quick_reply_payloads() -> None:
    outbox = Outbox()
    apple = channel(sender=outbox)
    apple.send_text(address(BUSINESS, OPAQUE), "Hello")
    apple.send_buttons(address(BUSINESS, OPAQUE), "Sure?", [Button("y", "Yes"), Button("n", "No")])
    text, quick = (m.payload for m in outbox.messages)
    assert (text["type"], text["body"], text["sourceId"], text["destinationId"]) == ("text", "Hello", BUSINESS, OPAQUE)
    assert quick["type"] == "interactive"
    interactive: Any = quick["interactiveData"]
    assert interactive["bid"] == BUSINESS_EXTENSION
    assert interactive["data"]["quick-reply"]["items"] == [
        {"identifier": "y", "title": "Yes"},
        {"identifier": "n", "title": "No"},
    ]
    with pytest.raises(ValueError, match="2 to 5"):
        apple.send_buttons(OPAQUE, "?", [Button("y", "Yes")])
    with pytest.raises(ChannelRejected):
        apple.send_template(OPAQUE, "weekly_offers", "en", [])


def test_the_message_link() -> None:
    url = link(BUSINESS, prefilled("Hello! Shop & Co (Berlin/Mitte). My code: CC-ABC"), "optin", "sales")
    assert url.startswith(f"https://bcrw.apple.com/urn:biz:{BUSINESS}?biz-intent-id=optin&biz-group-id=sales&body=")
    body = url.split("body=", 1)[1]
    assert "CC-ABC" in body and not any(c in body for c in "&#[](){}/")
    assert "%26" not in body and "%2F" not in body  # the forbidden characters are gone, not encoded


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    _Gateway.received, _Gateway.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/message"
    server.shutdown()
    server.server_close()


def test_the_gateway_request(gateway: str) -> None:
    account = AppleAccount(MSP, (BUSINESS,), (KEY,))
    apple = AppleChannel(account, MspGatewaySender(account, lambda: NOW, url=gateway), lambda: NOW)
    sent = apple.send_text(address(BUSINESS, OPAQUE), "Hello")
    [(received, body)] = _Gateway.received
    assert received["id"] == sent and json.loads(body)["id"] == sent
    assert (received["source-id"], received["destination-id"], received["auto-reply"]) == (BUSINESS, OPAQUE, "true")
    token = received["authorization"].removeprefix("Bearer ")
    head, claims, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(head + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(claims + "==")) == {"iss": MSP, "iat": NOW}
    assert token == sign_token(KEY, {"iss": MSP, "iat": NOW})


@pytest.mark.parametrize(("status", "retry"), [(400, False), (404, False), (403, True), (503, True)])
def test_gateway_errors(gateway: str, status: int, retry: bool) -> None:
    _Gateway.status = status
    account = AppleAccount(MSP, (BUSINESS,), (KEY,))
    apple = AppleChannel(account, MspGatewaySender(account, lambda: NOW, url=gateway), lambda: NOW)
    with pytest.raises(ChannelRejected) as rejected:
        apple.send_text(OPAQUE, "Hello")
    assert rejected.value.code == status and rejected.value.unavailable is retry
