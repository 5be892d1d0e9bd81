"""Chat-started double opt-in end to end through the handlers."""

from __future__ import annotations

import hashlib

from chatconsent.consent_state import ConsentState
from chatconsent.ledger import LedgerEvent, verify
from tests.conftest import START, Env, json_body
from tests.flow import button, deliver, last_buttons, replies_to, reply_text, start_optin, subject_of, text


def test_code_then_yes_activates_consent_and_records_proof(env: Env) -> None:
    started = start_optin(env, purposes={"customer_service": True, "marketing": True}, language="de")
    assert started["code"].startswith("CC-")
    assert started["links"]["whatsapp"].startswith("https://wa.me/4930123456789?text=")

    env.clock.advance(30)  # the code arrives a little after the form asked for it
    response = deliver(env, text(env, f"Hallo! Mein Code: {started['code']}"))
    assert response["statusCode"] == 200
    question = reply_text(replies_to()[-1])
    yes, no = last_buttons()
    assert yes["title"] == "Ja, einverstanden" and no["title"] == "Nein"
    state = env.store.subjects.state(subject_of(env))
    assert state.state_of("customer_service") is ConsentState.PENDING

    env.clock.advance(60)
    response = deliver(env, button(env, yes["id"], yes["title"]))
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 1}
    state = env.store.subjects.state(subject_of(env))
    assert state.active_purposes == ("customer_service", "marketing") or set(state.active_purposes) == {
        "customer_service",
        "marketing",
    }
    assert state.pending is None
    assert state.ledger_head is not None
    entries = env.store.ledger.entries(state.ledger_head.ledger_id)
    assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2
    assert {e.purpose for e in entries} == {"customer_service", "marketing"}
    assert all(e.notice_sha256 == started["notice_sha256"] and e.notice_language == "de" for e in entries)
    assert all(e.request_id == started["request_id"] for e in entries)
    assert verify(entries, state.ledger_head).ok
    assert "Einwilligung ist erfasst" in reply_text(replies_to()[-1])
    # the proof holds the exact question answered and when the form asked (the request itself is gone)
    evidence = entries[0].evidence
    assert evidence["question_sha256"] == hashlib.sha256(question.encode("utf-8")).hexdigest()
    assert evidence["form_requested_at"] == str(START) and evidence["code_received_at"] == str(START + 30)
