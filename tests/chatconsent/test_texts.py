"""The text catalogue and the one language resolver: complete in every language, and one answer
to "which language" whether it comes from a stored choice, a browser's header or a number's region."""

from __future__ import annotations

import json
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chatconsent.config import LANGUAGES, BusinessConfig, Language, current_config
from chatconsent.texts import CATALOGUE_PATH, Texts, catalogue, load_catalogue, resolve

DEFAULT = "default"  # stands for the configuration's default language in the cases below


def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return data


def offering(languages: tuple[Language, ...], default: Language) -> BusinessConfig:
    raw = current_config().model_dump(mode="json")
    return BusinessConfig.model_validate({**raw, "languages": list(languages), "default_language": default})


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# -- the catalogue -------------------------------------------------------------------------------


def test_every_key_is_in_every_language_and_nothing_else() -> None:
    texts = document()["texts"]
    incomplete = {key: sorted(entry) for key, entry in texts.items() if set(entry) != set(LANGUAGES)}
    assert not incomplete, f"each text needs exactly {', '.join(LANGUAGES)}"
    assert all(isinstance(text, str) and text for entry in texts.values() for text in entry.values())
    assert set(document()) == {"texts", "regions"}
    assert set(document()["regions"].values()) <= set(LANGUAGES)


def test_every_language_of_a_text_has_the_same_placeholders() -> None:
    for key, entry in document()["texts"].items():
        expected = fields(entry["en"])
        for language, text in entry.items():
            assert fields(text) == expected, f"{key} ({language})"


def test_keys_are_grouped_by_where_they_are_shown() -> None:
    keys = set(document()["texts"])
    chat = {key for key in keys if not key.startswith(("page_", "notice_", "widget_", "unit_", "desk."))}
    assert {"prefill", "confirm_question", "button_yes", "help", "info", "special_question"} <= chat
    assert {"page_title", "page_invalid_h", "notice_title", "notice_automated", "widget_who"} <= keys
    assert {f"unit_{unit}{plural}" for unit in ("minute", "hour", "day", "year") for plural in ("", "s")} <= keys


def test_the_catalogue_is_read_once() -> None:
    assert catalogue() is catalogue()
    assert catalogue().texts.keys() == document()["texts"].keys()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["texts"]["help"].pop("it"), "help needs a text in each of de, en, it"),
        (lambda d: d["texts"]["help"].update(fr="Aide"), "help needs a text in each of de, en, it and no other"),
        (lambda d: d["texts"]["help"].update(de=None), "help needs a text"),
        (lambda d: d["regions"].update(FR="fr"), "region 'FR' needs one of de, en, it"),
        (lambda d: d["regions"].update(de="de"), "region 'de'"),
        (lambda d: d.update(extra={}), "exactly 'texts' and 'regions'"),
        (lambda d: d.update(texts=[]), "texts must be an object"),
    ],
)
def test_an_incomplete_catalogue_is_refused(tmp_path: Path, change: Any, message: str) -> None:
    data = document()
    change(data)
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_catalogue(path)


# -- the resolver ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT),
        ("", DEFAULT),
        ("de", "de"),
        ("it", "it"),
        ("de-DE", "de"),
        ("DE", "de"),
        ("it_IT", "it"),
        (" en-GB ", "en"),
        ("fr", DEFAULT),
        ("deu", DEFAULT),
        ("*", DEFAULT),
        ("fr-CH, de;q=0.9, en;q=0.8", "de"),
        ("fr-CH,fr;q=0.9,it;q=0.8,de;q=0.7,*;q=0.5", "it"),
        ("en;q=0.5, de", "de"),  # quality first
        ("de;q=0.8, en;q=0.8", "de"),  # equal quality: the order given
        ("it;Q=0.3, en;q=0.30001", "en"),
        ("de;q=0, en;q=0.1", "en"),  # q=0: not acceptable
        ("de;q=abc, it", "it"),  # a malformed quality does not count
        ("de;q=2, it;q=0.1", "it"),
        ("de;level=1, en", "de"),
        (",,;q=1,", DEFAULT),
        ("fr," * 40 + "de", DEFAULT),  # only the first ranges of a long header are read
    ],
)
def test_the_resolver(value: str | None, expected: str) -> None:
    config = current_config()
    assert Texts(config).language(value) == (config.default_language if expected == DEFAULT else expected)


