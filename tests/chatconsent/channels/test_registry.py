"""The channel registry: one entry per channel, its rules read by the product's channel-neutral parts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.channels.base import InboundKind, InboundMessage
from chatconsent.channels.registry import (
    CHANNELS,
    UnknownChannel,
    channel_spec,
    channel_words,
    enabled_channels,
    has_service_window,
)
from chatconsent.config import DEFAULT_CONFIG_PATH, BusinessConfig, load_config
from chatconsent.inbound.dispatch import keyword_in
from chatconsent.keywords import Keyword, keyword_of
from chatconsent.secrets import MissingSecret, Secrets
from chatconsent.widget import widget_settings


def _config(tmp_path: Any, **channels: Any) -> BusinessConfig:
    raw = json.loads(DEFAULT_CONFIG_PATH.read_text())
    raw["channels"].pop("apple", None)  # from WhatsApp alone (the shipped example also offers Apple)
    raw["channels"].update(channels)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return load_config(str(path))


def test_every_entry_is_named_as_its_key_and_unknown_names_are_refused() -> None:
    assert all(spec.name == name for name, spec in CHANNELS.items())
    with pytest.raises(UnknownChannel):
        channel_spec("carrier-pigeon")


def test_only_whatsapp_has_a_service_window_and_old_records_without_a_channel_are_whatsapp() -> None:
    assert has_service_window("whatsapp") and has_service_window("")
    assert not has_service_window("telegram")


def test_a_channel_s_own_words_count_only_on_that_channel() -> None:
    assert keyword_of("/start") is None  # not an it/de/en word
    assert keyword_of("/start", channel_words("telegram")) is Keyword.HELP
    assert keyword_of("/stop", channel_words("telegram")) is Keyword.WITHDRAW  # the slash is punctuation

    def message(channel: str, text: str) -> InboundMessage:
        return InboundMessage(channel, "id", "m1", 0, InboundKind.TEXT, text)

    assert keyword_in(message("telegram", "/settings")) is Keyword.HELP
    assert keyword_in(message("whatsapp", "/settings")) is None


def test_the_widget_offers_the_enabled_channels_in_the_registry_s_order(tmp_path: Any) -> None:
    only_whatsapp = _config(tmp_path, telegram=None)
    assert [s.name for s in enabled_channels(only_whatsapp)] == ["whatsapp"]
    both = _config(tmp_path, telegram={"enabled": True, "bot_username": "ExampleShopBot"})
    info = widget_settings(both)
    assert [(c.id, c.name, c.link_confirmation) for c in info.channels] == [
        ("whatsapp", "WhatsApp", True),  # the default configuration sends WhatsApp confirmation links
        ("telegram", "Telegram", False),
    ]
    # a channel in a third country without safeguards: the first layer says so while it is offered
    assert any("Art. 49" in line for line in info.summary["en"])
    assert not any("Art. 49" in line for line in widget_settings(only_whatsapp).summary["en"])
    off = _config(tmp_path, telegram={"enabled": False, "bot_username": "ExampleShopBot"})
    assert [c.id for c in widget_settings(off).channels] == ["whatsapp"]


def test_the_deep_link_carries_the_code(tmp_path: Any) -> None:
    config = _config(tmp_path, telegram={"enabled": True, "bot_username": "ExampleShopBot"})
    code = "CC-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert channel_spec("telegram").opt_in_link(config, code, "ignored") == f"https://t.me/ExampleShopBot?start={code}"
    link = channel_spec("whatsapp").opt_in_link(config, code, f"My code {code}")
    assert link.startswith("https://wa.me/") and code in link


def test_a_bot_username_must_be_one(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="bot_username"):
        _config(tmp_path, telegram={"enabled": True, "bot_username": "not a bot"})


def test_channel_secrets_rotate_with_a_previous_value_and_are_never_shown() -> None:
    values = {
        "pepper": "pepper-value-0123456789abcdef",
        "whatsapp/app-secret": "a",
        "whatsapp/verify-token": "v",
        "telegram/secret-token": "current_token",
        "telegram/secret-token-previous": "previous_token",
        "telegram/bot-token": "123:bot",
    }
    secrets = Secrets.from_parameters(values)
    assert secrets.rotating("telegram/secret-token") == ("current_token", "previous_token")
    assert secrets.channel_secret("telegram/bot-token") == "123:bot"
    single = Secrets.from_parameters({**values, "telegram/secret-token-previous": "-"})
    assert single.rotating("telegram/secret-token") == ("current_token",)
    with pytest.raises(MissingSecret) as missing:
        Secrets.from_parameters({**values, "telegram/bot-token": "-"}).channel_secret("telegram/bot-token")
    assert "123:bot" not in str(missing.value)
    assert "current_token" not in repr(secrets)
