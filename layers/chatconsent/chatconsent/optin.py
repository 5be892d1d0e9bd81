"""Double opt-in, step one: the widget asks for a single-use code, or a form asks for a link.

Chat-started (default): nobody is messaged because of this request: the person proves the number
is theirs by sending the code from their own messenger, so typing someone else's number anywhere
achieves nothing. Link-confirmed (optional per channel): a number typed into a form gets at most
one template message with a confirmation link per period, within per-IP and per-prefix limits,
and the answer is the same whatever is known about the number (no enumeration).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, Language
from chatconsent.identity import Pseudonymizer
from chatconsent.notices import NoticeRegistry, UnknownNotice
from chatconsent.replies import Replies
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.store import ChatconsentTable, OptInRequest

if TYPE_CHECKING:
    from chatconsent.link_sender import LinkJob
    from chatconsent.notices import Notice

CODE_PREFIX = "CC-"
CODE_PATTERN = re.compile(r"\bCC-([A-Z2-7]{26})\b", re.IGNORECASE)


class OptInBody(BaseModel):
    """What the widget sends: only ticked purposes, each explicitly ``true`` (no pre-ticked boxes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: dict[str, Literal[True]] = Field(min_length=1, max_length=10, description="Ticked purposes, each true.")
    channel: Literal["whatsapp"]
    language: Language
    notice_version: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,32}$")
    notice_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Hash of the notice text shown."
    )
    phone: str | None = Field(
        default=None,
        min_length=3,
        max_length=40,
        description="Link-confirmed opt-in: the number to send one confirmation link to.",
    )


class OptInLinks(BaseModel):
    whatsapp: str | None = None


class OptInStarted(BaseModel):
    request_id: str
    code: str
    expires_at: int = Field(description="Epoch seconds after which the code is void.")
    links: OptInLinks
    qr_svg: str | None = Field(default=None, description="The WhatsApp link as a QR code (SVG data URI).")
    notice_version: str
    notice_sha256: str


class LinkRequested(BaseModel):
    """The same answer for every acceptable number, whether or not a message was sent."""

    status: Literal["accepted"] = "accepted"
    expires_at: int = Field(description="Epoch seconds after which a link sent now is void.")


