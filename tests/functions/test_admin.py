"""The admin API: consent state, the decrypted conversation, replies only under consent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.wiring import local_outbox
from localrun import whatsapp
from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.flow import (
    PERSON,
    PHONE_NUMBER_ID,
    activate,
    deliver,
    optin_event,
    replies_to,
    reply_text,
    subject_of,
    text,
)

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
    ref = env.wiring.pseudonymizer.keyed_hash("audit", subject)
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


def list_conversations(env: Env, **query: str) -> dict[str, Any]:
    event = http_event("GET", "/admin/conversations", query=query or None)
    return env.invoke("admin", event)


def test_conversations_are_listed_by_latest_activity_across_days(env: Env) -> None:
    senders = [f"4917012{n:05d}" for n in range(5)]
    for n, sender in enumerate(senders):
        activate(env, sender=sender)
        deliver(env, text(env, "where is my parcel?", sender=sender))
        env.clock.advance(86_400 if n == 2 else 60)  # the first three on one day, the rest later
    deliver(env, text(env, "still waiting", sender=senders[0]))  # the oldest becomes the newest
    response = list_conversations(env, limit="2")
    assert response["statusCode"] == 200
    page = json_body(response)
    subjects = [c["subject"] for c in page["conversations"]]
    assert subjects == [subject_of(env, senders[0]), subject_of(env, senders[4])]
    assert page["conversations"][0]["messages_in"] == 2 and page["conversations"][0]["window_open"] is True
    assert {c["channel"] for c in page["conversations"]} == {"whatsapp"}
    assert page["conversations"][1]["window_open"] is True  # the newest person wrote a minute ago
    seen = list(subjects)
    while page["next_cursor"]:
        page = json_body(list_conversations(env, limit="2", cursor=page["next_cursor"]))
        seen += [c["subject"] for c in page["conversations"]]
    order = [senders[0], senders[4], senders[3], senders[2], senders[1]]
    assert seen == [subject_of(env, s) for s in order]  # each once, newest first
    everyone = json_body(list_conversations(env, limit="100"))["conversations"]
    open_now = {c["subject"]: c["window_open"] for c in everyone}
    assert open_now[subject_of(env, senders[1])] is False  # wrote a day and a minute ago: WhatsApp's window closed
    assert PERSON not in json.dumps(page)


def test_conversations_expire_with_their_messages(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    env.clock.advance(90 * 86_400)
    assert json_body(list_conversations(env))["conversations"] == []


@pytest.mark.parametrize("cursor", ["not-base64!", "e30", "eyJkYXkiOiAtMX0", "eyJkYXkiOjAsImtleSI6eyJQSyI6MX19"])
def test_a_forged_cursor_is_refused(env: Env, cursor: str) -> None:
    response = list_conversations(env, cursor=cursor)
    assert response["statusCode"] == 400 and "cursor" in json_body(response)["error"]


def test_the_conversation_shows_both_directions_with_delivery_status(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    env.clock.advance(5)
    assert admin(env, "POST", "messages", subject, {"text": "It left the warehouse today."})["statusCode"] == 201
    reply_id = local_outbox().messages[-1].id
    deliver(env, whatsapp.status(PERSON, reply_id, "read", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())))
    messages = json_body(admin(env, "GET", "messages", subject))["messages"]
    assert [(m["direction"], m["text"], m["status"]) for m in messages] == [
        ("in", "where is my parcel?", None),
        ("out", "It left the warehouse today.", "read"),
    ]


def test_outside_the_window_only_a_configured_template_goes_out(env: Env) -> None:
    activate(env, purposes={"customer_service": True})
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    env.clock.advance(25 * 3600)
    assert admin(env, "POST", "messages", subject, {"text": "Any news?"})["statusCode"] == 409
    unknown = admin(env, "POST", "messages", subject, {"template": {"name": "promo", "parameters": []}})
    assert unknown["statusCode"] == 400 and "not configured" in json_body(unknown)["error"]
    wrong = admin(env, "POST", "messages", subject, {"template": {"name": "service_follow_up", "parameters": []}})
    assert wrong["statusCode"] == 400 and "takes 1 parameters" in json_body(wrong)["error"]
    both = admin(env, "POST", "messages", subject, {"text": "x", "template": {"name": "service_follow_up"}})
    assert both["statusCode"] == 422
    sent = admin(
        env, "POST", "messages", subject, {"template": {"name": "service_follow_up", "parameters": ["order 1042"]}}
    )
    assert sent["statusCode"] == 201
    payload = replies_to()[-1]
    assert payload["type"] == "template"
    assert payload["template"]["name"] == "service_follow_up" and payload["template"]["language"] == {"code": "en"}
    messages = json_body(admin(env, "GET", "messages", subject))["messages"]
    assert messages[-1]["template"] == "service_follow_up" and messages[-1]["direction"] == "out"


def test_templates_also_need_consent(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "STOP"))
    body = {"template": {"name": "service_follow_up", "parameters": ["order 1042"]}}
    response = admin(env, "POST", "messages", subject_of(env), body)
    assert response["statusCode"] == 409 and "no active consent" in json_body(response)["error"]


def test_withdrawal_on_the_persons_behalf_per_purpose_and_in_full(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    partial = admin(env, "POST", "withdrawal", subject, {"purposes": ["marketing"]})
    assert partial["statusCode"] == 200 and json_body(partial) == {"withdrawn": ["marketing"]}
    state = env.store.subjects.state(subject)
    assert state.active_purposes == ("customer_service",)
    assert admin(env, "POST", "withdrawal", subject, {"purposes": ["newsletter"]})["statusCode"] == 400
    full = admin(env, "POST", "withdrawal", subject, {})
    assert json_body(full) == {"withdrawn": ["customer_service"]}
    assert env.store.subjects.state(subject).active_purposes == ()
    proof = json_body(admin(env, "GET", "consents", subject))
    assert proof["purposes"] == {"customer_service": "withdrawn", "marketing": "withdrawn"}
    assert proof["ledger_verified"] is True
    entries = env.wiring.link_confirmation._consents.proof(subject).entries
    assert [e.evidence.get("source") for e in entries[-2:]] == ["admin", "admin"]
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))
    assert {i["retention_class"] for i in env.inbound_items(subject)} == {"conversation_withdrawn"}
    again = admin(env, "POST", "withdrawal", subject, {})
    assert json_body(again) == {"withdrawn": []}  # nothing left: a no-op
    actions = [e["action"] for e in audit_day(env)["entries"]]
    assert actions.count("POST /admin/subjects/{subject}/withdrawal") == 4


def test_a_cursor_survives_midnight_and_names_its_own_partition(env: Env) -> None:
    import base64

    senders = [f"4917014{n:05d}" for n in range(3)]
    for sender in senders:
        activate(env, sender=sender)
        deliver(env, text(env, "where is my parcel?", sender=sender))
        env.clock.advance(60)
    first = json_body(list_conversations(env, limit="1"))
    env.clock.advance(86_400)  # the next page is asked for on the next day
    seen = [c["subject"] for c in first["conversations"]]
    page = first
    while page["next_cursor"]:
        page = json_body(list_conversations(env, limit="1", cursor=page["next_cursor"]))
        seen += [c["subject"] for c in page["conversations"]]
    assert seen == [subject_of(env, s) for s in reversed(senders)]  # each once
    cursor = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=" * (-len(first["next_cursor"]) % 4)))
    cursor["key"]["activity_day"] = "ACT#2020-01-01"  # a partition the cursor does not name
    forged = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
    assert list_conversations(env, cursor=forged)["statusCode"] == 400
    cursor["key"]["activity_day"], cursor["key"]["last_activity"] = first["next_cursor"], True
    assert (
        list_conversations(env, cursor=base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode())["statusCode"]
        == 400
    )


def test_requests_refused_by_validation_are_recorded_too(env: Env) -> None:
    response = admin(env, "POST", "messages", "0" * 64, {"text": ""})
    assert response["statusCode"] == 422
    assert "detail" in json_body(response)
    bad_subject = admin(env, "GET", "consents", "not-a-pseudonym")
    assert bad_subject["statusCode"] == 422
    entries = [e for e in audit_day(env)["entries"] if e["status"] == 422]
    assert sorted(e["action"] for e in entries) == [
        "GET /admin/subjects/{subject}/consents",
        "POST /admin/subjects/{subject}/messages",
    ]
    assert "not-a-pseudonym" not in json.dumps(env.items_with_prefix("AUDIT#"))


def test_a_full_withdrawal_on_behalf_blocks_the_number_even_without_stored_messages(env: Env) -> None:
    activate(env)  # opted in by chat, never wrote anything that was kept
    subject = subject_of(env)
    assert env.inbound_items(subject) == []
    assert json_body(admin(env, "POST", "withdrawal", subject, {})) == {"withdrawn": ["customer_service"]}
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))
    # someone types the number into a form: no link goes out
    env.invoke("optin", optin_event(phone="+" + PERSON))
    env.drain_links()
    assert [m for m in local_outbox().messages if m.payload.get("type") == "template"] == []


def test_a_person_confirmed_by_link_is_blocked_by_a_withdrawal_on_behalf(env: Env) -> None:
    env.invoke("optin", optin_event(phone="+" + PERSON))
    env.drain_links()
    [template] = [m for m in local_outbox().messages if m.payload.get("type") == "template"]
    token = template.payload["template"]["components"][1]["parameters"][0]["text"]  # type: ignore[index]
    event = http_event(
        "POST",
        f"/confirm/{token}",
        route_path="/confirm/{token}",
        path_parameters={"token": token},
        body="decision=confirm",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert env.invoke("confirmation", event)["statusCode"] == 200
    admin(env, "POST", "withdrawal", subject_of(env), {})
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))


def test_a_reply_sent_again_with_its_id_is_queued_once(env: Env) -> None:
    """An agent (or the desk) whose request timed out sends it again: one message reaches the person."""
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    before = len(local_outbox().to("+" + PERSON))
    body = {"text": "It left the warehouse today.", "reply_id": "desk-7f3a9c21"}
    first = admin(env, "POST", "messages", subject, body)
    again = admin(env, "POST", "messages", subject, body)
    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert json_body(first) == {"reply_id": "desk-7f3a9c21", "status": "queued"}
    assert json_body(again) == {"reply_id": "desk-7f3a9c21", "status": "queued_before"}
    assert len(local_outbox().to("+" + PERSON)) == before + 1
    kept = [m for m in json_body(admin(env, "GET", "messages", subject))["messages"] if m["direction"] == "out"]
    assert [m["text"] for m in kept] == ["It left the warehouse today."]  # kept once, sealed, with its status
    assert admin(env, "POST", "messages", subject, {"text": "x", "reply_id": "no spaces allowed"})["statusCode"] == 422


def test_a_reply_owed_when_the_person_withdrew_is_sent_but_not_kept(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    monkeypatch.setattr(env, "drain_stream", lambda: 0)  # the outbox sender has not run yet
    assert admin(env, "POST", "messages", subject, {"text": "It left the warehouse today."})["statusCode"] == 201
    deliver(env, text(env, "STOP"))
    monkeypatch.undo()
    env.drain_stream()
    sent = [reply_text(p.payload) for p in local_outbox().to("+" + PERSON) if p.payload["type"] == "text"]
    assert "It left the warehouse today." not in sent  # the consent it was written under is gone
    assert env.items_with_prefix("OUTBOX#") == []
    outbound = [i for i in env.subject_items(subject) if str(i["SK"]).startswith("M#OUT#") and i.get("sealed")]
    assert outbound == []  # its content is not kept: the consent it was written under changed
