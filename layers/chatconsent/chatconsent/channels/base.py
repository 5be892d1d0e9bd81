"""The channel interface every messenger fits (WhatsApp, Apple Messages for Business, Telegram, SMS).

A channel verifies a webhook on its raw bytes, parses it into normalised events and sends
messages. Events keep identifiers and text out of their ``repr`` so they cannot reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ChannelError(RuntimeError):
    """A provider call failed; whether the message went out is unknown (e.g. a timeout).

    Messages never contain identifiers or message text.
    """


# Provider error codes that mean "try again later" (WhatsApp: 130429 throughput, 131056 pair rate,
# 131000 and 133004 temporary errors, 131016 service unavailable); every other refusal is final.
RETRY_LATER = frozenset({130429, 131056, 131000, 131016, 133004})


class ChannelRejected(ChannelError):
    """The provider answered with an error: the message was certainly not sent.

    ``code`` is the provider's error code when it gave one (WhatsApp: 130429 rate limit, 131026
    undeliverable, ...); ``unavailable`` says the provider itself is down (5xx, refused connection);
    ``retry_after`` (seconds) says the provider throttled this send and when it may be tried again;
    ``blocked`` says the person blocked the business on this channel (Telegram's 403 "bot was blocked
    by the user"): a withdrawal, recorded with its source.
    """

    def __init__(
        self,
        message: str,
        code: int | None = None,
        unavailable: bool = False,
        retry_after: int | None = None,
        blocked: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.unavailable = unavailable
        self.retry_after = retry_after
        self.blocked = blocked


class MalformedPayload(ValueError):
    """The (authentic) webhook body does not have the provider's shape."""


class UnknownChannel(LookupError):
    """A channel name the registry does not know (a stored item from a channel since removed), or a
    channel that is not configured here."""


class InboundKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    MEDIA = "media"
    NUMBER_CHANGED = "number_changed"  # the sender moved to another number (the provider's system message)
    # the person blocked the business in the messenger (Telegram) or deleted the conversation (Apple's
    # ``close``): a withdrawal, nothing may be sent any more (``signal`` names it)
    BLOCKED = "blocked"
    OTHER = "other"


@dataclass(frozen=True)
class MediaMeta:
    """What is kept of a picture, voice note, video, document or sticker: never the file itself."""

    type: str
    id: str = field(repr=False)
    mime_type: str
    size: int | None  # bytes, when the provider says


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    sender: str = field(repr=False)
    message_id: str = field(repr=False)
    timestamp: int
    kind: InboundKind
    text: str | None = field(default=None, repr=False)
    button_id: str | None = field(default=None, repr=False)
    media: MediaMeta | None = field(default=None, repr=False)
    # BLOCKED: the provider's signal, the ledger's source is "<channel>:<signal>"; a button: the
    # provider's handle to acknowledge the tap (Telegram's callback query id)
    signal: str = field(default="", repr=False)
    # What the person's device can show (Apple's ``capability-list``); None: the channel shows buttons always.
    capabilities: frozenset[str] | None = None
    # Where answers go when it is not ``sender`` (Apple: the business id written to, with the opaque id).
    address: str | None = field(default=None, repr=False)

    @property
    def reply_to(self) -> str:
        return self.address or self.sender

    @property
    def takes_buttons(self) -> bool:
        """Whether answer buttons can be shown (Apple: only to a device that lists ``QUICK``)."""
        return self.capabilities is None or "QUICK" in self.capabilities


@dataclass(frozen=True)
class StatusUpdate:
    channel: str
    recipient: str = field(repr=False)
    message_id: str = field(repr=False)
    status: str
    timestamp: int


@dataclass(frozen=True)
class PreferenceUpdate:
    """The person changed a preference in the messenger itself (WhatsApp: stop marketing)."""

    channel: str
    sender: str = field(repr=False)
    category: str
    value: str
    timestamp: int


@dataclass(frozen=True)
class ParsedWebhook:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    skipped: int = 0
    preferences: tuple[PreferenceUpdate, ...] = ()


@dataclass(frozen=True)
class Button:
    id: str
    title: str


class MessageSender(Protocol):
    """Delivers a provider payload and returns the provider's message id."""

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str: ...


class Channel(Protocol):
    name: str

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool: ...

    def parse(self, raw_body: bytes) -> ParsedWebhook: ...

    def send_text(self, to: str, text: str) -> str: ...

    def send_buttons(self, to: str, text: str, buttons: Sequence[Button]) -> str: ...

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str: ...
