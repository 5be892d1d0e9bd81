"""The inbound function: handshake, signatures, replays, batches, codes, answers, statuses."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest

from chatconsent.consent_state import ConsentState
from chatconsent.inbound import Outcome
from chatconsent.ledger import verify
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from localrun.aws import DEV_SECRETS
from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.flow import (
    OTHER,
    PERSON,
    PHONE_NUMBER_ID,
    button,
    deliver,
    last_buttons,
    replies_to,
    reply_text,
    start_optin,
    subject_of,
    text,
    webhook_event,
)


def consent_state(env: Env, purpose: str = "customer_service", sender: str = PERSON) -> ConsentState:
    return env.store.subjects.state(subject_of(env, sender)).state_of(purpose)


def bind(env: Env, sender: str = PERSON, **optin: Any) -> dict[str, Any]:
    started = start_optin(env, **optin)
    assert deliver(env, text(env, f"My code: {started['code']}", sender=sender))["statusCode"] == 200
    return started


# -- handshake -----------------------------------------------------------------------------------


def handshake(env: Env, **query: str) -> dict[str, Any]:
    return env.invoke("inbound", http_event("GET", "/webhooks/whatsapp", query=query))


def test_handshake_echoes_the_challenge_for_the_right_token(env: Env) -> None:
    response = handshake(
        env, **{"hub.mode": "subscribe", "hub.verify_token": "local-verify-token", "hub.challenge": "1158201444"}
    )
    assert response["statusCode"] == 200
    assert response["body"] == "1158201444"
    assert response["headers"]["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "local-verify-token", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "local-verify-token"},
        {},
    ],
)
def test_handshake_refuses_anything_else(env: Env, query: dict[str, str]) -> None:
    assert handshake(env, **query)["statusCode"] == 403


# -- signatures and bodies -----------------------------------------------------------------------


def forged_events(env: Env) -> list[dict[str, Any]]:
    payload = text(env, "hello")
    body, headers = whatsapp.signed(payload, DEV_SECRETS["whatsapp/app-secret"])
    reserialised = json.dumps(payload, indent=1).encode()
    sha1 = "sha1=" + headers["x-hub-signature-256"].removeprefix("sha256=")[:40]
    return [
        http_event("POST", "/webhooks/whatsapp", body=body),
        http_event("POST", "/webhooks/whatsapp", body=body, headers={"x-hub-signature-256": "sha256=" + "0" * 64}),
        http_event("POST", "/webhooks/whatsapp", body=body, headers={"x-hub-signature-256": sha1}),
        http_event("POST", "/webhooks/whatsapp", body=reserialised, headers=headers),
        webhook_event(payload, secret="not-our-secret"),
        http_event(
            "POST",
            "/webhooks/whatsapp",
            body=body,
            headers={"x-hub-signature-256": headers["x-hub-signature-256"][:-1]},
        ),
    ]


def test_forged_webhooks_get_401_and_write_nothing(env: Env) -> None:
    for event in forged_events(env):
        response = env.invoke("inbound", event)
        assert response["statusCode"] == 401
        assert json_body(response) == {"error": "invalid signature"}
    assert env.items() == []
    assert local_outbox().messages == []


def test_previous_app_secret_is_accepted_during_rotation(env: Env) -> None:
    response = deliver(env, text(env, "hello"), secret=DEV_SECRETS["whatsapp/app-secret-previous"])
    assert response["statusCode"] == 200


def test_base64_encoded_body_is_verified_on_its_decoded_bytes(env: Env) -> None:
    body, headers = whatsapp.signed(text(env, "hello"), DEV_SECRETS["whatsapp/app-secret"])
    event = http_event("POST", "/webhooks/whatsapp", body=body, headers=headers, base64_body=True)
    assert env.invoke("inbound", event)["statusCode"] == 200


HUGE_TEXT_MESSAGE = json.dumps(
    {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messages": [
                                {
                                    "from": "491701234567",
                                    "id": "x",
                                    "timestamp": "1",
                                    "type": "text",
                                    "text": {"body": "a" * 5000},
                                }
                            ]
                        },
                    }
                ],
            }
        ],
    }
).encode()


def signed_raw(body: bytes, base64_body: bool = False) -> dict[str, Any]:
    from chatconsent.channels.whatsapp import signature_for

    headers = {"x-hub-signature-256": signature_for(DEV_SECRETS["whatsapp/app-secret"].encode(), body)}
    return http_event("POST", "/webhooks/whatsapp", body=body, headers=headers, base64_body=base64_body)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b'{"object": "page", "entry": []}', 400),
        (b'{"object": "whatsapp_business_account"}', 400),
        (b"[" * 50_000 + b"]" * 50_000, 400),
        (b'{"object": "whatsapp_business_account", "entry": [], "x": "\xff\xfe"}', 400),
        (b"x" * 300_000, 413),
    ],
    ids=["not-json", "wrong-object", "no-entry", "deep-nesting", "invalid-utf8", "oversized"],
)
def test_malformed_or_oversized_bodies_are_refused_and_write_nothing(env: Env, body: bytes, status: int) -> None:
    response = env.invoke("inbound", signed_raw(body, base64_body=True))
    assert response["statusCode"] == status
    assert "error" in json_body(response)
    assert env.items() == []


def test_an_unreadable_message_in_an_authentic_batch_is_skipped(env: Env) -> None:
    """Meta would resend the whole batch for days on a 4xx: the readable messages must not wait."""
    response = env.invoke("inbound", signed_raw(HUGE_TEXT_MESSAGE, base64_body=True))
    assert response["statusCode"] == 200
    assert env.items() == []  # nothing could be read, nothing is written


# -- the double opt-in ---------------------------------------------------------------------------


def test_wrong_code_changes_nothing_and_gets_one_info_reply_a_day(env: Env) -> None:
    start_optin(env)
    before = [i for i in env.items() if not i["PK"].startswith(("DEDUPE#", "RATE#"))]
    deliver(env, text(env, "My code: CC-AAAAAAAAAAAAAAAAAAAAAAAAAA"))
    deliver(env, text(env, "where is my parcel?"))
    after = [i for i in env.items() if not i["PK"].startswith(("DEDUPE#", "RATE#"))]
    assert after == before  # nothing about the sender beyond dedupe records and the reply counter
    assert len(replies_to()) == 1
    assert "/widget" in reply_text(replies_to()[0])
    env.clock.advance(86_400)
    deliver(env, text(env, "where is my parcel?"))
    assert len(replies_to()) == 2


def test_unknown_sender_leaves_only_dedupe_records_and_a_counter(env: Env) -> None:
    deliver(env, text(env, "where is my parcel?"))
    kinds = sorted(i["PK"].split("#")[0] for i in env.items())
    assert kinds == ["DEDUPE", "RATE"]
    assert all(i["expires_at"] <= env.clock() + 8 * 86_400 for i in env.items())


def test_expired_code_changes_nothing(env: Env) -> None:
    started = start_optin(env)
    env.clock.advance(3600)
    deliver(env, text(env, f"My code: {started['code']}"))
    assert consent_state(env) is ConsentState.NONE
    assert env.store.subjects.state(subject_of(env)).pending is None


def test_used_code_cannot_be_taken_by_someone_else(env: Env) -> None:
    started = bind(env)
    deliver(env, text(env, f"My code: {started['code']}", sender=OTHER))
    assert consent_state(env, sender=OTHER) is ConsentState.NONE
    assert consent_state(env) is ConsentState.PENDING
    # and the other person's "yes" confirms nothing
    deliver(env, text(env, "yes", sender=OTHER))
    assert consent_state(env, sender=OTHER) is ConsentState.NONE


def test_code_sent_again_by_its_owner_repeats_the_question(env: Env) -> None:
    started = bind(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    assert [p["type"] for p in replies_to()] == ["interactive", "interactive"]
    assert consent_state(env) is ConsentState.PENDING


def test_no_discards_the_request(env: Env) -> None:
    bind(env)
    _, no = last_buttons()
    deliver(env, button(env, no["id"], no["title"]))
    state = env.store.subjects.state(subject_of(env))
    assert state.consents == {} and state.pending is None
    deliver(env, text(env, "yes"))
    assert consent_state(env) is ConsentState.NONE
    assert state.ledger_head is None


@pytest.mark.parametrize(("language", "word"), [("it", "Sì!"), ("de", "ja"), ("en", "YES")])
def test_typed_yes_in_each_language_activates(env: Env, language: str, word: str) -> None:
    bind(env, language=language)
    deliver(env, text(env, word))
    assert consent_state(env) is ConsentState.ACTIVE


def test_a_sentence_with_yes_in_it_is_not_a_yes(env: Env) -> None:
    bind(env)
    deliver(env, text(env, "yes but first a private question"))
    assert consent_state(env) is ConsentState.PENDING
    assert "buttons" in reply_text(replies_to()[-1])


def test_button_of_an_older_request_confirms_nothing(env: Env) -> None:
    bind(env)
    old_yes, _ = last_buttons()
    bind(env)
    deliver(env, button(env, old_yes["id"]))
    assert consent_state(env) is ConsentState.PENDING


def test_yes_after_the_request_expired_changes_nothing(env: Env) -> None:
    bind(env)
    yes, _ = last_buttons()
    env.clock.advance(3600)
    deliver(env, button(env, yes["id"]))
    assert consent_state(env) is ConsentState.NONE


def test_new_code_for_an_active_purpose_only_adds_the_new_purpose(env: Env) -> None:
    bind(env)
    deliver(env, text(env, "yes"))
    bind(env, purposes={"customer_service": True, "marketing": True})
    assert consent_state(env) is ConsentState.ACTIVE  # never downgraded to pending
    assert consent_state(env, "marketing") is ConsentState.PENDING
    deliver(env, text(env, "yes"))
    state = env.store.subjects.state(subject_of(env))
    assert set(state.active_purposes) == {"customer_service", "marketing"}
    assert state.ledger_head is not None and state.ledger_head.seq == 2
    assert verify(env.store.ledger.entries(state.ledger_head.ledger_id), state.ledger_head).ok


def test_code_for_purposes_all_active_says_so(env: Env) -> None:
    bind(env)
    deliver(env, text(env, "yes"))
    bind(env)
    assert "already agreed" in reply_text(replies_to()[-1])
    assert consent_state(env) is ConsentState.ACTIVE


# -- replays and concurrency ---------------------------------------------------------------------


def test_replayed_code_message_has_no_second_effect(env: Env) -> None:
    started = start_optin(env)
    payload = text(env, f"My code: {started['code']}")
    deliver(env, payload)
    items, sent = env.items(), len(local_outbox().messages)
    env.clock.advance(7 * 86_400 - 60)  # WhatsApp retries for up to 7 days
    response = deliver(env, payload)
    assert response["statusCode"] == 200
    assert len(local_outbox().messages) == sent
    assert env.items() == items


def test_concurrent_duplicate_yes_activates_once(env: Env) -> None:
    """Meta may deliver the same webhook to several containers at once: one effect in total."""
    bind(env, purposes={"customer_service": True, "marketing": True})
    yes, _ = last_buttons()
    body, _ = whatsapp.signed(button(env, yes["id"], wamid="wamid.duplicate-yes"), DEV_SECRETS["whatsapp/app-secret"])
    channel = env.wiring.whatsapp
    parsed = channel.parse(body)
    outcomes: list[list[Outcome]] = []
    barrier = threading.Barrier(4)

    def container() -> None:  # each thread is its own warm container with its own service
        service = env.wiring.inbound
        barrier.wait()
        outcomes.append(service.handle(parsed))

    threads = [threading.Thread(target=container) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o for batch in outcomes for o in batch) == sorted(
        [Outcome.CONSENT_ACTIVATED] + [Outcome.DUPLICATE] * 3
    )
    state = env.store.subjects.state(subject_of(env))
    assert set(state.active_purposes) == {"customer_service", "marketing"}
    assert state.ledger_head is not None and state.ledger_head.seq == 2  # one proof per purpose, once
    env.drain_stream()  # the outbox sender: the answer was written with the one activation
    activated = [p for p in replies_to() if p["type"] == "text" and "consent is recorded" in reply_text(p)]
    assert len(activated) == 1


def test_batched_payload_processes_every_message_and_status(env: Env) -> None:
    first, second = start_optin(env), start_optin(env)
    a = text(env, f"My code: {first['code']}")
    b = text(env, f"My code: {second['code']}", sender=OTHER)
    batch = {"object": "whatsapp_business_account", "entry": [a["entry"][0], b["entry"][0]]}
    response = deliver(env, batch)
    assert json_body(response) == {"processed": 2}
    assert consent_state(env) is ConsentState.PENDING
    assert consent_state(env, sender=OTHER) is ConsentState.PENDING


def test_messages_for_another_business_number_are_skipped(env: Env) -> None:
    started = start_optin(env)
    payload = whatsapp.text(PERSON, f"My code: {started['code']}", phone_number_id="999", timestamp=int(env.clock()))
    assert json_body(deliver(env, payload)) == {"processed": 0}
    assert env.items() == [i for i in env.items() if i["PK"].startswith(("OPTIN#", "RATE#"))]


# -- statuses ------------------------------------------------------------------------------------


def status(env: Env, message_id: str, state: str, recipient: str = PERSON) -> dict[str, Any]:
    return whatsapp.status(recipient, message_id, state, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))


def outbound_status(env: Env, message_id: str) -> str:
    message_hash = env.wiring.pseudonymizer.message("whatsapp", message_id)
    items = [i for i in env.items() if i["SK"] == f"M#OUT#{message_hash}"]
    assert len(items) == 1
    return str(items[0]["status"])


def test_statuses_move_forward_only(env: Env) -> None:
    bind(env)
    question = local_outbox().messages[-1].id
    deliver(env, status(env, question, "delivered"))
    assert outbound_status(env, question) == "delivered"
    deliver(env, status(env, question, "sent"))  # late, out of order
    assert outbound_status(env, question) == "delivered"
    deliver(env, status(env, question, "read"))
    assert outbound_status(env, question) == "read"
    deliver(env, status(env, question, "failed"))
    deliver(env, status(env, question, "read"))
    assert outbound_status(env, question) == "failed"  # failed is final


def test_status_for_an_unknown_message_leaves_no_trace(env: Env) -> None:
    response = deliver(env, status(env, "wamid.unknown", "delivered"))
    assert response["statusCode"] == 200
    assert env.items() == []


def test_info_reply_to_an_unknown_sender_is_not_tracked(env: Env) -> None:
    deliver(env, text(env, "where is my parcel?"))
    reply = local_outbox().messages[-1].id
    deliver(env, status(env, reply, "read"))
    assert not [i for i in env.items() if i["SK"].startswith("M#")]


def test_raw_event_body_is_not_echoed_in_errors(env: Env) -> None:
    body = base64.b64encode(b'{"object": "x", "entry": [{"id": "+491701234567"}]}').decode()
    event = signed_raw(base64.b64decode(body), base64_body=True)
    response = env.invoke("inbound", event)
    assert response["statusCode"] == 400
    assert "491701234567" not in response["body"]
