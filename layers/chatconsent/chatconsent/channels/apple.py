"""Apple Messages for Business through the MSP REST API: request authentication, parsing, sending.

Apple POSTs each message to ``<MSP endpoint>/message`` with ``Authorization: Bearer <JWT>``: HS256
signed with the Messaging API secret, which Apple hands out **Base64-encoded** (the key is the
decoded bytes), ``aud`` the MSP id. The check follows Apple's answers: no header → 401, a token
that does not validate → 403, a ``destination-id`` that is not one of our business ids → 404; it
runs on the headers alone, before the body is read. The token is checked with ``hmac`` and a
constant-time comparison on the raw JWS (no JWT library: the only algorithm accepted is HS256,
a check of a few lines, and the layer stays without a dependency that brings every algorithm).

The person is the opaque ``source-id`` (``urn:mbid:…``), different for every business; nothing
else about them (device, locale, attachments' names and URLs) is read. Apple sends one message per
request; typing indicators are counted and dropped; attachments are kept as metadata only (they are
encrypted files behind pre-download URLs, never fetched). ``close`` means the person deleted the
conversation: nothing may be sent after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from chatconsent.channels import fields
from chatconsent.channels.base import (
    Button,
    ChannelRejected,
    InboundKind,
    InboundMessage,
    MalformedPayload,
    MediaMeta,
    MessageSender,
    ParsedWebhook,
    UnknownChannel,
)
from chatconsent.channels.http import post_json

if TYPE_CHECKING:
    from chatconsent.clock import Clock
    from chatconsent.config import BusinessConfig
    from chatconsent.secrets import Secrets

NAME = "apple"
APPLE_SECRET = "apple/messaging-secret"  # noqa: S105 (the SSM parameter's name, and "-previous" while rotating)
GATEWAY_URL = "https://mspgw.push.apple.com/v1/message"
# How far a token's ``iat`` may be from our clock. Apple does not publish the window; tokens are minted
# per request, so one hour either way absorbs clock skew and Apple's retries of a cached request while a
# captured token stops working within the hour (and a replayed message is a duplicate anyway).
IAT_WINDOW_SECONDS = 3600
MAX_TOKEN = 4096
MAX_TEXT = 10_000
MAX_QUICK_REPLY_ITEMS = 5  # Apple: 2 to 5 items
MAX_QUICK_REPLY_TITLE = 24
QUICK = "QUICK"  # the capability a device lists when it shows quick replies
TYPING = frozenset({"typing_start", "typing_end"})
CLOSE_SIGNAL = "close"  # the person deleted the conversation; the ledger's source: apple:close
KNOWN_TYPES = frozenset({"text", "interactive", "close", "richlink", *TYPING})  # the rest is counted as "other"
# The iMessage extension that shows Apple's own interactive messages (list picker, quick reply, ...).
BUSINESS_EXTENSION = (
    "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension"
)
_OPAQUE_ID = re.compile(r"urn:mbid:[A-Za-z0-9+/=_-]{1,1024}")
_ADDRESS_SEPARATOR = "|"  # "<business id>|<opaque id>": where an answer goes (neither contains it)


class Refusal(IntEnum):
    """Why a request is refused, as the status Apple documents for it."""

    NO_AUTHORIZATION = 401
    BAD_TOKEN = 403
    UNKNOWN_DESTINATION = 404


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((str(v) for k, v in headers.items() if k.lower() == name), "")


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_secret(secret: str) -> bytes:
    """The Messaging API secret as Apple hands it out (Base64) → the HMAC key; ValueError otherwise."""
    try:
        key = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the Apple messaging secret is not Base64") from None
    if len(key) < 16:
        raise ValueError("the Apple messaging secret is too short")
    return key


def sign_token(key: bytes, claims: Mapping[str, Any]) -> str:
    """An HS256 JWT over ``claims`` (outbound ``iss`` tokens; tests and the playground sign inbound ones)."""

    def segment(value: Mapping[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = segment({"alg": "HS256", "typ": "JWT"}) + "." + segment(claims)
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _token_claims(token: str, keys: Sequence[bytes]) -> dict[str, Any] | None:
    """The claims of an HS256 token signed with one of ``keys``; None for anything else (alg none, RS256, ...)."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3 or not all(parts):
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error, RecursionError):  # anyone can send it: read before the signature
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or "crit" in header:
        return None
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    matched = False
    for key in keys:  # every key is tried: the time taken does not tell which one matched
        matched |= hmac.compare_digest(hmac.new(key, signing_input, hashlib.sha256).digest(), signature)
    if not matched:
        return None
    try:
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return claims if isinstance(claims, dict) else None


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class AppleAccount:
    """What Apple Business Register gives the business: the MSP id and its business ids (all public),
    and the Base64 Messaging API secrets (the current one and, while rotating, the previous one)."""

    msp_id: str
    business_ids: tuple[str, ...]
    keys: tuple[bytes, ...]

    def __repr__(self) -> str:
        return f"AppleAccount(msp_id={self.msp_id!r}, business_ids={len(self.business_ids)}, keys=<redacted>)"


