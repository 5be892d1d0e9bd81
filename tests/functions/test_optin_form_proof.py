"""What the widget's form adds to the opt-in and its proof: the minimum age (Art. 8 GDPR) and the widget's version."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chatconsent.config import BusinessConfig
from chatconsent.errors import AgeNotConfirmed, InvalidInput
from chatconsent.ledger import LedgerEntry, LedgerEvent
from chatconsent.optin import OptInAsk
from localrun.events import http_event
from tests.conftest import ROOT, Env, json_body
from tests.flow import deliver, optin_event, start_optin, subject_of, text
from tests.functions.test_confirmation import confirm, request_link, sent_token

WIDGET_HTML = ROOT / "functions" / "optin" / "widget" / "index.html"


def with_minimum_age(env: Env, age: int) -> BusinessConfig:
    """This test's business asks for a minimum age (a validated copy of the configuration)."""
    config = BusinessConfig.model_validate({**env.wiring.config.model_dump(mode="json"), "minimum_age": age})
    env.wiring.__dict__["config"] = config  # before any service is built from it
    return config


def settings(env: Env) -> dict[str, Any]:
    response = env.invoke("optin", http_event("GET", "/optin/settings"))
    assert response["statusCode"] == 200
    document: dict[str, Any] = json_body(response)
    return document


def post(env: Env, **overrides: Any) -> dict[str, Any]:
    return env.invoke("optin", optin_event(**overrides))


def chat_proof(env: Env, **overrides: Any) -> list[LedgerEntry]:
    """The whole chat-started opt-in (code, then yes); the ledger entries it wrote."""
    started = start_optin(env, **overrides)
    deliver(env, text(env, f"My code: {started['code']}"))
    deliver(env, text(env, "yes"))
    state = env.store.subjects.state(subject_of(env))
    assert state.ledger_head is not None and state.active_purposes
    return list(env.store.ledger.entries(state.ledger_head.ledger_id))


def link_proof(env: Env, **extra: Any) -> list[LedgerEntry]:
    """The whole link-confirmed opt-in (a number, then the click); the ledger entries it wrote."""
    assert request_link(env, **extra)["statusCode"] == 202
    assert confirm(env, sent_token())["statusCode"] == 200
    return list(env.wiring.consents.proof(subject_of(env)).entries)


def nothing_written(env: Env) -> bool:
    return not env.items_with_prefix("OPTIN#") and not env.items_with_prefix("RATE#")


def served_widget_version() -> str:
    html = WIDGET_HTML.read_text(encoding="utf-8")
    [version] = re.findall(r'<meta name="widget-version" content="([^"]*)">', html)
    return version


# -- the minimum age -----------------------------------------------------------------------------


def test_without_a_minimum_age_there_is_no_question_and_no_field_required(env: Env) -> None:
    assert settings(env)["age_check"] is None
    assert post(env)["statusCode"] == 201  # no age_confirmed: fine
    assert post(env, age_confirmed=True)["statusCode"] == 201  # sent anyway: accepted as true
    [first, second] = env.items_with_prefix("OPTIN#")
    assert "age_confirmed" not in first and "age_confirmed" not in second  # nothing to prove: no age was asked


@pytest.mark.parametrize("value", [False, None, 1, "true", "yes"])
def test_an_age_confirmation_is_only_ever_the_literal_true(env: Env, value: Any) -> None:
    response = post(env, age_confirmed=value)
    assert response["statusCode"] == 422
    assert [d["loc"] for d in json_body(response)["detail"]] == [["body", "age_confirmed"]]
    assert nothing_written(env)


def test_settings_carry_the_minimum_age_and_its_question_in_every_language(env: Env) -> None:
    with_minimum_age(env, 16)
    check = settings(env)["age_check"]
    assert check["minimum_age"] == 16
    assert check["statement"] == {
        "de": "Ich bin mindestens 16 Jahre alt.",
        "en": "I am at least 16 years old.",
        "it": "Ho almeno 16 anni.",
    }
    assert set(check["hint"]) == set(check["need"]) == {"de", "en", "it"}
    assert "Art. 8" in check["hint"]["de"] and "Sie" in check["hint"]["de"]  # formal address
    assert "16" in check["hint"]["it"] and "Confermi" in check["need"]["it"]


@pytest.mark.parametrize("overrides", [{}, {"age_confirmed": False}, {"age_confirmed": None}])
def test_a_configured_minimum_age_must_be_confirmed_or_nothing_is_written(env: Env, overrides: dict[str, Any]) -> None:
    with_minimum_age(env, 14)
    response = post(env, **overrides)
    assert response["statusCode"] == 422
    [detail] = json_body(response)["detail"]
    assert detail["loc"] == ["body", "age_confirmed"]
    if not overrides:  # absent: the reason names the age the business asks for
        assert "at least 14 years old" in detail["msg"] and detail["type"] == "missing"
    assert nothing_written(env)


