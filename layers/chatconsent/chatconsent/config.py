"""The business's configuration: identity, purposes, channels, retention plan, limits.

One validated document is the single source for the notice, the retention plan and the limits.
It ships as ``default_config.json`` and can be replaced by a file named in ``CHATCONSENT_CONFIG``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from chatconsent.retention_classes import REQUIRED_CLASSES
from chatconsent.settings import config_path

Language = Literal["de", "en", "it"]
LANGUAGES: tuple[Language, ...] = ("de", "en", "it")
ChannelName = Literal["whatsapp"]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Localized = dict[Language, str]
Localizable = str | Localized  # the same in every language (a name), or one text per language


def in_language(value: Localizable, language: Language) -> str:
    return value if isinstance(value, str) else value[language]


class Contact(_Strict):
    """The controller: its name is the same in every language, its address may be written per language."""

    name: str
    address: Localizable
    email: str
    website: HttpUrl | None = None


class Officer(_Strict):
    """A data protection officer (Art. 37) or an EU representative (Art. 27): a role, so its name is translated."""

    name: Localizable
    address: Localizable
    email: str


class Authority(_Strict):
    name: Localizable
    website: HttpUrl


class FrequencyCap(_Strict):
    """At most ``messages`` business-started messages per ``period`` (a window that opens with its first send)."""

    messages: int = Field(ge=1, le=1000)
    period: timedelta = Field(gt=timedelta(0))


class Purpose(_Strict):
    """A processing purpose the person ticks separately (Planet49: one box each)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    legal_basis: Literal["consent", "explicit_consent"]
    special_category: bool = False
    title: Localized
    description: Localized
    frequency_cap: FrequencyCap | None = Field(
        default=None, description="What the purpose's text promises about how often campaigns may write."
    )

    @model_validator(mode="after")
    def _explicit_for_special(self) -> Purpose:
        if self.special_category and self.legal_basis != "explicit_consent":
            raise ValueError(f"purpose {self.id}: special categories need explicit_consent (Art. 9)")
        return self


class Recipient(_Strict):
    name: str
    role: Localized
    country: str
    transfer_basis: Localized | None = None
    agreement: str | None = Field(
        default=None, description="The processing agreement (Art. 28) with a processor, for the Art. 30 record."
    )


class RetentionClassConfig(_Strict):
    period: timedelta
    starts: Literal[
        "creation",
        "last_contact",
        "receipt",
        "last_consent_event",
        "withdrawal",
        "window_start",
        "closing",
    ]
    description: Localized
    legal_basis: Localized = Field(description="Why keeping it is lawful (Art. 6 or 9), as the notice says it.")

    @field_validator("period")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("retention period must be positive")
        return value


class LinkConfirmationConfig(_Strict):
    """Business-started double opt-in: a number typed into a form gets one template with a link."""

    enabled: bool = False
    template_name: str = Field(default="optin_confirmation", pattern=r"^[a-z0-9_]{1,512}$")
    template_languages: dict[Language, str] = Field(
        default={"de": "de", "en": "en", "it": "it"},
        description="WhatsApp template language code per notice language.",
    )
    allowed_countries: tuple[str, ...] = Field(
        default=("DE", "AT", "CH", "IT"), min_length=1, description="ISO 3166-1 alpha-2 regions accepted."
    )

    @field_validator("allowed_countries")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not re.fullmatch(r"[A-Z]{2}", region) for region in value):
            raise ValueError("allowed_countries: ISO 3166-1 alpha-2 codes such as DE")
        return value

    @model_validator(mode="after")
    def _every_language(self) -> LinkConfirmationConfig:
        if set(self.template_languages) != set(LANGUAGES):
            raise ValueError(f"template_languages: a code is needed for each of {', '.join(LANGUAGES)}")
        return self


TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]


class Template(_Strict):
    """An approved WhatsApp template: agents send it outside the 24-hour window, campaigns to their audience.

    Its category decides the consent it needs: a marketing template the campaigns' purpose, any
    other the purpose it serves (``purpose``; by default the conversation's).
    """

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    category: TemplateCategory
    purpose: str | None = Field(default=None, description="The purpose it is sent under (derived when absent).")
    languages: dict[Language, str] = Field(description="WhatsApp template language code per notice language.")
    parameters: int = Field(default=0, ge=0, le=10, description="How many body parameters it takes.")
    stop_button: int | None = Field(
        default=None,
        ge=0,
        le=9,
        description="Index of its quick-reply button that stops marketing (tapped: withdrawn).",
    )

    @model_validator(mode="after")
    def _every_language(self) -> Template:
        if set(self.languages) != set(LANGUAGES):
            raise ValueError(f"template {self.name}: a code is needed for each of {', '.join(LANGUAGES)}")
        if self.category == "MARKETING" and self.stop_button is None:
            raise ValueError(f"template {self.name}: a marketing template needs a stop button (stop_button)")
        return self


