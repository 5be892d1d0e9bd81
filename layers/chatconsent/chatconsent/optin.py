"""Chat-started double opt-in, step one: the widget asks for a single-use code.

Nobody is messaged because of this request: the person proves the number is theirs by sending
the code from their own messenger, so typing someone else's number anywhere achieves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import urllib.parse
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, Language
from chatconsent.identity import Pseudonymizer
from chatconsent.notices import NoticeRegistry, UnknownNotice
from chatconsent.replies import Replies
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.store import ChatconsentTable, OptInRequest

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


class OptInLinks(BaseModel):
    whatsapp: str | None = None


class OptInStarted(BaseModel):
    request_id: str
    code: str
    expires_at: int = Field(description="Epoch seconds after which the code is void.")
    links: OptInLinks
    notice_version: str
    notice_sha256: str


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

    def start(self, body: OptInBody, client_ip: str) -> OptInStarted:
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

        window = 3600
        if not self._table.consume_rate(
            "optin-ip", self._pseudonymizer.client_ip(client_ip), window, self._config.limits.optin_per_ip_per_hour
        ):
            now = int(self._clock())
            raise RateLimited(retry_after=window - now % window)

        now = int(self._clock())
        code = new_code()
        purposes = tuple(p for p in self._config.purpose_ids if p in body.purposes)  # config order
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