def test_a_link_request_without_the_age_confirmed_sends_nothing(env: Env) -> None:
    with_minimum_age(env, 16)
    response = request_link(env)
    assert response["statusCode"] == 422
    assert nothing_written(env) and env.items_with_prefix("SUBJ#") == []


def test_the_service_itself_refuses_an_unconfirmed_age(env: Env) -> None:
    with_minimum_age(env, 16)
    notice = env.wiring.notices.get("en")
    ask = OptInAsk(("customer_service",), "whatsapp", "en", notice.version, notice.sha256)
    with pytest.raises(AgeNotConfirmed) as refused:
        env.wiring.optin.start(ask, "192.0.2.1")
    assert isinstance(refused.value, InvalidInput) and refused.value.minimum_age == 16
    assert nothing_written(env)


def test_the_confirmed_age_is_in_the_chat_proof(env: Env) -> None:
    with_minimum_age(env, 16)
    entries = chat_proof(env, purposes={"customer_service": True, "marketing": True}, age_confirmed=True)
    assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2
    assert all(e.evidence["age_confirmed"] == "16" for e in entries)


def test_the_confirmed_age_is_in_the_link_proof(env: Env) -> None:
    with_minimum_age(env, 14)
    entries = link_proof(env, age_confirmed=True)
    assert entries and all(e.evidence["age_confirmed"] == "14" for e in entries)


def test_without_a_minimum_age_the_proof_says_nothing_about_age(env: Env) -> None:
    entries = chat_proof(env, age_confirmed=True)
    assert entries and all("age_confirmed" not in e.evidence for e in entries)


# -- the widget's version ------------------------------------------------------------------------


def test_the_settings_name_the_version_of_the_widget_served(env: Env) -> None:
    version = settings(env)["widget_version"]
    assert version == served_widget_version()
    assert re.fullmatch(r"[0-9A-Za-z.\-]{1,32}", version)


def test_the_widget_version_is_in_the_chat_proof_after_the_request_is_gone(env: Env) -> None:
    entries = chat_proof(env, widget_version="2026-11-30.1")
    assert entries and all(e.evidence["widget_version"] == "2026-11-30.1" for e in entries)
    assert not any(i.get("status") == "pending" for i in env.items_with_prefix("OPTIN#"))


def test_the_widget_version_is_in_the_link_proof(env: Env) -> None:
    entries = link_proof(env, widget_version="7.2")
    assert entries and all(e.evidence["widget_version"] == "7.2" for e in entries)


def test_a_chat_request_without_a_widget_version_records_none(env: Env) -> None:
    entries = chat_proof(env)
    assert entries and all("widget_version" not in e.evidence for e in entries)
    assert all("widget_version" not in i for i in env.items_with_prefix("OPTIN#"))


def test_a_link_request_without_a_widget_version_records_none(env: Env) -> None:
    entries = link_proof(env)
    assert entries and all("widget_version" not in e.evidence for e in entries)


@pytest.mark.parametrize("version", ["", "x" * 33, "1.0 beta", "1.0;DROP", "<script>", 7])
def test_a_malformed_widget_version_is_refused(env: Env, version: Any) -> None:
    response = post(env, widget_version=version)
    assert response["statusCode"] == 422
    assert [d["loc"] for d in json_body(response)["detail"]] == [["body", "widget_version"]]
    assert nothing_written(env)


def test_the_service_itself_refuses_a_malformed_widget_version(env: Env) -> None:
    notice = env.wiring.notices.get("en")
    ask = OptInAsk(("customer_service",), "whatsapp", "en", notice.version, notice.sha256, widget_version="a b")
    with pytest.raises(InvalidInput, match="widget_version"):
        env.wiring.optin.start(ask, "192.0.2.1")
    assert nothing_written(env)


def test_age_and_version_travel_with_the_stored_request(env: Env) -> None:
    with_minimum_age(env, 16)
    started = start_optin(env, age_confirmed=True, widget_version="2026-11-30.1")
    [request] = env.items_with_prefix("OPTIN#")
    assert (request["age_confirmed"], request["widget_version"]) == (16, "2026-11-30.1")
    deliver(env, text(env, f"My code: {started['code']}"))  # bound: the pending confirmation carries both
    pending = env.store.subjects.state(subject_of(env)).pending
    assert pending is not None and (pending.age_confirmed, pending.widget_version) == (16, "2026-11-30.1")
