"""The opt-in function: notices and POST /optin."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest

from chatconsent.notices import NoticeRegistry, text_sha256
from chatconsent.tokens import code_hash
from localrun.events import http_event
from tests.conftest import START, Env, json_body
from tests.flow import optin_event, start_optin


def get(env: Env, path: str, route: str, **params: str) -> dict[str, Any]:
    return env.invoke("optin", http_event("GET", path, route_path=route, path_parameters=params))


@pytest.mark.parametrize("language", ["de", "en", "it"])
def test_latest_notice_carries_the_hash_of_its_exact_text(env: Env, language: str) -> None:
    response = get(env, f"/notices/{language}", "/notices/{language}", language=language)
    assert response["statusCode"] == 200
    notice = json_body(response)
    assert notice["language"] == language
    assert notice["version"] == NoticeRegistry().latest_version
    assert notice["sha256"] == text_sha256(notice["text"])


def test_versioned_notice_read(env: Env) -> None:
    version = NoticeRegistry().latest_version
    response = get(env, f"/notices/de/{version}", "/notices/{language}/{version}", language="de", version=version)
    assert json_body(response)["version"] == version


@pytest.mark.parametrize(("language", "version"), [("fr", None), ("de", "1999-01-01")])
def test_unknown_notice_is_404(env: Env, language: str, version: str | None) -> None:
    if version:
        response = get(
            env, f"/notices/{language}/{version}", "/notices/{language}/{version}", language=language, version=version
        )
    else:
        response = get(env, f"/notices/{language}", "/notices/{language}", language=language)
    assert response["statusCode"] == 404 and json.loads(response["body"]) == {"error": "no such notice"}


def test_optin_issues_a_single_use_code_and_a_deep_link(env: Env) -> None:
    started = start_optin(env, purposes={"customer_service": True, "health_data": True}, language="it")
    assert started["expires_at"] == START + 3600
    assert len(started["code"]) == 3 + 26  # "CC-" and 128 bits in Base32
    link = urllib.parse.urlsplit(started["links"]["whatsapp"])
    assert (link.scheme, link.netloc, link.path) == ("https", "wa.me", "/4930123456789")
    assert started["code"] in urllib.parse.parse_qs(link.query)["text"][0]
    assert started["notice_sha256"] == NoticeRegistry().get("it").sha256
    [item] = env.items_with_prefix("OPTIN#")
    assert item["PK"] == f"OPTIN#{code_hash(started['code'])}"  # stored only hashed
    assert started["code"] not in json.dumps(item)
    assert item["purposes"] == ["customer_service", "health_data"]
    assert item["retention_class"] == "pending_optin_chat" and item["expires_at"] == START + 3600


def test_codes_are_unique(env: Env) -> None:
    codes = {start_optin(env)["code"] for _ in range(5)}
    assert len(codes) == 5


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"purposes": {"customer_service": False}}, 422),  # a box that is not ticked is not sent
        ({"purposes": {}}, 422),
        ({"purposes": {"customer_service": "yes"}}, 422),
        ({"purposes": {"newsletter": True}}, 400),
        ({"channel": "sms"}, 422),
        ({"language": "fr"}, 422),
        ({"notice_version": "2020-01-01"}, 409),
        ({"notice_sha256": "0" * 64}, 409),
        ({"notice_version": "x; DROP"}, 422),
        ({"referrer": "https://example.org"}, 422),  # no extra fields: nothing to smuggle in
    ],
)
def test_invalid_optin_requests_are_refused_with_a_reason_and_write_nothing(
    env: Env, overrides: dict[str, Any], status: int
) -> None:
    response = env.invoke("optin", optin_event(**overrides))
    assert response["statusCode"] == status
    body = json_body(response)
    assert body.get("error") or body.get("detail")
    assert "491701234567" not in response["body"]
    assert env.items_with_prefix("OPTIN#") == []


def test_missing_purposes_is_refused(env: Env) -> None:
    event = optin_event()
    body = json.loads(event["body"])
    del body["purposes"]
    event["body"] = json.dumps(body)
    assert env.invoke("optin", event)["statusCode"] == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b"[" * 20_000 + b"]" * 20_000, 413),
        (b"[" * 5_000 + b"]" * 5_000, 400),
        (b'{"purposes": {"customer_service": true}, "channel": "whatsapp", "language": "\xff"}', 400),
        (b'{"a": "' + b"x" * 20_000 + b'"}', 413),
    ],
    ids=["not-json", "oversized", "deep-nesting", "invalid-utf8", "huge-string"],
)
def test_malformed_bodies_are_refused(env: Env, body: bytes, status: int) -> None:
    event = http_event("POST", "/optin", headers={"content-type": "application/json"})
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    response = env.invoke("optin", event)
    assert response["statusCode"] == status
    assert env.items() == []


def test_per_ip_rate_limit(env: Env) -> None:
    for _ in range(10):
        assert env.invoke("optin", optin_event())["statusCode"] == 201
    limited = env.invoke("optin", optin_event())
    assert limited["statusCode"] == 429
    assert 0 < int(limited["headers"]["Retry-After"]) <= 3600
    assert json_body(limited) == {"error": "too many requests, try again later"}
    other_ip = optin_event()
    other_ip["requestContext"]["http"]["sourceIp"] = "203.0.113.9"
    assert env.invoke("optin", other_ip)["statusCode"] == 201
    env.clock.advance(3600)
    assert env.invoke("optin", optin_event())["statusCode"] == 201
    counters = env.items_with_prefix("RATE#")
    assert counters and all("198.51.100.7" not in json.dumps(c) for c in counters)  # IP stored only hashed


def test_widget_settings_hold_purposes_channels_and_a_summary_per_language(env: Env) -> None:
    response = get(env, "/optin/settings", "/optin/settings")
    assert response["statusCode"] == 200
    settings = json_body(response)
    assert [p["id"] for p in settings["purposes"]] == ["customer_service", "marketing", "health_data"]
    health = settings["purposes"][2]
    assert health["special_category"] is True and health["legal_basis"] == "explicit_consent"
    assert health["title"]["de"] == "Gesundheitsangaben"
    assert settings["channels"] == [
        {"id": "whatsapp", "name": "WhatsApp", "link_confirmation": True},
        {"id": "telegram", "name": "Telegram", "link_confirmation": False},
        {"id": "apple", "name": "Apple Messages", "link_confirmation": False},  # the example offers Apple too
    ]
    assert set(settings["summary"]) == {"de", "en", "it"}
    english = " ".join(settings["summary"]["en"])
    for fact in ("Example Shop GmbH", "USA", "90 days", "STOP"):  # who, transfer, how long, withdrawal
        assert fact in english
    assert (settings["code_ttl_seconds"], settings["link_ttl_seconds"]) == (3600, 86_400)


def test_the_optin_answer_carries_a_qr_code_of_the_deep_link(env: Env) -> None:
    import segno

    started = start_optin(env)
    prefix = "data:image/svg+xml;charset=utf-8,"
    assert started["qr_svg"].startswith(prefix)
    svg = urllib.parse.unquote(started["qr_svg"].removeprefix(prefix))
    expected = segno.make(started["links"]["whatsapp"], error="m")
    assert svg == urllib.parse.unquote(
        expected.svg_data_uri(scale=4, border=2, dark="#000", light="#fff").removeprefix(prefix)
    )


def test_a_browser_opening_the_notice_link_gets_a_readable_page(env: Env) -> None:
    event = http_event(
        "GET",
        "/notices/de",
        route_path="/notices/{language}",
        path_parameters={"language": "de"},
        headers={"accept": "text/html,application/xhtml+xml"},
    )
    response = env.invoke("optin", event)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert '<html lang="de">' in response["body"] and "Datenschutzhinweise" in response["body"]
    assert get(env, "/notices/de", "/notices/{language}", language="de")["headers"]["Content-Type"] == (
        "application/json"
    )
