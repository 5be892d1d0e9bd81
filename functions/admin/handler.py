"""Admin API for agents (IAM-authorised routes): consent state, the conversation, replies, rights.

Subjects are addressed by pseudonym only (the rights desk takes a number once, to find the
pseudonym, and keeps nothing of it but the pseudonym). Replies are refused without an active consent (for a
template, the consent its category needs: a marketing template, the campaigns' purpose) and,
outside WhatsApp's 24-hour window, free text is refused (409 with the reason). Every action is
recorded in the audit trail (who, what, when, outcome; the subject as a keyed hash).

The lean path (as the webhook's and the opt-in's): the routes are routed on API Gateway's
``routeKey`` without Powertools' resolver, whose package imports every resolver and ``asyncio``; the
models (``chatconsent.api.admin_models``, pydantic) are loaded on the first request and before a
SnapStart snapshot, and check the path, query and body with the resolver's 422 answers
(``chatconsent.api.requests``). ``openapi_app`` declares the same routes with the same models for the
OpenAPI document (``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.agents import ReplyRefused
from chatconsent.api.answers import (
    JSON,
    answer,
    json_answer,
)
from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.cursors import decode_cursor, encode_cursor
from chatconsent.api.requests import RequestCheck, prime, principal
from chatconsent.api.routing import Answer, Event, route_request
from chatconsent.rights_desk import RightsAsk
from chatconsent.snapshot import snapshot_hooks
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel

    from chatconsent.rights_desk import RightsCase
    from chatconsent.store import RightsRequest

logger = Logger(service="admin")
metrics = Metrics(service="admin")
wiring = Wiring()

SUBJECT = r"^[0-9a-f]{64}$"
REQUEST_ID = r"^[0-9a-f-]{36}$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
_acted_on: dict[str, str | None] = {"subject": None}  # the subject a route without it in its path acted on


def _check(event: Event) -> RequestCheck:
    return RequestCheck(event, wiring.config.limits.max_api_body_bytes)


def _model(document: BaseModel, status: int = 200) -> Answer:
    """A model as the resolver serialised a route's returned model (compact JSON, ASCII with escapes)."""
    return json_answer(status, document.model_dump(mode="json"))


def _model_json(document: BaseModel, status: int = 200) -> Answer:
    """A model as pydantic writes it (``model_dump_json``: compact, UTF-8)."""
    return answer(status, JSON, document.model_dump_json())


def _one_path(event: Event, name: str, pattern: str) -> str:
    check = _check(event)
    value = check.path(name, pattern)
    check.done()
    return value


def _subject(event: Event) -> str:
    return _one_path(event, "subject", SUBJECT)


def _limit(check: RequestCheck, default: int) -> int:
    from typing import Annotated  # noqa: PLC0415

    from pydantic import Field  # noqa: PLC0415

    limit: int = check.query("limit", Annotated[int, Field(ge=1, le=100)], default)
    return limit


# -- consents, the conversation, replies, Art. 15 and 17 -------------------------------------------


def consents(event: Event) -> Answer:
    from chatconsent.api.admin_models import ConsentView  # noqa: PLC0415

    subject = _subject(event)
    state = wiring.consents.state(subject)
    proof = wiring.consents.proof(subject)
    view = ConsentView(
        purposes={purpose: record.state.value for purpose, record in state.consents.items()},
        ledger_entries=len(proof.entries),
        ledger_verified=proof.verification.ok,
        ledger_starts_at=proof.verification.starts_at,
    )
    return _model(view)


def conversations(event: Event) -> Answer:
    from typing import Annotated  # noqa: PLC0415

    from pydantic import Field  # noqa: PLC0415

    from chatconsent.api.admin_models import ConversationList, ConversationSummaryView  # noqa: PLC0415

    check = _check(event)
    limit = _limit(check, 25)
    cursor = check.query("cursor", Annotated[str, Field(max_length=2048)], None)
    check.done()
    page, next_cursor = wiring.agents.conversations(limit, decode_cursor(cursor) if cursor else None)
    body = ConversationList(
        conversations=[ConversationSummaryView(**vars(s)) for s in page],
        next_cursor=encode_cursor(next_cursor) if next_cursor else None,
    )
    return _model_json(body)


def conversation(event: Event) -> Answer:
    from chatconsent.api.admin_models import ConversationView, MessageView  # noqa: PLC0415

    messages = wiring.agents.conversation(_subject(event))
    return _model(ConversationView(messages=[MessageView(**vars(m)) for m in messages]))


