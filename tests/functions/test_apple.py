"""The Apple Messages for Business function: authentication, bodies, replays, opt-in, rights, close."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any

import pytest

from chatconsent.consent_state import ConsentState
from chatconsent.ledger import LedgerEntry, LedgerEvent, verify
from localrun import apple
from tests.apple_flow import (
    OTHER,
    PERSON,
    PREVIOUS_SECRET,
    activate,
    close,
    event,
    post,
    quick_reply_items,
    replies_to,
    send_text,
    snapshot,
    start_optin,
    subject_of,
    tap,
)
from tests.conftest import Env, json_body


def consent_state(env: Env, source: str = PERSON) -> ConsentState:
    return env.store.subjects.state(subject_of(env, source)).state_of("customer_service")


def ledger(env: Env, source: str = PERSON) -> list[LedgerEntry]:
    """The subject's ledger, checked: its chain intact up to the head the state names."""
    state = env.store.subjects.state(subject_of(env, source))
    assert state.ledger_head is not None
    entries = env.store.ledger.entries(state.ledger_head.ledger_id)
    assert verify(entries, state.ledger_head).ok
    return entries


def last_text(source: str = PERSON) -> str:
    return str(replies_to(source)[-1]["body"])


# -- authentication: Apple's statuses, and nothing written -----------------------------------------------


def _forged(env: Env) -> str:
    return apple.token(base64.b64encode(b"someone-elses-secret-of-length").decode(), int(env.clock()))


REFUSED = {
    "missing authorization": ({"authorization": None}, 401),
    "not a bearer token": ({"authorization": "Basic dXNlcjpwYXNz"}, 403),
    "forged signature": ("forged", 403),
    "alg none": ("none", 403),
    "alg HS512": ("HS512", 403),
    "expired iat": ("expired", 403),
    "iat far ahead": ("ahead", 403),
    "wrong audience": ("audience", 403),
    "secret used as text, not Base64-decoded": ("undecoded", 403),
    "garbage token": ({"authorization": "Bearer not.a.jwt"}, 403),
    "unknown destination": ({"destination-id": "00000000-0000-4000-8000-000000000000"}, 404),
    "no destination": ({"destination-id": None}, 404),
}


def _headers(env: Env, case: Any) -> dict[str, Any]:
    now = int(env.clock())
    secret = apple.account()
    if isinstance(case, dict):
        return case
    token = {
        "forged": lambda: _forged(env),
        "none": lambda: apple.token("", now, alg="none"),
        "HS512": lambda: apple.token("", now, alg="HS512"),
        "expired": lambda: apple.token(PREVIOUS_SECRET, now - 3601),
        "ahead": lambda: apple.token(PREVIOUS_SECRET, now + 3601),
        "audience": lambda: apple.token(PREVIOUS_SECRET, now, aud=secret[1]),  # the business id is not the aud
        "undecoded": lambda: _undecoded(now),
    }[case]()
    return {"authorization": f"Bearer {token}"}


def _undecoded(now: int) -> str:
    """Signed with the Base64 text itself as the key: the most common integration error."""
    from chatconsent.channels.apple import sign_token
    from tests.apple_flow import MSP_ID, SECRET

    return sign_token(SECRET.encode(), {"aud": MSP_ID, "iat": now})


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_requests_get_apples_status_and_write_nothing(env: Env, case: str) -> None:
    started = start_optin(env)
    before = snapshot(env)
    overrides, status = REFUSED[case]
    body = apple.text_body(PERSON, str(uuid.uuid4()), f"My code: {started['code']}")
    response = post(env, body, headers=_headers(env, overrides))
    assert response["statusCode"] == status, response
    assert snapshot(env) == before
    assert replies_to() == []


def test_alg_none_with_an_empty_signature_is_refused_even_when_claims_are_right(env: Env) -> None:
    now = int(env.clock())
    token = apple.token("", now, alg="none")
    response = send_text(env, "hello", headers={"authorization": f"Bearer {token}"})
    assert response["statusCode"] == 403


def test_the_previous_secret_is_accepted_during_rotation(env: Env) -> None:
    token = apple.token(PREVIOUS_SECRET, int(env.clock()))
    response = send_text(env, "hello", headers={"authorization": f"Bearer {token}"})
    assert response["statusCode"] == 200


def test_iat_within_the_hour_either_way_is_accepted(env: Env) -> None:
    for offset in (-3600, 3600):
        token = apple.token(PREVIOUS_SECRET, int(env.clock()) + offset)
        assert send_text(env, "hello", headers={"authorization": f"Bearer {token}"})["statusCode"] == 200


