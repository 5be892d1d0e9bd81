"""Withdrawal and help from inside the chat: one word, effective before the webhook answers."""

from __future__ import annotations

import json

import pytest

from chatconsent.consent_state import ConsentState
from chatconsent.ledger import LedgerEvent
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from tests.conftest import Env
from tests.flow import (
    OTHER,
    PERSON,
    PHONE_NUMBER_ID,
    button,
    deliver,
    replies_to,
    reply_text,
    start_optin,
    subject_of,
    text,
)


def activate(env: Env, language: str = "en") -> None:
    started = start_optin(env, purposes={"customer_service": True, "marketing": True}, language=language)
    deliver(env, text(env, f"My code: {started['code']}"))
    deliver(env, text(env, "yes"))
    assert env.store.subjects.state(subject_of(env)).active_purposes


def states(env: Env) -> set[ConsentState]:
    return {r.state for r in env.store.subjects.state(subject_of(env)).consents.values()}


@pytest.mark.parametrize(
    "word", ["STOP", "Stop!", "stopp", "ABMELDEN", "basta", "DISISCRIVI", "UNSUBSCRIBE", "END", "CANCEL", "QUIT"]
)
def test_one_word_withdraws_everything_and_confirms_once(env: Env, word: str) -> None:
    activate(env)
    sent = len(replies_to())
    deliver(env, text(env, word))
    assert states(env) == {ConsentState.WITHDRAWN}  # effective before the webhook answered
    assert len(replies_to()) == sent + 1
    assert "withdrawn" in reply_text(replies_to()[-1])
    state = env.store.subjects.state(subject_of(env))
    assert state.ledger_head is not None
    entries = env.store.ledger.entries(state.ledger_head.ledger_id)
    assert [e.event for e in entries][-2:] == [LedgerEvent.CONSENT_WITHDRAWN] * 2
    assert env.items_with_prefix("SUPPRESS#")


def test_after_withdrawal_nothing_is_sent_and_stop_again_is_a_no_op(env: Env) -> None:
    activate(env)
    stop = text(env, "STOP")
    deliver(env, stop)
    sent = len(local_outbox().messages)
    deliver(env, stop)  # replayed webhook
    deliver(env, text(env, "STOP"))  # repeated STOP
    deliver(env, text(env, "where is my parcel?"))
    env.clock.advance(86_400)
    deliver(env, text(env, "hello again"))
    assert len(local_outbox().messages) == sent
    assert states(env) == {ConsentState.WITHDRAWN}


def test_info_is_answered_after_stop_and_changes_nothing(env: Env) -> None:
    """The notice promises INFO in the chat: it answers after a withdrawal too, and nothing is kept of it."""
    activate(env)
    deliver(env, text(env, "STOP"))
    before = [i for i in env.items() if not str(i["PK"]).startswith("DEDUPE#")]
    deliver(env, text(env, "INFO"))
    assert "Privacy notice" in reply_text(replies_to()[-1])
    assert [i for i in env.items() if not str(i["PK"]).startswith("DEDUPE#")] == before
    assert states(env) == {ConsentState.WITHDRAWN}


def test_a_sentence_containing_stop_is_a_normal_message(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "we must stop the delivery"))
    assert states(env) == {ConsentState.ACTIVE}


def test_stop_while_pending_cancels_the_request(env: Env) -> None:
    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    deliver(env, text(env, "stop"))
    assert states(env) == {ConsentState.WITHDRAWN}
    deliver(env, text(env, "yes"))
    assert states(env) == {ConsentState.WITHDRAWN}


def test_opting_in_again_themselves_lifts_the_block(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "STOP"))
    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))
    assert env.items_with_prefix("SUPPRESS#") == []
    deliver(env, text(env, "yes"))
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)


def test_help_answers_with_the_notice_and_the_contact(env: Env) -> None:
    activate(env, language="de")
    deliver(env, text(env, "Hilfe"))
    answer = reply_text(replies_to()[-1])
    assert "privacy@example.com" in answer and "/notices/de" in answer


def test_unknown_sender_help_is_rate_limited_and_stop_blocks_info_replies(env: Env) -> None:
    deliver(env, text(env, "help", sender=OTHER))
    assert "/notices/" in reply_text(replies_to(OTHER)[-1])
    deliver(env, text(env, "help", sender=OTHER))
    assert len(replies_to(OTHER)) == 1
    deliver(env, text(env, "STOP", sender=OTHER))
    env.clock.advance(2 * 86_400)
    deliver(env, text(env, "hello", sender=OTHER))
    assert len(replies_to(OTHER)) == 1
    assert len(env.items_with_prefix("SUPPRESS#")) == 1


