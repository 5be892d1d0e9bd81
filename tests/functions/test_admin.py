"""The admin API: consent state, the decrypted conversation, replies only under consent."""

from __future__ import annotations

import json
from typing import Any

from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.flow import PERSON, activate, deliver, replies_to, reply_text, subject_of, text

ROUTE = "/admin/subjects/{subject}/"


def admin(env: Env, method: str, what: str, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = http_event(
        method,
        f"/admin/subjects/{subject}/{what}",
        route_path=ROUTE + what,
        path_parameters={"subject": subject},
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json"},
    )
    return env.invoke("admin", event)


def test_agent_reads_the_conversation_and_replies(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    consents = json_body(admin(env, "GET", "consents", subject))
    assert consents["purposes"] == {"customer_service": "active"} and consents["ledger_verified"] is True
    conversation = json_body(admin(env, "GET", "messages", subject))
    assert [m["text"] for m in conversation["messages"]] == ["where is my parcel?"]
    assert PERSON not in json.dumps(conversation)  # agents never see the number
    response = admin(env, "POST", "messages", subject, {"text": "It left the warehouse today."})
    assert response["statusCode"] == 201
    assert reply_text(replies_to()[-1]) == "It left the warehouse today."


def test_reply_refused_without_consent_and_after_withdrawal(env: Env) -> None:
    subject = subject_of(env)
    refused = admin(env, "POST", "messages", subject, {"text": "hello"})
    assert refused["statusCode"] == 409 and "consent" in json_body(refused)["error"]
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "STOP"))
    sent = len(replies_to())
    assert admin(env, "POST", "messages", subject, {"text": "hello"})["statusCode"] == 409
    assert len(replies_to()) == sent  # no send after withdrawal


def test_free_text_refused_outside_the_24_hour_window(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    env.clock.advance(24 * 3600 + 1)
    refused = admin(env, "POST", "messages", subject_of(env), {"text": "hello"})
    assert refused["statusCode"] == 409 and "24-hour" in json_body(refused)["error"]


def test_bad_input_gets_a_4xx(env: Env) -> None:
    assert admin(env, "GET", "messages", "not-a-pseudonym")["statusCode"] == 422
    assert admin(env, "POST", "messages", subject_of(env), {"text": ""})["statusCode"] == 422
    assert admin(env, "POST", "messages", subject_of(env), {"text": "x", "to": "+49"})["statusCode"] == 422


def audit_day(env: Env, day: str = "2026-11-18") -> dict[str, Any]:
    event = http_event("GET", f"/admin/audit/{day}", route_path="/admin/audit/{day}", path_parameters={"day": day})
    event["requestContext"]["authorizer"] = {
        "iam": {"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/dpo", "userId": "AIDB"}
    }
    response = env.invoke("admin", event)
    assert response["statusCode"] == 200
    return dict(json_body(response))


def test_every_admin_action_is_recorded_without_the_subjects_identifiers(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    event = http_event(
        "GET",
        f"/admin/subjects/{subject}/messages",
        route_path=ROUTE + "messages",
        path_parameters={"subject": subject},
    )
    event["requestContext"]["authorizer"] = {
        "iam": {"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/agent", "userId": "AIDA"}
    }
    assert env.invoke("admin", event)["statusCode"] == 200
    env.clock.advance(25 * 3600)  # outside the service window: the reply is refused, and recorded
    assert admin(env, "POST", "messages", subject, {"text": "Any news?"})["statusCode"] == 409
    trail = audit_day(env)["entries"] + audit_day(env, "2026-11-19")["entries"]  # days in UTC
    entries = [e for e in trail if e["action"] != "GET /admin/audit/{day}"]
    assert [(e["action"], e["status"]) for e in entries] == [
        ("GET /admin/subjects/{subject}/messages", 200),
        ("POST /admin/subjects/{subject}/messages", 409),
    ]
    assert entries[0]["actor"] == "arn:aws:iam::123456789012:user/agent"
    assert entries[0]["at"] == 1_795_000_000 and entries[1]["at"] == 1_795_000_000 + 25 * 3600
    ref = env.runtime.pseudonymizer.keyed_hash("audit", subject)
    assert entries[0]["subject_ref"] == entries[1]["subject_ref"] == ref != subject
    stored = env.items_with_prefix("AUDIT#")
    assert len(stored) == 4  # the two actions and reading the trail twice
    assert subject not in json.dumps(stored) and "parcel" not in json.dumps(stored)
    assert {i["retention_class"] for i in stored} == {"admin_audit"}
    assert all(i["expires_at"] == i["at"] + 730 * 86_400 for i in stored)


def test_refused_requests_and_the_trail_itself_are_recorded(env: Env) -> None:
    assert admin(env, "POST", "messages", "0" * 64, {"text": "hello"})["statusCode"] == 409
    trail = audit_day(env)
    assert [e["status"] for e in trail["entries"]] == [409]  # the trail read is recorded after it answers
    actions = sorted(e["action"] for e in audit_day(env)["entries"])
    assert actions == ["GET /admin/audit/{day}", "POST /admin/subjects/{subject}/messages"]