def test_authentication_comes_before_the_body_is_read(env: Env) -> None:
    """A refused request with a body that could not even be read is refused for its token (403), not its body."""
    response = post(env, b"\x1f\x8b garbage", headers={"authorization": f"Bearer {_forged(env)}"})
    assert response["statusCode"] == 403


# -- bodies ---------------------------------------------------------------------------------------------------


def test_a_gzipped_body_is_read(env: Env) -> None:
    started = start_optin(env)
    message_id = str(uuid.uuid4())
    body = apple.text_body(PERSON, message_id, f"My code: {started['code']}")
    response = post(env, body, message_id=message_id, compress=True)
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 1}
    assert quick_reply_items()


def test_a_gzip_bomb_is_refused_without_inflating_it(env: Env) -> None:
    bomb = gzip.compress(b"{" + b" " * 64_000_000 + b"}")  # 64 MB inflated, ~62 KB sent
    assert len(bomb) < env.wiring.config.limits.max_webhook_bytes
    before = snapshot(env)
    response = post(env, bomb, headers={"content-encoding": "gzip"})
    assert response["statusCode"] == 413  # how little is inflated: tests/chatconsent/channels/test_apple.py
    assert snapshot(env) == before


def test_an_oversized_plain_body_is_refused(env: Env) -> None:
    limit = env.wiring.config.limits.max_webhook_bytes
    big = apple.text_body(PERSON, str(uuid.uuid4()), "x" * (limit + 10))
    assert post(env, big)["statusCode"] == 413


@pytest.mark.parametrize(
    ("raw", "encoding", "status"),
    [
        (b"not json", None, 400),
        (b"[1, 2]", None, 400),
        (b"\xff\xfe", None, 400),
        (b"not gzip at all", "gzip", 400),
        (gzip.compress(b'{"type": "text"}')[:-6], "gzip", 400),  # truncated
        (b"{}", "br", 415),
    ],
)
def test_malformed_bodies_get_a_4xx_and_write_nothing(env: Env, raw: bytes, encoding: str | None, status: int) -> None:
    before = snapshot(env)
    response = post(env, raw, headers={"content-encoding": encoding} if encoding else None)
    assert response["statusCode"] == status, response
    assert snapshot(env) == before


@pytest.mark.parametrize(
    "body",
    [
        {"v": 1, "type": "text"},  # no body, no ids in the body (the headers still carry them)
        {"v": 1, "type": "hologram", "body": "?"},
        {"v": 1, "type": "typing_start"},
        {"v": 1, "type": "typing_end"},
        {"v": 1, "type": "interactive", "interactiveData": {"data": {"nothing": 1}}},
        {"v": 1, "type": "text", "body": "x" * 20_000},
        {"v": 1, "type": 7},
    ],
)
def test_messages_without_meaning_are_skipped_and_counted(env: Env, body: dict[str, Any]) -> None:
    before = snapshot(env)
    response = post(env, body)
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 0}
    assert snapshot(env) == before


@pytest.mark.parametrize("missing", ["source-id", "id"])
def test_a_message_without_its_ids_is_skipped(env: Env, missing: str) -> None:
    body = {"v": 1, "type": "text", "body": "hello"}  # no ids in the body either
    response = post(env, body, headers={missing: None})
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 0}