class WhatsAppConfig(_Strict):
    enabled: bool = True
    display_number: str = Field(description="The business's WhatsApp number in E.164 (public).")
    phone_number_id: str
    api_version: str = "v21.0"
    provider: str = "Meta Platforms Ireland Ltd."
    link_confirmation: LinkConfirmationConfig = LinkConfirmationConfig()
    templates: tuple[Template, ...] = ()
    messages_per_second: int = Field(
        default=80, ge=1, le=1000, description="The number's throughput at WhatsApp (80 by default, up to 1,000)."
    )

    def template(self, name: str) -> Template | None:
        return next((t for t in self.templates if t.name == name), None)


class ChannelsConfig(_Strict):
    whatsapp: WhatsAppConfig


class Limits(_Strict):
    optin_per_ip_per_hour: int = Field(default=10, ge=1)
    link_per_ip_per_day: int = Field(default=5, ge=1, description="Link-confirmed opt-ins per client IP and day.")
    link_per_prefix_per_hour: int = Field(
        default=20, ge=1, description="Link-confirmed opt-ins per number prefix and hour (number pumping)."
    )
    link_prefix_digits: int = Field(default=6, ge=3, le=12, description="E.164 digits that make a prefix.")
    info_replies_per_day: int = Field(default=1, ge=0)
    max_webhook_bytes: int = Field(default=262_144, ge=1024, le=6_000_000)
    max_api_body_bytes: int = Field(default=16_384, ge=256, le=1_000_000)


class QuietHours(_Strict):
    """No campaign message between ``start`` and ``end`` o'clock in the recipient's local time."""

    start: int = Field(ge=0, le=23)
    end: int = Field(ge=0, le=23)

    def covers(self, hour: int) -> bool:
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class CampaignSettings(_Strict):
    """Messenger marketing: which purpose campaigns need, the words that stop them, when not to send."""

    purpose: str = Field(default="marketing", description="The purpose marketing templates are sent under.")
    stop_words: tuple[str, ...] = Field(
        default=("stop werbung", "basta promozioni", "stop promotions"),
        description="Whole messages that withdraw marketing only (besides a marketing template's stop button).",
    )
    quiet_hours: QuietHours | None = None
    recipients_per_job: int = Field(default=25, ge=1, le=100, description="Recipients per queued send job.")
    outage_pause_after: int = Field(
        default=5, ge=1, description="Consecutive provider outages after which a running campaign pauses itself."
    )


class PurgeSettings(_Strict):
    lookback: timedelta = Field(
        gt=timedelta(0),
        default=timedelta(days=14),
        description="How far back each purge run looks; older leftovers fall to DynamoDB TTL and raise the lag alarm.",
    )
    page_size: int = Field(default=100, ge=25, le=1000)


