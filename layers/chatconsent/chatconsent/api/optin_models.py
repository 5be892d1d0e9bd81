"""The opt-in API's request and answer models: the OpenAPI document's schemas and ``POST /optin``'s validation.

Loaded by the opt-in function on its first ``POST /optin`` (and by ``openapi_app()``): the function
starts without pydantic, and its other routes answer documents built from the domain's dataclasses
(``tests/functions/test_optin_lean.py`` checks that every answer is what its model here declares).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema, field_validator

from chatconsent.config import ChannelName, Language
from chatconsent.optin import CodeIssued, LinkAccepted, OptInAsk


def _ticked(value: bool) -> bool:
    if value is not True:
        raise ValueError("a ticked box is the JSON literal true")
    return value


# A ticked box: the JSON literal true, never 1, 1.0 or "true" (pydantic's Literal[True] takes 1 even when strict).
Ticked = Annotated[StrictBool, AfterValidator(_ticked), WithJsonSchema({"type": "boolean", "const": True})]


class OptInBody(BaseModel):
    """What the widget sends: only ticked purposes, each explicitly ``true`` (no pre-ticked boxes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: dict[str, Ticked] = Field(min_length=1, max_length=10, description="Ticked purposes, each true.")
    channel: ChannelName = Field(description="One of the enabled channels (GET /optin/settings).")
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
    age_confirmed: Annotated[
        Ticked | None,
        WithJsonSchema(
            {
                "type": "boolean",
                "const": True,
                "description": 'The box "I am at least N years old" is ticked: required (true) when the '
                "settings name a minimum age (Art. 8 GDPR); otherwise optional, and only true if sent.",
            }
        ),
    ] = None
    widget_version: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z.\-]{1,32}$",
        description="The version of the widget that sends the request (recorded in the proof).",
    )

    @field_validator("age_confirmed", mode="before")
    @classmethod
    def _age_ticked_if_sent(cls, value: object) -> object:
        if value is None:  # absent is fine; null sent is no tick
            raise ValueError("a ticked box is the JSON literal true")
        return value

    def ask(self) -> OptInAsk:
        return OptInAsk(
            purposes=tuple(self.purposes),
            channel=self.channel,
            language=self.language,
            notice_version=self.notice_version,
            notice_sha256=self.notice_sha256,
            phone=self.phone,
            age_confirmed=self.age_confirmed is True,
            widget_version=self.widget_version,
        )


class OptInLinks(BaseModel):
    """The chosen channel's deep link that carries the code, under the channel's name."""

    whatsapp: str | None = None
    telegram: str | None = None
    apple: str | None = None


class OptInStarted(BaseModel):
    request_id: str
    code: str
    expires_at: int = Field(description="Epoch seconds after which the code is void.")
    links: OptInLinks
    qr_svg: str | None = Field(default=None, description="The channel's link as a QR code (SVG data URI).")
    notice_version: str
    notice_sha256: str

    @classmethod
    def of(cls, issued: CodeIssued, qr_svg: str | None) -> OptInStarted:
        """``qr_svg``: the channel's link drawn as a QR code, if there is a link."""
        return cls(
            request_id=issued.request_id,
            code=issued.code,
            expires_at=issued.expires_at,
            links=OptInLinks.model_validate({issued.channel: issued.link or issued.whatsapp_link}),
            qr_svg=qr_svg,
            notice_version=issued.notice_version,
            notice_sha256=issued.notice_sha256,
        )


class LinkRequested(BaseModel):
    """The same answer for every acceptable number, whether or not a message was sent."""

    status: Literal["accepted"] = "accepted"
    expires_at: int = Field(description="Epoch seconds after which a link sent now is void.")

    @classmethod
    def of(cls, accepted: LinkAccepted) -> LinkRequested:
        return cls(expires_at=accepted.expires_at)


class NoticeDocument(BaseModel):
    version: str
    language: str
    sha256: str
    text: str


class Controller(BaseModel):
    name: str
    email: str


class PurposeChoice(BaseModel):
    id: str
    legal_basis: str
    special_category: bool
    title: dict[str, str]
    description: dict[str, str]


class ChannelChoice(BaseModel):
    id: str
    name: str
    link_confirmation: bool


class AgeCheck(BaseModel):
    """Art. 8 GDPR: the box the widget shows before any purpose; the opt-in then needs `age_confirmed`."""

    minimum_age: int
    statement: dict[str, str] = Field(description="What the person ticks, per language.")
    hint: dict[str, str] = Field(description="Why it is asked, per language.")
    need: dict[str, str] = Field(description="What to do while it is not ticked, per language.")


class WidgetSettings(BaseModel):
    languages: list[str]
    default_language: str
    controller: Controller
    purposes: list[PurposeChoice]
    channels: list[ChannelChoice]
    summary: dict[str, list[str]]
    code_ttl_seconds: int
    link_ttl_seconds: int
    age_check: AgeCheck | None = Field(description="Present when the business sets a minimum age (Art. 8 GDPR).")
    widget_version: str = Field(description="The version of the widget served at /widget.")
