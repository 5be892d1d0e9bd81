"""The wiring of one container: settings, configuration, clients and services, each built once.

Handlers create one :class:`Wiring` at import (Lambda's init phase) and use its parts on every
request. The settings come from the environment (:mod:`chatconsent.settings`), read once. Secrets
are fetched on first use and refreshed after ``SECRETS_MAX_AGE`` (rotation without a redeploy);
the services that hold a secret (the pseudonymizer's pepper, the channel's tokens) are built
again once per refresh, all others once per container.

SnapStart (the API functions): Lambda runs the init phase once per published version, snapshots
its memory and restores every new execution environment from that snapshot, so whatever the init
created is shared by all of them. Each wiring registers two runtime hooks (``snapshot_restore_py``,
shipped in Lambda's managed runtime; a local stand-in elsewhere): before the snapshot it builds
everything that holds no secret and imports what the services need, so that the snapshot holds it;
after a restore it forgets what must be unique or fresh per environment: the secrets and the time
they were fetched, the pseudonymizer's derived keys, the cached data keys (and the times they were
read), the random module's state, and the clients' open connections.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, cast

from chatconsent.aws import client, close_connections
from chatconsent.channels.outbox import Outbox
from chatconsent.clock import Clock, sleeper, system_clock
from chatconsent.config import BusinessConfig, current_config, load_config
from chatconsent.identity import Pseudonymizer
from chatconsent.retention import RetentionPlan
from chatconsent.secrets import Secrets, load_secrets
from chatconsent.settings import Settings, config_path
from chatconsent.snapshot import register_weakly
from chatconsent.startup import freeze_snapshot, init_built
from chatconsent.store import Store

if TYPE_CHECKING:
    from chatconsent.access import AccessDownloads
    from chatconsent.agents import AgentDesk
    from chatconsent.broadcast import Planner, Sender, SqsQueue
    from chatconsent.campaigns import CampaignService
    from chatconsent.channels.base import Channel
    from chatconsent.channels.whatsapp import WhatsAppChannel
    from chatconsent.confirmation import LinkConfirmation
    from chatconsent.consent_service import ConsentService
    from chatconsent.desk import Desk
    from chatconsent.inbound import InboundService
    from chatconsent.keyring import SubjectKeyring
    from chatconsent.link_sender import LinkQueue, LinkSender
    from chatconsent.notices import NoticeRegistry
    from chatconsent.optin import OptInService
    from chatconsent.outbox import OutboxSealer, OutboxSender
    from chatconsent.purge import PurgeJob
    from chatconsent.renewal import RenewalJob
    from chatconsent.rights import SubjectRights
    from chatconsent.rights_desk import RightsDesk
    from chatconsent.sealing import Sealer
    from chatconsent.store import OptInRequest
    from chatconsent.texts import Texts

# Each service's module is imported where the service is built, so a function imports only what it
# uses (the purge never loads the channels, the webhook never loads the opt-in API).
# ruff: noqa: PLC0415

_LOCAL_OUTBOX = Outbox()


def local_outbox() -> Outbox:
    """The process-wide outbox used when ``CHANNEL_SENDER=outbox``."""
    return _LOCAL_OUTBOX


@lru_cache(maxsize=2)
def _pseudonymizer(pepper: bytes) -> Pseudonymizer:
    return Pseudonymizer(pepper)


# What a SnapStart snapshot should already hold: the modules the services import where they are built,
# and the ones they import on first use.
_SNAPSHOT_MODULES = (
    "chatconsent.access",
    "chatconsent.agents",
    "chatconsent.channels.apple",
    "chatconsent.channels.registry",
    "chatconsent.channels.telegram",
    "chatconsent.channels.whatsapp",
    "chatconsent.confirmation",
    "chatconsent.desk",
    "chatconsent.inbound",
    "chatconsent.link_sender",
    "chatconsent.optin",
    "chatconsent.rights",
    "chatconsent.rights_desk",
    "cryptography.hazmat.primitives.ciphers.aead",
    "phonenumbers",
    "segno",
)


class _WithSecrets:
    """The services that hold a secret, for one generation of the secrets."""

    def __init__(self, wiring: Wiring, secrets: Secrets) -> None:
        self._w = wiring
        self.secrets = secrets
        self.pseudonymizer = _pseudonymizer(secrets.pepper)
        self._channels: dict[str, Channel] = {}
        self._inbound: dict[str, InboundService] = {}

    @cached_property
    def whatsapp(self) -> WhatsAppChannel:
        return cast("WhatsAppChannel", self._build("whatsapp"))

    def channel(self, name: str) -> Channel:
        """Channel ``name`` as the registry builds it, once (UnknownChannel for a name it does not know)."""
        if name == "whatsapp":  # the attribute the campaign and link senders read, and tests replace
            return self.whatsapp
        built = self._channels.get(name)
        if built is None:
            built = self._channels[name] = self._build(name)
        return built

    def _build(self, name: str) -> Channel:
        from chatconsent.channels.registry import channel_spec

        sender = local_outbox() if self._w.settings.channel_sender == "outbox" else None
        return channel_spec(name).build(self._w.config, self.secrets, sender, self._w.clock)

    @cached_property
    def optin(self) -> OptInService:
        from chatconsent.optin import OptInService

        w = self._w
        return OptInService(w.store, self.pseudonymizer, w.notices, w.config, w.clock, w.sealer)

    def inbound_on(self, name: str) -> InboundService:
        """The inbound path for webhooks of channel ``name`` (each webhook function builds only its own)."""
        service = self._inbound.get(name)
        if service is None:
            from chatconsent.inbound import InboundParts, InboundService

            w = self._w
            parts = InboundParts(
                w.store,
                self.pseudonymizer,
                self.channel(name),
                w.config,
                w.clock,
                w.consents,
                w.notices,
                w.outbox_sealer,
                w.keyring,
                w.rights,
            )
            service = self._inbound[name] = InboundService(parts)
        return service

    @cached_property
    def agents(self) -> AgentDesk:
        from chatconsent.agents import AgentDesk, DeskParts

        w = self._w
        if w.keyring is None:
            raise RuntimeError("KMS_KEY_ID and KEY_TABLE_NAME are required for conversations")
        return AgentDesk(
            w.store,
            DeskParts(w.keyring, self.whatsapp, self.pseudonymizer, w.consents, w.outbox_sealer),
            w.clock,
            w.config,
        )

    @cached_property
    def desk(self) -> Desk:
        from chatconsent.desk import Desk, DeskParts

        w = self._w
        return Desk(
            w.store, DeskParts(self.agents, w.rights, w.consents, w.notices, self.pseudonymizer), w.config, w.clock
        )

    @cached_property
    def rights_desk(self) -> RightsDesk:
        from chatconsent.rights_desk import RightsDesk

        w = self._w
        if w.sealer is None:
            raise RuntimeError("KMS_KEY_ID is required for the rights desk")
        return RightsDesk(w.store, self.pseudonymizer, w.sealer, w.config, w.clock)

    @cached_property
    def campaign_sender(self) -> Sender:
        from chatconsent.broadcast import Sender, SenderParts

        w = self._w
        if w.keyring is None:
            raise RuntimeError("KMS_KEY_ID and KEY_TABLE_NAME are required for campaigns")
        pseudonymizer = self.pseudonymizer
        parts = SenderParts(
            w.keyring,
            lambda: self.whatsapp,
            w.campaign_queue,
            lambda mid: pseudonymizer.message("whatsapp", mid),
            sleeper(w.clock),
        )
        return Sender(w.store, parts, w.config, w.clock)

    @cached_property
    def outbox_sender(self) -> OutboxSender:
        from chatconsent.outbox import OutboxSender

        w = self._w
        pseudonymizer = self.pseudonymizer

        def blocked(subject: str, channel: str, address: str) -> None:  # the person blocked us on that channel
            suppression = pseudonymizer.suppression(channel, address)
            w.consents.withdraw(subject, source=f"{channel}:blocked", suppression_hash=suppression)

        return OutboxSender(
            w.store, w.outbox_sealer, self.channel, pseudonymizer.message, w.keyring, on_blocked=blocked
        )

    @cached_property
    def renewal_job(self) -> RenewalJob:
        from chatconsent.renewal import RenewalJob, RenewalParts

        w = self._w
        if w.keyring is None:
            raise RuntimeError("KMS_KEY_ID and KEY_TABLE_NAME are required for renewal asks")
        pseudonymizer = self.pseudonymizer
        parts = RenewalParts(w.keyring, w.outbox_sealer, lambda mid: pseudonymizer.message("whatsapp", mid))
        # an ask missed (the job down) is still found for the lapse: back to the ask time, and the purge's margin
        lookback = int((w.config.consent_renewal.ask_before + w.config.purge.lookback).total_seconds())
        return RenewalJob(w.store, w.config, w.clock, w.consents, w.notices, parts, lookback)

    @cached_property
    def link_sender(self) -> LinkSender:
        from chatconsent.link_sender import LinkSender

        w = self._w
        if w.sealer is None:
            raise RuntimeError("KMS_KEY_ID is required for confirmation links")
        return LinkSender(w.store, self.pseudonymizer, w.config, lambda: self.whatsapp, w.sealer, w.keyring)


class Wiring:
    SECRETS_MAX_AGE = 300

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Clock = system_clock,
        dynamodb: Any = None,
        config: BusinessConfig | None = None,
        kms: Any = None,
    ) -> None:
        self.settings = Settings.from_environ(environ)
        self.clock = clock
        self._config = config
        self._kms = kms
        self._fetched: tuple[float, _WithSecrets] | None = None
        self.dynamodb = client("dynamodb") if dynamodb is None else dynamodb
        register_weakly(self)  # tests build many wirings: the hooks do not keep them alive
        init_built()  # in Lambda: the collector resumes, what init built is never scanned again

    # -- SnapStart -------------------------------------------------------------------------------

    def before_snapshot(self) -> None:
        """Build what holds no secret and import what the services use, so that the snapshot holds it.

        Nothing is fetched or sent: no secret, no data key and no connection ends up in the snapshot.
        Runs only where SnapStart takes a snapshot, so a function without it still imports only what
        it uses.
        """
        for module in _SNAPSHOT_MODULES:
            importlib.import_module(module)
        self.store, self.notices, self.texts, self.consents, self.rights, self.link_confirmation  # noqa: B018
        self.access_downloads  # noqa: B018
        if self.settings.keeps_data_keys:
            self.keyring  # noqa: B018 (and with it the KMS client)
        self.sealer  # noqa: B018 (nothing fetched: a link job's number is sealed on the first request)
        client("ssm")  # the secrets are fetched through it on the first request
        if self.settings.link_queue_url:
            self.link_queue  # noqa: B018
        freeze_snapshot()

    def after_restore(self) -> None:
        """Forget what must be unique or fresh in each environment restored from one snapshot."""
        self._fetched = None  # the secrets, the time they were fetched and the services holding them
        _pseudonymizer.cache_clear()
        keyring = self.__dict__.get("keyring")
        if keyring is not None:
            keyring.forget_all()
        sealer = self.__dict__.get("outbox_sealer")
        if sealer is not None:
            sealer.forget_all()
        random.seed()  # from os.urandom: each environment draws its own numbers
        close_connections()

    @cached_property
    def config(self) -> BusinessConfig:
        if self._config is not None:
            return self._config
        path = self.settings.config_path
        return current_config() if path == config_path() else load_config(path)

    @cached_property
    def store(self) -> Store:
        plan = RetentionPlan.from_config(self.config)
        return Store(self.dynamodb, self.settings.table_name, plan, self.clock, self.settings.key_table_name)

    @cached_property
    def notices(self) -> NoticeRegistry:
        from chatconsent.notices import NoticeRegistry

        return NoticeRegistry()

    @cached_property
    def texts(self) -> Texts:
        from chatconsent.texts import Texts

        return Texts(self.config)

    # -- what holds a secret ---------------------------------------------------------------------

    def _with_secrets(self) -> _WithSecrets:
        now = time.monotonic()
        if self._fetched is None or now - self._fetched[0] > self.SECRETS_MAX_AGE:
            secrets = load_secrets(client("ssm"), self.settings.secrets_path)
            self._fetched = (now, _WithSecrets(self, secrets))
        return self._fetched[1]

    @property
    def secrets(self) -> Secrets:
        return self._with_secrets().secrets

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        return self._with_secrets().pseudonymizer

    @property
    def whatsapp(self) -> WhatsAppChannel:
        return self._with_secrets().whatsapp

    def channel(self, name: str) -> Channel:
        """The channel ``name`` (built once per generation of the secrets)."""
        return self._with_secrets().channel(name)

    def inbound_on(self, name: str) -> InboundService:
        """The inbound path of channel ``name``'s webhooks."""
        return self._with_secrets().inbound_on(name)

    @property
    def optin(self) -> OptInService:
        return self._with_secrets().optin

    @property
    def inbound(self) -> InboundService:
        return self._with_secrets().inbound_on("whatsapp")

    @property
    def agents(self) -> AgentDesk:
        return self._with_secrets().agents

    @property
    def desk(self) -> Desk:
        return self._with_secrets().desk

    @property
    def rights_desk(self) -> RightsDesk:
        return self._with_secrets().rights_desk

    @property
    def link_sender(self) -> LinkSender:
        return self._with_secrets().link_sender

    @property
    def campaign_sender(self) -> Sender:
        return self._with_secrets().campaign_sender

    @property
    def outbox_sender(self) -> OutboxSender:
        return self._with_secrets().outbox_sender

    @property
    def renewal_job(self) -> RenewalJob:
        return self._with_secrets().renewal_job

    # -- the rest, once per container ------------------------------------------------------------

    @cached_property
    def keyring(self) -> SubjectKeyring | None:
        """Per-person data keys; without ``KMS_KEY_ID`` and ``KEY_TABLE_NAME`` nothing is stored."""
        from chatconsent.keyring import SubjectKeyring

        if not self.settings.keeps_data_keys:
            return None
        assert self.settings.kms_key_id is not None
        return SubjectKeyring(self.store.data_keys, self._kms or client("kms"), self.settings.kms_key_id)

    @cached_property
    def outbox_sealer(self) -> OutboxSealer:
        """Seals the answers owed (``KMS_KEY_ID``): the webhook writes them, the outbox sender opens them."""
        from chatconsent.outbox import OutboxSealer

        if self.settings.kms_key_id is None:
            raise RuntimeError("KMS_KEY_ID is required to answer in the chat")
        return OutboxSealer(self._kms or client("kms"), self.settings.kms_key_id)

    @cached_property
    def sealer(self) -> Sealer | None:
        """Values sealed under the KMS key itself (a queued link job's number, a rights request's note)."""
        from chatconsent.sealing import Sealer

        if not self.settings.kms_key_id:
            return None
        return Sealer(self._kms or client("kms"), self.settings.kms_key_id)

    @cached_property
    def consents(self) -> ConsentService:
        from chatconsent.consent_service import ConsentService

        return ConsentService(self.store, self.config, self.clock)

    @cached_property
    def rights(self) -> SubjectRights:
        from chatconsent.rights import SubjectRights

        return SubjectRights(self.store, self.keyring, self.notices, self.config, self.clock)

    @cached_property
    def link_confirmation(self) -> LinkConfirmation:
        from chatconsent.confirmation import LinkConfirmation
        from chatconsent.pages import confirmation_page

        config, texts = self.config, self.texts

        def page(request: OptInRequest) -> str:
            language = texts.language(request.language)
            return confirmation_page(config, language, request.purposes, request.channel, request.notice_version)

        return LinkConfirmation(self.store, self.consents, self.clock, page)

    @cached_property
    def access_downloads(self) -> AccessDownloads:
        """The one-time links to the person's copy (DATA in the chat): shown and downloaded once."""
        from chatconsent.access import AccessDownloads

        return AccessDownloads(self.store, self.rights.export)

    @cached_property
    def link_queue(self) -> LinkQueue:
        """Where confirmation links wait to be sent (``LINK_QUEUE_URL``)."""
        from chatconsent.link_sender import LinkQueue

        if not self.settings.link_queue_url:
            raise RuntimeError("LINK_QUEUE_URL is required for link-confirmed opt-ins")
        return LinkQueue(client("sqs"), self.settings.link_queue_url)

    @cached_property
    def campaign_queue(self) -> SqsQueue:
        """The planner's and the senders' queues (``PLAN_QUEUE_URL``, ``SEND_QUEUE_URL``)."""
        from chatconsent.broadcast import SqsQueue

        s = self.settings
        if not s.plan_queue_url or not s.send_queue_url:
            raise RuntimeError("PLAN_QUEUE_URL and SEND_QUEUE_URL are required for campaigns")
        return SqsQueue(client("sqs"), s.plan_queue_url, s.send_queue_url)

    @cached_property
    def campaigns(self) -> CampaignService:
        from chatconsent.campaigns import CampaignService, SchedulerSchedules

        s = self.settings
        schedules = SchedulerSchedules(client("scheduler"), s.plan_queue_arn, s.scheduler_role_arn, s.schedule_group)
        return CampaignService(self.store, self.config, self.clock, self.campaign_queue, schedules)

    @cached_property
    def planner(self) -> Planner:
        from chatconsent.broadcast import Planner

        return Planner(self.store, self.config, self.clock, self.campaign_queue)

    def purge_job(self, time_left_ms: Callable[[], int] | None, lookback_seconds: int | None = None) -> PurgeJob:
        from chatconsent.purge import PurgeJob

        settings = self.config.purge
        lookback = lookback_seconds or int(settings.lookback.total_seconds())
        return PurgeJob(self.store.purge, self.clock, lookback, settings.page_size, time_left_ms)