class OptInRejected(ValueError):
    """The request cannot be accepted; ``reason`` is safe to show to the caller."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoticeMismatch(OptInRejected):
    status = 409


class RateLimited(OptInRejected):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests, try again later")
        self.retry_after = retry_after


def new_code() -> str:
    """128 random bits, Base32 without padding (26 characters), easy to type and to link."""
    return CODE_PREFIX + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def code_hash(code: str) -> str:
    """Codes are stored only hashed; high entropy makes a plain SHA-256 sufficient."""
    return hashlib.sha256(code.upper().encode("ascii")).hexdigest()


LINK_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 (a pattern, not a secret)


def new_link_token() -> str:
    """256 random bits, URL-safe: the confirmation link's only secret."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Link tokens are stored only hashed, like codes."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def client_bucket(ip: str) -> str:
    """What a per-IP limit counts: the address, or its /64 for IPv6 (a client controls the whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def find_code(text: str) -> str | None:
    match = CODE_PATTERN.search(text)
    return f"{CODE_PREFIX}{match.group(1).upper()}" if match else None


class OptInService:
    def __init__(
        self,
        table: ChatconsentTable,
        pseudonymizer: Pseudonymizer,
        notices: NoticeRegistry,
        config: BusinessConfig,
        clock: Clock,
    ) -> None:
        self._table = table
        self._pseudonymizer = pseudonymizer
        self._notices = notices
        self._config = config
        self._plan = RetentionPlan.from_config(config)
        self._clock = clock
        self._replies = Replies(config)
        self.send_failures = 0  # jobs that could not be queued, for the handler's metric

    def _validated(self, body: OptInBody) -> tuple[Notice, tuple[str, ...]]:
        unknown = sorted(set(body.purposes) - set(self._config.purpose_ids))
        if unknown:
            raise OptInRejected(f"unknown purpose: {', '.join(unknown)}")
        channel = getattr(self._config.channels, body.channel)
        if not channel.enabled:
            raise OptInRejected(f"channel {body.channel} is not enabled")
        try:
            notice = self._notices.get(body.language, body.notice_version)
        except UnknownNotice:
            raise NoticeMismatch("unknown notice version for this language: reload the page") from None
        if body.notice_sha256 and body.notice_sha256 != notice.sha256:
            raise NoticeMismatch("the notice text shown differs from the published version: reload the page")
        return notice, tuple(p for p in self._config.purpose_ids if p in body.purposes)  # config order

    def _consume(self, scope: str, key_hash: str, window: int, limit: int) -> None:
        if not self._table.consume_rate(scope, key_hash, window, limit):
            raise RateLimited(retry_after=window - int(self._clock()) % window)

    def start(self, body: OptInBody, client_ip: str) -> OptInStarted:
        notice, purposes = self._validated(body)
        if body.phone is not None:
            raise OptInRejected("phone: use the link-confirmed opt-in")  # the handler routes by body
        channel = getattr(self._config.channels, body.channel)
        self._consume(
            "optin-ip",
            self._pseudonymizer.client_ip(client_bucket(client_ip)),
            3600,
            self._config.limits.optin_per_ip_per_hour,
        )
        now = int(self._clock())
        code = new_code()
        request = OptInRequest(
            request_id=str(uuid.uuid4()),
            code_hash=code_hash(code),
            flow="chat",
            channel=body.channel,
            language=body.language,
            purposes=purposes,
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            status="pending",
            created_at=now,
            expires_at=self._plan.expires_at(RetentionClass.PENDING_OPTIN_CHAT, now),
        )
        self._table.create_optin_request(request)
        text = self._replies.text("prefill", body.language, code=code)
        digits = channel.display_number.lstrip("+")
        link = f"https://wa.me/{digits}?text={urllib.parse.quote(text)}"
        return OptInStarted(
            request_id=request.request_id,
            code=code,
            expires_at=request.expires_at,
            links=OptInLinks(whatsapp=link),
            notice_version=notice.version,
            notice_sha256=notice.sha256,
        )

    def request_link(self, body: OptInBody, client_ip: str, enqueue: Callable[[LinkJob | None], None]) -> LinkRequested:
        """Business-started opt-in: at most one confirmation link per number and period.

        Everything that depends on what is known about the number (pending link, block list)
        ends in the same answer, and the provider call happens later, from a queue
        (:mod:`chatconsent.link_sender`), so the answer takes the same time too. Only the input's
        form and the abuse limits can be refused.
        """
        from chatconsent.identity import InvalidIdentifier, normalize_phone, phone_region  # noqa: PLC0415
        from chatconsent.link_sender import LinkJob  # noqa: PLC0415

        notice, purposes = self._validated(body)
        settings = getattr(self._config.channels, body.channel).link_confirmation
        if not settings.enabled:
            raise OptInRejected(f"confirmation links are not enabled for {body.channel}")
        if body.phone is None:
            raise OptInRejected("phone: required for a confirmation link")
        limits = self._config.limits
        self._consume(
            "link-ip", self._pseudonymizer.client_ip(client_bucket(client_ip)), 86_400, limits.link_per_ip_per_day
        )
        try:
            number = normalize_phone(body.phone, settings.allowed_countries[0])
        except InvalidIdentifier:
            raise OptInRejected("phone: not a valid phone number (international form, e.g. +49 151 2345678)") from None
        if phone_region(number) not in settings.allowed_countries:
            raise OptInRejected(f"phone: only numbers from {', '.join(settings.allowed_countries)} are accepted")
        prefix = number[: 1 + limits.link_prefix_digits]
        self._consume(
            "link-prefix", self._pseudonymizer.keyed_hash("prefix", prefix), 3600, limits.link_per_prefix_per_hour
        )

        now = int(self._clock())
        accepted = LinkRequested(expires_at=self._plan.expires_at(RetentionClass.PENDING_OPTIN_LINK, now))
        suppression = self._pseudonymizer.suppression(body.channel, number)
        token = new_link_token()
        request = OptInRequest(
            request_id=str(uuid.uuid4()),
            code_hash=token_hash(token),
            flow="link",
            channel=body.channel,
            language=body.language,
            purposes=purposes,
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            status="pending",
            created_at=now,
            expires_at=accepted.expires_at,
            subject=self._pseudonymizer.subject(body.channel, number),
            suppression_hash=suppression,
        )
        created = self._table.create_link_request(request)
        # One link per number and period, and a withdrawn number stays blocked until the person
        # opts in again themselves (from the chat). Either way exactly one job is queued, so the
        # answer costs the same; a job for a request that sends nothing carries nothing.
        job = LinkJob(token=token, number=number, channel=body.channel, language=body.language) if created else None
        try:
            enqueue(job)
        except Exception:  # the queue is down: undo, so that the person may simply try again
            if created:
                self._table.release_link_request(request)
            self.send_failures += 1
        return accepted
