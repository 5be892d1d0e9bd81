"""WhatsApp Cloud API: webhook verification and parsing, and sending through the Graph API.

Webhooks are signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``;
the check runs on the exact bytes received, in constant time, against every live app secret.
Profile names in ``contacts[]`` are never read (Art. 5(1)(c)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

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
_ITEM_LISTS = ("messages", "statuses", "user_preferences")
_T = TypeVar("_T")
_I = TypeVar("_I")


_Content = tuple[InboundKind, str | None, str | None, MediaMeta | None]  # kind, text, button id, media


class _Unreadable(ValueError):
    """One item does not have the provider's shape: it is skipped and counted, the rest still count."""


def _text(value: Any, key: str, limit: int, default: str | None = None) -> str:
    """``value[key]`` as a string of at most ``limit`` characters (``default`` when absent)."""
    part = fields.mapping(value)
    found = None if part is None else fields.string(part.get(key, default), limit)
    if found is None:
        raise _Unreadable(key)
    return found


def _reply(value: Any) -> tuple[str, str]:
    """A button or list reply's (id, title)."""
    return _text(value, "id", 256), _text(value, "title", MAX_TEXT, "")


def _interactive(value: Any) -> _Content:
    _text(value, "type", MAX_TEXT)  # an object with a type, or the message is skipped
    replies = [_reply(value[key]) for key in ("button_reply", "list_reply") if value.get(key) is not None]
    if not replies:
        return InboundKind.OTHER, None, None, None
    reply_id, title = replies[0]
    return InboundKind.BUTTON, title, reply_id, None


def _media(kind: str, value: Any) -> _Content:
    """A media item's metadata only: the file is never downloaded, a caption never kept."""
    media_id, mime_type = _text(value, "id", 256), _text(value, "mime_type", 128, "")
    size = value.get("file_size")
    file_size = None if size is None else fields.number(size)
    if size is not None and (file_size is None or file_size < 0):
        raise _Unreadable("file_size")
    return InboundKind.MEDIA, None, None, MediaMeta(kind, media_id, mime_type, file_size)


def _content(kind: str, part: Any) -> _Content:
    """What a message of type ``kind`` says, read from its part of that name."""
    if part is None:
        return (InboundKind.MEDIA if kind in _MEDIA_TYPES else InboundKind.OTHER), None, None, None
    if kind == "text":
        return InboundKind.TEXT, _text(part, "body", MAX_TEXT), None, None
    if kind == "interactive":
        return _interactive(part)
    if kind == "button":
        payload, text = _text(part, "payload", 256, ""), _text(part, "text", MAX_TEXT, "")
        return InboundKind.BUTTON, text, payload or None, None
    if kind == "system":  # only its type is read: its body names the person and both numbers
        changed = _text(part, "type", 64, "") in _NUMBER_CHANGES
        return (InboundKind.NUMBER_CHANGED if changed else InboundKind.OTHER), None, None, None
    if kind in _MEDIA_TYPES:
        return _media(kind, part)
    return InboundKind.OTHER, None, None, None


def _each(reader: Callable[[Mapping[str, Any]], _I | None], items: list[Any], found: list[_I]) -> int:
    """Appends to ``found`` the items ``reader`` can read; how many it cannot: an item
    without the provider's shape, with text that cannot be stored or naming no valid number."""
    bad = 0
    for item in items:
        try:
            read = reader(item) if isinstance(item, dict) and fields.storable(item) else None
        except _Unreadable:
            read = None
        if read is None:
            bad += 1
        else:
            found.append(read)
    return bad


def _required(value: _T | None, part: str) -> _T:
    if value is None:
        raise MalformedPayload(f"not a WhatsApp webhook payload ({part})")
    return value


def _envelope(payload: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """Each change's (field, value) of a payload with the provider's envelope; MalformedPayload,
    naming the part, for one without it (an item's own shape is checked item by item)."""
    document = _required(fields.mapping(payload), "object")
    kind = _required(fields.string(document.get("object"), 256), "object")
    entries = _required(fields.items(document.get("entry", "missing"), 1000), "entry")
    if kind != "whatsapp_business_account":
        raise MalformedPayload("not a WhatsApp Business Account webhook")
    changes: list[tuple[str, Mapping[str, Any]]] = []
    for item in entries:
        entry = _required(fields.mapping(item), "entry")
        _required(fields.string(entry.get("id"), 256), "entry id")
        for each in _required(fields.items(entry.get("changes"), 1000), "changes"):
            change = _required(fields.mapping(each), "change")
            field = _required(fields.string(change.get("field"), 256), "change field")
            value = _required(fields.mapping(change.get("value")), "change value")
            if value.get("metadata") is not None:
                metadata = _required(fields.mapping(value["metadata"]), "metadata")
                _required(fields.string(metadata.get("phone_number_id"), 256), "metadata")
            for key in _ITEM_LISTS:
                _required(fields.items(value.get(key), 1000), key)
            changes.append((field, value))
    return changes


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
            payload = json.loads(raw_body)
        except (ValueError, RecursionError):  # not JSON or not UTF-8
            raise MalformedPayload("not a WhatsApp webhook payload (not JSON)") from None
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        preferences: list[PreferenceUpdate] = []
        skipped = 0
        for field, value in _envelope(payload):
            lists = [value.get(key) or [] for key in _ITEM_LISTS]
            if (
                field not in ("messages", "user_preferences")
                or value.get("metadata") is None  # not addressed to a number we know: not ours
                or value["metadata"]["phone_number_id"] != self._phone_number_id
            ):
                skipped += len(lists[0]) + len(lists[1]) or 1
                continue
            skipped += _each(self._message, lists[0], messages)
            skipped += _each(self._status, lists[1], statuses)
            skipped += _each(self._preference, lists[2], preferences)
        return ParsedWebhook(tuple(messages), tuple(statuses), skipped, tuple(preferences))

    def _message(self, message: Mapping[str, Any]) -> InboundMessage | None:
        sender = _number(_text(message, "from", 32))
        message_id, kind = _text(message, "id", 256), _text(message, "type", 32)
        timestamp = fields.number(message.get("timestamp"))
        if sender is None or timestamp is None:
            return None
        content, text, button_id, media = _content(kind, message.get(kind))
        return InboundMessage(self.name, sender, message_id, timestamp, content, text, button_id, media)

    def _status(self, status: Mapping[str, Any]) -> StatusUpdate | None:
        status_id, state = _text(status, "id", 256), _text(status, "status", 32)
        recipient, timestamp = _number(_text(status, "recipient_id", 32)), fields.number(status.get("timestamp"))
        if recipient is None or timestamp is None:
            return None
        return StatusUpdate(self.name, recipient, status_id, state, timestamp)

    def _preference(self, preference: Mapping[str, Any]) -> PreferenceUpdate | None:
        sender = _number(_text(preference, "wa_id", 32))
        category, choice = _text(preference, "category", 64), _text(preference, "value", 32)
        timestamp = fields.number(preference.get("timestamp", 0))
        if sender is None or timestamp is None:
            return None
        return PreferenceUpdate(self.name, sender, category, choice, timestamp)

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
    except (ValueError, KeyError, TypeError, RecursionError):
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
