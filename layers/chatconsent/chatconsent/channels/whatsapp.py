"""WhatsApp Cloud API: webhook verification and parsing, and sending through the Graph API.

Webhooks are signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``;
the check runs on the exact bytes received, in constant time, against every live app secret.
Profile names in ``contacts[]`` are never read (Art. 5(1)(c)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    PreferenceUpdate,
    StatusUpdate,
)
from chatconsent.channels.http import json_answer, post_json
from chatconsent.identity import InvalidIdentifier, normalize_whatsapp_id

if TYPE_CHECKING:
    from chatconsent.clock import Clock
    from chatconsent.config import BusinessConfig
    from chatconsent.secrets import Secrets

SIGNATURE_HEADER = "x-hub-signature-256"
GRAPH_API_URL = "https://graph.facebook.com"
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_TEXT = 4096
_MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
_NUMBER_CHANGES = frozenset({"user_changed_number", "customer_changed_number"})  # the newer name, the older


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Text(_Lenient):
    body: str = Field(max_length=MAX_TEXT)


class _Reply(_Lenient):
    id: str = Field(max_length=256)
    title: str = Field(default="", max_length=MAX_TEXT)


class _Interactive(_Lenient):
    type: str
    button_reply: _Reply | None = None
    list_reply: _Reply | None = None


class _TemplateButton(_Lenient):
    payload: str = Field(default="", max_length=256)
    text: str = Field(default="", max_length=MAX_TEXT)


class _System(_Lenient):
    """A system message: only its type is read (its body names the person and both numbers)."""

    type: str = Field(default="", max_length=64)


class _Media(_Lenient):
    id: str = Field(max_length=256)
    mime_type: str = Field(default="", max_length=128)
    file_size: int | None = Field(default=None, ge=0)


class _Message(_Lenient):
    sender: str = Field(alias="from", max_length=32)
    id: str = Field(max_length=256)
    timestamp: int
    type: str = Field(max_length=32)
    text: _Text | None = None
    interactive: _Interactive | None = None
    button: _TemplateButton | None = None
    image: _Media | None = None
    audio: _Media | None = None
    video: _Media | None = None
    document: _Media | None = None
    sticker: _Media | None = None
    system: _System | None = None


class _Status(_Lenient):
    id: str = Field(max_length=256)
    status: str = Field(max_length=32)
    recipient_id: str = Field(max_length=32)
    timestamp: int


class _Preference(_Lenient):
    wa_id: str = Field(max_length=32)
    category: str = Field(max_length=64)
    value: str = Field(max_length=32)
    timestamp: int = 0


class _Metadata(_Lenient):
    phone_number_id: str


class _Value(_Lenient):
    """Items are validated one by one: one that cannot be read is skipped, the rest still count."""

    metadata: _Metadata | None = None
    messages: list[Any] = Field(default_factory=list, max_length=1000)
    statuses: list[Any] = Field(default_factory=list, max_length=1000)
    user_preferences: list[Any] = Field(default_factory=list, max_length=1000)


_M = TypeVar("_M", bound=BaseModel)


def _is_text(value: Any) -> bool:
    """Whether every string in ``value`` can be stored and sent (a lone surrogate such as ``\\ud800`` cannot)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _each(model: type[_M], items: list[Any]) -> tuple[list[_M], int]:
    """The items that have the provider's shape and hold only storable text, and how many did not."""
    valid: list[_M] = []
    for item in items:
        if not _is_text(item):
            continue
        try:
            valid.append(model.model_validate(item))
        except ValidationError:
            continue
    return valid, len(items) - len(valid)


class _Change(_Lenient):
    field: str
    value: _Value


class _Entry(_Lenient):
    id: str
    changes: list[_Change] = Field(default_factory=list, max_length=1000)


class _Payload(_Lenient):
    object: str
    entry: list[_Entry] = Field(max_length=1000)


def _number(wa_id: str) -> str | None:
    """E.164 of a WhatsApp id, or None when it is not a valid number (the item is skipped)."""
    try:
        return normalize_whatsapp_id(wa_id)
    except InvalidIdentifier:
        return None


def signature_for(secret: bytes, raw_body: bytes) -> str:
    """The header value Meta would send for ``raw_body`` (also used by tests and the playground)."""
    return "sha256=" + hmac.new(secret, raw_body, hashlib.sha256).hexdigest()


