"""Campaigns in the local run, over real HTTP: two local IAM principals (four eyes), the planner and
the sender behind their queues, the simulated phone, and one-time schedules that fire when due."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws

from localrun.aws import (
    LOCAL_ENVIRONMENT,
    PLAN_QUEUE_ARN,
    PLAN_QUEUE_URL,
    SCHEDULER_ROLE_ARN,
    LocalScheduler,
    create_campaign_queues,
    due_at,
)
from tests.localrun.test_server import call

ADMIN = {"authorization": "Bearer local-admin-token"}
APPROVER = {"authorization": "Bearer local-approver-token"}
ADMIN_ARN = "arn:aws:iam::123456789012:user/local-admin"
APPROVER_ARN = "arn:aws:iam::123456789012:user/local-approver"
JSON = {"content-type": "application/json"}
# Fictitious numbers of this module only (the first two opt in with marketing, the other without).
MARKETING = "+49 170 7654341"
MARKETING_LATER = "+49 170 7654342"
SERVICE_ONLY = "+49 170 7654343"

T = TypeVar("T")


@pytest.fixture(scope="module")
def server(campaign_server: str) -> str:
    """This module's local run (tests/localrun/conftest.py: quiet hours off)."""
    return campaign_server


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


def post(base: str, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return call(base, "POST", path, json.dumps(body).encode(), {**JSON, **(headers or {})})


def chat(base: str, phone: str) -> list[dict[str, Any]]:
    status, messages = call(base, "GET", "/_local/phone/messages?to=" + phone.replace(" ", "").replace("+", "%2B"))
    assert status == 200
    return list(messages)


def opt_in(base: str, phone: str, purposes: dict[str, bool]) -> None:
    """The chat-started double opt-in, as the playground's widget and phone do it."""
    _, notice = call(base, "GET", "/notices/en")
    body = {
        "purposes": purposes,
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started = post(base, "/optin", body)
    assert status == 201
    assert post(base, "/_local/phone/send", {"from": phone, "text": started["code"]}) == (200, {"status": 200})
    yes = next(b for b in chat(base, phone)[-1]["buttons"] if b["id"].startswith("optin:yes:"))
    assert post(base, "/_local/phone/send", {"from": phone, "button": yes}) == (200, {"status": 200})
    assert "consent is recorded" in chat(base, phone)[-1]["text"]


def campaign_messages(base: str, phone: str) -> list[dict[str, Any]]:
    return [m for m in chat(base, phone) if m["type"] == "template" and "weekly_offers" in m["text"]]


def approved_campaign(base: str, parameter: str) -> dict[str, Any]:
    status, campaign = post(base, "/admin/campaigns", {"template": "weekly_offers", "parameters": [parameter]}, ADMIN)
    assert status == 201, campaign
    status, approved = post(base, f"/admin/campaigns/{campaign['campaign_id']}/approval", {}, APPROVER)
    assert status == 200 and approved["status"] == "approved", approved
    return dict(approved)


def test_the_principal_comes_from_the_token_and_an_unknown_token_is_refused(server: str) -> None:
    status, setup = call(server, "GET", "/_local/campaign-setup")
    assert status == 200
    assert {p["arn"] for p in setup["principals"]} == {ADMIN_ARN, APPROVER_ARN}
    assert {"name": "weekly_offers", "category": "MARKETING", "parameters": 1, "purpose": "marketing"} in (
        setup["templates"]
    )
    assert call(server, "GET", "/admin/campaigns", headers={"authorization": "Bearer nobody"})[0] == 403
    assert call(server, "GET", "/admin/campaigns", headers={"authorization": "local-admin-token"})[0] == 403
    assert call(server, "GET", "/admin/campaigns", headers=APPROVER)[0] == 200


def test_a_campaign_with_four_eyes_reaches_exactly_the_marketing_person(server: str) -> None:
    opt_in(server, MARKETING, {"customer_service": True, "marketing": True})
    opt_in(server, SERVICE_ONLY, {"customer_service": True})

    body = {"template": "weekly_offers", "parameters": ["Winter sale"]}
    status, campaign = post(server, "/admin/campaigns", body, ADMIN)
    assert status == 201 and campaign["status"] == "draft" and campaign["created_by"] == ADMIN_ARN
    path = f"/admin/campaigns/{campaign['campaign_id']}"
    assert call(server, "GET", path + "/audience", headers=ADMIN) == (200, {"size": 1})

    status, refused = post(server, path + "/approval", {}, ADMIN)  # four eyes: not by its creator
    assert status == 409 and "four eyes" in refused["error"]
    status, approved = post(server, path + "/approval", {}, APPROVER)
    assert status == 200 and approved["status"] == "approved" and approved["approved_by"] == APPROVER_ARN
    status, started = post(server, path + "/start", {}, ADMIN)
    assert status == 200 and started["status"] == "running"

    # The planner and the sender run from their queues; the outbox gets exactly one message.
    sent = eventually(lambda: campaign_messages(server, MARKETING), "the campaign reached the marketing person")
    assert len(sent) == 1 and "Winter sale" in sent[0]["text"]
    assert campaign_messages(server, SERVICE_ONLY) == []
    _, outbox = call(server, "GET", "/_local/outbox")
    to = [m["to"] for m in outbox if m["payload"].get("template", {}).get("name") == "weekly_offers"]
    assert to == [MARKETING.replace(" ", "")]
    results = eventually(
        lambda: (r := call(server, "GET", path + "/results", headers=ADMIN)[1])["campaign"]["planning_done"] and r,
        "the planner read the whole audience",
    )
    assert results["counts"]["sent"] == 1 and results["campaign"]["queued"] == 1

    # The template's stop button, tapped on the phone: marketing withdrawn, customer service kept.
    (stop,) = sent[0]["buttons"]
    assert stop["quick_reply"] and stop["id"] == "marketing:stop:" + campaign["campaign_id"]
    tapped = post(server, "/_local/phone/send", {"from": MARKETING, "quick_reply": {"payload": stop["id"], **stop}})
    assert tapped == (200, {"status": 200})
    answer = chat(server, MARKETING)[-1]["text"]
    assert "no more offers" in answer and "Customer service" in answer
    status, again = post(server, "/admin/campaigns", body, ADMIN)
    assert call(server, "GET", f"/admin/campaigns/{again['campaign_id']}/audience", headers=ADMIN) == (200, {"size": 0})
    assert post(server, f"/admin/campaigns/{again['campaign_id']}/cancel", {}, ADMIN)[0] == 200


def test_pause_resume_and_cancel_over_http(server: str) -> None:
    campaign = approved_campaign(server, "Spring sale")
    path = f"/admin/campaigns/{campaign['campaign_id']}"
    assert post(server, path + "/pause", {}, ADMIN)[0] == 409  # not running yet
    assert post(server, path + "/start", {}, ADMIN)[1]["status"] == "running"
    assert post(server, path + "/pause", {}, APPROVER)[1]["status"] == "paused"
    assert post(server, path + "/resume", {}, ADMIN)[1]["status"] == "running"
    assert post(server, path + "/cancel", {}, ADMIN)[1]["status"] == "cancelled"
    assert post(server, path + "/start", {}, ADMIN)[0] == 409


def test_a_scheduled_campaign_starts_when_its_schedule_is_due(server: str) -> None:
    opt_in(server, MARKETING_LATER, {"customer_service": True, "marketing": True})
    campaign = approved_campaign(server, "Summer sale")
    path = f"/admin/campaigns/{campaign['campaign_id']}"
    at = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(minutes=10)
    status, scheduled = post(server, path + "/schedule", {"at": at.isoformat()}, ADMIN)
    assert status == 200 and scheduled["status"] == "scheduled", scheduled

    # moto's scheduler holds the one-time schedule EventBridge Scheduler would run.
    name = f"campaign-{campaign['campaign_id']}"
    _, held = call(server, "GET", "/_local/scheduler")
    (schedule,) = [s for s in held["schedules"] if s["name"] == name]
    assert schedule["expression"] == f"at({at:%Y-%m-%dT%H:%M:%S})" and schedule["target"] == PLAN_QUEUE_ARN
    assert schedule["due"] == at.timestamp()

    # Not due yet: nothing fires. Due (the local clock skipped ahead): its start job goes to the plan queue.
    assert post(server, "/_local/scheduler/run", {"until": at.timestamp() - 1}) == (200, {"fired": []})
    assert call(server, "GET", path, headers=ADMIN)[1]["status"] == "scheduled"
    assert campaign_messages(server, MARKETING_LATER) == []
    assert post(server, "/_local/scheduler/run", {"until": at.timestamp()}) == (200, {"fired": [name]})
    assert name not in [s["name"] for s in call(server, "GET", "/_local/scheduler")[1]["schedules"]]  # DELETE

    sent = eventually(lambda: campaign_messages(server, MARKETING_LATER), "the scheduled campaign was sent")
    assert "Summer sale" in sent[-1]["text"]
    shown = call(server, "GET", path, headers=ADMIN)[1]
    assert shown["status"] == "running" and shown["started_at"] > 0
    assert post(server, "/_local/scheduler/run", {"until": "soon"})[0] == 400


def test_the_local_scheduler_fires_one_time_schedules_when_due() -> None:
    """In-process, with a controlled clock: the layer's SchedulerSchedules on moto, fired by LocalScheduler."""
    from chatconsent.campaigns import SchedulerSchedules

    with mock_aws():
        region = LOCAL_ENVIRONMENT["AWS_DEFAULT_REGION"]
        sqs, client = boto3.client("sqs", region_name=region), boto3.client("scheduler", region_name=region)
        create_campaign_queues(sqs)
        warnings: list[str] = []
        local = LocalScheduler(client, sqs, warn=warnings.append)
        at = 1_795_000_000
        SchedulerSchedules(client, PLAN_QUEUE_ARN, SCHEDULER_ROLE_ARN).create("a" * 32, at)
        client.create_schedule(  # one that stays after it ran (ActionAfterCompletion NONE)
            Name="stays",
            ScheduleExpression="at(2026-11-18T20:30:00)",
            ScheduleExpressionTimezone="Europe/Berlin",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": PLAN_QUEUE_ARN, "RoleArn": SCHEDULER_ROLE_ARN, "Input": "{}"},
        )
        client.create_schedule(
            Name="recurring",
            ScheduleExpression="rate(5 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": PLAN_QUEUE_ARN, "RoleArn": SCHEDULER_ROLE_ARN},
        )
        stays = datetime.datetime(2026, 11, 18, 19, 30, tzinfo=datetime.UTC).timestamp()
        assert due_at(client.get_schedule(Name="stays")) == stays

        assert local.fire_due(at - 1) == []
        assert local.fire_due(at) == ["campaign-" + "a" * 32]
        (message,) = sqs.receive_message(QueueUrl=PLAN_QUEUE_URL, MaxNumberOfMessages=10)["Messages"]
        assert json.loads(message["Body"]) == {"kind": "start", "campaign": "a" * 32}
        assert {s["Name"] for s in local.schedules()} == {"stays", "recurring"}

        assert local.fire_due(stays) == ["stays"]
        assert local.fire_due(stays + 3600) == []  # ran once; it stays, as in AWS
        assert {s["Name"] for s in local.schedules()} == {"stays", "recurring"}
        assert warnings == ["schedule recurring: only one-time schedules to SQS run locally\n"]


def test_the_rights_desk_is_served_by_the_local_run(server: str) -> None:
    """Its routes come from the template like every other; the local KMS key seals the officer's note."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    body = {"type": "access", "address": "+49 170 7654349", "received_on": today, "identity_check": "Letter, ID seen"}
    status, registered = post(server, "/admin/rights", body, ADMIN)
    assert status == 201 and registered["status"] == "open" and registered["identity_check"] == "Letter, ID seen"
    status, listed = call(server, "GET", "/admin/rights", headers=ADMIN)
    assert status == 200 and registered["request_id"] in [r["request_id"] for r in listed["requests"]]
    status, closed = post(server, f"/admin/rights/{registered['request_id']}/closure", {"outcome": "done"}, ADMIN)
    assert status == 200 and closed["status"] == "done"
    assert call(server, "GET", "/admin/rights", headers={"authorization": "Bearer nobody"})[0] == 403
