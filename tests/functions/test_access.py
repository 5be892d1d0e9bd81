"""Access from the chat (Art. 15): DATA gives a one-time link; GET /data/{token} shows, POST downloads once."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from chatconsent.access import ACTOR
from chatconsent.channels.base import ChannelError
from chatconsent.config import current_config
from chatconsent.tokens import token_hash
from chatconsent.wiring import Wiring
from localrun.events import http_event
from tests.conftest import START, Env, json_body
from tests.flow import (
    OTHER,
    PERSON,
    activate,
    button,
    deliver,
    last_buttons,
    replies_to,
    reply_text,
    start_optin,
    subject_of,
    text,
)

LINK = re.compile(r"http://127\.0\.0\.1:3000/data/([A-Za-z0-9_-]{43})(?:\s|$)")
DAY = 86_400


def ask_data(env: Env, word: str = "DATA", sender: str = PERSON) -> str:
    """Send DATA; the answer's text."""
    deliver(env, text(env, word, sender=sender))
    return reply_text(replies_to(sender)[-1])


def token_of(answer: str) -> str:
    match = LINK.search(answer)
    assert match, "no access link in the answer"
    return match.group(1)


def data_page(env: Env, method: str, token: str, **headers: str) -> dict[str, Any]:
    body = "download=download" if method == "POST" else None
    if body is not None:
        headers = {"content-type": "application/x-www-form-urlencoded", **headers}
    event = http_event(
        method,
        f"/data/{token}",
        route_path="/data/{token}",
        path_parameters={"token": token},
        body=body,
        headers=headers,
    )
    return env.invoke("confirmation", event)


def snapshot(env: Env) -> list[dict[str, Any]]:
    return sorted(env.items(), key=lambda i: (i["PK"], i["SK"]))


def test_data_gives_a_one_time_link_in_the_persons_language_stored_only_hashed(env: Env) -> None:
    activate(env, purposes={"customer_service": True})
    deliver(env, text(env, "where is my parcel?"))
    answer = ask_data(env, "DATEN")
    token = token_of(answer)
    assert answer.startswith("Your copy")  # the language the person chose in the widget, whatever the word
    assert "works once, for 1 day" in answer and "privacy@example.com" in answer
    items = env.items()
    assert token not in json.dumps(items, default=repr)  # only its hash is kept
    [link] = env.items_with_prefix(f"ACCESS#{token_hash(token)}")
    subject = subject_of(env)
    assert link["subject"] == subject and link["status"] == "open" and link["language"] == "en"
    assert link["retention_class"] == "pending_optin_link" and link["expires_at"] == START + DAY
    assert link["audit_ref"] == env.wiring.pseudonymizer.audit_ref(subject)
    [marker] = [i for i in env.subject_items(subject) if i["SK"] == "S#ACCESS"]
    assert marker["token_hash"] == token_hash(token) and marker["expires_at"] == START + DAY


def test_the_answer_is_in_the_language_the_person_chose(env: Env) -> None:
    started = start_optin(env, language="it")
    deliver(env, text(env, f"Il mio codice: {started['code']}"))
    deliver(env, text(env, "sì"))
    answer = ask_data(env, "DATI")
    assert answer.startswith("La sua copia") and "una sola volta, per 1 giorno" in answer
    [link] = env.items_with_prefix("ACCESS#")
    assert link["language"] == "it"
    page = data_page(env, "GET", token_of(answer))
    assert page["statusCode"] == 200 and 'lang="it"' in page["body"] and "Scarica i miei dati" in page["body"]


def test_get_shows_a_download_button_and_changes_nothing(env: Env) -> None:
    activate(env)
    token = token_of(ask_data(env))
    before = snapshot(env)
    for _ in range(3):  # link previews and scanners fetch links on their own
        page = data_page(env, "GET", token)
        assert page["statusCode"] == 200
        assert '<form method="post">' in page["body"] and 'value="download"' in page["body"]
        assert "<script" not in page["body"]
        assert page["headers"]["Cache-Control"] == "no-store"
        assert page["headers"]["Referrer-Policy"] == "no-referrer"
    assert snapshot(env) == before