def reply(event: Event) -> Answer:
    from chatconsent.api.admin_models import ReplyBody, ReplyQueued  # noqa: PLC0415

    check = _check(event)
    subject = check.path("subject", SUBJECT)
    body = check.body(ReplyBody)
    check.done()
    assert body is not None
    desk = wiring.agents
    if body.template is not None:
        queued = desk.reply_template(subject, body.template.name, body.template.parameters, body.reply_id)
    else:
        queued = desk.reply(subject, body.text or "", body.reply_id)
    metrics.add_metric(name="ReplyQueued" if queued.new else "ReplyQueuedBefore", unit=MetricUnit.Count, value=1)
    logger.info("agent reply queued", extra={"agent": principal(event), "new": queued.new})
    view = ReplyQueued(reply_id=queued.reply_id, status="queued" if queued.new else "queued_before")
    return _model(view, 201 if queued.new else 200)


def withdraw(event: Event) -> Answer:
    from chatconsent.api.admin_models import WithdrawalBody, WithdrawalDone  # noqa: PLC0415

    check = _check(event)
    subject = check.path("subject", SUBJECT)
    body = check.body(WithdrawalBody)
    check.done()
    assert body is not None
    changed = wiring.agents.withdraw(subject, body.purposes)
    metrics.add_metric(name="AdminWithdrawal", unit=MetricUnit.Count, value=1)
    return _model_json(WithdrawalDone(withdrawn=[p for p in changed if p != "link"]))


def export(event: Event) -> Answer:
    document = wiring.rights.export(_subject(event))
    logger.info("subject exported", extra={"agent": principal(event)})
    return json_answer(200, document)


def erase(event: Event) -> Answer:
    from chatconsent.api.admin_models import ErasureReceipt  # noqa: PLC0415

    counts = wiring.rights.erase(_subject(event))
    metrics.add_metric(name="SubjectErased", unit=MetricUnit.Count, value=1)
    logger.info("subject erased", extra={"agent": principal(event), "counts": counts})
    return _model(ErasureReceipt(erased=counts))


def audit_trail(event: Event) -> Answer:
    from chatconsent.api.admin_models import AuditDay, AuditEntry  # noqa: PLC0415

    day = _one_path(event, "day", DAY)
    entries = [
        AuditEntry(at=r.at, actor=r.actor, action=r.action, subject_ref=r.subject_ref, status=r.status)
        for r in wiring.store.audit.day(day)
    ]
    return _model(AuditDay(day=day, entries=entries))


# -- the rights desk: requests received by e-mail or post ----------------------------------------


def _summary(request: RightsRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "type": request.request_type,
        "subject": request.subject,
        "received_on": request.received_on,
        "due_on": request.due_on,
        "latest_on": request.latest_on,
        "status": request.status,
        "overdue": request.status in ("open", "extended") and wiring.store.now() >= request.due_at,
    }


def _view(case: RightsCase, status: int = 200) -> Answer:
    from chatconsent.api.admin_models import RightsRequestView  # noqa: PLC0415

    r = case.request
    _acted_on["subject"] = r.subject
    view = RightsRequestView(
        **_summary(r),
        registered_at=r.registered_at,
        registered_by=r.registered_by,
        identity_check=case.identity_check,
        extended_at=r.extended_at,
        extension_reason=case.extension_reason,
        closed_at=r.closed_at,
        closing_reason=case.closing_reason,
        subject_known=case.known,
    )
    return _model_json(view, status)


def register_rights_request(event: Event) -> Answer:
    from chatconsent.api.admin_models import RightsRequestBody  # noqa: PLC0415

    check = _check(event)
    body = check.body(RightsRequestBody)
    check.done()
    assert body is not None
    ask = RightsAsk(body.type, body.address, body.channel, body.received_on, body.identity_check, principal(event))
    case = wiring.rights_desk.register(ask)
    metrics.add_metric(name="RightsRequestRegistered", unit=MetricUnit.Count, value=1)
    return _view(case, 201)


def open_rights_requests(event: Event) -> Answer:
    from chatconsent.api.admin_models import RightsRequestList, RightsRequestSummary  # noqa: PLC0415

    check = _check(event)
    limit = _limit(check, 50)
    check.done()
    requests = wiring.rights_desk.open_requests(limit)
    return _model(RightsRequestList(requests=[RightsRequestSummary(**_summary(r)) for r in requests]))


