"""The Telegram webhook: authentication before parsing, double opt-in from the deep link, rights, withdrawal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.consent_state import ConsentState
from chatconsent.ledger import LedgerEvent, verify
from chatconsent.store.values import deserialize
from chatconsent.wiring import local_outbox
from localrun import telegram
from localrun.aws import DEV_SECRETS, KEY_TABLE_NAME, TABLE_NAME
from localrun.events import http_event
from tests.conftest import Env, json_body
from tests.telegram_flow import (
    CHAT,
    OTHER_CHAT,
    activate,
    callbacks_answered,
    deliver,
    last_keyboard,
    sent_to,
    start_optin,
    subject_of,
    tap,
    text,
)


def all_tables(env: Env) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [deserialize(i) for i in env.dynamodb.scan(TableName=name)["Items"]]
        for name in (TABLE_NAME, KEY_TABLE_NAME)
    }


def ledger(env: Env, chat: int = CHAT) -> list[Any]:
    state = env.store.subjects.state(subject_of(env, chat))
    assert state.ledger_head is not None
    entries = env.store.ledger.entries(state.ledger_head.ledger_id)
    assert verify(entries, state.ledger_head).ok
    return entries


# -- authentication --------------------------------------------------------------------------------


def test_missing_or_wrong_secret_token_is_refused_before_anything_is_read_or_written(env: Env) -> None:
    activate(env, OTHER_CHAT)  # something in every table to compare against
    before, sent = all_tables(env), len(local_outbox().messages)
    started = start_optin(env)
    before = all_tables(env)
    update = text(env, f"/start {started['code']}")
    cases = [
        (None, 401, "missing secret token"),
        ("", 403, "invalid secret token"),
        ("wrong-token", 403, "invalid secret token"),
        (DEV_SECRETS["telegram/secret-token"] + "x", 403, "invalid secret token"),
        (DEV_SECRETS["telegram/secret-token"][:-1], 403, "invalid secret token"),
        ("x" * 5000, 403, "invalid secret token"),
    ]
    for secret, status, reason in cases:
        response = deliver(env, update, secret=secret)
        assert (response["statusCode"], json_body(response)) == (status, {"error": reason})
    # not even a body that is too large or not JSON is looked at without the token
    assert deliver(env, "x" * 1_000_000, secret="wrong")["statusCode"] == 403
    assert deliver(env, "{not json", secret=None)["statusCode"] == 401
    assert all_tables(env) == before
    assert len(local_outbox().messages) == sent
    # the same update with the token goes through: the code was still unused
    assert deliver(env, update)["statusCode"] == 200 and last_keyboard()


def test_the_previous_secret_token_is_accepted_during_a_rotation(env: Env) -> None:
    response = deliver(env, text(env, "hello"), secret=DEV_SECRETS["telegram/secret-token-previous"])
    assert response["statusCode"] == 200


# -- bad input from Telegram -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ("[]", 400),
        ('{"message": {"text": "hi"}}', 400),  # no update_id
        ('{"update_id": "7"}', 400),
        ('{"update_id": true}', 400),
        ("\xff\xfe", 400),
        ('{"update_id": 1, "message": ' + "[" * 50_000 + "]" * 50_000 + "}", 400),
    ],
)
def test_an_authentic_body_that_is_not_an_update_is_refused_and_writes_nothing(
    env: Env, body: str, status: int
) -> None:
    response = deliver(env, body)
    assert response["statusCode"] == status
    assert env.items() == []


def test_an_oversized_body_is_refused(env: Env) -> None:
    response = deliver(env, telegram.message(CHAT, "a" * 300_000, int(env.clock())))
    assert response["statusCode"] == 413
    assert env.items() == []


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 11, "edited_message": {"chat": {"id": 7311904826, "type": "private"}, "date": 1, "text": "x"}},
        {"update_id": 12, "inline_query": {"id": "1", "query": "x"}},
        {
            "update_id": 13,
            "message": {"chat": {"id": -100123, "type": "supergroup"}, "date": 1_795_000_000, "text": "x"},
        },
        {"update_id": 14, "message": {"chat": {"id": "7311904826", "type": "private"}, "date": 1_795_000_000}},
        {"update_id": 15, "message": {"chat": {"id": 7311904826, "type": "private"}, "text": "no date"}},
        {
            "update_id": 16,
            "callback_query": {"id": "c", "data": "x" * 65, "message": {"chat": {"id": 1, "type": "private"}}},
        },
        {"update_id": 17, "message": {"chat": {"id": 7311904826, "type": "private"}, "date": 1, "text": "\ud800"}},
    ],
    ids=["edited", "inline-query", "group", "chat-id-string", "no-date", "callback-data-too-long", "lone-surrogate"],
)
def test_updates_not_acted_on_are_skipped_counted_and_answered_2xx(env: Env, update: dict[str, Any]) -> None:
    response = deliver(env, json.dumps(update))
    assert response["statusCode"] == 200 and json_body(response) == {"processed": 0, "skipped": 1}
    assert env.items() == []


def test_profile_fields_are_never_read_or_stored(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "parcel via telegram"))
    dump = json.dumps(all_tables(env), default=str)
    assert "Testperson" not in dump and "test_person" not in dump
    assert str(CHAT) not in dump  # the chat id is sealed or pseudonymised wherever it is kept
    assert "parcel via telegram" not in dump  # the message is sealed with the person's key


# -- double opt-in ---------------------------------------------------------------------------------


def test_the_deep_link_opt_in_and_yes_activate_with_the_proof_on_telegram(env: Env) -> None:
    started = start_optin(env, {"customer_service": True, "marketing": True})
    assert started["links"]["telegram"] == f"https://t.me/ExampleShopBot?start={started['code']}"
    assert started["links"]["whatsapp"] is None and started["qr_svg"].startswith("data:image/svg+xml")
    response = deliver(env, text(env, f"/start {started['code']}"))
    assert response["statusCode"] == 200
    yes, no = last_keyboard()
    assert yes["callback_data"].startswith("optin:yes:") and no["callback_data"].startswith("optin:no:")
    assert sent_to()[-1]["chat_id"] == CHAT  # the chat as an integer, as the Bot API wants it
    update = tap(env, yes["callback_data"])
    deliver(env, update)
    state = env.store.subjects.state(subject_of(env))
    assert set(state.active_purposes) == {"customer_service", "marketing"}
    assert all(r.channel == "telegram" for r in state.consents.values())
    entries = ledger(env)
    assert [e.event for e in entries] == [LedgerEvent.CONSENT_GIVEN] * 2
    assert all(e.channel == "telegram" and e.request_id == started["request_id"] for e in entries)
    assert entries[0].evidence["confirmation_method"] == "button"
    assert callbacks_answered() == [update["callback_query"]["id"]]
    assert "consent" in sent_to()[-1]["text"].lower()


def test_no_discards_the_request_and_keeps_nothing_about_it(env: Env) -> None:
    started = start_optin(env)
    deliver(env, text(env, f"/start {started['code']}"))
    _, no = last_keyboard()
    deliver(env, tap(env, no["callback_data"]))
    state = env.store.subjects.state(subject_of(env))
    assert state.pending is None and not state.active_purposes and state.consents == {}
    assert len(callbacks_answered()) == 1


def test_a_code_issued_for_whatsapp_does_not_open_a_telegram_consent(env: Env) -> None:
    from tests.flow import start_optin as whatsapp_optin

    started = whatsapp_optin(env)
    deliver(env, text(env, f"/start {started['code']}"))
    state = env.store.subjects.state(subject_of(env))
    assert state.pending is None and state.consents == {}


def test_start_without_a_code_and_plain_text_from_a_stranger_get_the_info_reply_only(env: Env) -> None:
    deliver(env, text(env, "/start"))
    deliver(env, text(env, "hello"))
    assert len(sent_to()) == 1  # at most one info reply a day
    assert env.store.subjects.state(subject_of(env)).consents == {}


# -- replays and batches ---------------------------------------------------------------------------


def test_the_same_update_twice_changes_state_once(env: Env) -> None:
    started = start_optin(env)
    first = text(env, f"/start {started['code']}")
    deliver(env, first)
    assert json_body(deliver(env, first)) == {"processed": 1, "skipped": 0}
    assert len(sent_to()) == 1  # one question
    yes, _ = last_keyboard()
    update = tap(env, yes["callback_data"])
    deliver(env, update)
    entries = len(ledger(env))
    deliver(env, update)
    assert len(ledger(env)) == entries
    assert len(sent_to()) == 2  # the question and one confirmation
    stop = text(env, "/stop")
    deliver(env, stop)
    deliver(env, stop)
    assert [e.event for e in ledger(env)].count(LedgerEvent.CONSENT_WITHDRAWN) == 1
    assert len(sent_to()) == 3


def test_two_people_interleaved_and_a_late_repeat_each_count_once(env: Env) -> None:
    mine, theirs = start_optin(env), start_optin(env)
    updates = [text(env, f"/start {mine['code']}", CHAT), text(env, f"/start {theirs['code']}", OTHER_CHAT)]
    for update in updates:
        deliver(env, update)
    taps = [tap(env, last_keyboard(chat)[0]["callback_data"], chat) for chat in (CHAT, OTHER_CHAT)]
    for update in [taps[1], taps[0], updates[0], taps[1]]:  # out of order, with repeats
        deliver(env, update)
    for chat in (CHAT, OTHER_CHAT):
        assert env.store.subjects.state(subject_of(env, chat)).active_purposes == ("customer_service",)
        assert [e.event for e in ledger(env, chat)] == [LedgerEvent.CONSENT_GIVEN]
    assert subject_of(env, CHAT) != env.wiring.pseudonymizer.subject("whatsapp", str(CHAT))  # namespaced by channel


def test_an_update_dated_outside_the_delivery_window_is_counted_not_processed(env: Env) -> None:
    old = telegram.message(CHAT, "hello", int(env.clock()) - 30 * 86_400)
    assert json_body(deliver(env, old)) == {"processed": 1, "skipped": 0}
    assert env.items() == [] and sent_to() == []


# -- withdrawal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["/stop", "STOP", "Stopp", "revoca"])
def test_a_stop_word_withdraws_everything_with_its_source(env: Env, word: str) -> None:
    activate(env)
    deliver(env, text(env, word))
    state = env.store.subjects.state(subject_of(env))
    assert state.state_of("customer_service") is ConsentState.WITHDRAWN
    withdrawn = [e for e in ledger(env) if e.event is LedgerEvent.CONSENT_WITHDRAWN]
    assert [e.evidence["source"] for e in withdrawn] == ["chat:keyword"]
    assert "withdrawn" in sent_to()[-1]["text"].lower()


def test_blocking_the_bot_withdraws_silently_and_a_repeat_changes_nothing(env: Env) -> None:
    activate(env)
    sent = len(sent_to())
    update = telegram.member_status(CHAT, "kicked", int(env.clock()))
    assert json_body(deliver(env, update)) == {"processed": 1, "skipped": 0}
    deliver(env, update)
    state = env.store.subjects.state(subject_of(env))
    assert state.state_of("customer_service") is ConsentState.WITHDRAWN
    withdrawn = [e for e in ledger(env) if e.event is LedgerEvent.CONSENT_WITHDRAWN]
    assert [e.evidence["source"] for e in withdrawn] == ["telegram:my_chat_member_kicked"]
    assert len(sent_to()) == sent  # nothing could reach them
    # unblocking is no consent: skipped, and the block list keeps the bot quiet
    assert json_body(deliver(env, telegram.member_status(CHAT, "member", int(env.clock())))) == {
        "processed": 0,
        "skipped": 1,
    }
    deliver(env, text(env, "hello again"))
    assert len(sent_to()) == sent


def test_a_send_refused_because_the_bot_was_blocked_is_a_withdrawal(env: Env) -> None:
    from chatconsent.channels.telegram import TelegramChannel, _refusal

    activate(env)

    class Blocked:
        calls = 0

        def deliver(self, channel: str, recipient: str, payload: Any) -> str:
            self.calls += 1
            answer = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            raise _refusal(403, json.dumps(answer).encode())

    blocked = Blocked()
    with_secrets = env.wiring._with_secrets()
    with_secrets._channels["telegram"] = TelegramChannel(
        with_secrets.secrets.rotating("telegram/secret-token"), blocked
    )
    deliver(env, text(env, "help"))  # an answer owed: the outbox finds the bot blocked
    assert blocked.calls == 1
    state = env.store.subjects.state(subject_of(env))
    assert state.state_of("customer_service") is ConsentState.WITHDRAWN
    withdrawn = [e for e in ledger(env) if e.event is LedgerEvent.CONSENT_WITHDRAWN]
    assert [e.evidence["source"] for e in withdrawn] == ["telegram:blocked"]
    assert env.items_with_prefix("OUTBOX#") == []  # the owed answer is dropped, not retried


# -- DATA, DELETE and the missing 24-hour window --------------------------------------------------


def test_data_answers_with_a_link_to_the_copy(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "parcel via telegram"))
    deliver(env, text(env, "/data"))
    answer = sent_to()[-1]["text"]
    assert "/access/" in answer or "http" in answer


def test_delete_then_yes_erases_everything_of_the_chat(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "parcel via telegram"))
    deliver(env, telegram.photo(CHAT, int(env.clock()), caption="Telegram private note"))
    subject = subject_of(env)
    assert len(env.inbound_items(subject)) == 2
    deliver(env, text(env, "/delete"))
    delete, keep = last_keyboard()
    assert delete["callback_data"].startswith("erase:yes:") and keep["callback_data"].startswith("erase:no:")
    deliver(env, tap(env, delete["callback_data"]))
    assert env.subject_items(subject) == []
    assert "deleted" in sent_to()[-1]["text"]
    tables = all_tables(env)
    tombstones = [i for i in tables[TABLE_NAME] if i["PK"].startswith("ERASED#")]
    assert [t["subject"] for t in tombstones] == [subject]
    for name, rows in tables.items():
        dump = json.dumps([r for r in rows if r not in tombstones], default=str)
        assert subject not in dump, f"the pseudonym is still in {name}"
        assert str(CHAT) not in dump and "Telegram private note" not in dump and "AgAClarge" not in dump


def test_an_agent_may_write_after_24_hours_on_telegram(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "parcel via telegram"))
    env.clock.advance(3 * 86_400)
    queued = env.wiring.agents.reply(subject_of(env), "Your parcel left today.")
    assert queued.new
    env.drain_stream()
    assert sent_to()[-1]["text"] == "Your parcel left today."


def test_the_admin_list_shows_the_channel_and_no_window_on_telegram(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "parcel via telegram"))
    env.clock.advance(3 * 86_400)  # a WhatsApp window would have closed two days ago
    response = env.invoke("admin", http_event("GET", "/admin/conversations"))
    (row,) = json_body(response)["conversations"]
    assert row["subject"] == subject_of(env)
    assert (row["channel"], row["window_open"]) == ("telegram", True)


def test_refusals_and_outcomes_are_counted_under_the_webhooks_common_names(
    env: Env, capfd: pytest.CaptureFixture[str]
) -> None:
    started = start_optin(env)
    capfd.readouterr()
    assert deliver(env, text(env, f"/start {started['code']}"), secret="wrong")["statusCode"] == 403
    assert '"WebhookRejected":[1.0]' in capfd.readouterr().out
    assert deliver(env, text(env, f"/start {started['code']}"))["statusCode"] == 200
    out = capfd.readouterr().out
    assert '"Inbound_' in out and "webhook processed" in out
