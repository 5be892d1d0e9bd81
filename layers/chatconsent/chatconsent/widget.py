"""What the opt-in widget needs to draw itself: purposes, channels and the notice's first layer.

The channels are the enabled ones (``config.channels.<name>.enabled``) in the registry's order
(:mod:`chatconsent.channels.registry`); the person picks one and gets that channel's deep link.

The summary is the short first layer of the Art. 13 notice, built from the same configuration
as the full text; the full, versioned text (whose hash the ledger records) is shown beneath it.
Its wording is the catalogue's ``widget_*`` entries; the widget offers the business's ``languages``.
With a minimum age configured (Art. 8 GDPR), the settings carry the age check: the statement the
person ticks before any purpose, and why it is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatconsent.channels.registry import enabled_channels
from chatconsent.config import BusinessConfig, Language
from chatconsent.retention_classes import RetentionClass
from chatconsent.texts import format_period, raw


@dataclass(frozen=True)
class ControllerInfo:
    name: str
    email: str


@dataclass(frozen=True)
class PurposeInfo:
    id: str
    legal_basis: str
    special_category: bool
    title: dict[Language, str]
    description: dict[Language, str]


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    link_confirmation: bool


@dataclass(frozen=True)
class AgeCheckInfo:
    """The box "I am at least N years old" that comes before every purpose, per language."""

    minimum_age: int
    statement: dict[str, str]
    hint: dict[str, str]
    need: dict[str, str]


@dataclass(frozen=True)
class WidgetInfo:
    """Everything the widget draws itself from; the opt-in function answers it as JSON."""

    languages: tuple[str, ...]
    default_language: str
    controller: ControllerInfo
    purposes: tuple[PurposeInfo, ...]
    channels: tuple[ChannelInfo, ...]
    summary: dict[str, list[str]]
    code_ttl_seconds: int
    link_ttl_seconds: int
    age_check: AgeCheckInfo | None = None
    widget_version: str = ""


def _age_check(config: BusinessConfig) -> AgeCheckInfo | None:
    age = config.minimum_age
    if age is None:
        return None

    def texts(key: str) -> dict[str, str]:
        return {language: raw(f"widget_age_{key}", language).format(age=age) for language in config.languages}

    return AgeCheckInfo(minimum_age=age, statement=texts("statement"), hint=texts("hint"), need=texts("need"))


def _summary(config: BusinessConfig, language: Language) -> list[str]:
    plan = config.retention
    values = {
        "controller": config.controller.name,
        "email": config.controller.email,
        "recipients": ", ".join(r.name for r in config.recipients),
        "conversation": format_period(plan[RetentionClass.CONVERSATION.value].period, language),
        "ledger": format_period(plan[RetentionClass.CONSENT_LEDGER.value].period, language),
    }
    keys = ["who", "what", "recipients"]
    if any(r.transfer_basis for r in config.recipients):
        keys.append("transfer")
    keys += ["how_long", "rights"]
    lines = [raw(f"widget_{key}", language).format(**values) for key in keys]
    notes = [spec.widget_note for spec in enabled_channels(config) if spec.widget_note]
    return lines + [raw(note, language) for note in notes]


def widget_settings(config: BusinessConfig, widget_version: str = "") -> WidgetInfo:
    """The widget's settings for this business: what it offers, and its notice's first layer per language.

    ``widget_version`` is the version of the widget this API serves (``GET /widget``).
    """
    channels = tuple(
        ChannelInfo(
            id=spec.name,
            name=spec.display_name,
            link_confirmation=bool(
                getattr(getattr(config.channels.settings(spec.name), "link_confirmation", None), "enabled", False)
            ),
        )
        for spec in enabled_channels(config)
    )
    return WidgetInfo(
        languages=tuple(config.languages),
        default_language=config.default_language,
        controller=ControllerInfo(name=config.controller.name, email=config.controller.email),
        purposes=tuple(
            PurposeInfo(
                id=p.id,
                legal_basis=p.legal_basis,
                special_category=p.special_category,
                title=dict(p.title),
                description=dict(p.description),
            )
            for p in config.purposes
        ),
        channels=channels,
        summary={language: _summary(config, language) for language in config.languages},
        code_ttl_seconds=int(config.retention[RetentionClass.PENDING_OPTIN_CHAT.value].period.total_seconds()),
        link_ttl_seconds=int(config.retention[RetentionClass.PENDING_OPTIN_LINK.value].period.total_seconds()),
        age_check=_age_check(config),
        widget_version=widget_version,
    )
