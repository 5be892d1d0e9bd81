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
