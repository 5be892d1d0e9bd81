"""Which channels exist and what each one's rules are: the one place the rest of the product asks.

A :class:`ChannelSpec` is plain data plus two small functions (no provider code is imported here):
its display name, whether it has a service window (WhatsApp's 24 hours: free text only within it),
whether it reports delivery statuses, its own rights words besides the it/de/en ones, the widget's
deep link that carries an opt-in code, and where its :class:`~chatconsent.channels.base.Channel` is
built (``module:function``, imported only by the function that sends or verifies on that channel).

A new channel adds one entry to :data:`CHANNELS`, its settings to ``ChannelsConfig`` and its name to
``ChannelName`` (:mod:`chatconsent.config`), and a builder
``build(config, secrets, sender, clock) -> Channel`` in its module (``sender``: the local outbox, or None
for the provider's API; ``clock``: the wiring's, for a channel whose tokens carry the time). A channel
that is not configured raises :class:`UnknownChannel` from its builder.
"""

from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatconsent.channels.base import UnknownChannel
from chatconsent.keywords import Keyword

if TYPE_CHECKING:
    from chatconsent.channels.base import Channel, MessageSender
    from chatconsent.clock import Clock
    from chatconsent.config import BusinessConfig
    from chatconsent.secrets import Secrets

ChannelBuilder = Callable[["BusinessConfig", "Secrets", "MessageSender | None", "Clock"], "Channel"]


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    display_name: str
    builder: str  # "module:function" that builds the channel
    opt_in_link: Callable[[BusinessConfig, str, str], str]  # (config, code, prefilled text) → the widget's link
    has_service_window: bool = False  # free text only within 24 hours of the person's last message
    has_statuses: bool = False  # the provider reports sent/delivered/read
    has_templates: bool = False  # approved templates write outside the window (campaigns, renewal asks)
    words: Mapping[Keyword, frozenset[str]] = field(default_factory=dict)  # its own rights words
    widget_note: str | None = None  # a catalogue key the widget's first layer adds while the channel is enabled

    def build(self, config: BusinessConfig, secrets: Secrets, sender: MessageSender | None, clock: Clock) -> Channel:
        module, function = self.builder.split(":")
        built: ChannelBuilder = getattr(importlib.import_module(module), function)
        return built(config, secrets, sender, clock)


def _whatsapp_link(config: BusinessConfig, code: str, prefill: str) -> str:
    digits = config.channels.whatsapp.display_number.lstrip("+")
    return f"https://wa.me/{digits}?text={urllib.parse.quote(prefill)}"


def _telegram_link(config: BusinessConfig, code: str, prefill: str) -> str:
    settings: Any = config.channels.settings("telegram")
    # a start payload is 1-64 of A-Z a-z 0-9 _ - (a code is CC- and 26 Base32 letters)
    return f"https://t.me/{settings.bot_username}?start={code}"


def _apple_link(config: BusinessConfig, code: str, prefill: str) -> str:
    from chatconsent.channels.apple import link, prefilled  # noqa: PLC0415 (only where Apple is offered)

    settings: Any = config.channels.settings("apple")
    return link(settings.business_ids[0], prefilled(prefill), settings.intent, settings.group)


CHANNELS: dict[str, ChannelSpec] = {
    "whatsapp": ChannelSpec(
        name="whatsapp",
        display_name="WhatsApp",
        builder="chatconsent.channels.whatsapp:build",
        opt_in_link=_whatsapp_link,
        has_service_window=True,
        has_statuses=True,
        has_templates=True,
    ),
    "telegram": ChannelSpec(
        name="telegram",
        display_name="Telegram",
        builder="chatconsent.channels.telegram:build",
        opt_in_link=_telegram_link,
        # bot commands: "/stop", "/help", "/data" and "/delete" already read as the words (the slash is
        # punctuation); "/start" without a code and "/settings" are the commands every bot is expected to know
        words={Keyword.HELP: frozenset({"start", "settings"})},
        widget_note="widget_transfer_telegram",  # a third country without safeguards: the person's choice
    ),
    "apple": ChannelSpec(
        name="apple",
        display_name="Apple Messages",
        builder="chatconsent.channels.apple:build",
        opt_in_link=_apple_link,
        # Apple's trigger words besides the it/de/en ones (unsubscribe, stop, end, spam already withdraw):
        # a live agent, and the menu; "help" asks for a person here, before the notice
        words={
            Keyword.AGENT: frozenset({"agent", "support", "help"}),
            Keyword.MENU: frozenset({"menu", "list", "?"}),
        },
    ),
}


def channel_spec(name: str) -> ChannelSpec:
    spec = CHANNELS.get(name)
    if spec is None:
        raise UnknownChannel("no such channel")
    return spec


def enabled_channels(config: BusinessConfig) -> tuple[ChannelSpec, ...]:
    """The channels the business offers, in the registry's order."""
    return tuple(spec for name, spec in CHANNELS.items() if config.channels.is_enabled(name))


def has_service_window(name: str) -> bool:
    """Whether free text on channel ``name`` is allowed only within 24 hours of the person's last message
    (an unknown or empty name is taken as WhatsApp, the channel of records written before there were others)."""
    spec = CHANNELS.get(name or "whatsapp")
    return spec is None or spec.has_service_window


def channel_words(name: str) -> Mapping[Keyword, frozenset[str]]:
    """The channel's own rights words (besides the it/de/en ones every channel understands)."""
    spec = CHANNELS.get(name)
    return spec.words if spec is not None else {}
