"""The business's configuration: identity, purposes, channels, retention plan, limits.

One validated document is the single source for the notice, the retention plan and the limits.
It ships as ``default_config.json`` and can be replaced by a file named in ``CHATCONSENT_CONFIG``.

The schema is the frozen dataclasses below, validated by ``chatconsent.schema`` (types from the
annotations, bounds and patterns in each field's ``rule``, checks across fields in ``__post_init__``):
every function loads this at start-up, and pydantic models here cost more than the rest of the
package's import.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from chatconsent.retention_classes import REQUIRED_CLASSES
from chatconsent.schema import Document, HttpUrl, constrained
from chatconsent.settings import config_path

Language = Literal["de", "en", "it"]
LANGUAGES: tuple[Language, ...] = ("de", "en", "it")
ChannelName = Literal["whatsapp", "telegram", "apple"]  # every channel the registry may know (channels/registry.py)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.json")


_Strict = Document  # a frozen dataclass, unknown fields refused


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

    messages: int = constrained(ge=1, le=1000)
    period: timedelta = constrained(gt=timedelta(0))


class Purpose(_Strict):
    """A processing purpose the person ticks separately (Planet49: one box each)."""

    id: str = constrained(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    legal_basis: Literal["consent", "explicit_consent"]
    special_category: bool = False
    title: Localized
    description: Localized
    frequency_cap: FrequencyCap | None = constrained(
        default=None, description="What the purpose's text promises about how often campaigns may write."
    )

    def __post_init__(self) -> None:
        if self.special_category and self.legal_basis != "explicit_consent":
            raise ValueError(f"purpose {self.id}: special categories need explicit_consent (Art. 9)")


class Recipient(_Strict):
    name: str
    role: Localized
    country: str
    transfer_basis: Localized | None = None
    agreement: str | None = constrained(
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
    legal_basis: Localized = constrained(description="Why keeping it is lawful (Art. 6 or 9), as the notice says it.")

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError("retention period must be positive")


class LinkConfirmationConfig(_Strict):
    """Business-started double opt-in: a number typed into a form gets one template with a link."""

    enabled: bool = False
    template_name: str = constrained(default="optin_confirmation", pattern=r"^[a-z0-9_]{1,512}$")
    template_languages: dict[Language, str] = constrained(
        default_factory=lambda: {"de": "de", "en": "en", "it": "it"},
        description="WhatsApp template language code per notice language.",
    )
    allowed_countries: tuple[str, ...] = constrained(
        default=("DE", "AT", "CH", "IT"), min_length=1, description="ISO 3166-1 alpha-2 regions accepted."
    )

    def __post_init__(self) -> None:
        if any(not re.fullmatch(r"[A-Z]{2}", region) for region in self.allowed_countries):
            raise ValueError("allowed_countries: ISO 3166-1 alpha-2 codes such as DE")
        if set(self.template_languages) != set(LANGUAGES):
            raise ValueError(f"template_languages: a code is needed for each of {', '.join(LANGUAGES)}")


TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]


class Template(_Strict):
    """An approved WhatsApp template: agents send it outside the 24-hour window, campaigns to their audience.

    Its category decides the consent it needs: a marketing template the campaigns' purpose, any
    other the purpose it serves (``purpose``; by default the conversation's).
    """

    name: str = constrained(pattern=r"^[a-z0-9_]{1,512}$")
    category: TemplateCategory
    purpose: str | None = constrained(default=None, description="The purpose it is sent under (derived when absent).")
    languages: dict[Language, str] = constrained(description="WhatsApp template language code per notice language.")
    parameters: int = constrained(default=0, ge=0, le=10, description="How many body parameters it takes.")
    stop_button: int | None = constrained(
        default=None,
        ge=0,
        le=9,
        description="Index of its quick-reply button that stops marketing (tapped: withdrawn).",
    )

    def __post_init__(self) -> None:
        if set(self.languages) != set(LANGUAGES):
            raise ValueError(f"template {self.name}: a code is needed for each of {', '.join(LANGUAGES)}")
        if self.category == "MARKETING" and self.stop_button is None:
            raise ValueError(f"template {self.name}: a marketing template needs a stop button (stop_button)")


class WhatsAppConfig(_Strict):
    enabled: bool = True
    display_number: str = constrained(description="The business's WhatsApp number in E.164 (public).")
    phone_number_id: str
    api_version: str = "v21.0"
    provider: str = "Meta Platforms Ireland Ltd."
    link_confirmation: LinkConfirmationConfig = field(default_factory=LinkConfirmationConfig)
    templates: tuple[Template, ...] = ()
    messages_per_second: int = constrained(
        default=80, ge=1, le=1000, description="The number's throughput at WhatsApp (80 by default, up to 1,000)."
    )

    def template(self, name: str) -> Template | None:
        return next((t for t in self.templates if t.name == name), None)


class AppleConfig(_Strict):
    """Apple Messages for Business: the ids Apple Business Register shows (public; the secret is in SSM)."""

    enabled: bool = False
    msp_id: str = constrained(
        pattern=r"^[A-Za-z0-9-]{1,64}$", description="The Messaging Service Provider id (inbound tokens' aud)."
    )
    business_ids: tuple[str, ...] = constrained(
        description="The business ids Apple may write to (destination-id); the first is the widget's."
    )
    intent: str = constrained(
        default="optin", pattern=r"^[A-Za-z0-9_.-]{0,64}$", description="The widget link's biz-intent-id."
    )
    group: str = constrained(default="", pattern=r"^[A-Za-z0-9_.-]{0,64}$", description="Its biz-group-id.")
    provider: str = "Apple Distribution International Ltd."

    def __post_init__(self) -> None:
        if not self.business_ids or any(not re.fullmatch(r"[A-Za-z0-9-]{1,64}", b) for b in self.business_ids):
            raise ValueError("channels.apple.business_ids: one or more business ids (letters, digits, -)")


class TelegramConfig(_Strict):
    """A Telegram bot: the widget's deep link ``https://t.me/<bot_username>?start=<code>`` opens it."""

    enabled: bool = False
    bot_username: str = constrained(
        pattern=r"^[A-Za-z][A-Za-z0-9_]{3,30}[Bb][Oo][Tt]$", description="The bot's public username (ends in bot)."
    )
    provider: str = "Telegram Messenger Inc."


class ChannelsConfig(_Strict):
    """Per channel its settings; a channel without settings (absent) is not enabled."""

    whatsapp: WhatsAppConfig
    apple: AppleConfig | None = None
    telegram: TelegramConfig | None = None

    def settings(self, name: str) -> object | None:
        """The settings of channel ``name`` (None: not configured here)."""
        return getattr(self, name, None)

    def is_enabled(self, name: str) -> bool:
        return bool(getattr(self.settings(name), "enabled", False))


class Limits(_Strict):
    optin_per_ip_per_hour: int = constrained(default=10, ge=1)
    link_per_ip_per_day: int = constrained(default=5, ge=1, description="Link-confirmed opt-ins per client IP and day.")
    link_per_prefix_per_hour: int = constrained(
        default=20, ge=1, description="Link-confirmed opt-ins per number prefix and hour (number pumping)."
    )
    link_prefix_digits: int = constrained(default=6, ge=3, le=12, description="E.164 digits that make a prefix.")
    info_replies_per_day: int = constrained(default=1, ge=0)
    max_webhook_bytes: int = constrained(default=262_144, ge=1024, le=6_000_000)
    max_api_body_bytes: int = constrained(default=16_384, ge=256, le=1_000_000)


class QuietHours(_Strict):
    """No campaign message between ``start`` and ``end`` o'clock in the recipient's local time."""

    start: int = constrained(ge=0, le=23)
    end: int = constrained(ge=0, le=23)

    def covers(self, hour: int) -> bool:
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class CampaignSettings(_Strict):
    """Messenger marketing: which purpose campaigns need, the words that stop them, when not to send."""

    purpose: str = constrained(default="marketing", description="The purpose marketing templates are sent under.")
    stop_words: tuple[str, ...] = constrained(
        default=("stop werbung", "basta promozioni", "stop promotions"),
        description="Whole messages that withdraw marketing only (besides a marketing template's stop button).",
    )
    quiet_hours: QuietHours | None = None
    recipients_per_job: int = constrained(default=25, ge=1, le=100, description="Recipients per queued send job.")
    outage_pause_after: int = constrained(
        default=5, ge=1, description="Consecutive provider outages after which a running campaign pauses itself."
    )


class PurgeSettings(_Strict):
    lookback: timedelta = constrained(
        gt=timedelta(0),
        default=timedelta(days=14),
        description="How far back each purge run looks; older leftovers fall to DynamoDB TTL and raise the lag alarm.",
    )
    page_size: int = constrained(default=100, ge=25, le=1000)


class RenewalSettings(_Strict):
    """Consent renewal: the person is asked before their consent lapses, once per validity period."""

    ask_before: timedelta = constrained(
        default=timedelta(days=30), gt=timedelta(0), description="How long before the lapse the person is asked."
    )
    lapse_ahead: timedelta = constrained(
        default=timedelta(hours=1),
        gt=timedelta(0),
        le=timedelta(days=1),
        description="How long before the validity ends the scheduled job may write the lapse (at least one "
        "run of the job falls in it: the schedule runs every 30 minutes).",
    )
    template: str = constrained(
        default="consent_renewal",
        pattern=r"^[a-z0-9_]{1,512}$",
        description="The UTILITY template that asks outside WhatsApp's 24-hour window (quick reply 0: yes).",
    )


class NoticeChange(_Strict):
    """What a notice version changed: ``material`` (purposes or recipients) asks active subjects to re-confirm."""

    material: bool = False


class BusinessConfig(_Strict):
    notice_version: str = constrained(pattern=r"^[0-9A-Za-z.\-]{1,32}$")
    default_language: Language = "en"
    languages: tuple[Language, ...] = constrained(
        default=LANGUAGES, min_length=1, description="The languages offered to people (chat, pages, widget)."
    )
    controller: Contact
    dpo: Officer | None = constrained(
        default=None, description="Only where Art. 37 requires or the business appoints one."
    )
    representative: Officer | None = constrained(default=None, description="Art. 27: a controller outside the EU.")
    supervisory_authority: Authority
    supervisory_authorities: dict[Language, Authority] = constrained(
        default_factory=dict, description="The authority named in each notice language, where not the default one."
    )
    public_base_url: HttpUrl = constrained(description="Where the widget and notices are reachable.")
    purposes: tuple[Purpose, ...]
    conversation_purpose: str = constrained(
        default="customer_service",
        description="The purpose that covers keeping the conversation and replying in it.",
    )
    recipients: tuple[Recipient, ...]
    retention: dict[str, RetentionClassConfig]
    consent_validity: timedelta = constrained(
        default=timedelta(days=730),
        gt=timedelta(0),
        description="An active consent lapses after this long without renewal.",
    )
    consent_renewal: RenewalSettings = field(default_factory=RenewalSettings)
    notice_changes: dict[str, NoticeChange] = constrained(
        default_factory=dict,
        description="Per notice version: material (purposes or recipients changed) or, when absent, clarifying.",
    )
    minimum_age: int | None = constrained(
        default=None,
        ge=13,
        le=16,
        description="Art. 8 GDPR (16 in Germany, 14 in Italy): the widget asks the person to confirm this age "
        "before any purpose, and an opt-in without that confirmation is refused. Absent: no question.",
    )
    channels: ChannelsConfig
    limits: Limits = field(default_factory=Limits)
    purge: PurgeSettings = field(default_factory=PurgeSettings)
    campaigns: CampaignSettings = field(default_factory=CampaignSettings)

    def __post_init__(self) -> None:
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

        renewal = self.channels.whatsapp.template(self.consent_renewal.template)
        if renewal is not None and renewal.category != "UTILITY":
            raise ValueError(f"consent_renewal.template {renewal.name}: a renewal ask is a UTILITY template")

    def is_material(self, notice_version: str) -> bool:
        """Whether ``notice_version`` changed purposes or recipients (its subjects re-confirm)."""
        change = self.notice_changes.get(notice_version)
        return change is not None and change.material

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
    """Read and validate a configuration file; invalid configuration fails at start-up (``schema.DocumentError``)."""
    source = Path(path) if path else DEFAULT_CONFIG_PATH
    return BusinessConfig.model_validate(json.loads(source.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def current_config() -> BusinessConfig:
    """This process's configuration: the file named in ``CHATCONSENT_CONFIG`` (see ``chatconsent.settings``)."""
    return load_config(config_path())
