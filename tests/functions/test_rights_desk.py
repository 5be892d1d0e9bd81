"""The rights desk: requests received by e-mail or post, their Art. 12(3) deadlines, and Art. 18 restriction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.rights_desk import add_months
from localrun.events import http_event
from tests.conftest import START, Env, json_body
from tests.flow import PERSON, activate, deliver, replies_to, subject_of, text

OFFICER = "arn:aws:iam::123456789012:user/dpo"
NOTE = "Signed letter; ID card copy matched name and address"  # personal data: sealed, never logged
TODAY = "2026-11-18"  # START


def call(
    env: Env, method: str, path: str, route: str, body: dict[str, Any] | None = None, **params: str
) -> dict[str, Any]:
    event = http_event(
        method,
        path,
        route_path=route,
        path_parameters=params or None,
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json"},
    )
    event["requestContext"]["authorizer"] = {"iam": {"accountId": "123456789012", "userArn": OFFICER, "userId": "A"}}
    return env.invoke("admin", event)


def register(
    env: Env, kind: str = "access", address: str = "+49 170 1234567", received_on: str = TODAY
) -> dict[str, Any]:
    body = {"type": kind, "address": address, "received_on": received_on, "identity_check": NOTE}
    return call(env, "POST", "/admin/rights", "/admin/rights", body)


def on(env: Env, request_id: str, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    route = "/admin/rights/{request_id}" + (f"/{what}" if what else "")
    path = f"/admin/rights/{request_id}" + (f"/{what}" if what else "")
    return call(env, "POST" if what else "GET", path, route, body, request_id=request_id)


def open_list(env: Env) -> list[dict[str, Any]]:
    response = call(env, "GET", "/admin/rights", "/admin/rights")
    assert response["statusCode"] == 200
    return list(json_body(response)["requests"])


def test_months_follow_the_calendar() -> None:
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_a_request_is_registered_for_the_numbers_subject_with_its_deadline_and_a_sealed_note(env: Env) -> None:
    activate(env)
    response = register(env, address="0049 (170) 123-4567")  # any notation finds the same subject
    assert response["statusCode"] == 201
    view = json_body(response)
    assert view["subject"] == subject_of(env) and view["subject_known"] is True
    assert (view["type"], view["received_on"], view["due_on"], view["latest_on"]) == (
        "access",
        TODAY,
        "2026-12-18",
        "2027-02-18",
    )
    assert view["status"] == "open" and view["identity_check"] == NOTE and view["registered_by"] == OFFICER
    [stored] = env.items_with_prefix("RIGHTS#")
    assert NOTE not in json.dumps(stored, default=str)  # sealed under the KMS key
    assert PERSON not in json.dumps(stored, default=str) and "1701234567" not in json.dumps(stored, default=str)
    assert stored["retention_class"] == "rights_request"
    assert json_body(on(env, view["request_id"], ""))["identity_check"] == NOTE
    # an unknown number is registered too (the answer will say nothing is stored)
    assert json_body(register(env, address="+39 347 1234567"))["subject_known"] is False


@pytest.mark.parametrize(
    "address", ["hello", "+49 170", "+49 170 1234567 ext. 5", "00000000", "+999 123456789", "49170abc1234567"]
)
def test_junk_numbers_are_refused_with_a_reason_and_nothing_is_kept(env: Env, address: str) -> None:
    response = register(env, address=address)
    assert response["statusCode"] in (400, 422) and "address" in response["body"]
    assert env.items_with_prefix("RIGHTS#") == []


def test_bad_types_and_dates_are_refused(env: Env) -> None:
    assert register(env, kind="portability2")["statusCode"] == 422
    assert register(env, received_on="2026-11-19")["statusCode"] == 400  # in the future
    assert register(env, received_on="2024-01-01")["statusCode"] == 400  # a typo, surely
    assert register(env, received_on="18.11.2026")["statusCode"] == 422
    assert env.items_with_prefix("RIGHTS#") == []


def test_open_requests_are_listed_by_deadline_and_leave_the_list_when_closed(env: Env) -> None:
    late = json_body(register(env, received_on="2026-11-10"))["request_id"]
    later = json_body(register(env, kind="erasure", received_on="2026-11-18"))["request_id"]
    early = json_body(register(env, kind="objection", received_on="2026-10-20"))["request_id"]
    assert [r["request_id"] for r in open_list(env)] == [early, late, later]
    done = on(env, late, "closure", {"outcome": "done"})
    assert done["statusCode"] == 200 and json_body(done)["status"] == "done"
    assert [r["request_id"] for r in open_list(env)] == [early, later]
    refused = on(env, later, "closure", {"outcome": "refused"})
    assert refused["statusCode"] == 400 and "reason" in json_body(refused)["error"]  # a refusal needs its reason
    refused = on(env, later, "closure", {"outcome": "refused", "reason": "Identity could not be confirmed"})
    assert json_body(refused)["closing_reason"] == "Identity could not be confirmed"
    assert on(env, later, "closure", {"outcome": "done"})["statusCode"] == 409  # closed once
    [stored] = [i for i in env.items_with_prefix("RIGHTS#") if i["request_id"] == late]
    assert "rights_queue" not in stored and stored["expires_at"] == START + 1095 * 86_400  # 3 years from closing


def test_the_deadline_is_extended_once_by_at_most_two_further_months_before_it_passes(env: Env) -> None:
    request_id = json_body(register(env))["request_id"]
    beyond = on(env, request_id, "extension", {"until": "2027-02-19", "reason": "Complex request"})
    assert beyond["statusCode"] == 400 and "2027-02-18" in json_body(beyond)["error"]
    earlier = on(env, request_id, "extension", {"until": "2026-12-01", "reason": "Complex request"})
    assert earlier["statusCode"] == 400
    extended = on(env, request_id, "extension", {"until": "2027-02-18", "reason": "Many requests at once"})
    assert extended["statusCode"] == 200
    view = json_body(extended)
    assert (view["status"], view["due_on"], view["extension_reason"]) == (
        "extended",
        "2027-02-18",
        "Many requests at once",
    )
    again = on(env, request_id, "extension", {"until": "2027-02-17", "reason": "Again"})
    assert again["statusCode"] == 409 and "once" in json_body(again)["error"]
    assert "Many requests" not in json.dumps(env.items_with_prefix("RIGHTS#"), default=str)  # sealed too
    assert on(env, request_id, "closure", {"outcome": "done"})["statusCode"] == 200  # an extended one closes


def test_an_extension_after_the_deadline_passed_is_refused(env: Env) -> None:
    request_id = json_body(register(env))["request_id"]
    env.clock.advance(31 * 86_400)  # 2026-12-19: the deadline (2026-12-18) has passed
    late = on(env, request_id, "extension", {"until": "2027-01-18", "reason": "Complex"})
    assert late["statusCode"] == 409 and "first month" in json_body(late)["error"]


def test_unknown_requests_and_ids(env: Env) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert on(env, missing, "")["statusCode"] == 404
    assert on(env, missing, "extension", {"until": "2026-12-20", "reason": "x"})["statusCode"] == 404
    assert on(env, missing, "closure", {"outcome": "done"})["statusCode"] == 404
    assert on(env, "not-an-id", "")["statusCode"] == 422


def purge(env: Env) -> dict[str, Any]:
    return env.invoke("purge", {"job": "purge"})


def test_overdue_open_requests_are_counted_for_the_alarm(env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    first = json_body(register(env, received_on="2026-10-01"))["request_id"]  # due 2026-11-01: overdue now
    register(env, received_on="2026-11-01")  # due 2026-12-01
    assert purge(env)["rights_requests_overdue"] == 1
    metrics = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["RightsRequestsOverdue"] for m in metrics if "RightsRequestsOverdue" in m] == [[1.0]]
    assert [r["overdue"] for r in open_list(env)] == [True, False]
    on(env, first, "closure", {"outcome": "done"})
    assert purge(env)["rights_requests_overdue"] == 0
    env.clock.advance(14 * 86_400)  # 2026-12-02: the second is overdue too
    assert purge(env)["rights_requests_overdue"] == 1


def test_every_desk_action_is_in_the_audit_trail_with_the_subject_as_a_keyed_hash(env: Env) -> None:
    request_id = json_body(register(env))["request_id"]
    env.clock.advance(1)
    on(env, request_id, "closure", {"outcome": "done"})
    event = http_event("GET", f"/admin/audit/{TODAY}", route_path="/admin/audit/{day}", path_parameters={"day": TODAY})
    trail = json_body(env.invoke("admin", event))["entries"]
    ref = env.wiring.pseudonymizer.audit_ref(subject_of(env))
    assert [(e["action"], e["status"], e["subject_ref"]) for e in trail] == [
        ("POST /admin/rights", 201, ref),
        ("POST /admin/rights/{request_id}/closure", 200, ref),
    ]
    assert NOTE not in json.dumps(env.items_with_prefix("AUDIT#"))


# -- restriction (Art. 18) ---------------------------------------------------------------------------


def restrict(env: Env) -> str:
    request_id = json_body(register(env, kind="restriction"))["request_id"]
    response = on(env, request_id, "restriction")
    assert response["statusCode"] == 200 and json_body(response)["status"] == "done"
    return request_id


def lift(env: Env) -> dict[str, Any]:
    subject = subject_of(env)
    return call(
        env,
        "DELETE",
        f"/admin/subjects/{subject}/restriction",
        "/admin/subjects/{subject}/restriction",
        subject=subject,
    )


def test_only_an_open_restriction_request_restricts(env: Env) -> None:
    access = json_body(register(env))["request_id"]
    assert on(env, access, "restriction")["statusCode"] == 409  # not a restriction request
    request_id = restrict(env)
    assert on(env, request_id, "restriction")["statusCode"] == 409  # done already
    assert lift(env)["statusCode"] == 204
    assert lift(env)["statusCode"] == 404  # not restricted any more


def test_a_restricted_person_s_messages_are_stored_and_nothing_is_sent(env: Env) -> None:
    activate(env)
    restrict(env)
    sent = len(replies_to())
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "INFO"))
    deliver(env, text(env, "DATA"))
    assert len(replies_to()) == sent  # no automatic reply of any kind
    assert len(env.inbound_items(subject_of(env))) == 1  # the message is stored as the consent allows
    assert env.items_with_prefix("ACCESS#") == []  # DATA did nothing (no link nobody will receive)
    refused = call(
        env,
        "POST",
        f"/admin/subjects/{subject_of(env)}/messages",
        "/admin/subjects/{subject}/messages",
        {"text": "Your parcel left today"},
        subject=subject_of(env),
    )
    assert refused["statusCode"] == 409 and "restricted" in json_body(refused)["error"]
    assert len(replies_to()) == sent
    assert lift(env)["statusCode"] == 204
    deliver(env, text(env, "INFO"))
    assert len(replies_to()) == sent + 1  # after lifting, the product answers again


def test_a_restricted_person_s_new_opt_in_code_changes_nothing(env: Env) -> None:
    from tests.flow import start_optin

    activate(env)
    restrict(env)
    sent = len(replies_to())
    started = start_optin(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, f"My code: {started['code']}"))
    assert len(replies_to()) == sent
    assert [i for i in env.subject_items(subject_of(env)) if i["SK"] == "S#PENDING"] == []


def test_stop_still_withdraws_a_restricted_person_s_consent(env: Env) -> None:
    activate(env)
    restrict(env)
    sent = len(replies_to())
    deliver(env, text(env, "STOP"))
    consents = call(
        env,
        "GET",
        f"/admin/subjects/{subject_of(env)}/consents",
        "/admin/subjects/{subject}/consents",
        subject=subject_of(env),
    )
    assert json_body(consents)["purposes"] == {"customer_service": "withdrawn"}
    assert len(replies_to()) == sent  # withdrawn, and not even the confirmation is sent


def test_an_erasure_keeps_the_register_entry(env: Env) -> None:
    activate(env)
    request_id = json_body(register(env, kind="erasure"))["request_id"]
    subject = subject_of(env)
    erased = call(env, "DELETE", f"/admin/subjects/{subject}", "/admin/subjects/{subject}", subject=subject)
    assert erased["statusCode"] == 200
    closed = on(env, request_id, "closure", {"outcome": "done"})
    assert closed["statusCode"] == 200 and json_body(closed)["identity_check"] == NOTE  # the proof survives


def test_a_campaign_skips_a_restricted_person_and_reaches_them_again_once_lifted(env: Env) -> None:
    from chatconsent.wiring import local_outbox
    from tests.campaigns.helpers import campaign_messages, create, run

    activate(env, purposes={"customer_service": True, "marketing": True})
    restrict(env)
    local_outbox().clear()
    result = run(env, create(env))
    assert result.get("sent", 0) == 0 and result["skipped_restricted"] == 1
    assert campaign_messages() == []
    assert lift(env)["statusCode"] == 204
    assert run(env, create(env))["sent"] == 1


# -- the store: conditions decide -------------------------------------------------------------------


def _stored_request(env: Env, request_id: str = "11111111-1111-1111-1111-111111111111") -> str:
    from chatconsent.store import RightsRequest

    request = RightsRequest(
        request_id=request_id,
        request_type="restriction",
        subject="a" * 64,
        channel="whatsapp",
        received_on=TODAY,
        due_on="2026-12-18",
        due_at=START + 31 * 86_400,
        latest_on="2027-02-18",
        status="open",
        registered_at=START,
        registered_by=OFFICER,
        note=b"sealed",
    )
    env.store.rights.register(request, START + 93 * 86_400)
    return request_id


def test_store_extends_once_within_the_latest_date_and_never_after_the_deadline(env: Env) -> None:
    rights = env.store.rights
    request_id = _stored_request(env)
    now = START
    assert not rights.extend(request_id, "2027-02-19", START + 94 * 86_400, b"r", now)  # beyond the latest date
    assert not rights.extend(request_id, "2026-12-01", START + 14 * 86_400, b"r", now)  # earlier than the deadline
    assert not rights.extend(request_id, "2027-01-18", START + 62 * 86_400, b"r", START + 31 * 86_400)  # too late
    assert rights.extend(request_id, "2027-01-18", START + 62 * 86_400, b"r", now)
    assert not rights.extend(request_id, "2027-01-19", START + 63 * 86_400, b"r", now)  # twice
    stored = rights.get(request_id)
    assert stored is not None and (stored.status, stored.due_on) == ("extended", "2027-01-18")
    assert not rights.extend("22222222-2222-2222-2222-222222222222", "2027-01-18", START + 62 * 86_400, b"r", now)


def test_store_restricts_in_one_transaction_and_closes_once(env: Env) -> None:
    rights = env.store.rights
    request_id = _stored_request(env)
    assert not rights.is_restricted("a" * 64)
    assert rights.restrict(request_id, "a" * 64)
    assert rights.is_restricted("a" * 64) and env.store.subjects.state("a" * 64).restricted
    assert not rights.restrict(request_id, "a" * 64)  # done already: nothing changes
    assert not rights.close(request_id, "refused", b"x")
    assert rights.open_requests(10) == [] and rights.overdue(START + 365 * 86_400) == 0
    assert rights.lift("a" * 64) and not rights.lift("a" * 64)
    assert not env.store.subjects.state("a" * 64).restricted


def test_store_counts_overdue_from_the_first_second_after_the_deadline_day(env: Env) -> None:
    rights = env.store.rights
    _stored_request(env)
    assert rights.overdue(START + 31 * 86_400 - 1) == 0
    assert rights.overdue(START + 31 * 86_400) == 1