def test_the_resolver_offers_only_the_business_languages() -> None:
    texts = Texts(offering(("de", "it"), "it"))
    assert texts.language("en") == "it"
    assert texts.language("en-US, en;q=0.9, de;q=0.5") == "de"
    assert texts.language(None) == "it"
    assert texts.language_for_region("GB") == "it"
    assert texts.text("button_no", "en") == "No" and texts.text("button_yes", "en") == "Sì, acconsento"
    assert texts.raw("button_yes", "de-AT") == "Ja, einverstanden"


def test_resolve_without_a_configuration() -> None:
    assert resolve("fr, it;q=0.5", LANGUAGES, "en") == "it"
    assert resolve("it", ("de",), "de") == "de"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("DE", "de"),
        ("AT", "de"),
        ("LI", "de"),
        ("IT", "it"),
        ("SM", "it"),
        ("VA", "it"),
        ("it", "it"),
        ("CH", DEFAULT),  # several languages: nothing to guess from
        ("US", DEFAULT),
        ("", DEFAULT),
        (None, DEFAULT),
    ],
)
def test_a_number_region_gives_a_language(region: str | None, expected: str) -> None:
    config = current_config()
    assert Texts(config).language_for_region(region) == (config.default_language if expected == DEFAULT else expected)


def test_a_region_whose_language_is_not_offered_gets_the_default() -> None:
    assert Texts(offering(("en", "it"), "en")).language_for_region("AT") == "en"


# -- texts -----------------------------------------------------------------------------------------


def test_a_chat_text_is_formatted_with_the_business_and_the_values() -> None:
    config = current_config()
    texts = Texts(config)
    assert texts.text("prefill", "de", code="K7Q2") == (
        "Hallo! Ich möchte Nachrichten von Example Shop GmbH erhalten. Mein Code: K7Q2"
    )
    help_it = texts.text("help", "it-IT")
    assert config.controller.email in help_it and f"{config.notice_url('it')} " in help_it
    assert texts.text("info", "en").endswith(f"Privacy notice: {config.notice_url('en')}")
    assert f"{str(config.public_base_url).rstrip('/')}/widget " in texts.text("info", "en")
    assert texts.text("help", "fr") == texts.text("help", config.default_language)


def test_every_chat_text_formats_with_what_its_callers_give() -> None:
    texts = Texts(current_config())
    values = {
        **{"code": "C", "purposes": "P", "summary": "S", "purpose": "X", "period": "1 hour", "stored": "2"},
        **{"link": "https://example.com/data/T", "messages": "M", "count": "2"},  # DATA's answer
        **{"remaining": "R"},  # the answer to "no" to the renewal question
    }
    chat = [key for key in document()["texts"] if not key.startswith(("page_", "notice_", "widget_", "unit_", "desk."))]
    for key in chat:
        for language in LANGUAGES:
            text = texts.text(key, language, **values)
            assert "{" not in text and "}" not in text, key


def test_raw_is_unformatted_and_unknown_keys_fail() -> None:
    texts = Texts(current_config())
    assert texts.raw("page_title", "en") == "Confirm messages from {controller}"
    with pytest.raises(KeyError):
        texts.raw("no_such_text", "en")


def test_purposes_and_periods_in_the_resolved_language() -> None:
    texts = Texts(current_config())
    assert texts.purposes(["customer_service", "health_data"], "de").endswith(", Gesundheitsangaben")
    assert texts.purposes((), "de") == ""
    assert texts.period(timedelta(hours=1), "de-DE") == "1 Stunde"
    assert texts.period(timedelta(days=730), "it") == "2 anni"
    assert texts.period(timedelta(minutes=30), None) == "30 minutes"
