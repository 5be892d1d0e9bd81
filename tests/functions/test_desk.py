"""The desk API: the group on every route, the inbox, a conversation, replies and withdrawals under consent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chatconsent.wiring import local_outbox
from localrun.template import routes
from tests.conftest import Env, json_body
from tests.flow import PERSON, activate, deliver, replies_to, reply_text, subject_of, text
from tests.functions.desk_helpers import AGENT, as_officer, desk

CONVERSATION = "/desk/api/conversations/{subject}"
REPLIES = CONVERSATION + "/replies"
WITHDRAWALS = CONVERSATION + "/withdrawals"
PRIVACY_ROUTES = [
    ("GET", "/desk/api/privacy/subjects/{subject}/proof", None),
    ("GET", "/desk/api/privacy/subjects/{subject}/export", None),
    ("DELETE", "/desk/api/privacy/subjects/{subject}", {"confirm": "AAA-AAA"}),
]


def person(env: Env, purposes: dict[str, Any] | None = None, sender: str = PERSON) -> str:
    activate(env, purposes=purposes, sender=sender)
    deliver(env, text(env, "where is my parcel?", sender=sender))
    return subject_of(env, sender)


def not_audit(env: Env) -> list[dict[str, Any]]:
    """The table without the audit trail (what a refused request must leave unchanged)."""
    return [i for i in env.items() if not str(i["PK"]).startswith("AUDIT#")]


# -- the group, on every route ---------------------------------------------------------------------


def test_every_api_route_of_the_template_has_its_groups() -> None:
    from localrun.functions import load_function

    module = load_function("functions/desk")
    api = {r.route_key for r in routes() if r.path.startswith("/desk/api/")}
    assert api == set(module.ACCESS)
    assert all(r.function == "DeskFunction" for r in routes() if r.path.startswith("/desk"))


def test_me_tells_the_page_what_it_may_offer(env: Env) -> None:
    agent = json_body(desk(env, "GET", "/desk/api/me"))
    assert agent == {"user": AGENT, "groups": ["agents"], "can": {"reply": True, "withdraw": True, "privacy": False}}
    officer = json_body(as_officer(env, "GET", "/desk/api/me"))
    assert officer["groups"] == ["privacy"] and officer["can"] == {"reply": False, "withdraw": False, "privacy": True}
    both = json_body(desk(env, "GET", "/desk/api/me", groups=["agents", "privacy"], user=None))
    assert both["groups"] == ["agents", "privacy"] and both["can"]["privacy"] is True


@pytest.mark.parametrize("groups", [None, "[]", "[marketing admins]", ["agentsx"], "", 42])
def test_no_desk_group_is_refused_on_every_api_route(env: Env, groups: Any) -> None:
    subject = "0" * 64
    for route in routes():
        if not route.path.startswith("/desk/api/"):
            continue
        params = {name: ("2026-11-18" if name == "day" else subject) for name in re.findall(r"{(\w+)}", route.path)}
        response = desk(env, route.method, route.path, groups=groups, **params)
        assert response["statusCode"] == 403, route.route_key
        assert json_body(response) == {"error": "your group may not use this"}


@pytest.mark.parametrize(("method", "route", "body"), [*PRIVACY_ROUTES, ("GET", "/desk/api/privacy/audit/{day}", None)])
def test_an_agent_calling_a_privacy_route_gets_403_and_nothing_happens(
    env: Env, method: str, route: str, body: Any
) -> None:
    subject = person(env)
    before = not_audit(env)
    params = {"day": "2026-11-18"} if "{day}" in route else {"subject": subject}
    response = desk(env, method, route, body=body, **params)
    assert response["statusCode"] == 403
    assert not_audit(env) == before


def test_an_officer_reads_but_does_not_reply_or_withdraw(env: Env) -> None:
    subject = person(env)
    assert as_officer(env, "GET", "/desk/api/conversations")["statusCode"] == 200
    assert as_officer(env, "GET", CONVERSATION, subject=subject)["statusCode"] == 200
    sent = len(replies_to())
    reply = as_officer(env, "POST", REPLIES, subject=subject, body={"text": "Hello"})
    withdraw = as_officer(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": "all", "confirm": True})
    assert (reply["statusCode"], withdraw["statusCode"]) == (403, 403)
    assert len(replies_to()) == sent and env.store.subjects.state(subject).active_purposes == ("customer_service",)


# -- bad subjects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["not-a-pseudonym", "A" * 64, "0" * 63, PERSON])
def test_a_subject_of_another_format_is_400(env: Env, subject: str) -> None:
    for method, route, body in [("GET", CONVERSATION, None), ("POST", REPLIES, {"text": "Hello"})]:
        response = desk(env, method, route, subject=subject, body=body)
        assert response["statusCode"] == 400 and "subject" in json_body(response)["error"]
    for method, route, body in PRIVACY_ROUTES:
        assert as_officer(env, method, route, subject=subject, body=body)["statusCode"] == 400
    assert PERSON not in json.dumps(env.items_with_prefix("AUDIT#"))


def test_an_unknown_person_is_404_on_every_subject_route(env: Env) -> None:
    nobody = "ab" * 32
    assert desk(env, "GET", CONVERSATION, subject=nobody)["statusCode"] == 404
    assert desk(env, "POST", REPLIES, subject=nobody, body={"text": "Hello"})["statusCode"] == 404
    body = {"purposes": "all", "confirm": True}
    assert desk(env, "POST", WITHDRAWALS, subject=nobody, body=body)["statusCode"] == 404
    for method, route, payload in PRIVACY_ROUTES:
        assert as_officer(env, method, route, subject=nobody, body=payload)["statusCode"] == 404


# -- the inbox -------------------------------------------------------------------------------------


def test_the_inbox_shows_alias_purposes_window_and_unanswered_newest_first(env: Env) -> None:
    first = person(env, {"customer_service": True, "marketing": True})
    env.clock.advance(60)
    second = person(env, sender="393471234567")
    env.clock.advance(60)
    assert desk(env, "POST", REPLIES, subject=first, body={"text": "It left the warehouse today."})["statusCode"] == 201
    env.clock.advance(60)
    page = json_body(desk(env, "GET", "/desk/api/conversations", query={"limit": "1"}))
    [top] = page["conversations"]
    assert top["subject"] == first  # the reply was the latest activity
    assert top["unanswered"] is False and top["channel"] == "whatsapp"
    assert top["purposes"] == {"customer_service": "active", "marketing": "active"}
    received = top["last_inbound_at"]
    assert top["window"] == {"applies": True, "open": True, "closes_at": received + 86_400}
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}", top["alias"])
    rest = json_body(desk(env, "GET", "/desk/api/conversations", query={"cursor": page["next_cursor"]}))
    [other] = [c for c in rest["conversations"] if c["subject"] == second]
    assert other["unanswered"] is True and other["alias"] != top["alias"]
    assert PERSON not in json.dumps(page) and "1701234567" not in top["alias"].replace("-", "")
    env.clock.advance(86_400)
    later = json_body(desk(env, "GET", "/desk/api/conversations"))["conversations"]
    assert {c["window"]["open"] for c in later} == {False}
    assert json_body(desk(env, "GET", "/desk/api/conversations"))["conversations"][0]["alias"] == top["alias"]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "51"}, {"cursor": "not-base64!"}, {"cursor": "e30"}])
def test_a_bad_page_request_is_400(env: Env, query: dict[str, str]) -> None:
    assert desk(env, "GET", "/desk/api/conversations", query=query)["statusCode"] == 400


# -- a conversation --------------------------------------------------------------------------------


def test_the_conversation_hides_quarantined_health_data_and_offers_what_may_be_sent(env: Env) -> None:
    subject = person(env)
    env.clock.advance(1)  # the conversation is in order of time
    deliver(env, text(env, "I have a nut allergy, is this safe?"))
    view = json_body(desk(env, "GET", CONVERSATION, subject=subject))
    assert view["alias"] and view["channel"] == "whatsapp" and view["purposes"] == {"customer_service": "active"}
    inbound = [m for m in view["messages"] if m["direction"] == "in"]
    assert inbound[0]["text"] == "where is my parcel?" and inbound[0]["hidden"] is None
    assert inbound[-1]["hidden"] == "special_category" and inbound[-1]["text"] is None
    assert "allergy" not in json.dumps(view) and PERSON not in json.dumps(view)
    assert view["window"]["open"] is True
    assert view["reply"]["text_allowed"] is True and view["reply"]["refusal"] is None
    templates = {t["name"]: t for t in view["reply"]["templates"]}
    assert templates["service_follow_up"] == {
        "name": "service_follow_up",
        "language": "en",
        "category": "UTILITY",
        "purpose": "customer_service",
        "parameters": 1,
        "allowed": True,
        "refusal": None,
    }
    assert templates["weekly_offers"]["allowed"] is False
    assert templates["weekly_offers"]["refusal"] == "purpose_not_consented"


def test_a_reply_inside_the_window_is_queued_once_per_reply_id(env: Env) -> None:
    subject = person(env)
    body = {"text": "It left the warehouse today.", "reply_id": "desk-7f3a9c21"}
    first = desk(env, "POST", REPLIES, subject=subject, body=body)
    again = desk(env, "POST", REPLIES, subject=subject, body=body)
    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert json_body(first) == {"reply_id": "desk-7f3a9c21", "status": "queued"}
    assert json_body(again) == {"reply_id": "desk-7f3a9c21", "status": "queued_before"}
    assert [reply_text(p) for p in replies_to()].count("It left the warehouse today.") == 1
    out = [m for m in json_body(desk(env, "GET", CONVERSATION, subject=subject))["messages"] if m["direction"] == "out"]
    assert [(m["text"], m["status"]) for m in out] == [("It left the warehouse today.", "sent")]


def test_the_window_closed_refuses_text_and_offers_templates(env: Env) -> None:
    subject = person(env)
    env.clock.advance(24 * 3600 + 1)
    view = json_body(desk(env, "GET", CONVERSATION, subject=subject))
    assert view["window"]["open"] is False and view["reply"]["refusal"] == "window_closed"
    assert view["reply"]["text_allowed"] is False
    assert [t["name"] for t in view["reply"]["templates"] if t["allowed"]] == ["service_follow_up", "consent_renewal"]
    sent = len(replies_to())
    refused = desk(env, "POST", REPLIES, subject=subject, body={"text": "Any news?"})
    assert refused["statusCode"] == 409
    assert json_body(refused)["refusal"] == "window_closed" and "24-hour" in json_body(refused)["error"]
    template = {"template": {"name": "service_follow_up", "parameters": ["order 1042"]}}
    assert desk(env, "POST", REPLIES, subject=subject, body=template)["statusCode"] == 201
    assert len(replies_to()) == sent + 1 and replies_to()[-1]["type"] == "template"


def test_a_reply_after_stop_is_refused_with_the_reason(env: Env) -> None:
    subject = person(env)
    deliver(env, text(env, "STOP"))
    view = json_body(desk(env, "GET", CONVERSATION, subject=subject))
    assert view["purposes"] == {"customer_service": "withdrawn"}
    assert view["reply"]["refusal"] == "withdrawn" and not any(t["allowed"] for t in view["reply"]["templates"])
    sent = len(replies_to())
    refused = desk(env, "POST", REPLIES, subject=subject, body={"text": "Sorry to see you go"})
    assert refused["statusCode"] == 409
    assert json_body(refused) == {"error": "no active consent for 'customer_service'", "refusal": "withdrawn"}
    template = desk(env, "POST", REPLIES, subject=subject, body={"template": {"name": "consent_renewal"}})
    assert template["statusCode"] == 409 and json_body(template)["refusal"] == "purpose_not_consented"
    assert len(replies_to()) == sent


def test_a_marketing_template_needs_the_marketing_consent(env: Env) -> None:
    subject = person(env, {"customer_service": True})
    body = {"template": {"name": "weekly_offers", "parameters": ["Winter sale"]}}
    refused = desk(env, "POST", REPLIES, subject=subject, body=body)
    assert refused["statusCode"] == 409
    assert json_body(refused)["refusal"] == "purpose_not_consented" and "marketing" in json_body(refused)["error"]
    other = person(env, {"customer_service": True, "marketing": True}, sender="393471234567")
    view = json_body(desk(env, "GET", CONVERSATION, subject=other))
    assert {t["name"]: t["allowed"] for t in view["reply"]["templates"]}["weekly_offers"] is True
    assert desk(env, "POST", REPLIES, subject=other, body=body)["statusCode"] == 201


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * 4097},
        {"template": {"name": "service_follow_up", "parameters": []}},
        {"template": {"name": "service_follow_up", "parameters": ["a", "b"]}},
        {"template": {"name": "promo_we_never_configured", "parameters": []}},
        {"text": "hello", "template": {"name": "service_follow_up", "parameters": ["a"]}},
        {"text": "hello", "to": "+491701234567"},
        {"text": "hello", "reply_id": "no spaces allowed"},
        {},
    ],
)
def test_a_wrong_reply_is_400_and_nothing_is_queued(env: Env, body: dict[str, Any]) -> None:
    subject = person(env)
    before, sent = not_audit(env), len(local_outbox().messages)
    response = desk(env, "POST", REPLIES, subject=subject, body=body)
    assert response["statusCode"] == 400, response
    assert set(json_body(response)) == {"error"} and "x" * 50 not in json_body(response)["error"]
    assert not_audit(env) == before and len(local_outbox().messages) == sent
    assert env.items_with_prefix("OUTBOX#") == []


def test_a_reply_of_exactly_4096_characters_goes_out(env: Env) -> None:
    subject = person(env)
    assert desk(env, "POST", REPLIES, subject=subject, body={"text": "y" * 4096})["statusCode"] == 201


# -- withdrawals on the person's behalf ------------------------------------------------------------


def test_withdrawal_per_purpose_then_all_needs_confirmation(env: Env) -> None:
    subject = person(env, {"customer_service": True, "marketing": True})
    unconfirmed = desk(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": ["marketing"]})
    assert unconfirmed["statusCode"] == 400 and "confirm" in json_body(unconfirmed)["error"]
    as_text = desk(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": ["marketing"], "confirm": "yes"})
    assert as_text["statusCode"] == 400
    assert env.store.subjects.state(subject).active_purposes == ("customer_service", "marketing")
    unknown = desk(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": ["newsletter"], "confirm": True})
    assert unknown["statusCode"] == 400
    partial = desk(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": ["marketing"], "confirm": True})
    assert partial["statusCode"] == 200 and json_body(partial) == {"withdrawn": ["marketing"]}
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)
    full = desk(env, "POST", WITHDRAWALS, subject=subject, body={"purposes": "all", "confirm": True})
    assert json_body(full) == {"withdrawn": ["customer_service"]}
    assert env.store.subjects.state(subject).active_purposes == ()
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))
    entries = env.wiring.consents.proof(subject).entries
    assert [e.evidence.get("source") for e in entries[-2:]] == ["desk", "desk"]
    view = json_body(desk(env, "GET", CONVERSATION, subject=subject))
    assert view["purposes"] == {"customer_service": "withdrawn", "marketing": "withdrawn"}
    assert view["reply"]["refusal"] == "withdrawn"


def test_a_restricted_person_gets_no_reply_and_the_page_is_told_why(env: Env) -> None:
    from tests.functions.test_rights_desk import restrict

    subject = person(env, {"customer_service": True, "marketing": True})
    restrict(env)  # the rights desk accepted a restriction request for this number
    view = json_body(desk(env, "GET", CONVERSATION, subject=subject))
    assert view["reply"]["text_allowed"] is False and view["reply"]["refusal"] == "restricted"
    assert {t["refusal"] for t in view["reply"]["templates"]} == {"restricted"}
    sent = len(replies_to())
    for body in ({"text": "Hello"}, {"template": {"name": "service_follow_up", "parameters": ["order 1042"]}}):
        refused = desk(env, "POST", REPLIES, subject=subject, body=body)
        assert refused["statusCode"] == 409 and json_body(refused)["refusal"] == "restricted"
    assert len(replies_to()) == sent
