"""The configuration is validated at start-up: an incomplete or unlawful plan refuses to load."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chatconsent.config import DEFAULT_CONFIG_PATH, BusinessConfig, current_config, load_config
from chatconsent.retention import REQUIRED_CLASSES
from chatconsent.schema import DocumentError


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_the_default_configuration_loads(raw: dict[str, Any]) -> None:
    config = BusinessConfig.model_validate(raw)
    assert config == load_config() == current_config()
    assert set(config.retention) == REQUIRED_CLASSES
    assert config.purpose_ids == ("customer_service", "marketing", "health_data")
    assert config.retention["conversation"].period == timedelta(days=90)
    assert config.retention["pending_optin_chat"].period == timedelta(hours=1)


@pytest.mark.parametrize("missing", sorted(REQUIRED_CLASSES))
def test_a_plan_missing_a_class_is_refused(raw: dict[str, Any], missing: str) -> None:
    del raw["retention"][missing]
    with pytest.raises(DocumentError, match=f"retention plan lacks classes: {missing}"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("period", ["PT0S", "P0D", "-P1D", "-PT1H"])
def test_a_non_positive_period_is_refused(raw: dict[str, Any], period: str) -> None:
    raw["retention"]["conversation"]["period"] = period
    with pytest.raises(DocumentError, match="retention period must be positive"):
        BusinessConfig.model_validate(raw)


def test_a_special_category_purpose_needs_explicit_consent(raw: dict[str, Any]) -> None:
    health = next(p for p in raw["purposes"] if p.get("special_category"))
    health["legal_basis"] = "consent"
    with pytest.raises(DocumentError, match=r"special categories need explicit_consent \(Art\. 9\)"):
        BusinessConfig.model_validate(raw)


def test_a_purpose_becoming_special_needs_explicit_consent(raw: dict[str, Any]) -> None:
    raw["purposes"][1]["special_category"] = True  # marketing, legal basis "consent"
    with pytest.raises(DocumentError, match="explicit_consent"):
        BusinessConfig.model_validate(raw)
    raw["purposes"][1]["legal_basis"] = "explicit_consent"
    assert BusinessConfig.model_validate(raw).purposes[1].special_category


def test_the_conversation_purpose_must_be_offered_and_not_special(raw: dict[str, Any]) -> None:
    raw["conversation_purpose"] = "support"
    with pytest.raises(DocumentError, match="not one of the purposes"):
        BusinessConfig.model_validate(raw)
    raw["conversation_purpose"] = "health_data"
    with pytest.raises(DocumentError, match="cannot be a special-category purpose"):
        BusinessConfig.model_validate(raw)


def test_duplicate_purpose_ids_are_refused(raw: dict[str, Any]) -> None:
    raw["purposes"].append(copy.deepcopy(raw["purposes"][0]))
    with pytest.raises(DocumentError, match="purpose ids must be unique"):
        BusinessConfig.model_validate(raw)


def test_at_least_one_purpose(raw: dict[str, Any]) -> None:
    raw["purposes"] = []
    with pytest.raises(DocumentError, match="at least one purpose"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("purpose_id", ["Marketing", "x", "1st", "has space", "a" * 33, "a#b"])
def test_purpose_ids_are_safe_identifiers(raw: dict[str, Any], purpose_id: str) -> None:
    raw["purposes"][0]["id"] = purpose_id
    with pytest.raises(DocumentError):
        BusinessConfig.model_validate(raw)


def test_unknown_legal_basis_is_refused(raw: dict[str, Any]) -> None:
    raw["purposes"][0]["legal_basis"] = "legitimate_interest"
    with pytest.raises(DocumentError):
        BusinessConfig.model_validate(raw)


def test_unknown_fields_are_refused(raw: dict[str, Any]) -> None:
    raw["controler"] = raw["controller"]  # a typo must not pass silently
    with pytest.raises(DocumentError):
        BusinessConfig.model_validate(raw)


def test_a_purpose_title_in_an_unsupported_language_is_refused(raw: dict[str, Any]) -> None:
    raw["purposes"][0]["title"]["fr"] = "Service client"
    with pytest.raises(DocumentError):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("limits", "optin_per_ip_per_hour", 0),
        ("limits", "max_webhook_bytes", 7_000_000),
        ("limits", "max_api_body_bytes", 100),
        ("purge", "page_size", 10),
    ],
)
def test_limits_are_bounded(raw: dict[str, Any], section: str, field: str, value: int) -> None:
    raw[section][field] = value
    with pytest.raises(DocumentError):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(("age", "valid"), [(12, False), (13, True), (14, True), (16, True), (17, False)])
def test_a_minimum_age_is_optional_and_between_13_and_16(raw: dict[str, Any], age: Any, valid: bool) -> None:
    assert BusinessConfig.model_validate(raw).minimum_age is None
    raw["minimum_age"] = age
    if valid:
        assert BusinessConfig.model_validate(raw).minimum_age == age
    else:
        with pytest.raises(DocumentError, match="minimum_age"):
            BusinessConfig.model_validate(raw)


def test_configuration_is_immutable() -> None:
    config = current_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.notice_version = "changed"  # type: ignore[misc]


def test_purpose_lookup(raw: dict[str, Any]) -> None:
    config = BusinessConfig.model_validate(raw)
    assert config.purpose("health_data").legal_basis == "explicit_consent"
    with pytest.raises(KeyError):
        config.purpose("unknown")
    assert config.notice_url("de") == "http://127.0.0.1:3000/notices/de"


def test_load_config_reads_another_file(raw: dict[str, Any], tmp_path: Path) -> None:
    raw["notice_version"] = "2099-01-01"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert load_config(path).notice_version == "2099-01-01"
    del raw["retention"]["rate_limit"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DocumentError, match="rate_limit"):
        load_config(path)


@pytest.mark.parametrize(
    "path",
    [
        ("purposes", 0, "title"),
        ("purposes", 1, "description"),
        ("recipients", 0, "role"),
        ("recipients", 1, "transfer_basis"),
        ("retention", "conversation", "description"),
    ],
    ids=["purpose-title", "purpose-description", "recipient-role", "transfer-basis", "retention-description"],
)
def test_every_text_is_required_in_every_language(raw: dict[str, Any], path: tuple[str, int | str, str]) -> None:
    """A missing translation would otherwise surface as a KeyError in the notice or a chat reply."""
    section, index, field = path
    del raw[section][index][field]["it"]
    with pytest.raises(DocumentError, match="a text is needed in each of de, en, it"):
        BusinessConfig.model_validate(raw)


def test_a_recipient_without_transfer_basis_is_fine(raw: dict[str, Any]) -> None:
    raw["recipients"][1]["transfer_basis"] = None
    assert BusinessConfig.model_validate(raw).recipients[1].transfer_basis is None


@pytest.mark.parametrize("validity", ["P0D", "PT0S", "-P1D"])
def test_a_non_positive_consent_validity_is_refused(raw: dict[str, Any], validity: str) -> None:
    raw["consent_validity"] = validity  # every activated consent would lapse at once
    with pytest.raises(DocumentError, match="consent_validity"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("lookback", ["PT0S", "-P1D"])
def test_a_non_positive_purge_lookback_is_refused(raw: dict[str, Any], lookback: str) -> None:
    raw["purge"]["lookback"] = lookback  # the purge would look at no partition and delete nothing
    with pytest.raises(DocumentError, match="lookback"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("allowed_countries", ["de"], "ISO 3166-1 alpha-2"),
        ("allowed_countries", [], "at least 1"),
        ("template_languages", {"de": "de", "en": "en"}, "a code is needed for each of"),
        ("template_name", "Opt In!", "pattern"),
    ],
)
def test_link_confirmation_settings_are_checked(raw: dict[str, Any], field: str, value: Any, message: str) -> None:
    raw["channels"]["whatsapp"]["link_confirmation"][field] = value
    with pytest.raises(DocumentError, match=message):
        BusinessConfig.model_validate(raw)


def test_every_problem_is_named_with_where_it_is(raw: dict[str, Any]) -> None:
    raw["purposes"][0]["id"] = "Bad Id"
    raw["limits"]["optin_per_ip_per_hour"] = 0
    raw["controler"] = {}
    del raw["channels"]["whatsapp"]["phone_number_id"]
    with pytest.raises(DocumentError) as raised:
        BusinessConfig.model_validate(raw)
    assert dict(raised.value.problems) == {
        ("controler",): "is not a known field",
        ("purposes", 0, "id"): "should match pattern '^[a-z][a-z0-9_]{1,31}$'",
        ("channels", "whatsapp", "phone_number_id"): "is required",
        ("limits", "optin_per_ip_per_hour"): "should be greater than or equal to 1",
    }
    assert str(raised.value).startswith("4 validation errors for BusinessConfig\n")
    assert "purposes.0.id: should match pattern" in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("optin_per_ip_per_hour", "10"), ("optin_per_ip_per_hour", 10.0), ("optin_per_ip_per_hour", True)],
)
def test_only_json_integers_are_integers(raw: dict[str, Any], field: str, value: Any) -> None:
    raw["limits"][field] = value
    with pytest.raises(DocumentError, match=r"limits\.optin_per_ip_per_hour: should be an int"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("written", "period"),
    [
        ("P90D", timedelta(days=90)),
        ("PT1H", timedelta(hours=1)),
        ("P1W", timedelta(days=7)),
        ("P1Y", timedelta(days=365)),
        ("P1DT2H30M1.5S", timedelta(days=1, hours=2, minutes=30, seconds=1.5)),
        (3600, timedelta(hours=1)),
    ],
)
def test_durations_are_iso_8601_or_seconds(raw: dict[str, Any], written: Any, period: timedelta) -> None:
    raw["retention"]["conversation"]["period"] = written
    config = BusinessConfig.model_validate(raw)
    assert config.retention["conversation"].period == period
    assert BusinessConfig.model_validate(config.model_dump()) == config  # written back as it reads


@pytest.mark.parametrize("written", ["P", "PT", "90 days", "P1H", True, None])
def test_other_durations_are_refused(raw: dict[str, Any], written: Any) -> None:
    raw["retention"]["conversation"]["period"] = written
    with pytest.raises(DocumentError, match=r"retention\.conversation\.period"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("https://Shop.Example.com", "https://shop.example.com/"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/"),
        ("https://example.com/path?q=1", "https://example.com/path?q=1"),
    ],
)
def test_urls_are_normalised_as_before(raw: dict[str, Any], written: str, normalised: str) -> None:
    raw["controller"]["website"] = written
    assert BusinessConfig.model_validate(raw).controller.website == normalised


@pytest.mark.parametrize("written", ["ftp://example.com", "example.com", "https://", "https://user:pw@example.com", 7])
def test_other_urls_are_refused(raw: dict[str, Any], written: Any) -> None:
    raw["controller"]["website"] = written
    with pytest.raises(DocumentError, match=r"controller\.website"):
        BusinessConfig.model_validate(raw)


def test_a_copy_varies_a_setting_and_validation_checks_it() -> None:
    config = current_config()
    changed = config.model_copy(update={"conversation_purpose": "nothing"})  # as pydantic's: not validated
    assert changed.conversation_purpose == "nothing" and config.conversation_purpose == "customer_service"
    with pytest.raises(DocumentError, match="not one of the purposes"):
        BusinessConfig.model_validate(changed.model_dump())
    with pytest.raises(TypeError, match="no field notice"):
        config.model_copy(update={"notice": "v2"})
