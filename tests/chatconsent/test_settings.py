"""The environment's settings: a frozen dataclass with explicit checks (no validation library at start-up)."""

from __future__ import annotations

import dataclasses

import pytest

from chatconsent.settings import Settings, SettingsError, config_path

pytestmark = pytest.mark.unit

REQUIRED = {"TABLE_NAME": "main", "SECRETS_PATH": "/chatconsent/"}


def test_required_and_defaults() -> None:
    settings = Settings.from_environ(REQUIRED)
    assert (settings.table_name, settings.secrets_path) == ("main", "/chatconsent/")
    assert settings.channel_sender == "graph"
    assert settings.schedule_group == "default"
    assert settings.key_table_name is None and settings.config_path is None
    assert not settings.keeps_data_keys


def test_every_variable_is_read() -> None:
    environ = {
        **REQUIRED,
        "KEY_TABLE_NAME": "keys",
        "KMS_KEY_ID": "alias/k",
        "LINK_QUEUE_URL": "https://sqs/links",
        "PLAN_QUEUE_URL": "https://sqs/plan",
        "SEND_QUEUE_URL": "https://sqs/send",
        "PLAN_QUEUE_ARN": "arn:plan",
        "SCHEDULER_ROLE_ARN": "arn:role",
        "SCHEDULE_GROUP": "campaigns",
        "CHANNEL_SENDER": "outbox",
        "CHATCONSENT_CONFIG": "/opt/config.json",
        "UNRELATED": "ignored",
    }
    settings = Settings.from_environ(environ)
    assert settings == Settings(
        table_name="main",
        secrets_path="/chatconsent/",
        key_table_name="keys",
        kms_key_id="alias/k",
        link_queue_url="https://sqs/links",
        plan_queue_url="https://sqs/plan",
        send_queue_url="https://sqs/send",
        plan_queue_arn="arn:plan",
        scheduler_role_arn="arn:role",
        schedule_group="campaigns",
        channel_sender="outbox",
        config_path="/opt/config.json",
    )
    assert settings.keeps_data_keys
    assert config_path(environ) == "/opt/config.json"


def test_empty_counts_as_unset() -> None:
    settings = Settings.from_environ({**REQUIRED, "KMS_KEY_ID": "", "KEY_TABLE_NAME": "keys", "SCHEDULE_GROUP": ""})
    assert settings.kms_key_id is None and not settings.keeps_data_keys
    assert settings.schedule_group == "default"
    assert config_path({"CHATCONSENT_CONFIG": ""}) is None
    with pytest.raises(SettingsError, match="TABLE_NAME is required"):
        Settings.from_environ({**REQUIRED, "TABLE_NAME": ""})


def test_every_problem_is_named_without_values() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"CHANNEL_SENDER": "carrier-pigeon"})
    message = str(raised.value)
    assert "TABLE_NAME is required" in message and "SECRETS_PATH is required" in message
    assert "CHANNEL_SENDER must be one of graph, outbox" in message
    assert "carrier-pigeon" not in message


def test_frozen() -> None:
    settings = Settings.from_environ(REQUIRED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.table_name = "other"  # type: ignore[misc]
