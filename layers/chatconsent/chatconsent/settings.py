"""The environment the template sets, read and validated once: the only module that reads ``os.environ``.

- ``TABLE_NAME``: the main table (required);
- ``KEY_TABLE_NAME`` and ``KMS_KEY_ID``: the per-person data keys (without both, no message is kept);
- ``SECRETS_PATH``: the SSM path of the SecureStrings (required);
- ``LINK_QUEUE_URL``: the SQS queue of confirmation links to send (the opt-in function only);
- ``CHANNEL_SENDER``: ``graph`` calls the WhatsApp Cloud API, ``outbox`` records messages locally;
- ``CHATCONSENT_CONFIG``: a configuration file replacing the shipped ``default_config.json``;
- ``AWS_LAMBDA_FUNCTION_NAME`` (set by Lambda, not the template): ``in_lambda`` (``chatconsent.startup``).
- ``DESK_AUTHORIZE_URL``, ``DESK_TOKEN_URL``, ``DESK_LOGOUT_URL``, ``DESK_CLIENT_ID``, ``DESK_REDIRECT_URI``:
  the desk page's sign-in (Cognito's hosted endpoints in AWS, the local run's development sign-in locally).

An empty value counts as unset. ``config_path`` reads only ``CHATCONSENT_CONFIG``: the business's
configuration is needed where no table is (unit tests, tools), so it does not require the rest.

A frozen dataclass, not a pydantic model: every function reads it at start-up, and its checks (two
required names, one choice) do not need a validation library on the cold path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

CONFIG_VARIABLE = "CHATCONSENT_CONFIG"
LAMBDA_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"  # set by Lambda's runtime in every execution environment
CHANNEL_SENDERS = ("graph", "outbox")


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


class SettingsError(ValueError):
    """One or more variables are missing or wrong; the message names each (never a value)."""


@dataclass(frozen=True)
class Settings:
    """One container's settings; ``Settings.from_environ()`` fails at start-up when one is missing or wrong.

    Each field's ``metadata["variable"]`` is the environment variable it is read from.
    """

    table_name: str
    secrets_path: str
    key_table_name: str | None = None
    kms_key_id: str | None = None
    link_queue_url: str | None = None
    plan_queue_url: str | None = None
    send_queue_url: str | None = None
    plan_queue_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_group: str = "default"
    channel_sender: Literal["graph", "outbox"] = "graph"
    config_path: str | None = None
    desk_authorize_url: str | None = None
    desk_token_url: str | None = None
    desk_logout_url: str | None = None
    desk_client_id: str | None = None
    desk_redirect_uri: str | None = None

    @staticmethod
    def variable(field_name: str) -> str:
        """The environment variable of a field: its name in capitals (``config_path``: ``CHATCONSENT_CONFIG``)."""
        return CONFIG_VARIABLE if field_name == "config_path" else field_name.upper()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Validate the variables above (``None``: the process environment); the others are ignored."""
        source = _environ(environ)
        values = {f.name: source.get(cls.variable(f.name)) or None for f in fields(cls)}
        problems = [f"{cls.variable(name)} is required" for name in ("table_name", "secrets_path") if not values[name]]
        sender = values["channel_sender"] or "graph"
        if sender not in CHANNEL_SENDERS:
            problems.append(f"CHANNEL_SENDER must be one of {', '.join(CHANNEL_SENDERS)}")
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))
        present: dict[str, Any] = {name: value for name, value in values.items() if value is not None}
        return cls(**present)

    @property
    def keeps_data_keys(self) -> bool:
        """Per-person data keys need both the key table and the KMS key."""
        return bool(self.key_table_name and self.kms_key_id)


def config_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The configuration file named in ``CHATCONSENT_CONFIG``, or ``None`` for the shipped one."""
    return _environ(environ).get(CONFIG_VARIABLE) or None


def in_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is a Lambda execution environment (its runtime names the function)."""
    return bool(_environ(environ).get(LAMBDA_VARIABLE))