def link(business_id: str, body: str, intent: str = "", group: str = "") -> str:
    """The "Message" link that opens the business's chat with ``body`` typed in (the opt-in code travels in it).

    Apple: ``https://bcrw.apple.com/urn:biz:<business id>`` with ``biz-intent-id``, ``biz-group-id`` and
    ``body``; the values must not contain ``& # [ ] ( ) { } /``, so they are percent-encoded once.
    """
    query = {"biz-intent-id": intent, "biz-group-id": group, "body": body}
    encoded = urllib.parse.urlencode({k: v for k, v in query.items() if v}, quote_via=urllib.parse.quote, safe="")
    return f"https://bcrw.apple.com/urn:biz:{business_id}?{encoded}"


def prefilled(text: str) -> str:
    """A prefilled text as Apple's link allows it: without ``& # [ ] ( ) { } /`` (Apple refuses them)."""
    return " ".join(re.sub(r"[&#\[\](){}/]", " ", text).split())


def address(business_id: str, opaque_id: str) -> str:
    """Where answers go: the business id the person wrote to and their opaque id."""
    return f"{business_id}{_ADDRESS_SEPARATOR}{opaque_id}"


def _interactive_answer(data: Any) -> tuple[str | None, str | None]:
    """(identifier, title) of a quick reply or list picker answer, or (None, None)."""
    if not isinstance(data, dict):
        return None, None
    quick = data.get("quick-reply")
    if isinstance(quick, dict):
        chosen = quick.get("selectedIdentifier")
        listed = quick.get("items")
        items: list[Any] = listed if isinstance(listed, list) else []
        index = _number(quick.get("selectedIndex"))
        if not isinstance(chosen, str) and index is not None and 0 <= index < len(items):
            item = items[index]
            chosen = item.get("identifier") if isinstance(item, dict) else None
        title = next(
            (i.get("title") for i in items if isinstance(i, dict) and i.get("identifier") == chosen),
            None,
        )
        return (chosen, title if isinstance(title, str) else None) if isinstance(chosen, str) else (None, None)
    picker = data.get("listPicker")
    if isinstance(picker, dict):
        for section in picker.get("sections") or []:
            for item in (section.get("items") if isinstance(section, dict) else None) or []:
                if isinstance(item, dict) and isinstance(item.get("identifier"), str):
                    title = item.get("title")
                    return item["identifier"], title if isinstance(title, str) else None
    return None, None


@dataclass(frozen=True)
class AppleDelivery:
    """One request from Apple: what it carried (``kind``: Apple's message type, for the metrics)."""

    parsed: ParsedWebhook
    kind: str


