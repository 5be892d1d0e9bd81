"""Each function's IAM policy in template.yaml covers every DynamoDB call its code makes.

The flows below run through the real handlers; a hook on the client records each call with the
function that made it, and every call is checked against that function's policy statements
(a transaction needs the per-item actions: PutItem, UpdateItem, DeleteItem, ConditionCheckItem).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chatconsent.wiring import local_outbox
from localrun import telegram, whatsapp
from localrun.aws import KEY_TABLE_NAME, TABLE_NAME
from localrun.events import http_event
from localrun.template import resources
from tests import apple_flow
from tests.conftest import Env
from tests.flow import (
    OTHER,
    PERSON,
    PHONE_NUMBER_ID,
    activate,
    button,
    deliver,
    last_buttons,
    optin_event,
    subject_of,
    text,
)

TABLES = {TABLE_NAME: "ChatconsentTable", KEY_TABLE_NAME: "SubjectKeyTable"}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
FUNCTIONS = {
    "optin": "OptInFunction",
    "confirmation": "ConfirmationFunction",
    "inbound": "InboundFunction",
    "apple": "AppleFunction",
    "admin": "AdminFunction",
    "purge": "PurgeFunction",
    "renewal": "RenewalFunction",
    "linksender": "LinkSenderFunction",
    "retention": "RetentionFunction",
    "campaigns": "CampaignsFunction",
    "campaignplanner": "CampaignPlannerFunction",
    "campaignsender": "CampaignSenderFunction",
    "outbox": "OutboxFunction",
    "desk": "DeskFunction",
    "telegram": "TelegramFunction",
}

Grant = tuple[str, str, str | None]  # action, table logical id, index name ("*" for all indexes)


def _resource(resource: Any) -> tuple[str, str | None] | None:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        return (logical_id, None) if attribute == "Arn" else None
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        for logical_id in TABLES.values():
            prefix = "${" + logical_id + ".Arn}/index/"
            if isinstance(text, str) and text.startswith(prefix):
                return logical_id, text.removeprefix(prefix)
    return None


def granted(function: str) -> set[Grant]:
    grants: set[Grant] = set()
    for policy in resources("AWS::Serverless::Function")[function]["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                if not action.startswith("dynamodb:"):
                    continue
                for target in targets:
                    if (found := _resource(target)) is not None:
                        grants.add((action.removeprefix("dynamodb:"), found[0], found[1]))
    return grants


def needed(operation: str, params: dict[str, Any]) -> list[Grant]:
    if operation == "TransactWriteItems":
        return [
            (TRANSACT_ACTIONS[kind], TABLES[request["TableName"]], None)
            for item in params["TransactItems"]
            for kind, request in item.items()
        ]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(operation, TABLES[table], None) for table in params["RequestItems"]]
    if "TableName" not in params:
        raise AssertionError(f"{operation}: no table in the request")
    return [(operation, TABLES[params["TableName"]], params.get("IndexName"))]


@pytest.fixture
def calls(env: Env) -> Iterator[dict[str, set[Grant]]]:
    recorded: dict[str, set[Grant]] = {name: set() for name in FUNCTIONS.values()}
    current: list[str] = []
    original = env.invoke

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        current.append(FUNCTIONS[function])
        try:
            return original(function, event)
        finally:
            current.pop()

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if current and model.name not in ("DescribeTable", "Scan"):
            recorded[current[-1]].update(needed(model.name, params))

    env.invoke = invoke  # type: ignore[method-assign]
    env.dynamodb.meta.events.register("before-parameter-build.dynamodb.*", record)
    yield recorded
    env.dynamodb.meta.events.unregister("before-parameter-build.dynamodb.*", record)


def admin(env: Env, method: str, path: str, route: str, body: Any = None, **params: str) -> dict[str, Any]:
    event = http_event(
        method,
        path,
        route_path=route,
        path_parameters=params or None,
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json"},
    )
    return env.invoke("admin", event)


def every_flow(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, "where is my parcel?"))
    deliver(env, text(env, "I have a nut allergy"))
    yes, _ = last_buttons()
    deliver(env, button(env, yes["id"], yes["title"]))
    deliver(env, text(env, "and I am diabetic too", sender=PERSON))
    deliver(env, text(env, "DATA"))
    # the access link DATA gave: the page (GET), the download of the person's copy (POST)
    [answer] = [m for m in local_outbox().to("+" + PERSON) if "/data/" in str(m.payload.get("text", ""))]
    token = str(answer.payload["text"]["body"]).split("/data/", 1)[1][:43]  # type: ignore[index]
    for method in ("GET", "POST"):
        event = http_event(method, f"/data/{token}", route_path="/data/{token}", path_parameters={"token": token})
        assert env.invoke("confirmation", event)["statusCode"] == 200
    subject = subject_of(env)
    for path, route in (
        (f"/admin/subjects/{subject}/consents", "/admin/subjects/{subject}/consents"),
        (f"/admin/subjects/{subject}/messages", "/admin/subjects/{subject}/messages"),
        (f"/admin/subjects/{subject}/export", "/admin/subjects/{subject}/export"),
    ):
        admin(env, "GET", path, route, subject=subject)
    admin(
        env,
        "POST",
        f"/admin/subjects/{subject}/messages",
        "/admin/subjects/{subject}/messages",
        {"text": "On its way."},
        subject=subject,
    )
    admin(env, "GET", "/admin/conversations", "/admin/conversations")
    # a campaign: draft, audience, four-eyes approval, start, planner and sender, a status, results
    from tests.campaigns.helpers import create, get, run

    campaign = create(env)
    get(env, campaign, "audience")
    run(env, campaign)
    sent = [m for m in local_outbox().messages if m.payload.get("type") == "template"][-1]
    deliver(
        env, whatsapp.status(PERSON, sent.id, "delivered", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))
    )
    admin(
        env,
        "POST",
        f"/admin/subjects/{subject}/withdrawal",
        "/admin/subjects/{subject}/withdrawal",
        {"purposes": ["marketing"]},
        subject=subject,
    )
    admin(env, "GET", "/admin/audit/2026-11-18", "/admin/audit/{day}", day="2026-11-18")
    # a pending request withdrawn on the person's behalf (the pending item goes in the same transaction)
    third = "4917099999999"
    started = json.loads(env.invoke("optin", optin_event())["body"])
    deliver(env, text(env, f"My code: {started['code']}", sender=third))
    pending = subject_of(env, third)
    admin(
        env,
        "POST",
        f"/admin/subjects/{pending}/withdrawal",
        "/admin/subjects/{subject}/withdrawal",
        {},
        subject=pending,
    )
    # link-confirmed opt-in for another number: request, show, confirm; then STOP and DELETE in the chat
    env.invoke("optin", optin_event(phone="+" + OTHER))
    env.drain_links()
    template = [m for m in local_outbox().messages if m.payload.get("type") == "template"][-1]
    token = template.payload["template"]["components"][1]["parameters"][0]["text"]  # type: ignore[index]
    for method, body in (("GET", None), ("POST", "decision=confirm")):
        event = http_event(
            method,
            f"/confirm/{token}",
            route_path="/confirm/{token}",
            path_parameters={"token": token},
            body=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        env.invoke("confirmation", event)
    deliver(env, text(env, "hello", sender=OTHER))
    deliver(env, text(env, "DELETE", sender=OTHER))
    delete, _ = last_buttons(OTHER)
    deliver(env, button(env, delete["id"], delete["title"], sender=OTHER))
    desk_flows(env, subject)
    deliver(env, text(env, "STOP"))
    apple_flows(env)
    admin(env, "DELETE", f"/admin/subjects/{subject}", "/admin/subjects/{subject}", subject=subject)
    renewals(env)
    telegram_flow(env)
    env.clock.advance(400 * 86_400)
    env.invoke("purge", {"job": "purge", "lookback_days": 400})


def apple_flows(env: Env) -> None:
    """Apple Messages for Business: opt-in by quick reply, a message kept, DATA, DELETE, and close."""
    apple_flow.activate(env)
    apple_flow.send_text(env, "where is my parcel?")
    apple_flow.send_text(env, "DATA")
    apple_flow.send_text(env, "DELETE")
    delete, _ = apple_flow.quick_reply_items()
    apple_flow.tap(env, delete["identifier"], delete["title"])
    apple_flow.activate(env, source=apple_flow.OTHER)
    apple_flow.close(env, source=apple_flow.OTHER)


def desk_flows(env: Env, subject: str) -> None:
    """The desk: the inbox, a conversation, a reply and a withdrawal; proof, export, erasure and the trail."""
    from tests.functions.desk_helpers import as_officer, desk

    conversation = "/desk/api/conversations/{subject}"
    desk(env, "GET", "/desk/api/conversations")
    desk(env, "GET", conversation, subject=subject)
    desk(env, "POST", conversation + "/replies", subject=subject, body={"text": "On its way."})
    desk(env, "POST", conversation + "/withdrawals", subject=subject, body={"purposes": ["marketing"], "confirm": True})
    as_officer(env, "GET", "/desk/api/privacy/subjects/{subject}/proof", subject=subject)
    as_officer(env, "GET", "/desk/api/privacy/subjects/{subject}/export", subject=subject)
    as_officer(env, "GET", "/desk/api/privacy/audit/{day}", day="2026-11-18")
    fifth = "4917077777777"
    activate(env, sender=fifth)
    deliver(env, text(env, "hello", sender=fifth))
    erased = subject_of(env, fifth)
    confirm = {"confirm": env.wiring.pseudonymizer.desk_alias(erased)}
    assert (
        as_officer(env, "DELETE", "/desk/api/privacy/subjects/{subject}", subject=erased, body=confirm)["statusCode"]
        == 200
    )
    as_officer(env, "GET", "/desk/api/privacy/subjects/{subject}/proof", subject=erased)  # erased: 410


def telegram_flow(env: Env) -> None:
    """Telegram: the deep link's opt-in, a message, DATA, DELETE with yes; another person blocks the bot."""
    from tests import telegram_flow as tg

    tg.activate(env)
    tg.deliver(env, tg.text(env, "parcel via telegram"))
    tg.deliver(env, tg.text(env, "/data"))
    tg.deliver(env, tg.text(env, "/delete"))
    delete, _ = tg.last_keyboard()
    tg.deliver(env, tg.tap(env, delete["callback_data"]))
    tg.activate(env, tg.OTHER_CHAT)
    tg.deliver(env, telegram.member_status(tg.OTHER_CHAT, "kicked", int(env.clock())))