def rights_request(event: Event) -> Answer:
    return _view(wiring.rights_desk.case(_one_path(event, "request_id", REQUEST_ID)))


def extend_rights_request(event: Event) -> Answer:
    from chatconsent.api.admin_models import ExtensionBody  # noqa: PLC0415

    check = _check(event)
    request_id = check.path("request_id", REQUEST_ID)
    body = check.body(ExtensionBody)
    check.done()
    assert body is not None
    return _view(wiring.rights_desk.extend(request_id, body.until, body.reason))


def close_rights_request(event: Event) -> Answer:
    from chatconsent.api.admin_models import ClosureBody  # noqa: PLC0415

    check = _check(event)
    request_id = check.path("request_id", REQUEST_ID)
    body = check.body(ClosureBody)
    check.done()
    assert body is not None
    case = wiring.rights_desk.close(request_id, body.outcome, body.reason)
    metrics.add_metric(name=f"RightsRequest_{body.outcome.value}", unit=MetricUnit.Count, value=1)
    return _view(case)


def restrict_subject(event: Event) -> Answer:
    case = wiring.rights_desk.restrict(_one_path(event, "request_id", REQUEST_ID))
    metrics.add_metric(name="SubjectRestricted", unit=MetricUnit.Count, value=1)
    return _view(case)


def lift_restriction(event: Event) -> Answer:
    wiring.rights_desk.lift(_subject(event))
    metrics.add_metric(name="RestrictionLifted", unit=MetricUnit.Count, value=1)
    return answer(204, JSON, "")


ROUTES: dict[str, Callable[[Event], Answer]] = {
    "GET /admin/subjects/{subject}/consents": consents,
    "GET /admin/conversations": conversations,
    "GET /admin/subjects/{subject}/messages": conversation,
    "POST /admin/subjects/{subject}/messages": reply,
    "POST /admin/subjects/{subject}/withdrawal": withdraw,
    "GET /admin/subjects/{subject}/export": export,
    "DELETE /admin/subjects/{subject}": erase,
    "GET /admin/audit/{day}": audit_trail,
    "POST /admin/rights": register_rights_request,
    "GET /admin/rights": open_rights_requests,
    "GET /admin/rights/{request_id}": rights_request,
    "POST /admin/rights/{request_id}/extension": extend_rights_request,
    "POST /admin/rights/{request_id}/closure": close_rights_request,
    "POST /admin/rights/{request_id}/restriction": restrict_subject,
    "DELETE /admin/subjects/{subject}/restriction": lift_restriction,
}


# -- the audit trail and errors: one place each ----------------------------------------------------


def audit_ref(subject: str) -> str:
    """How the audit trail names a subject: ask for the trail of one person with this."""
    return wiring.pseudonymizer.audit_ref(subject)


def record_action(event: Event, status: int) -> None:
    """One trail entry per request, with the status it is answered with (refused by validation, by an
    error or by the route alike); the subject only as its audit reference."""
    subject = (event.get("pathParameters") or {}).get("subject") or _acted_on["subject"] or ""
    subject_ref = audit_ref(subject) if re.fullmatch(r"[0-9a-f]{64}", subject) else None
    wiring.store.audit.record(principal(event), str(event.get("routeKey", "")), subject_ref, status)


def _counted(error: Exception) -> Answer | None:
    """A refused reply is counted; every error gets the common answer."""
    if isinstance(error, ReplyRefused):
        metrics.add_metric(name="ReplyRefused", unit=MetricUnit.Count, value=1)
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _acted_on["subject"] = None
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:  # refused before any parsing, recorded all the same
        record_action(event, refused.status)
        return rejected_response(refused)
    try:
        response = route_request(ROUTES, event, _counted)
    except Exception:
        record_action(event, 500)
        raise
    record_action(event, response["statusCode"])  # before the answer leaves
    return response


# -- SnapStart: the models and pydantic built and warm (requests refused by validation) -------------------

