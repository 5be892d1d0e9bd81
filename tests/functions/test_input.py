"""Strict input: bodies the API cannot read are refused with a reason, never read as the broadest action."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.flow import activate, deliver, optin_event, start_optin, subject_of, text

JSON = {"content-type": "application/json"}
UNREADABLE = [
    ("multipart/form-data", b'{"purposes":["marketing"]}'),  # no boundary
    ("multipart/form-data; boundary=", b'{"purposes":["marketing"]}'),
    ("multipart/form-data; boundary=x", b'{"purposes":["marketing"]}'),
    ("application/x-www-form-urlencoded", b"purposes=marketing"),
    ("text/plain", b'{"purposes":["marketing"]}'),
]


def admin_post(env: Env, what: str, subject: str, body: bytes, headers: dict[str, str], b64: bool = False) -> Any:
    event = http_event(
        "POST",
        f"/admin/subjects/{subject}/{what}",
        route_path="/admin/subjects/{subject}/" + what,
        path_parameters={"subject": subject},
        body=body,
        headers=headers,
        base64_body=b64,
    )
    return env.invoke("admin", event)


def optin_post(env: Env, body: bytes, headers: dict[str, str], b64: bool = False) -> dict[str, Any]:
    return env.invoke("optin", http_event("POST", "/optin", body=body, headers=headers, base64_body=b64))


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE)
def test_optin_refuses_a_body_that_is_not_json(env: Env, content_type: str, body: bytes) -> None:
    response = optin_post(env, body, {"content-type": content_type})
    assert response["statusCode"] == 415 and "application/json" in json_body(response)["error"]
    assert env.items() == []


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE)
@pytest.mark.parametrize("what", ["withdrawal", "messages"])
def test_admin_refuses_a_body_that_is_not_json_and_changes_nothing(
    env: Env, what: str, content_type: str, body: bytes
) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    before = env.store.subjects.state(subject)
    response = admin_post(env, what, subject, body, {"content-type": content_type})
    assert response["statusCode"] == 415 and "application/json" in json_body(response)["error"]
    assert env.store.subjects.state(subject) == before  # never "withdraw everything"
    [entry] = [e for e in env.store.audit.day("2026-11-18") if e.action.endswith(what)]
    assert entry.status == 415  # refused before routing, recorded all the same


@pytest.mark.parametrize("target", ["optin", "withdrawal", "messages"])
def test_a_body_that_is_not_utf8_is_a_400(env: Env, target: str) -> None:
    body = b'\xb0\xff{"purposes":{"customer_service":true}}'
    if target == "optin":
        response = optin_post(env, body, JSON, b64=True)
    else:
        response = admin_post(env, target, "a" * 64, body, JSON, b64=True)
    assert response["statusCode"] == 400 and json_body(response) == {"error": "request body is not valid UTF-8"}


def test_an_empty_withdrawal_body_is_not_withdraw_everything(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    response = admin_post(env, "withdrawal", subject, b"", JSON)
    assert 400 <= response["statusCode"] < 500
    assert set(env.store.subjects.state(subject).active_purposes) == {"customer_service", "marketing"}
    assert admin_post(env, "withdrawal", subject, b"{}", JSON)["statusCode"] == 200  # the explicit "all"
    assert env.store.subjects.state(subject).active_purposes == ()


@pytest.mark.parametrize("ticked", [1, 1.0, "true", "yes", [True], {"": True}])
def test_a_ticked_box_is_the_json_literal_true(env: Env, ticked: Any) -> None:
    event = optin_event(purposes={"customer_service": ticked})
    response = env.invoke("optin", event)
    assert response["statusCode"] == 422
    assert env.items() == []


@pytest.mark.parametrize(
    "phone", ["+39 339 ../../etc/passwd", "+49 FLOWERS 1", "+49 151 2345678#", "+49 151 2345678x1"]
)
def test_a_phone_with_anything_but_digits_and_separators_is_refused(env: Env, phone: str) -> None:
    response = env.invoke("optin", optin_event(phone=phone))
    assert response["statusCode"] == 400 and json_body(response)["error"].startswith("phone:")
    assert env.drain_links() == 0 and not [i for i in env.items() if not i["PK"].startswith("RATE#")]


@pytest.mark.parametrize("phone", ["+49 (151) 2345-6789", "+49.151.23456789", "0151 23456789"])
def test_the_usual_notations_are_still_accepted(env: Env, phone: str) -> None:
    assert env.invoke("optin", optin_event(phone=phone))["statusCode"] == 202


def test_json_with_a_charset_or_in_any_case_is_read(env: Env) -> None:
    body = json.loads(optin_event()["body"])
    for content_type in ("application/json; charset=utf-8", "APPLICATION/JSON", "Application/Json; charset=utf-8"):
        response = optin_post(env, json.dumps(body).encode(), {"content-type": content_type})
        assert response["statusCode"] == 201, content_type
    encoded = base64.b64encode(json.dumps(body).encode()).decode()
    assert json.loads(base64.b64decode(encoded)) == body
    assert optin_post(env, json.dumps(body).encode(), JSON, b64=True)["statusCode"] == 201


def test_a_duplicate_yes_costs_no_data_key(env: Env) -> None:
    """The "yes" delivered again after it activated the consent: one read, nothing written, no KMS call.

    (The first yes creates the person's data key: it seals the number kept with the consent.)"""
    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    yes = text(env, "yes")
    deliver(env, yes)
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)
    before = env.items()
    keys_before = env.dynamodb.scan(TableName="chatconsent-local-keys")["Items"]
    deliver(env, yes)
    assert env.items() == before
    assert env.dynamodb.scan(TableName="chatconsent-local-keys")["Items"] == keys_before
    assert len(keys_before) == 1
    deliver(env, text(env, "a real first message"))
    assert len(env.dynamodb.scan(TableName="chatconsent-local-keys")["Items"]) == 1


def test_a_validation_error_says_where_and_what_as_the_openapi_document_declares(env: Env) -> None:
    response = env.invoke("optin", optin_event(purposes={"customer_service": 1}, phone="+49 170 1234567"))
    assert response["statusCode"] == 422
    [problem] = json_body(response)["detail"]
    assert set(problem) == {"loc", "msg", "type"}  # HTTPValidationError's ValidationError items
    assert problem["loc"] == ["body", "purposes", "customer_service"] and problem["msg"]
    assert "1701234567" not in response["body"]  # never the input


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def test_an_empty_body_sent_as_a_form_is_never_withdraw_everything(env: Env, content_type: str) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    response = admin_post(env, "withdrawal", subject, b"", {"content-type": content_type})
    assert response["statusCode"] == 415
    assert set(env.store.subjects.state(subject).active_purposes) == {"customer_service", "marketing"}
    assert optin_post(env, b"", {"content-type": content_type})["statusCode"] == 415
