"""Telegram Bot API: the webhook's secret token, its updates, and sending through ``sendMessage``.

Telegram does not sign its webhooks: ``setWebhook(url, secret_token=...)`` makes it send the token
verbatim in ``X-Telegram-Bot-Api-Secret-Token`` on every request. It is compared in constant time
against every live token (the current one and, during a rotation, the previous one) before the body
is read. One update arrives per request; its ``update_id`` is the delivery's id (a repeat is dropped).

What is read of an update, and nothing else: in private chats only, the chat id (the person, as a
bot sees them), the message's date, its text or button data, a media item's metadata, and the
bot's own membership status (``kicked``: the person blocked the bot). ``from`` (first name,
username, language) and every profile field stay unread (Art. 5(1)(c)). Parsing uses the standard
library only: the webhook's function starts without pydantic.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chatconsent.channels import fields
from chatconsent.channels.base import (
    Button,
    ChannelError,
    ChannelRejected,
    InboundKind,
    InboundMessage,
    MalformedPayload,
    MediaMeta,
    MessageSender,
    ParsedWebhook,
)
from chatconsent.channels.http import json_answer, post_json

if TYPE_CHECKING:
    from chatconsent.clock import Clock
    from chatconsent.config import BusinessConfig
    from chatconsent.secrets import Secrets

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header's name)
SECRET_TOKEN_PARAMETER = "telegram/secret-token"  # noqa: S105 (a parameter's name)
BOT_TOKEN_PARAMETER = "telegram/bot-token"  # noqa: S105
BOT_API_URL = "https://api.telegram.org"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes
MAX_SECRET_TOKEN = 256
# A private chat's id is the user's id: a positive integer below 2**52 (Telegram's stated bound).
MAX_CHAT_ID = 2**52
_MEDIA = ("photo", "document", "audio", "voice", "video", "video_note", "sticker", "animation")
BLOCKED_STATUS = "kicked"
BLOCKED_SIGNAL = "my_chat_member_kicked"  # the ledger's source: telegram:my_chat_member_kicked
SEND_BLOCKED = "bot was blocked by the user"


def secret_token_of(headers: Mapping[str, str]) -> str | None:
    """The secret-token header as sent (None when absent)."""
    return next((v for k, v in headers.items() if k.lower() == SECRET_HEADER), None)


def _chat_id(message: Mapping[str, Any]) -> str | None:
    """The person of a private chat, as a decimal string; None for groups, channels or a bad id."""
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = fields.integer(chat.get("id"))
    return str(chat_id) if chat_id is not None and 0 < chat_id < MAX_CHAT_ID else None


def _media(message: Mapping[str, Any]) -> MediaMeta | None:
    for kind in _MEDIA:
        item = message.get(kind)
        if kind == "photo" and isinstance(item, list) and item:
            item = item[-1]  # the largest size
        if isinstance(item, dict) and isinstance(item.get("file_id"), str):
            size = fields.integer(item.get("file_size"))
            mime = fields.string(item.get("mime_type"), 128) or ("image/jpeg" if kind == "photo" else "")
            return MediaMeta(kind, item["file_id"][:256], mime, size if size is None or size >= 0 else None)
    return None


class TelegramChannel:
    name = "telegram"

    def __init__(self, secret_tokens: Sequence[str], sender: MessageSender) -> None:
        if not secret_tokens:
            raise ValueError("at least one secret token is required")
        self._tokens = tuple(t.encode("utf-8") for t in secret_tokens)
        self._sender = sender

    # -- inbound -------------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        """The header equals a live secret token (every token compared: the time taken tells nothing)."""
        supplied = secret_token_of(headers)
        if supplied is None or len(supplied) > MAX_SECRET_TOKEN:
            return False
        supplied_bytes = supplied.encode("utf-8", "replace")
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(token, supplied_bytes)
        return matched

    def parse(self, raw_body: bytes, received_at: int | None = None) -> ParsedWebhook:
        """One update: a message, a button's callback or the bot's membership; anything else is skipped.

        A callback carries no date of its own: it is dated ``received_at`` (the webhook's clock), else
        by the message it belongs to.
        """
        try:  # not JSON, not UTF-8, too deep
            update = json.loads(raw_body)
        except (ValueError, RecursionError):
            raise MalformedPayload("not a Telegram update (not JSON)") from None
        if not isinstance(update, dict) or fields.integer(update.get("update_id")) is None:
            raise MalformedPayload("not a Telegram update (no update_id)")
        if not fields.storable(update):
            return ParsedWebhook(skipped=1)
        update_id = str(update["update_id"])
        parsed: InboundMessage | None = None
        if isinstance(update.get("message"), dict):
            parsed = self._message(update_id, update["message"])
        elif isinstance(update.get("callback_query"), dict):
            parsed = self._callback(update_id, update["callback_query"], received_at)
        elif isinstance(update.get("my_chat_member"), dict):
            parsed = self._membership(update_id, update["my_chat_member"])
        # edited messages, group and channel posts, inline queries, ...: not ours to act on
        return ParsedWebhook(messages=(parsed,)) if parsed is not None else ParsedWebhook(skipped=1)

    def _message(self, update_id: str, message: Mapping[str, Any]) -> InboundMessage | None:
        sender, date = _chat_id(message), fields.integer(message.get("date"))
        if sender is None or date is None:
            return None
        text = fields.string(message.get("text"), MAX_TEXT)
        if text is not None:
            return InboundMessage(self.name, sender, update_id, date, InboundKind.TEXT, text)
        media = _media(message)  # metadata only: the file is never downloaded, a caption never kept
        kind = InboundKind.MEDIA if media is not None else InboundKind.OTHER
        return InboundMessage(self.name, sender, update_id, date, kind, media=media)

    def _callback(self, update_id: str, callback: Mapping[str, Any], received_at: int | None) -> InboundMessage | None:
        """A tap on an inline button (``signal``: the callback's id, to answer it)."""
        message = callback.get("message")
        data = fields.string(callback.get("data"), MAX_CALLBACK_DATA)
        callback_id = fields.string(callback.get("id"), 256)
        if not isinstance(message, dict) or data is None or callback_id is None:
            return None
        date = received_at if received_at is not None else fields.integer(message.get("date"))
        sender = _chat_id(message)
        if sender is None or date is None:
            return None
        return InboundMessage(
            self.name, sender, update_id, date, InboundKind.BUTTON, button_id=data, signal=callback_id
        )

    def _membership(self, update_id: str, change: Mapping[str, Any]) -> InboundMessage | None:
        """The person blocked the bot (``kicked``): a withdrawal. Any other change is skipped."""
        sender, date = _chat_id(change), fields.integer(change.get("date"))
        status = (change.get("new_chat_member") or {}).get("status") if isinstance(change, dict) else None
        if sender is None or date is None or status != BLOCKED_STATUS:
            return None
        return InboundMessage(self.name, sender, update_id, date, InboundKind.BLOCKED, signal=BLOCKED_SIGNAL)

    # -- outbound ------------------------------------------------------------------------------

    def _send(self, to: str, body: dict[str, Any]) -> str:
        payload = {"method": "sendMessage", "chat_id": int(to), **body}
        return self._sender.deliver(self.name, to, payload)

    def send_text(self, to: str, text: str) -> str:
        return self._send(to, {"text": text[:MAX_TEXT]})

    def send_buttons(self, to: str, text: str, buttons: Sequence[Button]) -> str:
        if not buttons or any(len(b.id.encode("utf-8")) > MAX_CALLBACK_DATA for b in buttons):
            raise ValueError("Telegram inline buttons: at least one, callback data at most 64 bytes")
        keyboard = [[{"text": b.title, "callback_data": b.id}] for b in buttons]
        return self._send(to, {"text": text[:MAX_TEXT], "reply_markup": {"inline_keyboard": keyboard}})

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str:
        raise ChannelRejected("Telegram has no message templates")

    def answer_callback(self, callback_id: str) -> None:
        """Tell Telegram the tap was taken (the button stops spinning); best effort."""
        self._sender.deliver(self.name, f"callback:{callback_id}", {"method": "answerCallbackQuery", "id": callback_id})


def _refusal(status: int, answer: bytes) -> ChannelRejected:
    """What an error answer means: throttled, blocked, down, or refused for good."""
    try:
        decoded = json.loads(answer)
    except (ValueError, RecursionError):
        decoded = {}
    body: Mapping[str, Any] = decoded if isinstance(decoded, dict) else {}
    description = str(body.get("description", "")).lower()
    parameters = body.get("parameters")
    retry_after = fields.integer(parameters.get("retry_after")) if isinstance(parameters, dict) else None
    if status == 429:
        return ChannelRejected("Telegram API throttled the send", 429, retry_after=retry_after or 1)
    if status == 403 and SEND_BLOCKED in description:
        return ChannelRejected("Telegram API: the person blocked the bot", 403, blocked=True)
    return ChannelRejected(f"Telegram API answered {status}", status, unavailable=status >= 500)


class BotApiSender:
    """Calls ``https://api.telegram.org/bot<token>/<method>`` with the payload's ``method``."""

    def __init__(self, bot_token: str, timeout: float = 5.0, base_url: str = BOT_API_URL) -> None:
        self._base = f"{base_url}/bot{bot_token}/"
        self._timeout = timeout

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str:
        body = {k: v for k, v in payload.items() if k != "method"}
        method = str(payload.get("method", "sendMessage"))
        if method == "answerCallbackQuery":
            body = {"callback_query_id": payload["id"]}
        answer = post_json(
            self._base + method, body, {}, provider="Telegram API", refusal=_refusal, timeout=self._timeout
        )
        if method != "sendMessage":
            return ""
        decoded = json_answer(answer, "Telegram API")
        result = decoded.get("result") if isinstance(decoded, dict) else None
        if not isinstance(result, dict) or fields.integer(result.get("message_id")) is None:
            raise ChannelError("Telegram API response without a message id")
        return f"{recipient}:{result['message_id']}"  # message ids are unique per chat only


def build(config: BusinessConfig, secrets: Secrets, sender: MessageSender | None, clock: Clock) -> TelegramChannel:
    """The registry's builder: through the Bot API, or through ``sender`` (the local outbox); no clock used."""
    if sender is None:
        sender = BotApiSender(secrets.channel_secret(BOT_TOKEN_PARAMETER))
    return TelegramChannel(secrets.rotating(SECRET_TOKEN_PARAMETER), sender)
