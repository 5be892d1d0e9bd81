"""The Telegram channel: the secret token, what an update is read as, what is sent, what a refusal means."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.channels.base import Button, ChannelRejected, InboundKind, MalformedPayload
from chatconsent.channels.outbox import Outbox
from chatconsent.channels.telegram import SECRET_HEADER, TelegramChannel, _refusal
from chatconsent.outbox import retryable
from localrun import telegram

CHAT = 7311904826
NOW = 1_795_000_000


def channel(outbox: Outbox | None = None) -> TelegramChannel:
    return TelegramChannel(("current_token", "previous_token"), outbox or Outbox())


def parse(update: dict[str, Any], received_at: int | None = None) -> Any:
    return channel().parse(json.dumps(update).encode(), received_at)


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({SECRET_HEADER: "current_token"}, True),
        ({"X-Telegram-Bot-Api-Secret-Token": "previous_token"}, True),  # header names in any case
        ({SECRET_HEADER: "current_tokeN"}, False),
        ({SECRET_HEADER: ""}, False),
        ({SECRET_HEADER: "current_token "}, False),
        ({SECRET_HEADER: "ünïcödé"}, False),
        ({}, False),
        ({"x-hub-signature-256": "current_token"}, False),
    ],
)
def test_only_a_live_secret_token_in_its_header_passes(headers: dict[str, str], ok: bool) -> None:
    assert channel().verify(headers, b"anything") is ok


def test_a_channel_without_a_token_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        TelegramChannel((), Outbox())


def test_a_start_command_is_a_text_from_the_chat_and_the_profile_is_not_kept() -> None:
    parsed = parse(telegram.message(CHAT, "/start CC-ABC", NOW, update_id=42))
    [message] = parsed.messages
    assert (message.channel, message.sender, message.message_id, message.timestamp) == (
        "telegram",
        str(CHAT),
        "42",
        NOW,
    )
    assert message.kind is InboundKind.TEXT and message.text == "/start CC-ABC"
    assert "Testperson" not in repr(message) and str(CHAT) not in repr(message)


def test_a_tap_is_a_button_with_its_data_dated_when_received() -> None:
    update = telegram.callback(CHAT, "optin:yes:1234", NOW - 500, update_id=43)
    [message] = parse(update, received_at=NOW).messages
    assert message.kind is InboundKind.BUTTON and message.button_id == "optin:yes:1234" and message.text is None
    assert message.timestamp == NOW and message.signal == update["callback_query"]["id"]
    assert parse(update).messages[0].timestamp == NOW - 500  # without a receipt time: the message's date


def test_a_photo_is_kept_as_metadata_of_its_largest_size_without_the_caption() -> None:
    [message] = parse(telegram.photo(CHAT, NOW, caption="Telegram private note")).messages
    assert message.kind is InboundKind.MEDIA and message.text is None
    assert message.media is not None and (message.media.id, message.media.size) == ("AgAClarge", 54000)


def test_the_bot_blocked_is_a_blocked_signal_and_unblocked_is_skipped() -> None:
    [message] = parse(telegram.member_status(CHAT, "kicked", NOW)).messages
    assert message.kind is InboundKind.BLOCKED and message.signal == "my_chat_member_kicked"
    assert parse(telegram.member_status(CHAT, "member", NOW)).skipped == 1


@pytest.mark.parametrize("body", [b"", b"null", b"{", b"[1]", b'{"update_id": 1.5}', b"\xff"])
def test_what_is_not_an_update_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        channel().parse(body)


def test_sends_text_and_an_inline_keyboard_to_the_chat() -> None:
    outbox = Outbox()
    sender = channel(outbox)
    sender.send_text(str(CHAT), "x" * 5000)
    sender.send_buttons(str(CHAT), "Agree?", [Button("optin:yes:1", "Yes"), Button("optin:no:1", "No")])
    first, second = (m.payload for m in outbox.to(str(CHAT)))
    assert first == {"method": "sendMessage", "chat_id": CHAT, "text": "x" * 4096}
    assert second["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "optin:yes:1"}],
            [{"text": "No", "callback_data": "optin:no:1"}],
        ]
    }
    with pytest.raises(ValueError):
        sender.send_buttons(str(CHAT), "?", [Button("x" * 65, "Too long")])
    with pytest.raises(ChannelRejected) as refused:
        sender.send_template(str(CHAT), "renewal", "en", [])
    assert not retryable(refused.value)


@pytest.mark.parametrize(
    ("status", "body", "retry", "blocked"),
    [
        (429, {"description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}, True, False),
        (429, {}, True, False),
        (403, {"description": "Forbidden: bot was blocked by the user"}, False, True),
        (403, {"description": "Forbidden: user is deactivated"}, False, False),
        (400, {"description": "Bad Request: chat not found"}, False, False),
        (502, {}, True, False),
    ],
)
def test_what_a_refusal_means(status: int, body: dict[str, Any], retry: bool, blocked: bool) -> None:
    refusal = _refusal(status, json.dumps(body).encode())
    assert retryable(refusal) is retry and refusal.blocked is blocked
    if status == 429:
        assert refusal.retry_after == body.get("parameters", {}).get("retry_after", 1)
    assert "blocked by the user" not in str(refusal) or blocked