def renewals(env: Env) -> None:
    """Consent renewal: asked in the window, renewed; asked by template, lapsed."""
    fourth = "4917088888888"
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=fourth)
    subject = subject_of(env, fourth)
    for answer in (True, False):
        end = env.store.subjects.state(subject).consents["marketing"].expires_at
        env.clock.now = end - 31 * 86_400
        if answer:
            deliver(env, text(env, "hello", sender=fourth))  # the window is open
        env.clock.now = end - 29 * 86_400
        env.invoke("renewal", {"job": "renewal"})
        if answer:
            yes, _ = last_buttons(fourth)
            deliver(env, button(env, yes["id"], yes["title"], sender=fourth))
        else:
            env.clock.now = end - 1800
            env.invoke("renewal", {"job": "renewal"})
    assert env.store.subjects.state(subject).active_purposes == ()


def test_every_functions_policy_covers_its_dynamodb_calls(env: Env, calls: dict[str, set[Grant]]) -> None:
    every_flow(env)
    for function, made in calls.items():
        allowed = granted(function)
        missing = {grant for grant in made if grant not in allowed and (grant[0], grant[1], "*") not in allowed}
        assert not missing, f"{function} calls {sorted(missing, key=str)} without a policy for it"
    assert all(calls.values()), "every function was exercised"
