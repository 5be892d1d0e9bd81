"""Campaigns reach exactly the people who said yes to marketing, once each, at most as often as promised."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from chatconsent.consent_state import ConsentState
from chatconsent.inbound.dispatch import MARKETING_STOP_BUTTON
from chatconsent.store import keys
from chatconsent.wiring import local_outbox
from localrun import whatsapp
from tests.campaigns.helpers import (
    APPROVER,
    CREATOR,
    Provider,
    act,
    call,
    campaign_messages,
    counts,
    create,
    get,
    rejected,
    run,
    timeout,
    unavailable,
    use_provider,
)
from tests.conftest import Env, json_body
from tests.flow import OTHER, PERSON, PHONE_NUMBER_ID, activate, deliver, subject_of, text

THIRD = "393471234999"
WEEK = 7 * 86_400


def people(env: Env) -> None:
    """PERSON: customer service and marketing; OTHER: customer service only."""
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=PERSON)
    activate(env, purposes={"customer_service": True}, sender=OTHER)
    local_outbox().clear()


def test_only_the_people_who_said_yes_to_marketing_are_sent_the_campaign(env: Env) -> None:
    people(env)
    campaign = create(env)
    assert json_body(get(env, campaign, "audience")) == {"size": 1}
    result = run(env, campaign)
    assert result["sent"] == 1
    sent = campaign_messages()
    assert len(sent) == 1 and [m.recipient for m in local_outbox().messages] == ["+" + PERSON]
    template = sent[0]["template"]
    assert template["name"] == "weekly_offers" and template["language"] == {"code": "en"}
    body, stop = template["components"]
    assert body["parameters"] == [{"type": "text", "text": "Winter sale"}]
    assert stop == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": MARKETING_STOP_BUTTON + campaign}],
    }


def test_each_send_is_recorded_with_its_campaign_template_and_the_consents_ledger_entry(env: Env) -> None:
    people(env)
    campaign = create(env)
    run(env, campaign)
    subject = subject_of(env, PERSON)
    record = next(i for i in env.subject_items(subject) if i["SK"] == f"M#CAMP#{campaign}")
    proof = env.wiring.consents.proof(subject)
    given = next(e for e in proof.entries if e.purpose == "marketing" and e.event.value == "consent_given")
    assert record["state"] == "sent" and record["template"] == "weekly_offers" and record["campaign_id"] == campaign
    assert record["consent_proof"] == given.entry_hash
    assert record["retention_class"] == "campaign_send"
    outbound = next(i for i in env.subject_items(subject) if str(i["SK"]).startswith("M#OUT#") and "campaign_id" in i)
    assert outbound["campaign_id"] == campaign and record["message_hash"] == outbound["SK"].removeprefix("M#OUT#")


def test_statuses_count_into_the_results_once_each(env: Env) -> None:
    people(env)
    campaign = create(env)
    run(env, campaign)
    message_id = local_outbox().messages[-1].id
    for status in ("sent", "delivered", "delivered", "read"):
        event = whatsapp.status(PERSON, message_id, status, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))
        deliver(env, event)
    result = counts(env, campaign)
    assert (result["sent"], result["delivered"], result["read"]) == (1, 1, 1)


def test_a_job_delivered_twice_sends_nothing_twice(env: Env) -> None:
    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    # the planner's work, then the same send job twice (SQS delivers at least once)
    plans = env.sqs.receive_message(QueueUrl=_plan_url(), MaxNumberOfMessages=10)["Messages"]
    env.invoke("campaignplanner", _sqs(plans))
    _delete_all(env, _plan_url(), plans)
    while batch := env.sqs.receive_message(QueueUrl=_plan_url(), MaxNumberOfMessages=10).get("Messages", []):
        env.invoke("campaignplanner", _sqs(batch))
        _delete_all(env, _plan_url(), batch)
    jobs = env.sqs.receive_message(QueueUrl=_send_url(), MaxNumberOfMessages=10)["Messages"]
    assert len(jobs) == 1
    env.invoke("campaignsender", _sqs(jobs))
    after_first = counts(env, campaign)
    env.invoke("campaignsender", _sqs(jobs))
    assert len(campaign_messages()) == 1
    # the job ran to its end the first time: its counts are in the results once
    assert counts(env, campaign) == after_first and after_first["sent"] == 1
    assert "skipped_sent_before" not in after_first


def test_a_job_cut_short_runs_again_and_counts_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job whose run failed before its end (its counts not added) runs again on the next delivery:
    the people it sent to count as sent before, the rest are sent, the results hold one run."""
    people(env)
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=OTHER)
    local_outbox().clear()
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    while batch := env.sqs.receive_message(QueueUrl=_plan_url(), MaxNumberOfMessages=10).get("Messages", []):
        env.invoke("campaignplanner", _sqs(batch))
        _delete_all(env, _plan_url(), batch)
    jobs = env.sqs.receive_message(QueueUrl=_send_url(), MaxNumberOfMessages=10)["Messages"]
    from chatconsent.store.campaigns import Campaigns

    def fail(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the function died before its counts were added")

    with monkeypatch.context() as patched:
        patched.setattr(Campaigns, "add_results", fail)
        with pytest.raises(BatchProcessingError):
            env.invoke("campaignsender", _sqs(jobs))
    assert len(campaign_messages()) == 2 and counts(env, campaign) == {}
    env.invoke("campaignsender", _sqs(jobs))  # delivered again (each job: its own message id)
    assert len(campaign_messages()) == 2
    assert counts(env, campaign) == {"skipped_sent_before": 2}
    env.invoke("campaignsender", _sqs(jobs))  # and again, after its end: nothing more
    assert counts(env, campaign) == {"skipped_sent_before": 2}


def test_a_withdrawal_that_lands_before_the_send_wins(env: Env) -> None:
    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    while batch := env.sqs.receive_message(QueueUrl=_plan_url(), MaxNumberOfMessages=10).get("Messages", []):
        env.invoke("campaignplanner", _sqs(batch))
        _delete_all(env, _plan_url(), batch)
    deliver(env, text(env, "STOP WERBUNG", sender=PERSON))  # queued already, then withdrawn
    local_outbox().clear()
    env.drain_campaigns()
    assert campaign_messages() == []
    assert counts(env, campaign)["skipped_withdrawn"] == 1


def test_the_frequency_cap_promised_in_the_notice_holds_across_campaigns(env: Env) -> None:
    people(env)
    first = create(env)
    assert run(env, first)["sent"] == 1
    second = create(env, parameters=("Second offer",))
    assert json_body(get(env, second, "audience")) == {"size": 0}  # at most weekly: nobody yet
    assert run(env, second).get("sent", 0) == 0
    env.clock.advance(WEEK + 1)
    third = create(env, parameters=("Next week",))
    assert run(env, third)["sent"] == 1
    assert len(campaign_messages("+" + PERSON)) == 2


def test_a_number_on_the_block_list_is_not_written_to(env: Env) -> None:
    people(env)
    subject = subject_of(env, PERSON)
    record = env.store.subjects.state(subject).consents["marketing"]
    env.store.guards.suppress(record.suppression_hash)  # blocked another way (e.g. an admin withdrawal elsewhere)
    campaign = create(env)
    assert run(env, campaign)["skipped_blocked"] == 1
    assert campaign_messages() == []


def test_the_address_is_kept_only_with_an_active_consent_and_goes_with_a_withdrawal_and_an_erasure(env: Env) -> None:
    people(env)
    subject = subject_of(env, PERSON)
    reach = [i for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")]
    assert {i["SK"] for i in reach} == {"S#REACH#customer_service", "S#REACH#marketing"}
    assert all(PERSON.encode() not in bytes(i["address"]) for i in reach)  # sealed, never in clear
    assert all(i[keys.AUDIENCE].startswith(i["SK"].removeprefix("S#REACH#") + "#en#") for i in reach)
    deliver(env, text(env, "STOP WERBUNG", sender=PERSON))
    left = {i["SK"] for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")}
    assert left == {"S#REACH#customer_service"}
    deliver(env, text(env, "STOP", sender=PERSON))
    assert [i for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")] == []


def test_link_confirmed_opt_in_keeps_the_typed_number_sealed_for_campaigns(env: Env) -> None:
    from tests.functions.test_confirmation import confirm, request_link, sent_token  # the link flow's helpers

    assert request_link(env, purposes={"customer_service": True, "marketing": True})["statusCode"] == 202
    assert confirm(env, sent_token())["statusCode"] == 200
    subject = subject_of(env, PERSON)
    reach = [i for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")]
    assert {i["SK"] for i in reach} == {"S#REACH#customer_service", "S#REACH#marketing"}
    local_outbox().clear()
    campaign = create(env)
    assert run(env, campaign)["sent"] == 1


def test_a_marketing_stop_counts_as_withdrawn_after_the_campaign(env: Env) -> None:
    people(env)
    campaign = create(env)
    run(env, campaign)
    deliver(
        env,
        whatsapp.template_reply(
            PERSON,
            "Stop promotions",
            MARKETING_STOP_BUTTON + campaign,
            phone_number_id=PHONE_NUMBER_ID,
            timestamp=int(env.clock()),
        ),
    )
    state = env.store.subjects.state(subject_of(env, PERSON))
    assert (
        state.state_of("marketing") is ConsentState.WITHDRAWN
        and state.state_of("customer_service") is ConsentState.ACTIVE
    )
    assert counts(env, campaign)["withdrawn_after"] == 1


# -- the provider's answers ------------------------------------------------------------------------


def test_a_rate_limit_is_retried_after_a_pause_and_then_sent(env: Env) -> None:
    people(env)
    provider = Provider(local_outbox(), [rejected(130429), rejected(130429)])
    use_provider(env, provider)
    campaign = create(env)
    assert run(env, campaign)["sent"] == 1
    assert provider.calls == 3


def test_undeliverable_and_engagement_refusals_are_final_and_counted(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=PERSON)
    activate(env, purposes={"marketing": True}, sender=THIRD)
    provider = Provider(local_outbox(), [rejected(131026), rejected(131049)])
    use_provider(env, provider)
    campaign = create(env)
    result = run(env, campaign)
    assert (result.get("failed_131026"), result.get("failed_131049"), result.get("sent", 0)) == (1, 1, 0)
    env.drain_campaigns()
    assert provider.calls == 2  # never retried


def test_a_provider_outage_pauses_the_campaign_instead_of_burning_the_queue(env: Env) -> None:
    people(env)
    activate(env, purposes={"marketing": True}, sender=THIRD)
    local_outbox().clear()
    provider = Provider(local_outbox(), [unavailable()] * 6)  # two recipients, three attempts each
    use_provider(env, provider)
    campaign = create(env)
    run(env, campaign)
    view = json_body(get(env, campaign))
    assert view["status"] == "paused" and view["paused_reason"] == "provider_outage"
    assert env.sqs.receive_message(QueueUrl=_send_url()).get("Messages", []) == []  # nothing left to dead-letter
    assert campaign_messages() == []
    provider.answers.clear()  # the provider is back
    assert act(env, campaign, "resume")["statusCode"] == 200
    env.drain_campaigns()
    assert len(campaign_messages("+" + PERSON)) == 1 and len(campaign_messages("+" + THIRD)) == 1  # once each


def test_a_crash_after_the_provider_accepted_never_sends_again(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    while batch := env.sqs.receive_message(QueueUrl=_plan_url(), MaxNumberOfMessages=10).get("Messages", []):
        env.invoke("campaignplanner", _sqs(batch))
        _delete_all(env, _plan_url(), batch)
    jobs = env.sqs.receive_message(QueueUrl=_send_url(), MaxNumberOfMessages=10)["Messages"]

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the container died")

    with monkeypatch.context() as patched:
        patched.setattr(type(env.store.sends), "close", crash)
        with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda delivers it again
            env.invoke("campaignsender", _sqs(jobs))
    assert len(campaign_messages()) == 1  # the provider had accepted it
    env.invoke("campaignsender", _sqs(jobs))  # delivered again
    assert len(campaign_messages()) == 1
    assert counts(env, campaign)["skipped_in_doubt"] == 1


def test_a_timeout_leaves_the_send_in_doubt_and_it_is_not_sent_twice(env: Env) -> None:
    people(env)
    provider = Provider(local_outbox(), [timeout()])
    use_provider(env, provider)
    campaign = create(env)
    result = run(env, campaign)
    assert result["in_doubt"] == 1 and provider.calls == 1


# -- bad input, nothing queued ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"template": "no_such_template", "parameters": []}, "not configured"),
        ({"template": "weekly_offers", "parameters": []}, "takes 1 parameters"),
        ({"template": "weekly_offers", "parameters": ["a", "b"]}, "takes 1 parameters"),
        ({"template": "weekly_offers", "parameters": ["x"], "languages": ["fr"]}, "not offered"),
    ],
)
def test_a_wrong_campaign_is_refused_with_a_reason(env: Env, body: dict[str, object], reason: str) -> None:
    response = call(env, "POST", "/admin/campaigns", "/admin/campaigns", body)
    assert response["statusCode"] == 400 and reason in json_body(response)["error"], response


def test_approval_by_the_creator_is_refused_and_nothing_is_queued(env: Env) -> None:
    people(env)
    campaign = create(env)
    response = act(env, campaign, "approval", principal=CREATOR)
    assert response["statusCode"] == 409 and "four eyes" in json_body(response)["error"]
    assert act(env, campaign, "start")["statusCode"] == 409  # not approved
    assert env.sqs.receive_message(QueueUrl=_plan_url()).get("Messages", []) == []
    assert json_body(get(env, campaign))["status"] == "draft"


def test_a_cancelled_campaign_cannot_start_and_an_unknown_one_is_404(env: Env) -> None:
    campaign = create(env)
    assert act(env, campaign, "approval")["statusCode"] == 200
    assert act(env, campaign, "cancel")["statusCode"] == 200
    response = act(env, campaign, "start")
    assert response["statusCode"] == 409 and "cancelled" in json_body(response)["error"]
    assert get(env, "0" * 32)["statusCode"] == 404
    assert env.sqs.receive_message(QueueUrl=_plan_url()).get("Messages", []) == []


def test_a_paused_campaign_sends_nothing_until_resumed(env: Env) -> None:
    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    assert act(env, campaign, "pause", principal=APPROVER)["statusCode"] == 200
    env.drain_campaigns()
    assert campaign_messages() == []
    act(env, campaign, "resume")
    env.drain_campaigns()
    assert len(campaign_messages()) == 1


def test_campaigns_are_listed_newest_first(env: Env) -> None:
    first = create(env)
    env.clock.advance(5)
    second = create(env, parameters=("Other",))
    response = call(env, "GET", "/admin/campaigns", "/admin/campaigns")
    assert [c["campaign_id"] for c in json_body(response)["campaigns"]] == [second, first]


# -- queues ---------------------------------------------------------------------------------------


def _plan_url() -> str:
    from localrun.aws import PLAN_QUEUE_URL

    return PLAN_QUEUE_URL


def _send_url() -> str:
    from localrun.aws import SEND_QUEUE_URL

    return SEND_QUEUE_URL


def _sqs(messages: list[dict[str, object]]) -> dict[str, object]:
    from localrun.events import sqs_event

    return sqs_event(messages)  # type: ignore[arg-type]


def _delete_all(env: Env, url: str, messages: list[dict[str, object]]) -> None:
    for m in messages:
        env.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_the_export_shows_where_the_person_may_be_written_to_and_the_sends(env: Env) -> None:
    people(env)
    campaign = create(env)
    run(env, campaign)
    export = env.wiring.rights.export(subject_of(env, PERSON))
    reach = export["items"]["reach"]
    assert {r["address"] for r in reach} == {"+" + PERSON} and len(reach) == 2
    assert [s["campaign_id"] for s in export["items"]["campaign_sends"]] == [campaign]
    assert {r["class"] for r in export["art_15"]["retention"]} >= {"reach", "campaign_send"}


def test_quiet_hours_in_the_recipients_time_zone_defer_the_send(env: Env) -> None:
    from localrun.aws import SEND_QUEUE_URL

    people(env)
    campaign = create(env)
    env.clock.advance(10 * 3600)  # 21:06 UTC: 22:06 in Berlin (+49), inside the default 21-8 quiet hours
    result = run(env, campaign)
    assert result["deferred_quiet_hours"] == 1 and result.get("sent", 0) == 0
    assert campaign_messages() == []
    attributes = env.sqs.get_queue_attributes(QueueUrl=SEND_QUEUE_URL, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # back when the night is over (at most 15 min a hop)


def test_quiet_hours_end_at_the_configured_hour_in_that_zone() -> None:
    from chatconsent.broadcast import quiet_for
    from chatconsent.config import current_config

    config = current_config()
    berlin_22 = 1_795_000_000 - (11 * 3600 + 6 * 60 + 40) + 21 * 3600  # 2026-11-18 21:00 UTC = 22:00 in Berlin
    assert quiet_for("+491701234567", config, berlin_22) == 10 * 3600  # until 08:00 Berlin
    assert quiet_for("+491701234567", config, berlin_22 - 2 * 3600) == 0  # 20:00 in Berlin
    assert quiet_for("+393471234567", config, berlin_22) == 10 * 3600  # Rome: the same zone offset
    assert quiet_for("+12125550123", config, berlin_22) == 0  # 16:00 in New York


def test_a_full_withdrawal_keeps_the_send_records_as_proof(env: Env) -> None:
    people(env)
    campaign = create(env)
    run(env, campaign)
    subject = subject_of(env, PERSON)
    before = {
        i["SK"]: i["expires_at"] for i in env.subject_items(subject) if i.get("retention_class") == "campaign_send"
    }
    deliver(env, text(env, "STOP", sender=PERSON))
    after = {
        i["SK"]: i["expires_at"] for i in env.subject_items(subject) if i.get("retention_class") == "campaign_send"
    }
    assert len(before) == 2 and after == before  # the send record and its outbound record, not shortened


def test_the_results_say_when_every_queued_recipient_was_processed(env: Env) -> None:
    people(env)
    activate(env, purposes={"marketing": True}, sender=THIRD)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "start")
    assert json_body(get(env, campaign, "results"))["finished"] is False
    env.drain_campaigns()
    results = json_body(get(env, campaign, "results"))
    assert results["campaign"]["queued"] == 2 and results["processed"] == 2 and results["finished"] is True


def test_a_scheduled_campaign_starts_when_its_one_time_schedule_puts_the_start_job_on_the_plan_queue(env: Env) -> None:
    import boto3

    from localrun.aws import PLAN_QUEUE_URL

    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    at = "2026-11-18T13:00:00+01:00"  # an hour from the test's now (11:06 UTC)
    response = act(env, campaign, "schedule", body={"at": at})
    assert response["statusCode"] == 200 and json_body(response)["status"] == "scheduled"
    schedule = boto3.client("scheduler").get_schedule(Name=f"campaign-{campaign}")
    assert schedule["ScheduleExpression"] == "at(2026-11-18T12:00:00)" and schedule["ActionAfterCompletion"] == "DELETE"
    assert json.loads(schedule["Target"]["Input"]) == {"kind": "start", "campaign": campaign}
    assert campaign_messages() == []
    env.sqs.send_message(QueueUrl=PLAN_QUEUE_URL, MessageBody=schedule["Target"]["Input"])  # the schedule fires
    env.drain_campaigns()
    assert json_body(get(env, campaign))["status"] == "running" and len(campaign_messages()) == 1


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        ("2026-11-18T13:00:00", "time zone"),
        ("2026-11-18T10:00:00+00:00", "between"),
        ("2028-01-01T00:00:00Z", "between"),
    ],
)
def test_a_schedule_needs_a_time_zone_and_a_time_ahead(env: Env, at: str, reason: str) -> None:
    campaign = create(env)
    act(env, campaign, "approval")
    response = act(env, campaign, "schedule", body={"at": at})
    assert response["statusCode"] == 400 and reason in json_body(response)["error"]
    assert json_body(get(env, campaign))["status"] == "approved"


def test_cancelling_a_scheduled_campaign_deletes_its_schedule_and_a_late_start_job_changes_nothing(env: Env) -> None:
    import boto3

    from localrun.aws import PLAN_QUEUE_URL

    people(env)
    campaign = create(env)
    act(env, campaign, "approval")
    act(env, campaign, "schedule", body={"at": "2026-11-18T13:00:00+01:00"})
    assert act(env, campaign, "cancel")["statusCode"] == 200
    names = [s["Name"] for s in boto3.client("scheduler").list_schedules()["Schedules"]]
    assert f"campaign-{campaign}" not in names
    env.sqs.send_message(QueueUrl=PLAN_QUEUE_URL, MessageBody=json.dumps({"kind": "start", "campaign": campaign}))
    env.drain_campaigns()
    assert json_body(get(env, campaign))["status"] == "cancelled" and campaign_messages() == []