class BusinessConfig(_Strict):
    notice_version: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,32}$")
    default_language: Language = "en"
    languages: tuple[Language, ...] = Field(
        default=LANGUAGES, min_length=1, description="The languages offered to people (chat, pages, widget)."
    )
    controller: Contact
    dpo: Officer | None = Field(default=None, description="Only where Art. 37 requires or the business appoints one.")
    representative: Officer | None = Field(default=None, description="Art. 27: a controller outside the EU.")
    supervisory_authority: Authority
    supervisory_authorities: dict[Language, Authority] = Field(
        default_factory=dict, description="The authority named in each notice language, where not the default one."
    )
    public_base_url: HttpUrl = Field(description="Where the widget and notices are reachable.")
    purposes: tuple[Purpose, ...]
    conversation_purpose: str = Field(
        default="customer_service",
        description="The purpose that covers keeping the conversation and replying in it.",
    )
    recipients: tuple[Recipient, ...]
    retention: dict[str, RetentionClassConfig]
    consent_validity: timedelta = Field(
        default=timedelta(days=730),
        gt=timedelta(0),
        description="An active consent lapses after this long without renewal.",
    )
    minimum_age: int | None = Field(
        default=None,
        ge=13,
        le=16,
        description="Art. 8 GDPR (16 in Germany, 14 in Italy): the widget asks the person to confirm this age "
        "before any purpose, and an opt-in without that confirmation is refused. Absent: no question.",
    )
    channels: ChannelsConfig
    limits: Limits = Limits()
    purge: PurgeSettings = PurgeSettings()
    campaigns: CampaignSettings = CampaignSettings()

    @model_validator(mode="after")
    def _consistent(self) -> BusinessConfig:
        ids = [p.id for p in self.purposes]
        if len(ids) != len(set(ids)):
            raise ValueError("purpose ids must be unique")
        if not ids:
            raise ValueError("at least one purpose is required")
        if self.default_language not in self.languages or len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: each once, the default_language among them")
        if self.conversation_purpose not in ids:
            raise ValueError(f"conversation_purpose {self.conversation_purpose!r} is not one of the purposes")
        if self.purpose(self.conversation_purpose).special_category:
            raise ValueError("conversation_purpose cannot be a special-category purpose")
        missing = sorted(REQUIRED_CLASSES - self.retention.keys())
        if missing:
            raise ValueError(f"retention plan lacks classes: {', '.join(missing)}")
        self._templates_consistent(ids)
        for where, text in self._translated():
            if isinstance(text, dict) and set(text) != set(LANGUAGES):
                raise ValueError(f"{where}: a text is needed in each of {', '.join(LANGUAGES)}")
        return self

    def _templates_consistent(self, ids: list[str]) -> None:
        if self.campaigns.purpose not in ids:
            raise ValueError(f"campaigns.purpose {self.campaigns.purpose!r} is not one of the purposes")
        for template in self.channels.whatsapp.templates:
            purpose = self.template_purpose(template)
            if purpose not in ids:
                raise ValueError(f"template {template.name}: purpose {purpose!r} is not one of the purposes")
            if (template.category == "MARKETING") != (purpose == self.campaigns.purpose):
                raise ValueError(
                    f"template {template.name}: a {template.category} template cannot be sent under {purpose!r}"
                )

    def template_purpose(self, template: Template) -> str:
        """The purpose whose active consent a template needs: its category decides."""
        if template.category == "MARKETING":
            return template.purpose or self.campaigns.purpose
        return template.purpose or self.conversation_purpose

    def frequency_cap(self, purpose_id: str) -> FrequencyCap | None:
        """How often campaigns may write under a purpose; marketing defaults to the promise "at most weekly"."""
        cap = self.purpose(purpose_id).frequency_cap
        if cap is None and purpose_id == self.campaigns.purpose:
            return FrequencyCap(messages=1, period=timedelta(days=7))
        return cap

    def _translated(self) -> list[tuple[str, Localizable | None]]:
        """Every text that may be written per language, with where it is (for the check above)."""
        texts: list[tuple[str, Localizable | None]] = []
        for p in self.purposes:
            texts += [(f"purpose {p.id} title", p.title), (f"purpose {p.id} description", p.description)]
        for r in self.recipients:
            texts += [(f"recipient {r.name} role", r.role), (f"recipient {r.name} transfer basis", r.transfer_basis)]
        texts += [(f"retention {name} description", c.description) for name, c in self.retention.items()]
        texts += [(f"retention {name} legal basis", c.legal_basis) for name, c in self.retention.items()]
        for role, officer in (("dpo", self.dpo), ("representative", self.representative)):
            if officer is not None:
                texts += [(f"{role} name", officer.name), (f"{role} address", officer.address)]
        texts += [("controller address", self.controller.address)]
        texts += [(f"supervisory authority ({lang})", a.name) for lang, a in self.supervisory_authorities.items()]
        return [*texts, ("supervisory authority", self.supervisory_authority.name)]

    def purpose(self, purpose_id: str) -> Purpose:
        for purpose in self.purposes:
            if purpose.id == purpose_id:
                return purpose
        raise KeyError(purpose_id)

    @property
    def purpose_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.purposes)

    def authority(self, language: Language) -> Authority:
        """The supervisory authority the notice in ``language`` names."""
        return self.supervisory_authorities.get(language, self.supervisory_authority)

    def notice_url(self, language: str) -> str:
        return f"{str(self.public_base_url).rstrip('/')}/notices/{language}"


def load_config(path: str | os.PathLike[str] | None = None) -> BusinessConfig:
    """Read and validate a configuration file; invalid configuration fails at start-up."""
    source = Path(path) if path else DEFAULT_CONFIG_PATH
    return BusinessConfig.model_validate(json.loads(source.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def current_config() -> BusinessConfig:
    """This process's configuration: the file named in ``CHATCONSENT_CONFIG`` (see ``chatconsent.settings``)."""
    return load_config(config_path())
