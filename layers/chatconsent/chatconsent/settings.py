"""The environment the template sets, read and validated once: the only module that reads ``os.environ``.

- ``TABLE_NAME``: the main table (required);
- ``KEY_TABLE_NAME`` and ``KMS_KEY_ID``: the per-person data keys (without both, no message is kept);
- ``SECRETS_PATH``: the SSM path of the SecureStrings (required);
- ``LINK_QUEUE_URL``: the SQS queue of confirmation links to send (the opt-in function only);
- ``CHANNEL_SENDER``: ``graph`` calls the WhatsApp Cloud API, ``outbox`` records messages locally;
- ``CHATCONSENT_CONFIG``: a configuration file replacing the shipped ``default_config.json``.

An empty value counts as unset. ``config_path`` reads only ``CHATCONSENT_CONFIG``: the business's
configuration is needed where no table is (unit tests, tools), so it does not require the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONFIG_VARIABLE = "CHATCONSENT_CONFIG"


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


class Settings(BaseModel):
    """One container's settings; ``Settings.from_environ()`` fails at start-up when one is missing or wrong."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME")
    key_table_name: str | None = Field(default=None, alias="KEY_TABLE_NAME")
    kms_key_id: str | None = Field(default=None, alias="KMS_KEY_ID")
    secrets_path: str = Field(alias="SECRETS_PATH")
    link_queue_url: str | None = Field(default=None, alias="LINK_QUEUE_URL")
    plan_queue_url: str | None = Field(default=None, alias="PLAN_QUEUE_URL")
    send_queue_url: str | None = Field(default=None, alias="SEND_QUEUE_URL")
    plan_queue_arn: str | None = Field(default=None, alias="PLAN_QUEUE_ARN")
    scheduler_role_arn: str | None = Field(default=None, alias="SCHEDULER_ROLE_ARN")
    schedule_group: str = Field(default="default", alias="SCHEDULE_GROUP")
    channel_sender: Literal["graph", "outbox"] = Field(default="graph", alias="CHANNEL_SENDER")
    config_path: str | None = Field(default=None, alias=CONFIG_VARIABLE)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Validate the variables above (``None``: the process environment); the others are ignored."""
        source = _environ(environ)
        names = [field.alias or name for name, field in cls.model_fields.items()]
        return cls.model_validate({name: source[name] for name in names if source.get(name)})

    @property
    def keeps_data_keys(self) -> bool:
        """Per-person data keys need both the key table and the KMS key."""
        return bool(self.key_table_name and self.kms_key_id)


def config_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The configuration file named in ``CHATCONSENT_CONFIG``, or ``None`` for the shipped one."""
    return _environ(environ).get(CONFIG_VARIABLE) or None