class WhatsAppChannel:
    name = "whatsapp"

    def __init__(self, app_secrets: Sequence[bytes], phone_number_id: str, sender: MessageSender) -> None:
        if not app_secrets:
            raise ValueError("at least one app secret is required")
        self._secrets = tuple(app_secrets)
        self._phone_number_id = phone_number_id
        self._sender = sender

    # -- inbound -------------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        supplied = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
        if not supplied.startswith("sha256="):
            return False
        supplied_bytes = supplied.encode("ascii", "replace")
        matched = False
        for secret in self._secrets:  # check every secret: the time taken does not tell which one
            matched |= hmac.compare_digest(signature_for(secret, raw_body).encode("ascii"), supplied_bytes)
        return matched

    def parse(self, raw_body: bytes) -> ParsedWebhook:
        """Every message and status of a (possibly batched) payload, for our phone number only."""
        try:  # Python's parser keeps a lone surrogate in one item instead of refusing the whole batch
            payload = _Payload.model_validate(json.loads(raw_body))
        except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, or not the provider's shape
            problems = error.error_count() if isinstance(error, ValidationError) else 1
            raise MalformedPayload(f"not a WhatsApp webhook payload ({problems} problems)") from None
        if payload.object != "whatsapp_business_account":
            raise MalformedPayload("not a WhatsApp Business Account webhook")
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        preferences: list[PreferenceUpdate] = []
        skipped = 0
        for entry in payload.entry:
            for change in entry.changes:
                value = change.value
                if (
                    change.field not in ("messages", "user_preferences")
                    or value.metadata is None  # not addressed to a number we know: not ours
                    or value.metadata.phone_number_id != self._phone_number_id
                ):
                    skipped += len(value.messages) + len(value.statuses) or 1
                    continue
                preference_items, bad_preferences = _each(_Preference, value.user_preferences)
                message_items, bad_messages = _each(_Message, value.messages)
                status_items, bad_statuses = _each(_Status, value.statuses)
                skipped += bad_preferences + bad_messages + bad_statuses
                for preference in preference_items:
                    if (sender := _number(preference.wa_id)) is None:
                        skipped += 1
                        continue
                    preferences.append(
                        PreferenceUpdate(self.name, sender, preference.category, preference.value, preference.timestamp)
                    )
                for message in message_items:
                    parsed = self._message(message)
                    if parsed is None:
                        skipped += 1
                    else:
                        messages.append(parsed)
                for status in status_items:
                    if (recipient := _number(status.recipient_id)) is None:
                        skipped += 1
                        continue
                    statuses.append(StatusUpdate(self.name, recipient, status.id, status.status, status.timestamp))
        return ParsedWebhook(tuple(messages), tuple(statuses), skipped, tuple(preferences))

    def _message(self, message: _Message) -> InboundMessage | None:
        if (sender := _number(message.sender)) is None:
            return None
        kind, text, button_id, media = InboundKind.OTHER, None, None, None
        if message.type == "text" and message.text:
            kind, text = InboundKind.TEXT, message.text.body
        elif message.type == "interactive" and message.interactive:
            reply = message.interactive.button_reply or message.interactive.list_reply
            if reply:
                kind, text, button_id = InboundKind.BUTTON, reply.title, reply.id
        elif message.type == "button" and message.button:
            kind, text, button_id = InboundKind.BUTTON, message.button.text, message.button.payload or None
        elif message.type == "system" and message.system and message.system.type in _NUMBER_CHANGES:
            kind = InboundKind.NUMBER_CHANGED
        elif message.type in _MEDIA_TYPES:
            kind = InboundKind.MEDIA
            item: _Media | None = getattr(message, message.type)
            if item is not None:  # metadata only: the file is never downloaded, a caption never kept
                media = MediaMeta(message.type, item.id, item.mime_type, item.file_size)
        return InboundMessage(self.name, sender, message.id, message.timestamp, kind, text, button_id, media)

    # -- outbound ------------------------------------------------------------------------------

    @staticmethod
    def _to(number: str) -> str:
        return number.lstrip("+")

    def _send(self, to: str, body: dict[str, Any]) -> str:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": self._to(to), **body}
        return self._sender.deliver(self.name, to, payload)

    def send_text(self, to: str, text: str) -> str:
        return self._send(to, {"type": "text", "text": {"preview_url": False, "body": text[:MAX_TEXT]}})

    def send_buttons(self, to: str, text: str, buttons: Sequence[Button]) -> str:
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            raise ValueError("WhatsApp reply buttons: 1 to 3")
        if any(len(b.title) > MAX_BUTTON_TITLE for b in buttons):
            raise ValueError("WhatsApp reply button titles: at most 20 characters")
        action = {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in buttons]}
        interactive = {"type": "button", "body": {"text": text[:1024]}, "action": action}
        return self._send(to, {"type": "interactive", "interactive": interactive})

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str:
        """An approved template; ``url_suffix`` fills the dynamic part of its first URL button and
        ``quick_reply`` (index, payload) the payload its quick-reply button answers with."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        components: list[dict[str, Any]] = []
        if parameters:
            components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]})
        if url_suffix is not None:
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": url_suffix}],
                }
            )
        if quick_reply is not None:
            index, payload = quick_reply
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": payload}],
                }
            )
        if components:
            template["components"] = components
        return self._send(to, {"type": "template", "template": template})


def _refusal(status: int, answer: bytes) -> ChannelRejected:
    """An error answer: the Graph API's code (``{"error": {"code": 131026, ...}}``) says what it means;
    a 5xx without one means the API itself is down."""
    try:
        code = json.loads(answer)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    return ChannelRejected(f"WhatsApp API answered {status} ({code})", code, unavailable=status >= 500 and code is None)


class GraphApiSender:
    """Sends through the WhatsApp Cloud API (``POST /<version>/<phone-number-id>/messages``)."""

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        api_version: str,
        timeout: float = 5.0,
        base_url: str = GRAPH_API_URL,
    ) -> None:
        self._url = f"{base_url}/{api_version}/{phone_number_id}/messages"
        self._token = access_token
        self._timeout = timeout

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str:
        headers = {"Authorization": f"Bearer {self._token}"}
        answer = post_json(
            self._url, payload, headers, provider="WhatsApp API", refusal=_refusal, timeout=self._timeout
        )
        body = json_answer(answer, "WhatsApp API")
        sent = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(sent, list) or not sent or not isinstance(sent[0], dict) or "id" not in sent[0]:
            raise ChannelError("WhatsApp API response without a message id")
        return str(sent[0]["id"])


def build(config: BusinessConfig, secrets: Secrets, sender: MessageSender | None, clock: Clock) -> WhatsAppChannel:
    """The registry's builder: through the Graph API, or through ``sender`` (the local outbox); no clock used."""
    settings = config.channels.whatsapp
    if sender is None:
        sender = GraphApiSender(secrets.whatsapp_access_token, settings.phone_number_id, settings.api_version)
    return WhatsAppChannel(secrets.whatsapp_app_secrets, settings.phone_number_id, sender)