class AppleChannel:
    """The channel interface for Apple Messages for Business (see the module's description)."""

    name = NAME

    def __init__(self, account: AppleAccount, sender: MessageSender, clock: Callable[[], float]) -> None:
        if not account.keys:
            raise ValueError("at least one Apple messaging secret is required")
        self._account = account
        self._sender = sender
        self._clock = clock

    # -- inbound -------------------------------------------------------------------------------

    def refusal(self, headers: Mapping[str, str]) -> Refusal | None:
        """Why the request is refused (401/403/404, in Apple's order), or None: it is Apple's, for us."""
        authorization = _header(headers, "authorization")
        if not authorization:
            return Refusal.NO_AUTHORIZATION
        scheme, _, token = authorization.strip().partition(" ")
        claims = _token_claims(token.strip(), self._account.keys) if scheme.lower() == "bearer" else None
        if claims is None or not self._valid_claims(claims):
            return Refusal.BAD_TOKEN
        if _header(headers, "destination-id") not in self._account.business_ids:
            return Refusal.UNKNOWN_DESTINATION
        return None

    def _valid_claims(self, claims: Mapping[str, Any]) -> bool:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._account.msp_id not in audiences:
            return False
        now = self._clock()
        issued = _number(claims.get("iat"))
        if issued is None or abs(now - issued) > IAT_WINDOW_SECONDS:
            return False
        expires = _number(claims.get("exp"))
        return expires is None or now <= expires + 60

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        return self.refusal(headers) is None

    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> ParsedWebhook:
        return self.read(raw_body, headers or {}).parsed

    def read(self, raw_body: bytes, headers: Mapping[str, str]) -> AppleDelivery:
        """The message of one (authenticated) request; the headers' ids first, the body's otherwise.

        Raises MalformedPayload when the body is not a JSON object; a message without the ids or of
        a type that carries nothing for us is skipped and counted.
        """
        try:
            body = json.loads(raw_body)
        except (ValueError, RecursionError):
            raise MalformedPayload("not an Apple Messages for Business message (not JSON)") from None
        if not isinstance(body, dict):
            raise MalformedPayload("not an Apple Messages for Business message (not an object)")
        kind = body.get("type") if isinstance(body.get("type"), str) else ""
        kind = kind if kind in KNOWN_TYPES else ("other" if kind else "")
        message = self._message(body, headers, kind)
        if message is None:
            return AppleDelivery(ParsedWebhook(skipped=1), kind or "missing")
        return AppleDelivery(ParsedWebhook(messages=(message,)), kind)

    def _message(self, body: Mapping[str, Any], headers: Mapping[str, str], kind: str) -> InboundMessage | None:
        source = _header(headers, "source-id") or str(body.get("sourceId") or "")
        message_id = _header(headers, "id") or str(body.get("id") or "")
        destination = _header(headers, "destination-id")
        if not _OPAQUE_ID.fullmatch(source) or not 0 < len(message_id) <= 256 or kind in TYPING:
            return None
        if not fields.storable(body):
            return None
        capabilities = frozenset(
            c.strip().upper() for c in _header(headers, "capability-list").split(",")[:64] if c.strip()
        )
        text, button_id, media, inbound, signal = None, None, None, InboundKind.OTHER, ""
        if kind == "text":
            raw_text = body.get("body")
            if not isinstance(raw_text, str) or not raw_text.strip() or len(raw_text) > MAX_TEXT:
                return None
            inbound, text = InboundKind.TEXT, raw_text.replace("\ufffc", "").strip() or None
            media = _attachment(body.get("attachments"))
            if text is None:
                if media is None:
                    return None
                inbound = InboundKind.MEDIA
        elif kind == "interactive":
            interactive = body.get("interactiveData")
            data = interactive.get("data") if isinstance(interactive, dict) else None
            button_id, title = _interactive_answer(data)
            if button_id is None:
                return None
            typed = body.get("body") if isinstance(body.get("body"), str) else None
            inbound, text = InboundKind.BUTTON, (title or typed or "")[:MAX_TEXT]
        elif kind == "close":
            inbound, signal = InboundKind.BLOCKED, CLOSE_SIGNAL  # deleted: withdrawn, nothing sent after
        else:
            return None  # a type we do not handle (richlink, an Apple Pay answer, ...)
        return InboundMessage(
            self.name,
            source,
            message_id,
            int(self._clock()),  # Apple's messages carry no timestamp: they are current when they arrive
            inbound,
            text,
            button_id[:256] if button_id else None,
            media,
            capabilities=capabilities,
            address=address(destination, source) if destination else None,
            signal=signal,
        )

    # -- outbound ------------------------------------------------------------------------------

    def _split(self, to: str) -> tuple[str, str]:
        business_id, separator, opaque = to.partition(_ADDRESS_SEPARATOR)
        if not separator:  # an address kept before the business id travelled with it: the first one
            return self._account.business_ids[0], to
        return business_id, opaque

    def _send(self, to: str, body: dict[str, Any]) -> str:
        business_id, opaque = self._split(to)
        message_id = str(uuid.uuid4())
        payload = {"v": 1, "id": message_id, "sourceId": business_id, "destinationId": opaque, **body}
        return self._sender.deliver(self.name, to, payload)

    def send_text(self, to: str, text: str) -> str:
        return self._send(to, {"type": "text", "body": text[:MAX_TEXT]})

    def send_buttons(self, to: str, text: str, buttons: Sequence[Button]) -> str:
        """A quick reply (the device listed ``QUICK``: the caller checks, see :meth:`takes_buttons`)."""
        if not 2 <= len(buttons) <= MAX_QUICK_REPLY_ITEMS:
            raise ValueError("Apple quick replies: 2 to 5 items")
        items = [{"identifier": b.id, "title": b.title[:MAX_QUICK_REPLY_TITLE]} for b in buttons]
        data = {
            "version": "1.0",
            "requestIdentifier": str(uuid.uuid4()),
            "quick-reply": {"summaryText": text[:MAX_TEXT], "items": items},
        }
        interactive = {"bid": BUSINESS_EXTENSION, "data": data}
        return self._send(to, {"type": "interactive", "body": text[:MAX_TEXT], "interactiveData": interactive})

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str:
        """Apple has no templates (and the business can never write first): refused for good."""
        raise ChannelRejected("Apple Messages for Business has no templates")