def test_post_downloads_the_export_with_the_decrypted_messages_once(
    env: Env, capfd: pytest.CaptureFixture[str]
) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, "where is my parcel?"))
    token = token_of(ask_data(env))
    subject = subject_of(env)
    expected = env.wiring.rights.export(subject)

    response = data_page(env, "POST", token)
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Content-Disposition"] == 'attachment; filename="personal-data-2026-11-18.json"'
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    document = json_body(response)
    assert document["subject"] == subject
    assert set(document) == set(expected)  # the document the admin API exports
    assert [m["content"]["text"] for m in document["items"]["inbound_messages"]] == ["where is my parcel?"]
    assert document["ledger"] == expected["ledger"] and document["art_15"] == expected["art_15"]
    [exported_link] = document["access_links"]
    assert exported_link["token_hash"] == token_hash(token)

    [link] = env.items_with_prefix(f"ACCESS#{token_hash(token)}")
    assert link["status"] == "used" and link["used_at"] == START
    [entry] = env.store.audit.day("2026-11-18")
    assert (entry.actor, entry.action, entry.status) == (ACTOR, "POST /data/{token}", 200)
    assert entry.subject_ref == env.wiring.pseudonymizer.audit_ref(subject)  # the trail's reference, no pseudonym
    out, err = capfd.readouterr()
    assert token not in out + err and "parcel" not in out + err  # no token, no content in the logs


def test_a_second_download_gets_410_and_the_page_says_so(env: Env) -> None:
    activate(env)
    token = token_of(ask_data(env))
    assert data_page(env, "POST", token)["statusCode"] == 200
    again = data_page(env, "POST", token)
    assert again["statusCode"] == 410 and "Already downloaded" in again["body"]
    assert data_page(env, "GET", token)["statusCode"] == 410
    assert len(env.store.audit.day("2026-11-18")) == 1  # one download, one entry


def test_an_expired_link_is_unknown(env: Env) -> None:
    activate(env)
    token = token_of(ask_data(env))
    env.clock.advance(DAY)
    assert data_page(env, "GET", token)["statusCode"] == 404
    response = data_page(env, "POST", token, **{"accept-language": "de-DE"})
    assert response["statusCode"] == 404 and "Link ungültig" in response["body"]
    assert env.store.audit.day("2026-11-18") == []