snapshot_hooks().register_before_snapshot(
    prime,
    [
        (register_rights_request, {"body": "{}"}),
        (open_rights_requests, {"queryStringParameters": {"limit": "0"}}),
        (conversations, {"queryStringParameters": {"limit": "0"}}),
    ],
)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``)."""
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query  # noqa: PLC0415

    from chatconsent.api import admin_models as m  # noqa: PLC0415
    from chatconsent.api.requests import NO_DEFAULT, documented_routes  # noqa: PLC0415
    from chatconsent.api.requests import body_parameter as body  # noqa: PLC0415
    from chatconsent.api.requests import error_document as error  # noqa: PLC0415
    from chatconsent.api.requests import json_document as ok  # noqa: PLC0415

    subject = ("subject", Annotated[str, Path(pattern=SUBJECT, description="The subject's pseudonym")], NO_DEFAULT)
    rid = Path(pattern=REQUEST_ID, description="The rights request's id")
    request_id = ("request_id", Annotated[str, rid], NO_DEFAULT)
    day = ("day", Annotated[str, Path(pattern=DAY)], NO_DEFAULT)
    limit, any_answer = ("limit", Annotated[int, Query(ge=1, le=100)], 50), Response[Any]

    not_json = error("Not sent as JSON (Content-Type: application/json)")
    rights = {
        200: ok("The request", m.RightsRequestView),
        400: error("Not allowed as asked"),
        404: error("No such request"),
        409: error("Its state does not allow it"),
    }
    declared: Any = (  # method, path, summary, the route's function, its parameters, its answer, its responses
        ("GET", "/admin/subjects/<subject>/consents", "Consent state and ledger verification",
         consents, [subject], m.ConsentView, None),
        ("GET", "/admin/conversations", "Conversations by latest activity, newest first",
         conversations, [("limit", Annotated[int, Query(ge=1, le=100)], 25),
                         ("cursor", Annotated[str | None, Query(max_length=2048)], None)], any_answer,
         {200: ok("A page", m.ConversationList), 400: error("Bad cursor")}),
        ("GET", "/admin/subjects/<subject>/messages", "The subject's conversation, decrypted",
         conversation, [subject], m.ConversationView, None),
        ("POST", "/admin/subjects/<subject>/messages", "Reply to the subject",
         reply, [subject, body(m.ReplyBody)], any_answer,
         {201: ok("Queued: sent in a moment", m.ReplyQueued),
          200: ok("A reply with this id was queued before: nothing more", m.ReplyQueued),
          400: error("Unknown template or wrong parameters"), 409: error("Refused"), 415: not_json}),
        ("POST", "/admin/subjects/<subject>/withdrawal",
         "Withdraw consent on the person's behalf (per purpose, or all)",
         withdraw, [subject, body(m.WithdrawalBody)], any_answer,
         {200: ok("Done (also when nothing was left to withdraw)", m.WithdrawalDone),
          400: error("Unknown purpose"), 415: not_json}),
        ("GET", "/admin/subjects/<subject>/export", "Art. 15 export: every item about the subject",
         export, [subject], dict[str, Any], None),
        ("DELETE", "/admin/subjects/<subject>", "Art. 17 erasure: delete everything, shred the key",
         erase, [subject], m.ErasureReceipt, None),
        ("GET", "/admin/audit/<day>", "The audit trail of one UTC day (who did what, when)",
         audit_trail, [day], m.AuditDay, None),
        ("POST", "/admin/rights", "Register a rights request received by e-mail or post (deadline: one month)",
         register_rights_request, [body(m.RightsRequestBody)], any_answer,
         {201: ok("Registered", m.RightsRequestView), 400: error("Not a valid number or date")}),
        ("GET", "/admin/rights", "Open rights requests, nearest deadline first",
         open_rights_requests, [limit], m.RightsRequestList, None),
        ("GET", "/admin/rights/<request_id>", "One rights request, its notes opened",
         rights_request, [request_id], any_answer, rights),
        ("POST", "/admin/rights/<request_id>/extension",
         "Extend the deadline once, by up to two further months, with a reason",
         extend_rights_request, [request_id, body(m.ExtensionBody)], any_answer, rights),
        ("POST", "/admin/rights/<request_id>/closure", "Close the request: done, or refused with a reason",
         close_rights_request, [request_id, body(m.ClosureBody)], any_answer, rights),
        ("POST", "/admin/rights/<request_id>/restriction",
         "Accept a restriction request (Art. 18): the subject's data is only stored from now on",
         restrict_subject, [request_id], any_answer, rights),
        ("DELETE", "/admin/subjects/<subject>/restriction", "Lift the restriction (tell the person first, Art. 18(3))",
         lift_restriction, [subject], any_answer, {204: {"description": "Lifted"}, 404: error("Not restricted")}),
    )  # fmt: skip
    app: APIGatewayHttpResolver = documented_routes(declared)
    return app
