"""The queued confirmation-link job holds no number in clear, and the copies outside the tables
(queues, logs, backups) are kept exactly as long as the deletion plan says."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from chatconsent.config import current_config
from chatconsent.link_sender import LinkJob, seal_number
from chatconsent.notice_render import render_notice
from chatconsent.retention_classes import COPIES
from chatconsent.ropa import build_record
from chatconsent.texts import format_period
from chatconsent.tokens import new_link_token
from chatconsent.wiring import local_outbox
from localrun.events import sqs_event
from localrun.template import load_template, resources
from tests.conftest import Env
from tests.flow import PERSON, optin_event

NUMBER = "+49 170 1234567"  # PERSON, as typed into a form
ROOT = Path(__file__).resolve().parents[2]


def _queued(env: Env) -> list[dict[str, str]]:
    url = env.wiring.settings.link_queue_url
    messages = env.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    return messages  # type: ignore[no-any-return]


def _digit_runs(number: str, length: int = 5) -> set[str]:
    digits = re.sub(r"\D", "", number)
    return {digits[i : i + length] for i in range(len(digits) - length + 1)}


def test_the_queued_job_holds_no_digits_of_the_number_and_the_link_still_goes_out(env: Env) -> None:
    assert env.invoke("optin", optin_event(phone=NUMBER))["statusCode"] == 202
    [message] = _queued(env)
    body = message["Body"]
    assert set(json.loads(body)) == {"token", "sealed_number", "channel", "language"}
    sealed = json.loads(body)["sealed_number"]
    plain = body.replace(sealed, "")  # what is not ciphertext holds not one digit of the number
    assert not re.search(r"\d", plain.replace(json.loads(body)["token"], ""))
    assert not any(run in body for run in _digit_runs(PERSON)), "a run of the number's digits is in the job"
    assert env.invoke("linksender", sqs_event([message])) == {"batchItemFailures": []}
    assert len([m for m in local_outbox().to("+" + PERSON) if m.payload.get("type") == "template"]) == 1


def test_a_sealed_number_opens_only_for_its_own_token(env: Env) -> None:
    assert env.invoke("optin", optin_event(phone=NUMBER))["statusCode"] == 202
    [message] = _queued(env)
    job = json.loads(message["Body"])
    sealer = env.wiring.sealer
    assert sealer is not None
    other = seal_number(sealer, new_link_token(), "+" + PERSON)  # sealed for another token
    assert LinkJob(**{**job, "sealed_number": other}).sealed_number == other
    swapped = {**message, "Body": json.dumps({**job, "sealed_number": other})}
    assert env.invoke("linksender", sqs_event([swapped])) == {"batchItemFailures": []}  # dropped, counted
    assert [m for m in local_outbox().messages if m.payload.get("type") == "template"] == []


# -- the copies outside the tables: template.yaml and the documented plan agree ---------------------


def _template_periods() -> dict[str, set[timedelta]]:
    queues = resources("AWS::SQS::Queue")
    seconds = {name: timedelta(seconds=int(q["Properties"]["MessageRetentionPeriod"])) for name, q in queues.items()}
    assert set(seconds) == {
        "LinkQueue",
        "LinkDeadLetters",
        "PlanQueue",
        "SendQueue",
        "CampaignDeadLetters",
        "PurgeDeadLetters",
        "RetentionDeadLetters",
        "OutboxDeadLetters",
        "RenewalDeadLetters",
    }, "a new queue: add it to the deletion plan (retention_classes.COPIES)"
    template = load_template()
    log_days = template["Parameters"]["LogRetentionDays"]["Default"]
    groups = resources("AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    functions = resources("AWS::Serverless::Function")
    assert all("LogGroup" in f["Properties"].get("LoggingConfig", {}) for f in functions.values())
    pitr = resources("AWS::DynamoDB::Table")["ChatconsentTable"]["Properties"]["PointInTimeRecoverySpecification"]
    return {
        "link_jobs": {seconds["LinkQueue"]},
        "link_jobs_failed": {seconds["LinkDeadLetters"]},
        "campaign_jobs": {seconds["PlanQueue"], seconds["SendQueue"]},
        "failed_jobs": {
            seconds[q]
            for q in (
                "CampaignDeadLetters",
                "PurgeDeadLetters",
                "RetentionDeadLetters",
                "OutboxDeadLetters",
                "RenewalDeadLetters",
            )
        },
        "logs": {timedelta(days=int(log_days))},
        "backups": {timedelta(days=int(pitr["RecoveryPeriodInDays"]))} if pitr["PointInTimeRecoveryEnabled"] else set(),
    }


def test_the_template_keeps_queues_logs_and_backups_exactly_as_long_as_the_plan_says() -> None:
    configured = _template_periods()
    assert set(configured) == set(COPIES)
    for name, period in COPIES.items():
        assert configured[name] == {period}, name


def test_the_readme_the_notice_and_the_record_name_those_periods() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, period in COPIES.items():
        assert re.search(rf"\| `{name}` \|[^\n]*\| {re.escape(format_period(period, 'en'))} \|", readme), name
    config = current_config()
    for language in ("en", "de", "it"):
        notice = render_notice(config, language)  # type: ignore[arg-type]
        for period in COPIES.values():
            assert format_period(period, language) in notice  # type: ignore[arg-type]
    copies = {c["copy"]: c["period_seconds"] for c in build_record(config)["copies"]}
    assert copies == {name: int(period.total_seconds()) for name, period in COPIES.items()}