def test_typing_indicators_are_counted(env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    post(env, {"v": 1, "type": "typing_start"})
    out = capfd.readouterr().out
    assert '"Apple_typing_start":[1.0]' in out and '"InboundSkipped":[1.0]' in out


def test_an_unknown_route_is_not_found(env: Env) -> None:
    ev = event(env, apple.text_body(PERSON, "x", "hello"))
    ev["routeKey"] = "GET /webhooks/apple/message"
    assert env.invoke("apple", ev)["statusCode"] == 404


# -- replays ---------------------------------------------------------------------------------------------


def test_a_replayed_message_has_no_second_effect(env: Env) -> None:
    activate(env)
    message_id = str(uuid.uuid4())
    send_text(env, "STOP", message_id=message_id)
    assert consent_state(env) is ConsentState.WITHDRAWN
    sent, before = len(replies_to()), snapshot(env)
    response = send_text(env, "STOP", message_id=message_id)
    assert response["statusCode"] == 200
    assert len(replies_to()) == sent and snapshot(env) == before


def test_a_replayed_code_message_asks_once(env: Env) -> None:
    started = start_optin(env)
    message_id = str(uuid.uuid4())
    for _ in range(2):
        send_text(env, f"My code: {started['code']}", message_id=message_id)
    assert len(replies_to()) == 1


# -- double opt-in ---------------------------------------------------------------------------------------


def test_the_widget_gives_apples_message_link_with_the_code(env: Env) -> None:
    started = start_optin(env)
    link = started["links"]["apple"]
    assert link.startswith(f"https://bcrw.apple.com/urn:biz:{apple.account()[1]}?")
    assert "biz-intent-id=optin" in link and started["code"] in link
    assert started["links"]["whatsapp"] is None and started["qr_svg"]


def test_opt_in_with_quick_replies_when_the_device_lists_quick(env: Env) -> None:
    activate(env)
    assert consent_state(env) is ConsentState.ACTIVE
    question = replies_to()[0]
    assert question["type"] == "interactive" and question["destinationId"] == PERSON
    assert question["interactiveData"]["bid"] == apple.BUSINESS_EXTENSION
    activated = [e for e in ledger(env) if e.event is LedgerEvent.CONSENT_GIVEN]
    assert activated and activated[-1].evidence["confirmation_method"] == "button"
    assert activated[-1].channel == "apple"
    stored = json.dumps([i for i in env.items()], default=str)
    assert PERSON not in stored  # the opaque id only as a pseudonym (and sealed)


def test_opt_in_typed_when_the_device_cannot_show_quick_replies(env: Env) -> None:
    started = start_optin(env)
    send_text(env, f"My code: {started['code']}", capabilities="TEXT,LIST")
    question = replies_to()[-1]
    assert question["type"] == "text" and "YES or NO" in question["body"]
    send_text(env, "yes", capabilities="TEXT,LIST")
    assert consent_state(env) is ConsentState.ACTIVE
    [activated] = [e for e in ledger(env) if e.event is LedgerEvent.CONSENT_GIVEN]
    assert activated.evidence["confirmation_method"] == "text"


def test_no_declines_and_keeps_nothing(env: Env) -> None:
    start = start_optin(env)
    send_text(env, f"My code: {start['code']}")
    no = quick_reply_items()[1]
    tap(env, no["identifier"], no["title"])
    assert consent_state(env) is not ConsentState.ACTIVE
    assert env.store.subjects.state(subject_of(env)).pending is None


def test_a_whatsapp_code_does_not_work_from_apple(env: Env) -> None:
    from tests.flow import start_optin as start_whatsapp

    started = start_whatsapp(env)
    send_text(env, f"My code: {started['code']}")
    assert consent_state(env) is not ConsentState.ACTIVE
    assert all(r["type"] == "text" for r in replies_to())  # the info reply, no question


def test_messages_under_consent_are_kept_sealed_with_attachments_as_metadata(env: Env) -> None:
    activate(env)
    send_text(env, "where is my parcel?")
    message_id = str(uuid.uuid4())
    attachment = {"name": "IMG_0001.jpeg", "mimeType": "image/jpeg", "size": 1234, "url": "https://x.invalid/a"}
    post(env, apple.body("text", PERSON, message_id, body="\ufffc", attachments=[attachment]), message_id=message_id)
    kept = env.inbound_items(subject_of(env))
    assert len(kept) == 2
    stored = json.dumps(env.items(), default=str)
    assert "where is my parcel" not in stored and "IMG_0001" not in stored and "x.invalid" not in stored


# -- rights ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["unsubscribe", "STOP", "End", "spam", "stopp", "basta"])
def test_apples_and_our_withdrawal_words(env: Env, word: str) -> None:
    activate(env)
    send_text(env, word)
    assert consent_state(env) is ConsentState.WITHDRAWN
    entries = ledger(env)
    assert entries[-1].event is LedgerEvent.CONSENT_WITHDRAWN and entries[-1].evidence["source"] == "chat:keyword"
    assert "withdrawn" in last_text()


def test_close_withdraws_with_its_source_and_nothing_is_sent(env: Env) -> None:
    activate(env)
    sent = len(replies_to())
    close(env)
    assert consent_state(env) is ConsentState.WITHDRAWN
    entries = ledger(env)
    assert entries[-1].event is LedgerEvent.CONSENT_WITHDRAWN and entries[-1].evidence["source"] == "apple:close"
    assert len(replies_to()) == sent  # nothing after a delete
    send_text(env, "hello again")  # withdrawn: no answer of any kind
    assert len(replies_to()) == sent


def test_close_twice_or_from_a_stranger_changes_nothing_more(env: Env) -> None:
    activate(env)
    message_id = str(uuid.uuid4())
    close(env, message_id=message_id)
    before = snapshot(env)
    close(env, message_id=message_id)
    assert snapshot(env) == before
    response = close(env, source=OTHER)
    assert response["statusCode"] == 200 and replies_to(OTHER) == []


def test_data_sends_a_one_time_link(env: Env) -> None:
    activate(env)
    send_text(env, "where is my parcel?")
    send_text(env, "DATA")
    assert "/data/" in last_text()


def test_delete_asks_then_erases_everything(env: Env) -> None:
    activate(env)
    send_text(env, "where is my parcel?")
    send_text(env, "DELETE")
    delete, keep = quick_reply_items()
    assert delete["identifier"].startswith("erase:yes:") and keep["identifier"].startswith("erase:no:")
    tap(env, delete["identifier"], delete["title"])
    subject = subject_of(env)
    assert env.subject_items(subject) == []
    assert "deleted" in last_text()
    rest = [i for i in env.items() if not str(i["PK"]).startswith("ERASED#")]
    residue = json.dumps(rest, default=str)
    assert subject not in residue and PERSON not in residue and "where is my parcel" not in residue
    keys = env.dynamodb.scan(TableName="chatconsent-local-keys")["Items"]
    assert subject not in json.dumps(keys)  # the data key is shredded


def test_delete_typed_yes_where_quick_replies_are_not_shown(env: Env) -> None:
    activate(env)
    send_text(env, "löschen", capabilities="TEXT")
    assert "YES or NO" in last_text()
    send_text(env, "yes", capabilities="TEXT")
    assert env.subject_items(subject_of(env)) == []


def test_whatsapp_buttons_still_need_the_buttons() -> None:
    """A typed yes does not answer a question asked with buttons (WhatsApp lists no capabilities)."""
    from chatconsent.channels.base import InboundKind, InboundMessage
    from chatconsent.inbound.dispatch import _button

    typed = InboundMessage("whatsapp", "+491701234567", "m", 0, InboundKind.TEXT, "yes")
    assert _button(typed, "erase:yes:", "erase:no:", "n") is None
    apple_typed = InboundMessage("apple", "urn:mbid:x", "m", 0, InboundKind.TEXT, "yes", capabilities=frozenset())
    assert _button(apple_typed, "erase:yes:", "erase:no:", "n") is True


@pytest.mark.parametrize(("word", "answer"), [("agent", "in person"), ("Support", "in person"), ("help!", "in person")])
def test_apples_live_agent_words_say_how_to_reach_a_person(env: Env, word: str, answer: str) -> None:
    activate(env)
    send_text(env, word)
    assert answer in last_text()
    assert consent_state(env) is ConsentState.ACTIVE
    assert len(env.inbound_items(subject_of(env))) == 0  # a trigger word is answered, not kept


@pytest.mark.parametrize("word", ["menu", "LIST", "?"])
def test_apples_menu_words_list_what_can_be_written(env: Env, word: str) -> None:
    activate(env)
    send_text(env, word)
    assert "AGENT" in last_text() and "STOP" in last_text() and "DELETE" in last_text()


def test_whatsapp_help_stays_the_notice_and_agent_is_a_message_there(env: Env) -> None:
    from tests import flow

    flow.activate(env)
    flow.deliver(env, flow.text(env, "help"))
    assert "Privacy notice" in flow.reply_text(flow.replies_to()[-1])
    flow.deliver(env, flow.text(env, "agent"))
    assert len(env.inbound_items(flow.subject_of(env))) == 1  # kept: only Apple gives it a meaning


def test_an_agents_reply_reaches_the_apple_device_days_later_and_never_after_close(env: Env) -> None:
    """Apple has no 24-hour window: an agent answers whenever; after close nothing is sent."""
    from tests.functions.test_admin import admin

    activate(env)
    send_text(env, "where is my parcel?")
    env.clock.advance(3 * 86_400)
    subject = subject_of(env)
    response = admin(
        env, "POST", "messages", subject, {"text": "It left the warehouse today.", "reply_id": "desk-7f3a9c21"}
    )
    assert response["statusCode"] == 201, response
    reply = replies_to()[-1]
    assert (reply["type"], reply["body"], reply["destinationId"]) == ("text", "It left the warehouse today.", PERSON)
    close(env)
    sent = len(replies_to())
    later = admin(env, "POST", "messages", subject, {"text": "Anything else?", "reply_id": "desk-7f3a9c22"})
    assert later["statusCode"] == 409 and len(replies_to()) == sent
