"""Double opt-in, step one: the widget asks for a single-use code, or a form asks for a link.

Chat-started (default): nobody is messaged because of this request: the person proves the number
is theirs by sending the code from their own messenger, so typing someone else's number anywhere
achieves nothing. Link-confirmed (optional per channel): a number typed into a form gets at most
one template message with a confirmation link per period, within per-IP and per-prefix limits,
and the answer is the same whatever is known about the number (no enumeration).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from chatconsent.channels.registry import channel_spec
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, ChannelName, Language, LinkConfirmationConfig
from chatconsent.errors import AgeNotConfirmed, InvalidInput, NoticeChanged, RateLimited
from chatconsent.identity import InvalidIdentifier, Pseudonymizer, normalize_phone, phone_region
from chatconsent.link_sender import LinkJob, seal_number
from chatconsent.notices import Notice, NoticeRegistry, UnknownNotice
from chatconsent.retention import RetentionPlan
from chatconsent.retention_classes import RetentionClass
from chatconsent.sealing import Sealer
from chatconsent.store import OptInRequest, Store
from chatconsent.texts import Texts
from chatconsent.tokens import code_hash, new_code, new_link_token, token_hash

_PHONE_CHARACTERS = re.compile(r"[0-9 +\-().]+")
WIDGET_VERSION = re.compile(r"[0-9A-Za-z.\-]{1,32}")  # what a widget may call its version


@dataclass(frozen=True)
class OptInAsk:
    """What the person asked for: the ticked purposes, on which channel, having seen which notice.

    Without ``phone`` the chat-started opt-in (a code); with it, the link-confirmed one.
    ``age_confirmed``: the person ticked "I am at least N years old" (required when the business
    sets a minimum age); ``widget_version``: the version of the widget that asked, when it says.
    """

    purposes: tuple[str, ...]
    channel: ChannelName
    language: Language
    notice_version: str
    notice_sha256: str | None = None
    phone: str | None = None
    age_confirmed: bool = False
    widget_version: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "purposes", tuple(self.purposes))  # any iterable of ids, kept as given


@dataclass(frozen=True)
class CodeIssued:
    """A chat-started opt-in: the code to send, where to send it, and the notice it binds."""

    request_id: str
    code: str
    expires_at: int
    whatsapp_link: str | None  # the link when the channel is WhatsApp (kept for the widgets that read it)
    notice_version: str
    notice_sha256: str
    channel: str = "whatsapp"
    link: str | None = None  # the channel's deep link carrying the code (the registry's ``opt_in_link``)


@dataclass(frozen=True)
class LinkAccepted:
    """The same for every acceptable number; ``queued`` is false only when the queue failed (for operators)."""

    expires_at: int
    queued: bool = True


def client_bucket(ip: str) -> str:
    """What a per-IP limit counts: the address, or its /64 for IPv6 (a client controls the whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class OptInService:
    def __init__(
        self,
        store: Store,
        pseudonymizer: Pseudonymizer,
        notices: NoticeRegistry,
        config: BusinessConfig,
        clock: Clock,
        sealer: Sealer | None = None,
    ) -> None:
        self._sealer = sealer
        self._store = store
        self._pseudonymizer = pseudonymizer
        self._notices = notices
        self._config = config
        self._plan = RetentionPlan.from_config(config)
        self._clock = clock
        self._texts = Texts(config)

    def _validated(self, ask: OptInAsk) -> tuple[Notice, tuple[str, ...]]:
        unknown = sorted(set(ask.purposes) - set(self._config.purpose_ids))
        if unknown:
            raise InvalidInput(f"unknown purpose: {', '.join(unknown)}")
        if not self._config.channels.is_enabled(ask.channel):
            raise InvalidInput(f"channel {ask.channel} is not enabled")
        try:
            notice = self._notices.get(ask.language, ask.notice_version)
        except UnknownNotice:
            raise NoticeChanged("unknown notice version for this language: reload the page") from None
        if ask.notice_sha256 and ask.notice_sha256 != notice.sha256:
            raise NoticeChanged("the notice text shown differs from the published version: reload the page")
        if self._config.minimum_age is not None and ask.age_confirmed is not True:
            raise AgeNotConfirmed(self._config.minimum_age)
        if ask.widget_version is not None and not WIDGET_VERSION.fullmatch(ask.widget_version):
            raise InvalidInput("widget_version: letters, digits, dots and hyphens, at most 32")
        return notice, tuple(p for p in self._config.purpose_ids if p in ask.purposes)  # config order

    def _new_request(
        self, ask: OptInAsk, notice: Notice, purposes: tuple[str, ...], secret_hash: str, flow: str
    ) -> OptInRequest:
        """A pending request for ``flow`` (chat or link), kept as long as its retention class says."""
        now = int(self._clock())
        retention = RetentionClass.PENDING_OPTIN_CHAT if flow == "chat" else RetentionClass.PENDING_OPTIN_LINK
        return OptInRequest(
            request_id=str(uuid.uuid4()),
            code_hash=secret_hash,
            flow=flow,
            channel=ask.channel,
            language=ask.language,
            purposes=purposes,
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            status="pending",
            created_at=now,
            expires_at=self._plan.expires_at(retention, now),
            age_confirmed=self._config.minimum_age or 0,  # confirmed (checked above) whenever one is set
            widget_version=ask.widget_version or "",
        )

    def _consume(self, scope: str, key_hash: str, window: int, limit: int) -> None:
        if not self._store.guards.consume_rate(scope, key_hash, window, limit):
            raise RateLimited(retry_after=window - int(self._clock()) % window)

    def start(self, ask: OptInAsk, client_ip: str) -> CodeIssued:
        """Chat-started: a single-use code and a deep link that pre-fills it; nobody is messaged."""
        notice, purposes = self._validated(ask)
        if ask.phone is not None:
            raise InvalidInput("phone: use the link-confirmed opt-in")  # the handler routes by body
        self._consume(
            "optin-ip",
            self._pseudonymizer.client_ip(client_bucket(client_ip)),
            3600,
            self._config.limits.optin_per_ip_per_hour,
        )
        code = new_code()
        request = self._new_request(ask, notice, purposes, code_hash(code), "chat")
        self._store.optins.create_request(request)
        text = self._texts.text("prefill", ask.language, code=code)
        link = channel_spec(ask.channel).opt_in_link(self._config, code, text)
        return CodeIssued(
            request_id=request.request_id,
            code=code,
            expires_at=request.expires_at,
            whatsapp_link=link if ask.channel == "whatsapp" else None,
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            channel=ask.channel,
            link=link,
        )

    def _number(self, ask: OptInAsk, settings: LinkConfirmationConfig) -> str:
        """The typed number in E.164, from an allowed region."""
        if not _PHONE_CHARACTERS.fullmatch(ask.phone or ""):  # letters are never read as keypad digits
            raise InvalidInput("phone: only digits, spaces and + - ( ) . are allowed")
        try:
            number = normalize_phone(ask.phone or "", settings.allowed_countries[0])
        except InvalidIdentifier:
            raise InvalidInput("phone: not a valid phone number (international form, e.g. +49 151 2345678)") from None
        if phone_region(number) not in settings.allowed_countries:
            raise InvalidInput(f"phone: only numbers from {', '.join(settings.allowed_countries)} are accepted")
        return number

    def request_link(self, ask: OptInAsk, client_ip: str, enqueue: Callable[[LinkJob | None], None]) -> LinkAccepted:
        """Business-started opt-in: at most one confirmation link per number and period.

        Everything that depends on what is known about the number (pending link, block list)
        ends in the same answer, and the provider call happens later, from a queue
        (:mod:`chatconsent.link_sender`), so the answer takes the same time too. Only the input's
        form and the abuse limits can be refused.
        """
        notice, purposes = self._validated(ask)
        settings = getattr(self._config.channels.settings(ask.channel), "link_confirmation", None)
        if settings is None or not settings.enabled:
            raise InvalidInput(f"confirmation links are not enabled for {ask.channel}")
        if ask.phone is None:
            raise InvalidInput("phone: required for a confirmation link")
        limits = self._config.limits
        self._consume(
            "link-ip", self._pseudonymizer.client_ip(client_bucket(client_ip)), 86_400, limits.link_per_ip_per_day
        )
        number = self._number(ask, settings)
        prefix = number[: 1 + limits.link_prefix_digits]
        self._consume(
            "link-prefix", self._pseudonymizer.keyed_hash("prefix", prefix), 3600, limits.link_per_prefix_per_hour
        )

        token = new_link_token()
        if self._sealer is None:
            raise RuntimeError("KMS_KEY_ID is required for confirmation links")  # a deployment error
        # Sealed whatever is known about the number (the same KMS call in every branch): the queue
        # never holds the number in clear.
        sealed = seal_number(self._sealer, token, number)
        request = replace(
            self._new_request(ask, notice, purposes, token_hash(token), "link"),
            subject=self._pseudonymizer.subject(ask.channel, number),
            suppression_hash=self._pseudonymizer.suppression(ask.channel, number),
        )
        created = self._store.optins.create_link_request(request)
        # One link per number and period, and a withdrawn number stays blocked until the person
        # opts in again themselves (from the chat). Either way exactly one job is queued, so the
        # answer costs the same; a job for a request that sends nothing carries nothing.
        job = (
            LinkJob(token=token, sealed_number=sealed, channel=ask.channel, language=ask.language) if created else None
        )
        try:
            enqueue(job)
        except Exception:  # the queue is down: undo, so that the person may simply try again
            if created:
                self._store.optins.release_link_request(request)
            return LinkAccepted(expires_at=request.expires_at, queued=False)
        return LinkAccepted(expires_at=request.expires_at)
