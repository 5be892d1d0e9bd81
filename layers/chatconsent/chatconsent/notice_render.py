"""Renders the Art. 13 GDPR notice from the configuration (run by ``make notices``, not at runtime).

The retention section is generated from the retention plan, so the notice cannot drift from what
the purge does. Rendered texts are committed and immutable per version; the ledger records their hash.
The wording is the catalogue's ``notice_*`` entries (``texts.json``): changing one changes the rendering,
which then needs a new notice version.
"""

from __future__ import annotations

from collections.abc import Callable

from chatconsent.config import BusinessConfig, Language, Officer, in_language
from chatconsent.retention_classes import COPIES
from chatconsent.texts import format_period, raw


def _officer(heading: str, officer: Officer | None, language: Language) -> list[str]:
    if officer is None:
        return []
    name, address = in_language(officer.name, language), in_language(officer.address, language)
    return [f"## {heading}", "", f"{name}, {address}, {officer.email}", ""]


def _retention(config: BusinessConfig, language: Language, t: Callable[..., str]) -> list[str]:
    lines = []
    for retention in config.retention.values():
        period = format_period(retention.period, language)
        basis = t("retention_basis", basis=retention.legal_basis[language])
        lines.append(f"- {retention.description[language]}: {period} {t(f'starts_{retention.starts}')}; {basis}")
    return lines


def _transfers(config: BusinessConfig, language: Language, t: Callable[..., str]) -> list[str]:
    transfers = [(r.name, r.transfer_basis) for r in config.recipients if r.transfer_basis]
    return [f"- {name}: {basis[language]}" for name, basis in transfers] or [t("transfer_none")]


def render_notice(config: BusinessConfig, language: Language) -> str:
    """The exact notice text for ``language``: Markdown, newline-terminated, deterministic."""

    def t(key: str, **values: str) -> str:
        return raw(f"notice_{key}", language).format(**values)

    c = config.controller
    address = in_language(c.address, language)
    authority = config.authority(language)
    links = config.channels.whatsapp.enabled and config.channels.whatsapp.link_confirmation.enabled
    lines = [
        f"# {t('title', controller=c.name)}",
        "",
        t("version", version=config.notice_version),
        "",
        f"## {t('summary_h')}",
        "",
        t("summary"),
        "",
        f"## {t('controller_h')}",
        "",
        f"{c.name}, {address}, {c.email}" + (f", {c.website}" if c.website else ""),
        "",
        *_officer(t("dpo_h"), config.dpo, language),
        *_officer(t("representative_h"), config.representative, language),
        f"## {t('purposes_h')}",
        "",
    ]
    for purpose in config.purposes:
        basis = t(f"basis_{purpose.legal_basis}")
        lines.append(f"- **{purpose.title[language]}**: {purpose.description[language]} ({basis})")
    lines += ["", f"## {t('data_h')}", "", t("data"), ""]
    if config.minimum_age is not None:  # Art. 8: the form asks for the age before any purpose
        lines += [t("data_age", age=str(config.minimum_age)), ""]
    lines += [t("data_link"), ""] if links else []
    lines += [t("data_abuse"), "", t("data_scan"), ""]
    if config.channels.whatsapp.templates:  # campaigns can write first: how, and what is kept
        quiet = config.campaigns.quiet_hours
        night = f" {t('data_quiet', start=str(quiet.start), end=str(quiet.end))}" if quiet else ""
        lines += [t("data_campaigns") + night, ""]
    lines += [f"## {t('recipients_h')}", ""]
    lines += [f"- {r.name}: {r.role[language]} ({r.country})" for r in config.recipients]
    lines += ["", f"## {t('transfer_h')}", "", *_transfers(config, language, t)]
    lines += ["", f"## {t('retention_h')}", "", t("retention_intro"), "", *_retention(config, language, t)]
    copies = {name: format_period(period, language) for name, period in COPIES.items()}
    lines += ["", t("retention_copies", **copies)]
    lines += [
        "",
        t(
            "validity",
            period=format_period(config.consent_validity, language),
            ask_before=format_period(config.consent_renewal.ask_before, language),
        ),
        "",
        f"## {t('rights_h')}",
        "",
        t("rights"),
        "",
        t("rights_desk"),
        "",
        t("complaint", authority=in_language(authority.name, language), url=str(authority.website)),
        "",
        f"## {t('required_h')}",
        "",
        t("required"),
        "",
        t("automated"),
        "",
    ]
    return "\n".join(lines)
