"""Art. 13 notices: published versions are immutable, the latest is what the configuration renders,
and the rendered text holds every element Art. 13 asks for."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from chatconsent.config import LANGUAGES, BusinessConfig, Language, current_config, in_language
from chatconsent.errors import NotFound
from chatconsent.notice_render import render_notice
from chatconsent.notices import NOTICE_DIR, NoticeRegistry, UnknownNotice, text_sha256
from chatconsent.texts import format_period, raw

MANIFEST = json.loads((NOTICE_DIR / "manifest.json").read_text("utf-8"))
PUBLISHED = [(version, language) for version, languages in MANIFEST["versions"].items() for language in languages]


@pytest.mark.parametrize(("version", "language"), PUBLISHED, ids=[f"{v}-{lang}" for v, lang in PUBLISHED])
def test_published_notice_matches_its_manifest_hash(version: str, language: str) -> None:
    """A published version is never rewritten: its hash is what the ledger recorded."""
    text = (NOTICE_DIR / version / f"{language}.md").read_text("utf-8")
    assert text_sha256(text) == MANIFEST["versions"][version][language], (
        f"notices/{version}/{language}.md changed after publication: restore it and publish a new version instead"
    )
    notice = NoticeRegistry().get(language, version)
    assert notice.sha256 == MANIFEST["versions"][version][language]
    assert notice.version == version and notice.language == language


def test_every_notice_file_is_in_the_manifest() -> None:
    on_disk = {(p.parent.name, p.stem) for p in NOTICE_DIR.glob("*/*.md")}
    assert on_disk == set(PUBLISHED)


def test_every_version_has_every_language() -> None:
    for version, languages in MANIFEST["versions"].items():
        assert set(languages) == set(LANGUAGES), version


def test_latest_is_the_configured_version() -> None:
    registry = NoticeRegistry()
    assert registry.latest_version == current_config().notice_version, (
        "notice_version in the configuration is not the latest published notice: run `make notices`"
    )
    assert registry.latest_version in registry.versions()


def test_the_latest_notice_is_not_dated_after_its_publication() -> None:
    """A ledger entry must never point to a notice dated after it: a date-like version (with a suffix for a
    second version of the day, 2026-11-30.2) is dated at most its publish day."""
    published = MANIFEST["published"]
    assert set(published) == set(MANIFEST["versions"])
    latest = MANIFEST["latest"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.\d+)?", latest)
    assert latest[:10] <= published[latest]
    assert all(published[v] <= time.strftime("%Y-%m-%d", time.gmtime()) for v in published)


@pytest.mark.parametrize("language", LANGUAGES)
def test_latest_notice_is_what_the_configuration_renders(language: Language) -> None:
    notice = NoticeRegistry().get(language)
    assert notice.text == render_notice(current_config(), language), (
        "the configuration renders a different notice than the latest published one: bump notice_version "
        "and run `make notices`"
    )


def test_get_without_version_is_the_latest() -> None:
    registry = NoticeRegistry()
    assert registry.get("en") == registry.get("en", registry.latest_version)
    assert registry.get("en") is registry.get("en")  # read once


@pytest.mark.parametrize(
    ("language", "version"), [("fr", None), ("EN", None), ("en", "1999-01-01"), ("", None), ("../en", None)]
)
def test_unknown_language_or_version(language: str, version: str | None) -> None:
    with pytest.raises(UnknownNotice):
        NoticeRegistry().get(language, version)


def test_unknown_notice_is_a_not_found_error() -> None:
    assert issubclass(UnknownNotice, NotFound)


def test_registry_reads_another_directory(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "en.md").write_text("hello\n", "utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps({"latest": "v1", "versions": {"v1": {"en": "x"}}}), "utf-8")
    notice = NoticeRegistry(tmp_path).get("en")
    assert notice.text == "hello\n" and notice.sha256 == text_sha256("hello\n") and notice.version == "v1"


# -- Art. 13 content ---------------------------------------------------------------------------

BASIS = {
    "en": {"consent": "consent, Art. 6(1)(a) GDPR", "explicit_consent": "explicit consent, Art. 9(2)(a) GDPR"},
    "de": {
        "consent": "Einwilligung, Art. 6 Abs. 1 lit. a DSGVO",
        "explicit_consent": "ausdrückliche Einwilligung, Art. 9 Abs. 2 lit. a DSGVO",
    },
    "it": {
        "consent": "consenso, art. 6, par. 1, lett. a GDPR",
        "explicit_consent": "consenso esplicito, art. 9, par. 2, lett. a GDPR",
    },
}
RIGHTS = {
    "en": ["access", "rectification", "erasure", "restriction", "portability", "objection", "withdraw", "complaint"],
    "de": [
        "Auskunft",
        "Berichtigung",
        "Löschung",
        "Einschränkung",
        "Datenübertragbarkeit",
        "Widerspruch",
        "widerrufen",
        "Beschwerde",
    ],
    "it": ["accesso", "rettifica", "cancellazione", "limitazione", "portabilità", "opposizione", "revocare", "reclamo"],
}
ARTICLES = ["15", "16", "17", "18", "20", "21"]
REQUIRED = {"en": "voluntary", "de": "freiwillig", "it": "facoltativo"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_notice_holds_the_art_13_elements(language: Language) -> None:
    config = current_config()
    text = render_notice(config, language)
    # controller and DPO contact
    assert config.controller.name in text and config.controller.email in text
    assert config.dpo is not None and config.dpo.email in text
    # each purpose with its legal basis, on one line
    lines = text.splitlines()
    for purpose in config.purposes:
        [line] = [line for line in lines if line.startswith(f"- **{purpose.title[language]}**")]
        assert BASIS[language][purpose.legal_basis] in line, purpose.id
        assert purpose.description[language] in line
    # recipients and the third-country transfer basis
    assert "Meta Platforms" in text and "Amazon Web Services" in text
    assert text.count("2023/1795") == 2 and text.count("2021/914") == 2  # DPF, and SCCs where it does not apply
    # the rights, the withdrawal and the supervisory authority
    for right in RIGHTS[language]:
        assert right in text, right
    for article in ARTICLES:
        assert f"{article})" in text or f"{article} " in text, article
    assert in_language(config.authority(language).name, language) in text
    # whether providing data is required
    assert REQUIRED[language] in text
    assert text.endswith("\n")


@pytest.mark.parametrize("language", LANGUAGES)
def test_notice_has_a_line_per_retention_class(language: Language) -> None:
    config = current_config()
    lines = render_notice(config, language).splitlines()
    for retention in config.retention.values():
        period = format_period(retention.period, language)
        matching = [line for line in lines if line.startswith(f"- {retention.description[language]}: {period} ")]
        assert len(matching) == 1, retention.description["en"]


def test_english_retention_lines() -> None:
    text = render_notice(current_config(), "en")
    lines = text.splitlines()
    for start in [
        "- Opt-in requests started in the chat and not yet confirmed: 1 hour from creation; legal basis: ",
        "- Chat messages: 90 days from receipt; legal basis: your consent (Art. 6(1)(a) GDPR)",
        "- Messages with health or bank data: 30 days from receipt; legal basis: ",
        "- Block list entry: a coded form of your number that cannot be turned back into it, so that we do not",
        "- Abuse-protection counters, in a coded form of the IP address or number range: 1 day from its start; ",
        "- Deletion receipts (counts only, no personal data): 400 days from creation; legal basis: ",
        "A consent lapses after 2 years unless you renew it. About 30 days before that we ask you in the chat",
    ]:
        assert any(line.startswith(start) for line in lines), start
    assert "3 years after the consent ends" in text and "3 years from withdrawal" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_processing_the_notice_lists_has_its_legal_basis(language: Language) -> None:
    config = current_config()
    lines = render_notice(config, language).splitlines()
    for retention in config.retention.values():
        [line] = [line for line in lines if line.startswith(f"- {retention.description[language]}: ")]
        assert line.endswith(retention.legal_basis[language]), retention.description["en"]
        assert "GDPR" in line or "DSGVO" in line


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notice_says_what_is_done_in_clear_language(language: Language) -> None:
    text = render_notice(current_config(), language)
    assert "`" not in text  # no internal ids
    assert "keyed hash" not in text and "Hash" not in text and "hash " not in text  # no jargon
    assert "at most:" not in text and "höchstens:" not in text
    assert {"en": "IP address", "de": "IP-Adresse", "it": "indirizzo IP"}[language] in text  # IP addresses
    assert {"en": "checked automatically", "de": "automatisch", "it": "automaticamente"}[language] in text
    assert {"en": "decrypted", "de": "entschlüsselt", "it": "decifrati"}[language] in text  # Meta's copy
    assert "end-to-end" not in text.lower()
    if language != "en":  # fully translated
        for english in ("Data Protection Officer", "Germany", "Berlin Commissioner"):
            assert english not in text, english


def test_the_italian_notice_names_the_italian_authority() -> None:
    assert "Garante per la protezione dei dati personali" in render_notice(current_config(), "it")
    assert "Berliner Beauftragte" in render_notice(current_config(), "de")


def test_dpo_and_representative_are_optional() -> None:
    config = current_config()
    assert "## Representative in the EU" not in render_notice(config, "en")
    representative = {
        "name": {"en": "EU Rep", "de": "EU-Vertreter", "it": "Rappresentante UE"},
        "address": "Rue 1, Brussels",
        "email": "rep@example.eu",
    }
    raw = config.model_dump(mode="json") | {"dpo": None, "representative": representative}
    changed = type(config).model_validate(raw)
    text = render_notice(changed, "de")
    assert "## Datenschutzbeauftragter" not in text and "## Vertreter in der EU (Art. 27 DSGVO)" in text
    assert "EU-Vertreter, Rue 1, Brussels, rep@example.eu" in text


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "confirm that you are at least 14 years old"),
        ("de", "dass Sie mindestens 14 Jahre alt sind"),
        ("it", "di avere almeno 14 anni"),
    ],
)
def test_a_minimum_age_is_announced_only_when_configured(language: Language, sentence: str) -> None:
    config = current_config()
    assert config.minimum_age is None  # the default notice (and its published version) does not change
    default = render_notice(config, language)
    assert not any(raw("notice_data_age", language).format(age=age) in default for age in range(13, 17))
    aged = type(config).model_validate(config.model_dump(mode="json") | {"minimum_age": 14})
    text = render_notice(aged, language)
    assert sentence in text and "art. 8" in text.lower()
    [data_section] = [s for s in text.split("\n## ") if s.startswith(raw("notice_data_h", language) + "\n")]
    assert raw("notice_data_age", language).format(age="14") in data_section  # under "what we process"


def test_notice_follows_the_configuration() -> None:
    config = current_config()
    retention = dict(config.retention)
    retention["conversation"] = retention["conversation"].model_copy(update={"period": timedelta(days=30)})
    controller = config.controller.model_copy(update={"email": "privacy@other.example"})
    changed = config.model_copy(update={"retention": retention, "controller": controller, "notice_version": "v9"})
    text = render_notice(changed, "en")
    assert "Chat messages: 30 days from receipt" in text
    assert "privacy@other.example" in text and "privacy@example.com" not in text
    assert "Version v9" in text


def test_without_transfer_basis_there_is_no_transfer() -> None:
    config = current_config()
    recipients = tuple(r.model_copy(update={"transfer_basis": None}) for r in config.recipients)
    text = render_notice(config.model_copy(update={"recipients": recipients}), "en")
    assert "No transfer to third countries." in text and "2023/1795" not in text


def test_rendering_is_deterministic() -> None:
    config = BusinessConfig.model_validate(json.loads(json.dumps(current_config().model_dump(mode="json"))))
    assert render_notice(config, "de") == render_notice(current_config(), "de")


@pytest.mark.parametrize(
    ("period", "en", "de", "it"),
    [
        (timedelta(hours=1), "1 hour", "1 Stunde", "1 ora"),
        (timedelta(hours=2), "2 hours", "2 Stunden", "2 ore"),
        (timedelta(hours=24), "1 day", "1 Tag", "1 giorno"),
        (timedelta(days=90), "90 days", "90 Tage", "90 giorni"),
        (timedelta(days=365), "1 year", "1 Jahr", "1 anno"),
        (timedelta(days=1095), "3 years", "3 Jahre", "3 anni"),
        (timedelta(days=400), "400 days", "400 Tage", "400 giorni"),
    ],
)
def test_format_period(period: timedelta, en: str, de: str, it: str) -> None:
    assert (format_period(period, "en"), format_period(period, "de"), format_period(period, "it")) == (en, de, it)


@pytest.mark.parametrize(
    ("period", "en", "de", "it"),
    [
        (timedelta(minutes=30), "30 minutes", "30 Minuten", "30 minuti"),
        (timedelta(minutes=1), "1 minute", "1 Minute", "1 minuto"),
        (timedelta(minutes=90), "90 minutes", "90 Minuten", "90 minuti"),
    ],
)
def test_a_period_that_is_not_whole_hours_is_shown_in_minutes(period: timedelta, en: str, de: str, it: str) -> None:
    """Never rounded: PT30M once showed as "0 hours", misstating the retention plan."""
    assert (format_period(period, "en"), format_period(period, "de"), format_period(period, "it")) == (en, de, it)