def test_whatsapp_in_app_marketing_stop_withdraws_marketing_only(env: Env) -> None:
    activate(env)
    sent = len(replies_to())
    payload = whatsapp.user_preferences(PERSON, "stop", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))
    deliver(env, payload)
    deliver(env, payload)  # delivered again: nothing more happens
    state = env.store.subjects.state(subject_of(env))
    assert state.active_purposes == ("customer_service",)
    assert state.state_of("marketing") is ConsentState.WITHDRAWN
    assert len(replies_to()) == sent  # the person did it in the app: no message about it
    assert state.ledger_head is not None
    entries = env.store.ledger.entries(state.ledger_head.ledger_id)
    assert [(e.event, e.purpose) for e in entries][-1] == (LedgerEvent.CONSENT_WITHDRAWN, "marketing")
    assert entries[-1].evidence["source"] == "whatsapp:user_preferences"


def test_data_keyword_answers_with_a_link_to_the_copy_and_a_summary(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "DATEN"))
    answer = reply_text(replies_to()[-1])
    assert "/data/" in answer and "privacy@example.com" in answer  # tests/functions/test_access.py: the link
    assert "messages kept 90 days from receipt: 1" in answer
    deliver(env, text(env, "DATA", sender=OTHER))  # someone unknown: only the generic information
    assert "privacy@example.com" not in reply_text(replies_to(OTHER)[-1])


def last_erase_buttons() -> list[dict[str, str]]:
    for payload in reversed(replies_to()):
        if payload.get("type") == "interactive":
            return [b["reply"] for b in payload["interactive"]["action"]["buttons"]]  # type: ignore[index]
    raise AssertionError("no question sent")


def test_delete_asks_first_and_no_keeps_everything(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "löschen"))
    delete, keep = last_erase_buttons()
    assert delete["id"].startswith("erase:yes:") and keep["id"].startswith("erase:no:")
    deliver(env, button(env, keep["id"], keep["title"]))
    assert env.inbound_items(subject_of(env))
    assert "nothing was deleted" in reply_text(replies_to()[-1])
    deliver(env, button(env, delete["id"], delete["title"]))  # an answer to a cancelled question
    assert env.inbound_items(subject_of(env))


def test_delete_then_yes_erases_everything(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "DELETE"))
    delete, _ = last_erase_buttons()
    deliver(env, button(env, delete["id"], delete["title"]))
    subject = subject_of(env)
    assert env.subject_items(subject) == []
    assert "deleted" in reply_text(replies_to()[-1])
    rest = [i for i in env.items() if not i["PK"].startswith("ERASED#")]
    assert subject not in json.dumps(rest, default=str)  # but in the tombstone a restore replays
    [tombstone] = [i for i in env.items() if i["PK"].startswith("ERASED#")]
    assert tombstone["subject"] == subject and tombstone["retention_class"] == "erasure_tombstone"


def test_withdrawal_brings_the_conversation_under_the_shorter_period(env: Env) -> None:
    activate(env)  # customer service and marketing
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "I have a nut allergy"))  # quarantined: gone within the hour anyway
    subject = subject_of(env)
    env.clock.advance(86_400)
    stop_marketing = whatsapp.user_preferences(
        PERSON, "stop", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
    )
    deliver(env, stop_marketing)  # marketing only: customer service goes on
    assert {i["retention_class"] for i in env.inbound_items(subject)} == {"conversation"}
    env.clock.advance(60)
    deliver(env, text(env, "STOP"))
    now = int(env.clock())
    kept = [i for i in env.subject_items(subject) if i["SK"].startswith(("M#IN#", "S#CONV"))]
    by_class = {i["retention_class"] for i in kept}
    assert by_class == {"conversation_withdrawn", "special_quarantine"}  # the quarantine ended sooner anyway
    assert all(i["expires_at"] == now + 30 * 86_400 for i in kept if i["retention_class"] == "conversation_withdrawn")
    summary = [i for i in env.subject_items(subject) if i["SK"] == "S#CONV"]
    assert summary and summary[0]["retention_class"] == "conversation_withdrawn"
    env.clock.advance(30 * 86_400)
    assert env.inbound_items(subject) == []  # gone for every read; the purge deletes them


def test_the_shorter_period_is_completed_by_a_redelivery_when_cut_short(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    messages = env.wiring.store.messages
    original = messages.shorten_conversation
    calls: list[int] = []

    def cut_short(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("the invocation ran out of time")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(messages, "shorten_conversation", cut_short)
    stop = text(env, "STOP")
    with pytest.raises(TimeoutError):
        deliver(env, stop)
    assert "withdrawn" in reply_text(replies_to()[-1])  # the person was told first
    deliver(env, stop)  # WhatsApp delivers again
    assert {i["retention_class"] for i in env.inbound_items(subject_of(env))} == {"conversation_withdrawn"}