def _attachment(attachments: Any) -> MediaMeta | None:
    """The first attachment's type and size: never its name, URL, key or file."""
    if not isinstance(attachments, list) or not attachments or not isinstance(attachments[0], dict):
        return None
    item = attachments[0]
    declared = item.get("mimeType")
    mime_type = declared if isinstance(declared, str) else ""
    size = _number(item.get("size"))
    kind = mime_type.split("/", 1)[0] if mime_type else "document"
    kind = kind if kind in ("image", "audio", "video") else "document"
    return MediaMeta(kind, "", mime_type[:128], size if size is not None and size >= 0 else None)


def configured(
    config: BusinessConfig, secrets: Secrets, sender: MessageSender | None, clock: Callable[[], float]
) -> AppleChannel | None:
    """The business's Apple channel (``sender``: the local outbox, or None for Apple's gateway); None when
    ``channels.apple`` is absent or off, or its secret is not in SSM. A secret that is not Base64 raises."""
    from chatconsent.secrets import MissingSecret  # noqa: PLC0415

    settings = config.channels.apple
    if settings is None or not settings.enabled:
        return None
    try:
        encoded = secrets.rotating(APPLE_SECRET)
    except MissingSecret:
        return None
    account = AppleAccount(settings.msp_id, settings.business_ids, tuple(decode_secret(s) for s in encoded))
    return AppleChannel(account, sender or MspGatewaySender(account, clock), clock)


def build(config: BusinessConfig, secrets: Secrets, sender: MessageSender | None, clock: Clock) -> AppleChannel:
    """The registry's builder (``clock``: the tokens' ``iat``, checked and issued); UnknownChannel when
    ``channels.apple`` is absent or off, or its secret is not in SSM."""
    channel = configured(config, secrets, sender, clock)
    if channel is None:
        raise UnknownChannel("Apple Messages for Business is not configured")
    return channel


# -- the gateway ---------------------------------------------------------------------------------------


class MspGatewaySender:
    """Sends through Apple's MSP gateway (``POST https://mspgw.push.apple.com/v1/message``).

    Each request carries a fresh HS256 token (``iss`` = the MSP id, ``iat`` = now), the message's id,
    ``source-id`` (our business id), ``destination-id`` (the person's opaque id) and
    ``auto-reply: true``: every message the product sends itself is a bot's answer.
    """

    def __init__(
        self, account: AppleAccount, clock: Callable[[], float], timeout: float = 5.0, url: str = GATEWAY_URL
    ) -> None:
        self._account = account
        self._clock = clock
        self._timeout = timeout
        self._url = url

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str:
        token = sign_token(self._account.keys[0], {"iss": self._account.msp_id, "iat": int(self._clock())})
        message_id = str(payload["id"])
        headers = {
            "Authorization": f"Bearer {token}",
            "id": message_id,
            "source-id": str(payload["sourceId"]),
            "destination-id": str(payload["destinationId"]),
            "auto-reply": "true",
        }
        post_json(self._url, payload, headers, provider="Apple gateway", refusal=_refusal, timeout=self._timeout)
        return message_id


def _refusal(status: int, answer: bytes) -> ChannelRejected:
    """400: malformed (final); 401/403: our token (a secret being rotated: tried again, then the dead
    letters, which are alarmed); 404: the person is unknown to Apple (final); 429 and 5xx: later."""
    retry = status in (401, 403, 429) or status >= 500
    return ChannelRejected(f"Apple gateway answered {status}", status, unavailable=retry)
