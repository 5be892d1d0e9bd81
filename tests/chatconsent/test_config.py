"""The configuration is validated at start-up: an incomplete or unlawful plan refuses to load."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chatconsent.config import DEFAULT_CONFIG_PATH, BusinessConfig, current_config, load_config
from chatconsent.retention import REQUIRED_CLASSES


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
    with pytest.raises(ValidationError, match=f"retention plan lacks classes: {missing}"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("period", ["PT0S", "P0D", "-P1D", "-PT1H"])
def test_a_non_positive_period_is_refused(raw: dict[str, Any], period: str) -> None:
    raw["retention"]["conversation"]["period"] = period
    with pytest.raises(ValidationError, match="retention period must be positive"):
        BusinessConfig.model_validate(raw)


def test_a_special_category_purpose_needs_explicit_consent(raw: dict[str, Any]) -> None:
    health = next(p for p in raw["purposes"] if p.get("special_category"))
    health["legal_basis"] = "consent"
    with pytest.raises(ValidationError, match=r"special categories need explicit_consent \(Art\. 9\)"):
        BusinessConfig.model_validate(raw)


def test_a_purpose_becoming_special_needs_explicit_consent(raw: dict[str, Any]) -> None:
    raw["purposes"][1]["special_category"] = True  # marketing, legal basis "consent"
    with pytest.raises(ValidationError, match="explicit_consent"):
        BusinessConfig.model_validate(raw)
    raw["purposes"][1]["legal_basis"] = "explicit_consent"
    assert BusinessConfig.model_validate(raw).purposes[1].special_category


def test_the_conversation_purpose_must_be_offered_and_not_special(raw: dict[str, Any]) -> None:
    raw["conversation_purpose"] = "support"
    with pytest.raises(ValidationError, match="not one of the purposes"):
        BusinessConfig.model_validate(raw)
    raw["conversation_purpose"] = "health_data"
    with pytest.raises(ValidationError, match="cannot be a special-category purpose"):
        BusinessConfig.model_validate(raw)


def test_duplicate_purpose_ids_are_refused(raw: dict[str, Any]) -> None:
    raw["purposes"].append(copy.deepcopy(raw["purposes"][0]))
    with pytest.raises(ValidationError, match="purpose ids must be unique"):
        BusinessConfig.model_validate(raw)


def test_at_least_one_purpose(raw: dict[str, Any]) -> None:
    raw["purposes"] = []
    with pytest.raises(ValidationError, match="at least one purpose"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("purpose_id", ["Marketing", "x", "1st", "has space", "a" * 33, "a#b"])
def test_purpose_ids_are_safe_identifiers(raw: dict[str, Any], purpose_id: str) -> None:
    raw["purposes"][0]["id"] = purpose_id
    with pytest.raises(ValidationError):
        BusinessConfig.model_validate(raw)


def test_unknown_legal_basis_is_refused(raw: dict[str, Any]) -> None:
    raw["purposes"][0]["legal_basis"] = "legitimate_interest"
    with pytest.raises(ValidationError):
        BusinessConfig.model_validate(raw)


def test_unknown_fields_are_refused(raw: dict[str, Any]) -> None:
    raw["controler"] = raw["controller"]  # a typo must not pass silently
    with pytest.raises(ValidationError):
        BusinessConfig.model_validate(raw)


def test_a_purpose_title_in_an_unsupported_language_is_refused(raw: dict[str, Any]) -> None:
    raw["purposes"][0]["title"]["fr"] = "Service client"
    with pytest.raises(ValidationError):
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
    with pytest.raises(ValidationError):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize(("age", "valid"), [(12, False), (13, True), (14, True), (16, True), (17, False)])
def test_a_minimum_age_is_optional_and_between_13_and_16(raw: dict[str, Any], age: Any, valid: bool) -> None:
    assert BusinessConfig.model_validate(raw).minimum_age is None
    raw["minimum_age"] = age
    if valid:
        assert BusinessConfig.model_validate(raw).minimum_age == age
    else:
        with pytest.raises(ValidationError, match="minimum_age"):
            BusinessConfig.model_validate(raw)


def test_configuration_is_immutable() -> None:
    config = current_config()
    with pytest.raises(ValidationError):
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
    with pytest.raises(ValidationError, match="rate_limit"):
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
    with pytest.raises(ValidationError, match="a text is needed in each of de, en, it"):
        BusinessConfig.model_validate(raw)


def test_a_recipient_without_transfer_basis_is_fine(raw: dict[str, Any]) -> None:
    raw["recipients"][1]["transfer_basis"] = None
    assert BusinessConfig.model_validate(raw).recipients[1].transfer_basis is None


@pytest.mark.parametrize("validity", ["P0D", "PT0S", "-P1D"])
def test_a_non_positive_consent_validity_is_refused(raw: dict[str, Any], validity: str) -> None:
    raw["consent_validity"] = validity  # every activated consent would lapse at once
    with pytest.raises(ValidationError, match="consent_validity"):
        BusinessConfig.model_validate(raw)


@pytest.mark.parametrize("lookback", ["PT0S", "-P1D"])
def test_a_non_positive_purge_lookback_is_refused(raw: dict[str, Any], lookback: str) -> None:
    raw["purge"]["lookback"] = lookback  # the purge would look at no partition and delete nothing
    with pytest.raises(ValidationError, match="lookback"):
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
    with pytest.raises(ValidationError, match=message):
        BusinessConfig.model_validate(raw)
