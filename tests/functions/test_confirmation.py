"""Link-confirmed opt-in: POST /optin with a number, then GET/POST /confirm/{token}."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.parse
from typing import Any

import pytest

from chatconsent.channels.base import ChannelError, ChannelRejected
from chatconsent.confirmation import LinkConfirmation, LinkDecision, LinkOutcome
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import ConsentState
from chatconsent.ledger import LedgerEvent
from chatconsent.notices import NoticeRegistry
from chatconsent.optin import LinkAccepted, OptInAsk
from chatconsent.retention import RetentionPlan
from chatconsent.store import Store
from chatconsent.tokens import token_hash
from chatconsent.wiring import Wiring, local_outbox
from localrun.events import http_event
from tests.conftest import START, Env, JitterClient, json_body
from tests.flow import OTHER, PERSON, deliver, optin_event, subject_of, text

NUMBER = "+49 170 1234567"  # PERSON, as typed into a form


def request_link(
    env: Env, phone: str = NUMBER, ip: str = "198.51.100.7", purposes: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    event = optin_event(purposes=purposes, phone=phone, **extra)
    event["requestContext"]["http"]["sourceIp"] = ip
    response = env.invoke("optin", event)
    env.drain_links()  # the link sender's turn
    return response


def templates_to(sender: str = PERSON) -> list[dict[str, Any]]:
    return [dict(m.payload) for m in local_outbox().to("+" + sender) if m.payload.get("type") == "template"]


def token_in(payload: dict[str, Any]) -> str:
    [button] = [c for c in payload["template"]["components"] if c["type"] == "button"]
    return str(button["parameters"][0]["text"])


def sent_token(sender: str = PERSON) -> str:
    return token_in(templates_to(sender)[-1])


def page(env: Env, method: str, token: str, body: str | None = None, **headers: str) -> dict[str, Any]:
    event = http_event(
        method,
        f"/confirm/{token}",
        route_path="/confirm/{token}",
        path_parameters={"token": token},
        body=body,
        headers={"content-type": "application/x-www-form-urlencoded", **headers} if body is not None else headers,
    )
    return env.invoke("confirmation", event)


def confirm(env: Env, token: str, decision: str = "confirm") -> dict[str, Any]:
    return page(env, "POST", token, f"decision={decision}")


def snapshot(env: Env) -> list[dict[str, Any]]:
    return sorted(env.items(), key=lambda i: (i["PK"], i["SK"]))


# -- POST /optin with a number ---------------------------------------------------------------------


def test_a_number_gets_one_template_with_a_single_use_link(env: Env, plan: RetentionPlan) -> None:
    response = request_link(env, purposes={"customer_service": True, "health_data": True}, language="de")
    assert response["statusCode"] == 202
    assert json_body(response) == {"status": "accepted", "expires_at": START + 86_400}
    [payload] = templates_to()
    settings = env.wiring.config.channels.whatsapp.link_confirmation
    assert payload["to"] == PERSON
    assert payload["template"]["name"] == settings.template_name
    assert payload["template"]["language"] == {"code": settings.template_languages["de"]}
    token = token_in(payload)
    assert len(token) == 43  # 256 random bits, URL-safe
    items = env.items()
    assert token not in json.dumps(items, default=repr)  # stored only hashed
    [request] = env.items_with_prefix(f"OPTIN#{token_hash(token)}")
    assert request["flow"] == "link" and request["status"] == "pending"
    assert request["purposes"] == ["customer_service", "health_data"]
    assert request["retention_class"] == "pending_optin_link" and request["expires_at"] == START + 86_400
    assert request["sent_message"]  # the keyed hash of the message that carried the link
    [marker] = [i for i in items if i["SK"] == "S#LINK"]
    assert marker["PK"] == f"SUBJ#{subject_of(env)}" and marker["token_hash"] == token_hash(token)
    assert "1234567" not in json.dumps(items, default=repr)  # no number anywhere, only pseudonyms (and sealed)
    assert b"1234567" not in request["address"]  # the number kept for a click is sealed


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("123", "not a valid phone number"),
        ("+49 170", "not a valid phone number"),
        ("call me maybe", "only digits, spaces and + - ( ) . are allowed"),
        ("+1 650 253 0000", "only numbers from DE, AT, CH, IT"),  # outside the allow-list
        ("+44 20 7031 3000", "only numbers from DE, AT, CH, IT"),
    ],
)
def test_invalid_or_foreign_numbers_are_refused_with_a_reason(env: Env, phone: str, reason: str) -> None:
    response = request_link(env, phone=phone)
    assert response["statusCode"] == 400
    assert reason in json_body(response)["error"]
    assert phone not in response["body"]
    assert local_outbox().messages == []
    assert [i for i in env.items() if not i["PK"].startswith("RATE#")] == []


def test_national_notation_uses_the_first_allowed_country(env: Env) -> None:
    assert request_link(env, phone="0170 1234567")["statusCode"] == 202
    assert len(templates_to()) == 1


def test_one_pending_link_per_number_per_period(env: Env) -> None:
    first = request_link(env, ip="198.51.100.1")
    env.clock.advance(3600)
    second = request_link(env, phone="+491701234567", ip="198.51.100.2")  # another notation, another IP
    assert first["statusCode"] == second["statusCode"] == 202
    assert len(templates_to()) == 1
    env.clock.advance(86_400 - 3600)  # the period has passed: a new link may go out
    assert request_link(env, ip="198.51.100.3")["statusCode"] == 202
    assert len(templates_to()) == 2


def _answer(response: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
    return response["statusCode"], response["body"], response.get("headers") or {}


def test_answers_are_identical_for_known_and_unknown_numbers(env: Env) -> None:
    unknown = _answer(request_link(env, phone="+39 347 1234567", ip="198.51.100.1"))
    pending = _answer(request_link(env, ip="198.51.100.2"))
    again = _answer(request_link(env, ip="198.51.100.3"))  # already has a pending link: nothing is sent
    assert unknown == pending == again
    assert len(templates_to()) == 1 and len(templates_to(OTHER)) == 1


def test_a_withdrawn_number_gets_no_link_and_the_same_answer(env: Env) -> None:
    deliver(env, text(env, "STOP"))  # on the block list
    blocked = _answer(request_link(env, ip="198.51.100.1"))
    fresh = _answer(request_link(env, phone="+39 347 1234567", ip="198.51.100.2"))
    assert blocked == fresh
    assert templates_to() == [] and len(templates_to(OTHER)) == 1


def test_per_ip_limit(env: Env) -> None:
    limit = env.wiring.config.limits.link_per_ip_per_day
    numbers = [f"+49 170 12345{n:02d}" for n in range(limit + 1)]
    statuses = [request_link(env, phone=n, ip="203.0.113.9")["statusCode"] for n in numbers]
    assert statuses == [202] * limit + [429]
    refused = request_link(env, phone="+49 170 1230000", ip="203.0.113.9")
    assert refused["headers"]["Retry-After"] == str(86_400 - START % 86_400)
    assert len([m for m in local_outbox().messages if m.payload.get("type") == "template"]) == limit
    assert request_link(env, phone="+49 170 1230001", ip="203.0.113.10")["statusCode"] == 202  # another IP


def test_per_prefix_limit_stops_number_pumping_across_ips(env: Env) -> None:
    limit = env.wiring.config.limits.link_per_prefix_per_hour
    statuses = [
        request_link(env, phone=f"+49 170 12{n:05d}", ip=f"203.0.113.{n}")["statusCode"] for n in range(limit + 1)
    ]
    assert statuses == [202] * limit + [429]
    assert request_link(env, phone="+49 171 1234567", ip="203.0.113.200")["statusCode"] == 202  # another prefix


def test_link_mode_can_be_switched_off(env: Env) -> None:
    config = env.wiring.config
    whatsapp = config.channels.whatsapp.model_copy(
        update={"link_confirmation": config.channels.whatsapp.link_confirmation.model_copy(update={"enabled": False})}
    )
    off = config.model_copy(update={"channels": config.channels.model_copy(update={"whatsapp": whatsapp})})
    env.wiring.__dict__["config"] = off
    response = request_link(env)
    assert response["statusCode"] == 400 and "not enabled" in json_body(response)["error"]
    assert local_outbox().messages == []


# -- GET /confirm/{token} ----------------------------------------------------------------------------


def test_get_shows_who_what_and_the_notice_and_changes_nothing(env: Env) -> None:
    request_link(env, purposes={"customer_service": True, "health_data": True}, language="it")
    token = sent_token()
    before = snapshot(env)
    for _ in range(3):  # link previews, scanners and the person: any number of GETs
        response = page(env, "GET", token)
        assert response["statusCode"] == 200
    assert snapshot(env) == before
    html = response["body"]
    headers = response["headers"]
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in headers["Content-Security-Policy"]  # no script at all
    assert '<html lang="it">' in html and "Example Shop GmbH" in html
    assert "Assistenza clienti" in html and "Dati sanitari" in html and "consenso esplicito" in html
    assert f"/notices/it/{NoticeRegistry().latest_version}" in html
    assert 'name="decision" value="confirm"' in html and 'name="decision" value="decline"' in html
    assert env.store.subjects.state(subject_of(env)).consents == {}


@pytest.mark.parametrize("token", ["A" * 43, "short", "x" * 200, "../../etc"])
def test_unknown_tokens_get_one_answer(env: Env, token: str) -> None:
    request_link(env)
    before = snapshot(env)
    shown = page(env, "GET", urllib.parse.quote(token, safe=""))
    answered = confirm(env, urllib.parse.quote(token, safe=""))
    assert shown["statusCode"] == answered["statusCode"] == 404
    assert shown["body"] == answered["body"]
    assert snapshot(env) == before


# -- POST /confirm/{token} ---------------------------------------------------------------------------


def test_post_confirms_once_with_proof_in_the_ledger(env: Env) -> None:
    request_link(env, purposes={"customer_service": True, "marketing": True})
    token = sent_token()
    [request] = env.items_with_prefix(f"OPTIN#{token_hash(token)}")
    env.clock.advance(120)
    shown = page(env, "GET", token)["body"]
    response = confirm(env, token)
    assert response["statusCode"] == 200 and "confirmed" in response["body"]
    subject = subject_of(env)
    state = env.store.subjects.state(subject)
    assert state.active_purposes == ("customer_service", "marketing")
    assert state.consents["customer_service"].notice_sha256 == request["notice_sha256"]
    proof = env.wiring.link_confirmation._consents.proof(subject)
    assert proof.verification.ok
    assert [e.event for e in proof.entries] == [LedgerEvent.CONSENT_GIVEN] * 2
    entry = proof.entries[0]
    assert entry.request_id == request["request_id"] and entry.notice_sha256 == request["notice_sha256"]
    assert entry.at == START + 120
    assert entry.evidence["method"] == "link"
    assert entry.evidence["form_requested_at"] == str(START)
    assert entry.evidence["link_message"] == request["sent_message"]
    assert entry.evidence["confirmed_at"] == str(START + 120)
    assert entry.evidence["page_sha256"] == hashlib.sha256(shown.encode("utf-8")).hexdigest()  # what was answered
    [request] = env.items_with_prefix(f"OPTIN#{token_hash(token)}")
    assert request["status"] == "confirmed" and "subject" not in request  # no longer links to the person

    before = snapshot(env)
    assert confirm(env, token)["statusCode"] == 200  # a second click: the same result, no second effect
    assert confirm(env, token, "decline")["statusCode"] == 410
    assert snapshot(env) == before
    assert page(env, "GET", token)["statusCode"] == 410
    assert len(env.wiring.link_confirmation._consents.proof(subject).entries) == 2


def test_decline_stores_no_consent_and_closes_the_link(env: Env) -> None:
    request_link(env)
    token = sent_token()
    response = confirm(env, token, "decline")
    assert response["statusCode"] == 200 and "Declined" in response["body"]
    state = env.store.subjects.state(subject_of(env))
    assert state.consents == {} and state.ledger_head is None
    assert confirm(env, token)["statusCode"] == 410
    assert env.store.subjects.state(subject_of(env)).consents == {}


def test_expired_links_change_nothing(env: Env) -> None:
    request_link(env)
    token = sent_token()
    env.clock.advance(86_400)
    before = snapshot(env)
    assert page(env, "GET", token)["statusCode"] == 404
    assert confirm(env, token)["statusCode"] == 404
    assert snapshot(env) == before


@pytest.mark.parametrize("body", ["", "decision=maybe", "decision=", "decision=confirm" + "x" * 2000])
def test_a_post_without_a_clear_answer_is_refused(env: Env, body: str) -> None:
    request_link(env)
    token = sent_token()
    before = snapshot(env)
    response = page(env, "POST", token, body)
    assert response["statusCode"] == 400
    assert snapshot(env) == before


def test_stop_before_the_click_voids_the_link(env: Env) -> None:
    request_link(env)
    token = sent_token()
    deliver(env, text(env, "STOP"))
    assert confirm(env, token)["statusCode"] == 410
    state = env.store.subjects.state(subject_of(env))
    assert state.active_purposes == ()
    assert request_link(env, ip="198.51.100.99")["statusCode"] == 202
    assert len(templates_to()) == 1  # blocked now: no second link


def test_the_confirmed_person_can_chat_and_stop(env: Env) -> None:
    request_link(env)
    confirm(env, sent_token())
    deliver(env, text(env, "STOP"))
    state = env.store.subjects.state(subject_of(env))
    assert state.state_of("customer_service") is ConsentState.WITHDRAWN


def services(env: Env, client: Any) -> tuple[LinkConfirmation, ConsentService]:
    runtime = Wiring(clock=env.clock, dynamodb=client, kms=env.wiring._kms)
    table: Store = runtime.store
    consents = ConsentService(table, runtime.config, env.clock)
    return LinkConfirmation(table, consents, env.clock, env.wiring.link_confirmation.page), consents


@pytest.mark.parametrize("seed", range(40))
def test_stop_racing_a_click_always_ends_without_active_consent(env: Env, seed: int) -> None:
    sender = f"4917012{seed:05d}"
    request_link(env, phone="+" + sender, ip=f"198.51.100.{seed}")
    token = sent_token(sender)
    subject = subject_of(env, sender)
    rng = random.Random(seed)
    links, _ = services(env, JitterClient(env.wiring.dynamodb, rng))
    _, consents = services(env, JitterClient(env.wiring.dynamodb, rng))
    barrier = threading.Barrier(2)
    outcome: list[LinkOutcome] = []

    def click() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        outcome.append(links.decide(token, LinkDecision.CONFIRM)[0])

    def stop() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        consents.withdraw(subject, source="keyword:STOP")

    threads = [threading.Thread(target=click), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = env.store.subjects.state(subject)
    assert state.active_purposes == ()
    assert state.open_link is None
    events = [e.event for e in consents.proof(subject).entries]
    if outcome == [LinkOutcome.CONFIRMED]:  # the click won: given, then withdrawn, both proven
        assert events == [LedgerEvent.CONSENT_GIVEN, LedgerEvent.CONSENT_WITHDRAWN]
    else:
        assert outcome == [LinkOutcome.CLOSED] and events == []


# -- what a second review found ----------------------------------------------------------------------


def test_a_stop_landing_before_the_click_wins_even_without_voiding_the_link(env: Env) -> None:
    request_link(env)
    token = sent_token()
    # the block-list entry lands while the link is still open (a STOP racing the request)
    env.store.guards.suppress(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))
    assert confirm(env, token)["statusCode"] == 410
    assert env.store.subjects.state(subject_of(env)).active_purposes == ()


def test_a_blocked_number_gets_no_request_written(env: Env) -> None:
    suppression = env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON)
    env.store.guards.suppress(suppression)
    before = [i for i in snapshot(env) if not i["PK"].startswith("RATE#")]
    assert request_link(env)["statusCode"] == 202
    assert [i for i in snapshot(env) if not i["PK"].startswith("RATE#")] == before
    assert templates_to() == []


def test_a_consent_record_past_its_retention_does_not_block_the_click(env: Env) -> None:
    from tests.flow import start_optin

    started = start_optin(env)
    deliver(env, text(env, f"My code: {started['code']}"))  # a pending chat request, 1 hour
    env.clock.advance(3601)  # expired, not yet purged
    request_link(env)
    assert confirm(env, sent_token())["statusCode"] == 200
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)


def _conflict(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
            "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
        },
        operation,
    )


def test_simultaneous_requests_for_one_number_are_retried_not_failed(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    client = env.wiring.dynamodb
    original = client.transact_write_items
    failures = iter([True])

    def flaky(**kwargs: Any) -> Any:
        if next(failures, False):
            raise _conflict("TransactWriteItems")
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", flaky, raising=False)
    assert request_link(env)["statusCode"] == 202
    assert len(templates_to()) == 1  # the retry went through


def test_a_link_closed_before_its_send_is_recorded_still_answers_the_same(env: Env) -> None:
    request_link(env)
    [request] = env.items_with_prefix(f"OPTIN#{token_hash(sent_token())}")
    confirm(env, sent_token())
    env.store.optins.record_link_sent(token_hash(sent_token()), "0" * 64)  # the late write is no error
    [after] = env.items_with_prefix(f"OPTIN#{token_hash(sent_token())}")
    assert after["sent_message"] == request["sent_message"]


class _FailingChannel:
    name = "whatsapp"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_template(self, *args: Any, **kwargs: Any) -> str:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ChannelRejected("WhatsApp API answered 400", 131026),
        ChannelRejected("WhatsApp API answered 429", 130429),
        ChannelError("timed out"),
    ],
    ids=["refused", "throttled", "unknown"],
)
def test_a_link_is_sent_again_unless_the_messenger_refused_it_for_good(env: Env, error: Exception) -> None:
    from chatconsent.errors import TryAgain
    from chatconsent.link_sender import LinkJob, LinkSender, SendOutcome

    jobs: list[LinkJob] = []
    service = env.wiring.optin
    body = OptInAsk(**json.loads(optin_event(phone=NUMBER)["body"]))
    answer = service.request_link(body, "198.51.100.1", jobs.append)
    assert answer == LinkAccepted(expires_at=START + 86_400)
    runtime = env.wiring
    assert runtime.sealer is not None
    failing = LinkSender(
        runtime.store, runtime.pseudonymizer, runtime.config, lambda: _FailingChannel(error), runtime.sealer
    )  # type: ignore[arg-type,return-value]
    [job] = jobs
    refused = isinstance(error, ChannelRejected) and error.code == 131026
    if refused:  # certainly not sent, never will be: the person may try again at once
        assert failing.send(job) is SendOutcome.REJECTED
        assert [i for i in env.items() if i["SK"] == "S#LINK"] == []
        return
    with pytest.raises(TryAgain):  # the queue delivers the job again
        failing.send(job)
    working = LinkSender(runtime.store, runtime.pseudonymizer, runtime.config, lambda: runtime.whatsapp, runtime.sealer)
    before = len(local_outbox().messages)
    assert working.send(job) is SendOutcome.SENT
    assert working.send(job) is SendOutcome.SKIPPED  # a third delivery of the job sends nothing
    assert len(local_outbox().messages) == before + 1


def test_a_queue_failure_undoes_the_request_and_answers_the_same(env: Env) -> None:
    def broken(job: Any) -> None:
        raise OSError("queue unreachable")

    service = env.wiring.optin
    body = OptInAsk(**json.loads(optin_event(phone=NUMBER)["body"]))
    answer = service.request_link(body, "198.51.100.1", broken)
    assert answer == LinkAccepted(expires_at=START + 86_400, queued=False)  # the API answers 503 (any number alike)
    assert [i for i in env.items() if not i["PK"].startswith("RATE#")] == []


def test_a_job_delivered_twice_sends_once_and_a_closed_request_sends_nothing(env: Env) -> None:
    event = optin_event(phone=NUMBER)
    env.invoke("optin", event)
    [message] = env.sqs.receive_message(QueueUrl=env.wiring.settings.link_queue_url)["Messages"]
    from localrun.events import sqs_event

    for _ in range(2):  # at-least-once delivery
        assert env.invoke("linksender", sqs_event([message])) == {"batchItemFailures": []}
    assert len(templates_to()) == 1
    env.invoke("optin", optin_event(phone="+39 347 1234567"))
    deliver(env, text(env, "STOP", sender=OTHER))  # withdrawn before the job runs
    env.drain_links()
    assert templates_to(OTHER) == []


def test_the_answer_does_not_wait_for_the_provider(env: Env) -> None:
    response = env.invoke("optin", optin_event(phone=NUMBER))
    assert response["statusCode"] == 202
    assert templates_to() == []  # answered before any provider call, whatever the number
    assert env.drain_links() == 1
    assert len(templates_to()) == 1


def test_a_malformed_job_is_dropped_not_retried(env: Env) -> None:
    event = {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r",
                "body": '{"token": "x"}',
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:q",
                "awsRegion": "eu-central-1",
            }
        ]
    }
    assert env.invoke("linksender", event) == {"batchItemFailures": []}
    assert local_outbox().messages == []


@pytest.mark.parametrize(
    ("body", "base64_body"),
    [("&".join(f"f{n}=x" for n in range(10)) + "&decision=confirm", False), ("//79", True)],
    ids=["too-many-fields", "not-utf8"],
)
def test_malformed_forms_get_the_answer_page_not_an_error(env: Env, body: str, base64_body: bool) -> None:
    request_link(env)
    token = sent_token()
    event = http_event(
        "POST",
        f"/confirm/{token}",
        route_path="/confirm/{token}",
        path_parameters={"token": token},
        body=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    if base64_body:
        event["body"], event["isBase64Encoded"] = body, True
    before = snapshot(env)
    assert env.invoke("confirmation", event)["statusCode"] == 400
    assert snapshot(env) == before


def test_the_same_answer_twice_shows_the_same_result(env: Env) -> None:
    request_link(env)
    token = sent_token()
    first = confirm(env, token)
    before = snapshot(env)
    again = confirm(env, token)
    assert (again["statusCode"], again["body"]) == (first["statusCode"], first["body"]) == (200, first["body"])
    assert snapshot(env) == before
    assert confirm(env, token, "decline")["statusCode"] == 410  # a different answer cannot change it


def test_a_purpose_withdrawn_from_the_offer_is_neither_shown_nor_confirmed(env: Env) -> None:
    request_link(env, purposes={"customer_service": True, "marketing": True})
    config = env.wiring.config
    env.wiring.__dict__["config"] = config.model_copy(
        update={"purposes": tuple(p for p in config.purposes if p.id != "marketing")}
    )
    token = sent_token()
    assert "Offers and news" not in page(env, "GET", token)["body"]
    assert confirm(env, token)["statusCode"] == 200
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)


def test_ipv6_clients_are_limited_per_64(env: Env) -> None:
    limit = env.wiring.config.limits.link_per_ip_per_day
    statuses = [
        request_link(env, phone=f"+49 170 12345{n:02d}", ip=f"2001:db8:1:2::{n + 1:x}")["statusCode"]
        for n in range(limit + 1)
    ]
    assert statuses == [202] * limit + [429]
    assert request_link(env, phone="+49 170 1239999", ip="2001:db8:1:3::1")["statusCode"] == 202


def test_the_export_shows_the_link_request_and_where_the_number_came_from(env: Env) -> None:
    request_link(env, purposes={"customer_service": True, "marketing": True})
    document = env.wiring.rights.export(subject_of(env))
    [link] = document["optin_requests"]
    assert link["purposes"] == ["customer_service", "marketing"] and link["flow"] == "link"
    assert "suppression_hash" not in link
    assert "web form" in document["art_15"]["source"]


@pytest.mark.parametrize("seed", range(20))
def test_erasure_racing_a_click_leaves_nothing(env: Env, seed: int) -> None:
    sender = f"4917013{seed:05d}"
    request_link(env, phone="+" + sender, ip=f"198.51.100.{seed}")
    token = sent_token(sender)
    subject = subject_of(env, sender)
    rng = random.Random(seed)
    links, _ = services(env, JitterClient(env.wiring.dynamodb, rng))
    rights_runtime = Wiring(clock=env.clock, dynamodb=JitterClient(env.wiring.dynamodb, rng), kms=env.wiring._kms)
    rights = rights_runtime.rights
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        links.decide(token, LinkDecision.CONFIRM)

    def erase() -> None:
        barrier.wait()
        time.sleep(rng.random() * 0.004)
        rights.erase(subject)

    threads = [threading.Thread(target=click), threading.Thread(target=erase)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert env.subject_items(subject) == []
    assert env.items_with_prefix(f"OPTIN#{token_hash(token)}") == []


def test_every_accepted_request_queues_exactly_one_job(env: Env) -> None:
    from chatconsent.link_sender import NOTHING_TO_SEND

    jobs: list[Any] = []
    service = env.wiring.optin
    body = OptInAsk(**json.loads(optin_event(phone=NUMBER)["body"]))
    service.request_link(body, "198.51.100.1", jobs.append)  # new: a real job
    service.request_link(body, "198.51.100.2", jobs.append)  # pending: nothing to send
    env.store.guards.suppress(env.wiring.pseudonymizer.suppression("whatsapp", "+39" + "3471234567"))
    blocked = OptInAsk(**json.loads(optin_event(phone="+39 347 1234567")["body"]))
    service.request_link(blocked, "198.51.100.3", jobs.append)  # blocked: nothing to send
    assert [job is None for job in jobs] == [False, True, True]
    env.invoke("optin", optin_event(phone="+39 347 1234567"))
    [message] = env.sqs.receive_message(QueueUrl=env.wiring.settings.link_queue_url)["Messages"]
    assert message["Body"] == NOTHING_TO_SEND  # carries no number


@pytest.mark.unit
def test_a_queued_job_round_trips_and_a_malformed_one_is_refused_without_its_values() -> None:
    from chatconsent.link_sender import LinkJob
    from chatconsent.schema import DocumentError

    token = "t" * 43
    sealed = "U2VhbGVkTnVtYmVy"  # base64, as the KMS ciphertext is
    job = LinkJob(token=token, sealed_number=sealed, channel="whatsapp", language="de")
    assert LinkJob.model_validate_json(job.model_dump_json()) == job
    assert token not in repr(job) and sealed not in repr(job)
    bodies = ('{"token": "x", "number": "+4917012345678", "channel": "sms", "language": "de"}', "{not json", "[]")
    for body in bodies:
        with pytest.raises(DocumentError) as refused:
            LinkJob.model_validate_json(body)
        assert "4917012345678" not in str(refused.value)
