"""What the opt-in widget needs to draw itself: purposes, channels and the notice's first layer.

The summary is the short first layer of the Art. 13 notice, built from the same configuration
as the full text; the full, versioned text (whose hash the ledger records) is shown beneath it.
"""

from __future__ import annotations

from pydantic import BaseModel

from chatconsent.config import LANGUAGES, BusinessConfig, Language
from chatconsent.notice_render import format_period
from chatconsent.retention import RetentionClass

_SUMMARY: dict[str, dict[Language, str]] = {
    "who": {
        "en": "Who: {controller} ({email}) is responsible for your data.",
        "de": "Wer: {controller} ({email}) ist für Ihre Daten verantwortlich.",
        "it": "Chi: {controller} ({email}) è titolare del trattamento dei suoi dati.",
    },
    "what": {
        "en": "What for: only the purposes you tick below. Nothing is pre-ticked and each box is a separate choice.",
        "de": "Wofür: nur für die Zwecke, die Sie unten ankreuzen. Nichts ist vorausgewählt, jedes Kästchen "
        "ist eine eigene Entscheidung.",
        "it": "Per cosa: solo per le finalità che seleziona qui sotto. Nulla è preselezionato e ogni casella "
        "è una scelta separata.",
    },
    "recipients": {
        "en": "Who receives it: {recipients}.",
        "de": "Empfänger: {recipients}.",
        "it": "Destinatari: {recipients}.",
    },
    "transfer": {
        "en": "Data may be transferred to the USA under the EU-US Data Privacy Framework.",
        "de": "Daten können auf Grundlage des EU-US Data Privacy Framework in die USA übermittelt werden.",
        "it": "I dati possono essere trasferiti negli USA in base all'EU-US Data Privacy Framework.",
    },
    "how_long": {
        "en": "How long: chat messages {conversation} from the last contact; proof of your consent {ledger} "
        "after it ends.",
        "de": "Wie lange: Chat-Nachrichten {conversation} ab dem letzten Kontakt; der Nachweis Ihrer "
        "Einwilligung {ledger} nach deren Ende.",
        "it": "Per quanto: messaggi della chat {conversation} dall'ultimo contatto; la prova del consenso "
        "{ledger} dopo la sua fine.",
    },
    "rights": {
        "en": "Your rights: write STOP to withdraw at any time, DATA for a copy, DELETE to erase your data.",
        "de": "Ihre Rechte: Schreiben Sie STOPP zum Widerruf, DATEN für eine Kopie, LÖSCHEN zum Löschen.",
        "it": "I suoi diritti: scriva STOP per revocare, DATI per una copia, CANCELLA per la cancellazione.",
    },
}


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


class WidgetSettings(BaseModel):
    languages: list[str]
    default_language: str
    controller: Controller
    purposes: list[PurposeChoice]
    channels: list[ChannelChoice]
    summary: dict[str, list[str]]
    code_ttl_seconds: int
    link_ttl_seconds: int


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
    return [_SUMMARY[key][language].format(**values) for key in keys]


def widget_settings(config: BusinessConfig) -> WidgetSettings:
    whatsapp = config.channels.whatsapp
    channels = (
        [ChannelChoice(id="whatsapp", name="WhatsApp", link_confirmation=whatsapp.link_confirmation.enabled)]
        if whatsapp.enabled
        else []
    )
    return WidgetSettings(
        languages=list(LANGUAGES),
        default_language=config.default_language,
        controller=Controller(name=config.controller.name, email=config.controller.email),
        purposes=[
            PurposeChoice(
                id=p.id,
                legal_basis=p.legal_basis,
                special_category=p.special_category,
                title=dict(p.title),
                description=dict(p.description),
            )
            for p in config.purposes
        ],
        channels=channels,
        summary={language: _summary(config, language) for language in LANGUAGES},
        code_ttl_seconds=int(config.retention[RetentionClass.PENDING_OPTIN_CHAT.value].period.total_seconds()),
        link_ttl_seconds=int(config.retention[RetentionClass.PENDING_OPTIN_LINK.value].period.total_seconds()),
    )
