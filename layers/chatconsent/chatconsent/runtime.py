"""Wiring for one container: configuration, clients and services, built once and reused.

Reads its settings from the environment the template sets:
``TABLE_NAME``, ``KEY_TABLE_NAME`` and ``KMS_KEY_ID`` (per-person data keys), ``SECRETS_PATH`` (SSM path
of the SecureStrings), ``LINK_QUEUE_URL`` (confirmation links to send) and ``CHANNEL_SENDER`` (``graph``
to call the WhatsApp Cloud API, ``outbox`` to record messages locally).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from chatconsent.clock import Clock, system_clock
from chatconsent.config import BusinessConfig, current_config

if TYPE_CHECKING:
    from chatconsent.agents import AgentDesk
    from chatconsent.channels.outbox import Outbox
    from chatconsent.channels.whatsapp import WhatsAppChannel
    from chatconsent.confirmation import LinkConfirmation
    from chatconsent.identity import Pseudonymizer
    from chatconsent.inbound import InboundService
    from chatconsent.keyring import SubjectKeyring
    from chatconsent.link_sender import LinkJob, LinkSender
    from chatconsent.notices import NoticeRegistry
    from chatconsent.optin import OptInService
    from chatconsent.purge import PurgeJob
    from chatconsent.rights import SubjectRights
    from chatconsent.secrets import Secrets
    from chatconsent.store import ChatconsentTable

_LOCAL_OUTBOX: Outbox | None = None


def local_outbox() -> Outbox:
    """The process-wide outbox used when ``CHANNEL_SENDER=outbox``."""
    global _LOCAL_OUTBOX
    if _LOCAL_OUTBOX is None:
        from chatconsent.channels.outbox import Outbox

        _LOCAL_OUTBOX = Outbox()
    return _LOCAL_OUTBOX


@lru_cache(maxsize=2)
def _pseudonymizer(pepper: bytes) -> Pseudonymizer:
    from chatconsent.identity import Pseudonymizer

    return Pseudonymizer(pepper)


class Runtime:
    SECRETS_MAX_AGE = 300

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Clock = system_clock,
        dynamodb: Any = None,
        config: BusinessConfig | None = None,
        kms: Any = None,
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.clock = clock
        self._config = config
        self._kms = kms
        self._secrets: tuple[float, Secrets] | None = None
        if dynamodb is None:
            from chatconsent.aws import client

            dynamodb = client("dynamodb")
        self.dynamodb = dynamodb

    @cached_property
    def config(self) -> BusinessConfig:
        return self._config or current_config()

    @property
    def secrets(self) -> Secrets:
        """Fetched on first use and refreshed after ``SECRETS_MAX_AGE`` (rotation without redeploy)."""
        now = time.monotonic()
        if self._secrets is None or now - self._secrets[0] > self.SECRETS_MAX_AGE:
            from chatconsent.aws import client
            from chatconsent.secrets import load_secrets

            self._secrets = (now, load_secrets(client("ssm"), self.environ["SECRETS_PATH"]))
        return self._secrets[1]

    @cached_property
    def table(self) -> ChatconsentTable:
        from chatconsent.retention import RetentionPlan
        from chatconsent.store import ChatconsentTable

        plan = RetentionPlan.from_config(self.config)
        key_table = self.environ.get("KEY_TABLE_NAME") or None
        return ChatconsentTable(self.dynamodb, self.environ["TABLE_NAME"], plan, self.clock, key_table)

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        return _pseudonymizer(self.secrets.pepper)

    @cached_property
    def notices(self) -> NoticeRegistry:
        from chatconsent.notices import NoticeRegistry

        return NoticeRegistry()

    @property
    def whatsapp(self) -> WhatsAppChannel:
        from chatconsent.channels.whatsapp import GraphApiSender, WhatsAppChannel

        settings = self.config.channels.whatsapp
        secrets = self.secrets
        if self.environ.get("CHANNEL_SENDER", "graph") == "outbox":
            sender: Any = local_outbox()
        else:
            sender = GraphApiSender(secrets.whatsapp_access_token, settings.phone_number_id, settings.api_version)
        return WhatsAppChannel(secrets.whatsapp_app_secrets, settings.phone_number_id, sender)

    def optin_service(self) -> OptInService:
        from chatconsent.optin import OptInService

        return OptInService(self.table, self.pseudonymizer, self.notices, self.config, self.clock)

    def enqueue_link(self, job: LinkJob | None) -> None:
        """Queue a confirmation link's send (``LINK_QUEUE_URL``)."""
        from chatconsent.aws import client
        from chatconsent.link_sender import LinkQueue

        LinkQueue(client("sqs"), self.environ["LINK_QUEUE_URL"]).enqueue(job)

    def link_sender(self) -> LinkSender:
        from chatconsent.link_sender import LinkSender

        return LinkSender(self.table, self.pseudonymizer, self.config, lambda: self.whatsapp)

    def link_confirmation(self) -> LinkConfirmation:
        from chatconsent.confirmation import LinkConfirmation
        from chatconsent.consents import ConsentService

        return LinkConfirmation(self.table, ConsentService(self.table, self.config, self.clock), self.clock)

    def purge_job(self, time_left_ms: Callable[[], int] | None, lookback_seconds: int | None = None) -> PurgeJob:
        from chatconsent.purge import PurgeJob
        from chatconsent.store import PurgeAccess

        settings = self.config.purge
        lookback = lookback_seconds or int(settings.lookback.total_seconds())
        return PurgeJob(PurgeAccess(self.table), self.clock, lookback, settings.page_size, time_left_ms)

    def inbound_service(self, channel: WhatsAppChannel) -> InboundService:
        from chatconsent.inbound import InboundService

        return InboundService(
            self.table,
            self.pseudonymizer,
            channel,
            self.config,
            self.clock,
            keyring=self.keyring,
            rights=self.subject_rights(),
            notices=self.notices,
        )

    def subject_rights(self) -> SubjectRights:
        from chatconsent.rights import SubjectRights

        return SubjectRights(self.table, self.keyring, self.notices, self.config, self.clock)

    def agent_desk(self) -> AgentDesk:
        from chatconsent.agents import AgentDesk

        if self.keyring is None:
            raise RuntimeError("KMS_KEY_ID and KEY_TABLE_NAME are required for conversations")
        return AgentDesk(self.table, self.keyring, self.whatsapp, self.pseudonymizer, self.clock, self.config)

    @cached_property
    def keyring(self) -> SubjectKeyring | None:
        """Per-person data keys; without ``KMS_KEY_ID`` and ``KEY_TABLE_NAME`` nothing is stored."""
        from chatconsent.aws import client
        from chatconsent.keyring import SubjectKeyring

        key_id, key_table = self.environ.get("KMS_KEY_ID"), self.environ.get("KEY_TABLE_NAME")
        if not key_id or not key_table:
            return None
        return SubjectKeyring(self.dynamodb, key_table, self._kms or client("kms"), key_id)