def test_unknown_and_foreign_tokens_do_not_work(env: Env) -> None:
    activate(env)
    activate(env, sender=OTHER)
    deliver(env, text(env, "where is my parcel?"))
    mine, theirs = token_of(ask_data(env)), token_of(ask_data(env, sender=OTHER))
    for token in ("A" * 43, "short", mine[:-1] + ("A" if mine[-1] != "A" else "B")):
        assert data_page(env, "GET", token)["statusCode"] == 404
        assert data_page(env, "POST", token)["statusCode"] == 404
    # the confirmation page does not take an access link's token
    confirm = http_event(
        "POST",
        f"/confirm/{mine}",
        route_path="/confirm/{token}",
        path_parameters={"token": mine},
        body="decision=confirm",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert env.invoke("confirmation", confirm)["statusCode"] == 404
    # each link opens its own person's copy, never anyone else's
    other = json_body(data_page(env, "POST", theirs))
    assert other["subject"] == subject_of(env, OTHER) and other["items"]["inbound_messages"] == []
    assert subject_of(env) not in json.dumps(other)
    assert data_page(env, "GET", mine)["statusCode"] == 200  # still unspent


def test_one_link_per_person_and_period(env: Env) -> None:
    activate(env)
    first = token_of(ask_data(env))
    env.clock.advance(3600)
    again = ask_data(env)
    assert not LINK.search(again) and "less than 1 day ago" in again and "1 day after the last one" in again
    assert len(env.items_with_prefix("ACCESS#")) == 1
    assert data_page(env, "POST", first)["statusCode"] == 200
    assert not LINK.search(ask_data(env))  # spent or not: one a day
    env.clock.advance(DAY - 3600)  # the period has passed
    second = token_of(ask_data(env))
    assert second != first and data_page(env, "GET", second)["statusCode"] == 200


def test_a_duplicate_data_delivery_answers_once(env: Env) -> None:
    activate(env)
    message = text(env, "DATA", wamid="wamid.data-once")
    deliver(env, message)
    sent = len(replies_to())
    deliver(env, message)
    assert len(replies_to()) == sent


def test_an_erased_persons_link_stops_working(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    token = token_of(ask_data(env))
    deliver(env, text(env, "DELETE"))
    delete, _ = last_buttons()
    deliver(env, button(env, delete["id"], delete["title"]))
    assert env.items_with_prefix("ACCESS#") == []  # the link named the subject: erased with it
    assert data_page(env, "GET", token)["statusCode"] == 404
    assert data_page(env, "POST", token)["statusCode"] == 404


def test_erasure_between_opening_and_downloading_hands_out_nothing(env: Env) -> None:
    activate(env)
    token = token_of(ask_data(env))
    link = env.wiring.access_downloads.link_for(token)
    assert link is not None
    env.wiring.rights.erase(subject_of(env))
    assert not env.store.access.spend(link, ACTOR, "POST /data/{token}")  # the marker is gone
    assert env.store.audit.day("2026-11-18") == []


def test_a_link_the_messenger_did_not_take_is_sent_when_it_takes_it(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    activate(env)
    channel = env.wiring.whatsapp

    def unreachable(*args: object, **kwargs: object) -> str:
        raise ChannelError("timed out")

    monkeypatch.setattr(channel, "send_text", unreachable)
    before = len(replies_to())
    deliver(env, text(env, "DATA"))
    assert len(replies_to()) == before  # not sent yet: owed, sealed in the outbox
    assert [i["kind"] for i in env.items_with_prefix("OUTBOX#")] == ["access"]
    monkeypatch.undo()
    env.drain_stream()  # the stream delivers the item again
    assert LINK.search(reply_text(replies_to()[-1]))
    assert len(replies_to()) == before + 1
    assert env.items_with_prefix("OUTBOX#") == []


def test_data_after_stop_still_gives_the_copy(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "STOP"))
    token = token_of(ask_data(env))
    document = json_body(data_page(env, "POST", token))
    assert [m["content"]["text"] for m in document["items"]["inbound_messages"]] == ["where is my parcel?"]


# -- the counts and periods come from the retention plan ---------------------------------------------


def replanned(env: Env, **periods: timedelta) -> None:
    config = current_config()
    retention = {
        name: (entry.model_copy(update={"period": periods[name]}) if name in periods else entry)
        for name, entry in config.retention.items()
    }
    env.wiring = Wiring(
        clock=env.clock,
        dynamodb=env.wiring.dynamodb,
        config=config.model_copy(update={"retention": retention}),
        kms=env.wiring._kms,
    )


def test_the_answer_counts_messages_per_class_with_the_plans_periods(env: Env) -> None:
    replanned(
        env,
        conversation=timedelta(days=45),
        special_category=timedelta(days=10),
        special_quarantine=timedelta(hours=2),
        pending_optin_link=timedelta(hours=12),
    )
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "and the invoice?"))
    deliver(env, text(env, "Refund to DE89 3704 0044 0532 0130 00 please"))  # bank data: the special class
    deliver(env, text(env, "I have a nut allergy"))  # health data without explicit consent: held
    answer = ask_data(env)
    assert "messages kept 45 days from receipt: 2" in answer
    assert "messages with health or bank data, kept 10 days from receipt: 1" in answer
    assert "held until you answer our question, at most 2 hours: 1" in answer
    assert "works once, for 12 hours" in answer
    assert "90 days" not in answer and "30 days" not in answer
    [link] = env.items_with_prefix("ACCESS#")
    assert link["expires_at"] == START + 12 * 3600  # the link lasts as long as the plan says
    env.clock.advance(12 * 3600)
    assert data_page(env, "GET", token_of(answer))["statusCode"] == 404


def test_the_withdrawn_period_is_named_after_stop(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "STOP"))
    answer = ask_data(env)
    assert "messages kept at most 30 days after your withdrawal: 1" in answer
    assert "consent for: -" in answer


def test_someone_unknown_gets_no_link(env: Env) -> None:
    answer = ask_data(env, sender=OTHER)
    assert not LINK.search(answer)
    assert env.items_with_prefix("ACCESS#") == []
