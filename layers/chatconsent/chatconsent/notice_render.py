"""Renders the Art. 13 GDPR notice from the configuration (run by ``make notices``, not at runtime).

The retention section is generated from the retention plan, so the notice cannot drift from what
the purge does. Rendered texts are committed and immutable per version; the ledger records their hash.
The wording is the catalogue's ``notice_*`` entries (``texts.json``): changing one changes the rendering,
which then needs a new notice version.
"""

from __future__ import annotations

from chatconsent.config import BusinessConfig, Language
from chatconsent.texts import format_period, raw


def render_notice(config: BusinessConfig, language: Language) -> str:
    """The exact notice text for ``language``: Markdown, newline-terminated, deterministic."""

    def t(key: str, **values: str) -> str:
        return raw(f"notice_{key}", language).format(**values)

    c = config.controller
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
        f"{c.name}, {c.address}, {c.email}" + (f", {c.website}" if c.website else ""),
        "",
        f"## {t('dpo_h')}",
        "",
        f"{config.dpo.name}, {config.dpo.address}, {config.dpo.email}",
        "",
        f"## {t('purposes_h')}",
        "",
    ]
    for purpose in config.purposes:
        basis = t(f"basis_{purpose.legal_basis}")
        lines.append(f"- **{purpose.title[language]}** (`{purpose.id}`): {purpose.description[language]} ({basis})")
    lines += ["", f"## {t('data_h')}", "", t("data"), "", f"## {t('recipients_h')}", ""]
    for recipient in config.recipients:
        lines.append(f"- {recipient.name}: {recipient.role[language]} ({recipient.country})")
    lines += ["", f"## {t('transfer_h')}", ""]
    transfers = [r for r in config.recipients if r.transfer_basis]
    if transfers:
        for recipient in transfers:
            assert recipient.transfer_basis is not None
            lines.append(f"- {recipient.name}: {recipient.transfer_basis[language]}")
    else:
        lines.append(t("transfer_none"))
    lines += ["", f"## {t('retention_h')}", "", t("retention_intro"), ""]
    for retention in config.retention.values():
        period = format_period(retention.period, language)
        lines.append(f"- {retention.description[language]}: {period} {t(f'starts_{retention.starts}')}")
    lines += [
        "",
        t("validity", period=format_period(config.consent_validity, language)),
        "",
        f"## {t('rights_h')}",
        "",
        t("rights"),
        "",
        t(
            "complaint",
            authority=config.supervisory_authority.name,
            url=str(config.supervisory_authority.website),
        ),
        "",
        f"## {t('required_h')}",
        "",
        t("required"),
        "",
        t("automated"),
        "",
    ]
    return "\n".join(lines)
