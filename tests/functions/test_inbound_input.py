"""What the webhook refuses or reads differently: outdated items, unstorable text, the provider's own signals."""

from __future__ import annotations

from typing import Any

import pytest

from localrun import whatsapp
from tests.conftest import Env, json_body
from tests.flow import (
    OTHER,
    PERSON,
    PHONE_NUMBER_ID,
    activate,
    deliver,
    replies_to,
    reply_text,
    subject_of,
    text,
)

DAY = 86_400


@pytest.mark.parametrize("age", [9 * DAY, 400 * DAY, -365 * DAY, -3600])
def test_an_item_dated_outside_the_delivery_window_is_counted_not_processed(env: Env, age: int) -> None:
    activate(env)
    subject = subject_of(env)
    before, sent = env.items(), len(replies_to())
    old = whatsapp.text(PERSON, "STOP", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()) - age)
    response = deliver(env, old)
    assert response["statusCode"] == 200  # the provider must not retry it
    assert env.items() == before and len(replies_to()) == sent
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)


def test_late_deliveries_within_the_window_still_count(env: Env) -> None:
    activate(env)
    late = whatsapp.text(PERSON, "STOP", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()) - 6 * DAY)
    deliver(env, late)
    assert env.store.subjects.state(subject_of(env)).active_purposes == ()


def test_one_unstorable_item_does_not_spoil_the_batch(env: Env) -> None:
    activate(env)
    activate(env, sender=OTHER)
    payload: dict[str, Any] = text(env, "where is my parcel?")
    broken = text(env, "x", sender=OTHER)["entry"][0]["changes"][0]["value"]["messages"][0]
    broken["text"]["body"] = "\ud800 lone surrogate"
    payload["entry"][0]["changes"][0]["value"]["messages"].append(broken)
    response = deliver(env, payload)
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 1}
    assert len(env.inbound_items(subject_of(env))) == 1
    assert env.inbound_items(subject_of(env, OTHER)) == []


def test_a_template_stop_button_stops_marketing_and_typed_stop_ends_everything(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    stop = whatsapp.template_reply(
        PERSON, "STOP", "promo-1", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
    )
    deliver(env, stop)  # the stop button of a marketing template
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)
    assert "Customer service" in reply_text(replies_to()[-1])  # says what continues
    assert env.inbound_items(subject) == []  # handled, not kept as a message
    deliver(env, text(env, "STOP"))  # typed: everything
    assert env.store.subjects.state(subject).active_purposes == ()
    assert "withdrawn" in reply_text(replies_to()[-1])


def test_a_template_stop_button_without_marketing_to_stop_withdraws_everything(env: Env) -> None:
    activate(env, purposes={"customer_service": True})
    stop = whatsapp.template_reply(
        PERSON, "STOP", "follow-up-1", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
    )
    deliver(env, stop)
    assert env.store.subjects.state(subject_of(env)).active_purposes == ()
    assert "withdrawn" in reply_text(replies_to()[-1])


def test_stop_promotions_withdraws_marketing_only_and_says_what_remains(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    now = int(env.clock())
    button = whatsapp.template_reply(PERSON, "Stop promotions", "p1", phone_number_id=PHONE_NUMBER_ID, timestamp=now)
    deliver(env, button)
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)
    answer = reply_text(replies_to()[-1])
    assert "no more offers" in answer and "Customer service" in answer
    entries = env.wiring.consents.proof(subject).entries
    assert [(e.purpose, e.evidence["source"]) for e in entries[-1:]] == [("marketing", "chat:marketing_stop")]
    deliver(env, button)  # the same button again: nothing more
    assert len(env.wiring.consents.proof(subject).entries) == len(entries)
    deliver(env, text(env, "STOP WERBUNG"))  # nothing left to stop: no second answer
    assert reply_text(replies_to()[-1]) == answer


def test_stop_promotions_with_nothing_else_left_is_a_full_withdrawal(env: Env) -> None:
    activate(env, purposes={"marketing": True})
    deliver(env, text(env, "Stop promotions"))
    assert env.store.subjects.state(subject_of(env)).active_purposes == ()
    assert "withdrawn" in reply_text(replies_to()[-1])


def test_a_changed_number_ends_the_old_numbers_consent_silently(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, "where is my parcel?"))
    old = subject_of(env)
    sent = len(replies_to())
    change = whatsapp.number_changed(PERSON, OTHER, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))
    deliver(env, change)
    state = env.store.subjects.state(old)
    assert state.active_purposes == () and set(state.consents) == {"customer_service", "marketing"}
    assert [e.evidence["source"] for e in env.wiring.consents.proof(old).entries[-2:]] == [
        "whatsapp:number_changed"
    ] * 2
    assert len(replies_to()) == sent and replies_to(OTHER) == []  # nothing sent to either number
    assert env.store.subjects.state(subject_of(env, OTHER)).consents == {}  # the new number starts without consent
    assert not env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))
    assert {i["retention_class"] for i in env.inbound_items(old)} == {"conversation_withdrawn"}
    deliver(env, change)  # delivered twice: nothing more
    assert len(env.wiring.consents.proof(old).entries) == 4
