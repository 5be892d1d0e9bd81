"""Admin API for agents (IAM-authorised routes): consent state, the conversation, replies, rights.

Subjects are addressed by pseudonym only (the rights desk takes a number once, to find the
pseudonym, and keeps nothing of it but the pseudonym). Replies are refused without an active consent (for a
template, the consent its category needs: a marketing template, the campaigns' purpose) and,
outside WhatsApp's 24-hour window, free text is refused (409 with the reason). Every action is
recorded in the audit trail (who, what, when, outcome; the subject as a keyed hash).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatconsent.agents import ReplyRefused
from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.errors import ErrorBody, domain_error_response, register_error_handlers
from chatconsent.errors import InvalidInput
from chatconsent.rights_desk import Closing, RequestType, RightsAsk, RightsCase
from chatconsent.store import RightsRequest
from chatconsent.wiring import Wiring

logger = Logger(service="admin")
metrics = Metrics(service="admin")
app = APIGatewayHttpResolver(enable_validation=True)
wiring = Wiring()

Subject = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The subject's pseudonym")]
RequestId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="The rights request's id")]
BAD_CURSOR = "cursor: not one this API handed out"
_acted_on: dict[str, str | None] = {"subject": None}  # the subject a route without it in its path acted on


# -- errors ----------------------------------------------------------------------------------------

register_error_handlers(app, parses_json=True)


@app.exception_handler(ReplyRefused)
def _reply_refused(error: ReplyRefused) -> Response[Any]:
    metrics.add_metric(name="ReplyRefused", unit=MetricUnit.Count, value=1)
    return domain_error_response(error)


# -- the API's models ------------------------------------------------------------------------------


class ConsentView(BaseModel):
    purposes: dict[str, str] = Field(description="State per purpose: pending, active, withdrawn or lapsed")
    ledger_entries: int
    ledger_verified: bool
    ledger_starts_at: int


class MessageView(BaseModel):
    at: int
    direction: Literal["in", "out"]
    kind: str
    text: str | None
    button: str | None
    media: dict[str, Any] | None = Field(description="Media metadata only (type, id, MIME type, size)")
    template: str | None
    status: str | None = Field(description="Delivery status of an outbound message")
    expires_at: int


class ConversationSummaryView(BaseModel):
    subject: str
    last_activity: int
    last_inbound_at: int | None
    messages_in: int
    window_open: bool = Field(description="Within WhatsApp's 24-hour window: free text may be sent")


class ConversationList(BaseModel):
    conversations: list[ConversationSummaryView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ConversationView(BaseModel):
    messages: list[MessageView]


class TemplateReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    parameters: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default_factory=list, max_length=10)


class ReplyBody(BaseModel):
    """Free text (within the 24-hour window) or a configured template (at any time)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=4096)
    template: TemplateReply | None = None
    reply_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The client's id for this reply: sending it again with the same id queues nothing more",
    )

    @model_validator(mode="after")
    def _one_of(self) -> ReplyBody:
        if (self.text is None) == (self.template is None):
            raise ValueError("send either text or template")
        return self


class ReplyQueued(BaseModel):
    reply_id: str = Field(description="The reply's id (the client's, or a new one)")
    status: Literal["queued", "queued_before"] = Field(
        description="queued: it will be sent in a moment; queued_before: a reply with this id was queued already"
    )


@app.get("/admin/subjects/<subject>/consents", summary="Consent state and ledger verification")
def consents(subject: Subject) -> ConsentView:
    state = wiring.consents.state(subject)
    proof = wiring.consents.proof(subject)
    return ConsentView(
        purposes={purpose: record.state.value for purpose, record in state.consents.items()},
        ledger_entries=len(proof.entries),
        ledger_verified=proof.verification.ok,
        ledger_starts_at=proof.verification.starts_at,
    )


@app.get(
    "/admin/conversations",
    summary="Conversations by latest activity, newest first",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": ConversationList}}},
        400: {"description": "Bad cursor", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def conversations(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[Any]:
    page, next_cursor = wiring.agents.conversations(limit, _decode_cursor(cursor) if cursor else None)
    body = ConversationList(
        conversations=[ConversationSummaryView(**vars(s)) for s in page],
        next_cursor=_encode_cursor(next_cursor) if next_cursor else None,
    )
    return Response(200, content_types.APPLICATION_JSON, body.model_dump_json())


def _encode_cursor(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(decoded, dict):
        raise InvalidInput(BAD_CURSOR)
    return decoded


@app.get("/admin/subjects/<subject>/messages", summary="The subject's conversation, decrypted")
def conversation(subject: Subject) -> ConversationView:
    messages = wiring.agents.conversation(subject)
    return ConversationView(messages=[MessageView(**vars(m)) for m in messages])


@app.post(
    "/admin/subjects/<subject>/messages",
    summary="Reply to the subject",
    responses={
        201: {"description": "Queued: sent in a moment", "content": {"application/json": {"model": ReplyQueued}}},
        200: {
            "description": "A reply with this id was queued before: nothing more",
            "content": {"application/json": {"model": ReplyQueued}},
        },
        400: {
            "description": "Unknown template or wrong parameters",
            "content": {"application/json": {"model": ErrorBody}},
        },
        409: {"description": "Refused", "content": {"application/json": {"model": ErrorBody}}},
        415: {
            "description": "Not sent as JSON (Content-Type: application/json)",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def reply(subject: Subject, body: Annotated[ReplyBody, Body()]) -> Response[Any]:
    desk = wiring.agents
    if body.template is not None:
        queued = desk.reply_template(subject, body.template.name, body.template.parameters, body.reply_id)
    else:
        queued = desk.reply(subject, body.text or "", body.reply_id)
    metrics.add_metric(name="ReplyQueued" if queued.new else "ReplyQueuedBefore", unit=MetricUnit.Count, value=1)
    logger.info("agent reply queued", extra={"agent": _agent(), "new": queued.new})
    view = ReplyQueued(reply_id=queued.reply_id, status="queued" if queued.new else "queued_before")
    return Response(201 if queued.new else 200, content_types.APPLICATION_JSON, view)


class WithdrawalBody(BaseModel):
    """The purposes to withdraw; none given withdraws every purpose (and blocks re-contact)."""

    model_config = ConfigDict(extra="forbid")

    purposes: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]] | None = Field(
        default=None, min_length=1, max_length=10
    )


class WithdrawalDone(BaseModel):
    withdrawn: list[str] = Field(description="Purposes that changed; empty when nothing was active or pending")


@app.post(
    "/admin/subjects/<subject>/withdrawal",
    summary="Withdraw consent on the person's behalf (per purpose, or all)",
    responses={
        200: {
            "description": "Done (also when nothing was left to withdraw)",
            "content": {"application/json": {"model": WithdrawalDone}},
        },
        400: {"description": "Unknown purpose", "content": {"application/json": {"model": ErrorBody}}},
        415: {
            "description": "Not sent as JSON (Content-Type: application/json)",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def withdraw(subject: Subject, body: Annotated[WithdrawalBody, Body()]) -> Response[Any]:
    changed = wiring.agents.withdraw(subject, body.purposes)
    metrics.add_metric(name="AdminWithdrawal", unit=MetricUnit.Count, value=1)
    done = WithdrawalDone(withdrawn=[p for p in changed if p != "link"])
    return Response(200, content_types.APPLICATION_JSON, done.model_dump_json())


@app.get("/admin/subjects/<subject>/export", summary="Art. 15 export: every item about the subject")
def export(subject: Subject) -> dict[str, Any]:
    document = wiring.rights.export(subject)
    logger.info("subject exported", extra={"agent": _agent()})
    return document


class ErasureReceipt(BaseModel):
    erased: dict[str, int] = Field(description="Items erased per kind; the data key is shredded")


@app.delete("/admin/subjects/<subject>", summary="Art. 17 erasure: delete everything, shred the key")
def erase(subject: Subject) -> ErasureReceipt:
    counts = wiring.rights.erase(subject)
    metrics.add_metric(name="SubjectErased", unit=MetricUnit.Count, value=1)
    logger.info("subject erased", extra={"agent": _agent(), "counts": counts})
    return ErasureReceipt(erased=counts)


class AuditEntry(BaseModel):
    at: int
    actor: str = Field(description="The IAM principal that acted; data_subject: the person downloaded their copy")
    action: str = Field(description="The route, e.g. DELETE /admin/subjects/{subject}")
    subject_ref: str | None = Field(description="Keyed hash of the subject (not the pseudonym), if any")
    status: int


class AuditDay(BaseModel):
    day: str
    entries: list[AuditEntry]


@app.get("/admin/audit/<day>", summary="The audit trail of one UTC day (who did what, when)")
def audit_trail(day: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$")]) -> AuditDay:
    entries = [
        AuditEntry(at=r.at, actor=r.actor, action=r.action, subject_ref=r.subject_ref, status=r.status)
        for r in wiring.store.audit.day(day)
    ]
    return AuditDay(day=day, entries=entries)


# -- the rights desk: requests received by e-mail or post ----------------------------------------

FreeText = Annotated[str, Field(min_length=1, max_length=2000)]


class RightsRequestBody(BaseModel):
    """A request as it arrived: the person's number (any notation), its type and arrival date, and how
    their identity was checked (personal data: sealed, shown only in the request's own view)."""

    model_config = ConfigDict(extra="forbid")

    type: RequestType
    address: str = Field(min_length=3, max_length=40, description="The person's number, e.g. +49 151 2345678")
    channel: Literal["whatsapp"] = "whatsapp"
    received_on: date = Field(description="The day the request arrived (ISO 8601 date)")
    identity_check: FreeText


class ExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: date = Field(description="The new deadline: at most two months after the first one")
    reason: FreeText


class ClosureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Closing
    reason: FreeText | None = Field(default=None, description="Required for a refusal (told to the person)")


class RightsRequestSummary(BaseModel):
    request_id: str
    type: str
    subject: str
    received_on: str
    due_on: str = Field(description="The Art. 12(3) deadline (extended, once, if status is extended)")
    latest_on: str = Field(description="The furthest an extension may go")
    status: str = Field(description="open, extended, done or refused")
    overdue: bool


class RightsRequestView(RightsRequestSummary):
    registered_at: int
    registered_by: str
    identity_check: str | None
    extended_at: int | None
    extension_reason: str | None
    closed_at: int | None
    closing_reason: str | None
    subject_known: bool | None = Field(default=None, description="At registration: whether anything is stored")


class RightsRequestList(BaseModel):
    requests: list[RightsRequestSummary] = Field(description="Open requests, nearest deadline first")


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


def _view(case: RightsCase, status: int = 200) -> Response[Any]:
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
    return Response(status, content_types.APPLICATION_JSON, view.model_dump_json())


_RIGHTS_ANSWERS: dict[int, OpenAPIResponse] = {
    200: {"description": "The request", "content": {"application/json": {"model": RightsRequestView}}},
    400: {"description": "Not allowed as asked", "content": {"application/json": {"model": ErrorBody}}},
    404: {"description": "No such request", "content": {"application/json": {"model": ErrorBody}}},
    409: {"description": "Its state does not allow it", "content": {"application/json": {"model": ErrorBody}}},
}


@app.post(
    "/admin/rights",
    summary="Register a rights request received by e-mail or post (deadline: one month)",
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": RightsRequestView}}},
        400: {"description": "Not a valid number or date", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def register_rights_request(body: Annotated[RightsRequestBody, Body()]) -> Response[Any]:
    ask = RightsAsk(body.type, body.address, body.channel, body.received_on, body.identity_check, _agent())
    case = wiring.rights_desk.register(ask)
    metrics.add_metric(name="RightsRequestRegistered", unit=MetricUnit.Count, value=1)
    return _view(case, 201)


@app.get("/admin/rights", summary="Open rights requests, nearest deadline first")
def open_rights_requests(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> RightsRequestList:
    requests = wiring.rights_desk.open_requests(limit)
    return RightsRequestList(requests=[RightsRequestSummary(**_summary(r)) for r in requests])


@app.get("/admin/rights/<request_id>", summary="One rights request, its notes opened", responses=_RIGHTS_ANSWERS)
def rights_request(request_id: RequestId) -> Response[Any]:
    return _view(wiring.rights_desk.case(request_id))


@app.post(
    "/admin/rights/<request_id>/extension",
    summary="Extend the deadline once, by up to two further months, with a reason",
    responses=_RIGHTS_ANSWERS,
)
def extend_rights_request(request_id: RequestId, body: Annotated[ExtensionBody, Body()]) -> Response[Any]:
    return _view(wiring.rights_desk.extend(request_id, body.until, body.reason))


@app.post(
    "/admin/rights/<request_id>/closure",
    summary="Close the request: done, or refused with a reason",
    responses=_RIGHTS_ANSWERS,
)
def close_rights_request(request_id: RequestId, body: Annotated[ClosureBody, Body()]) -> Response[Any]:
    case = wiring.rights_desk.close(request_id, body.outcome, body.reason)
    metrics.add_metric(name=f"RightsRequest_{body.outcome.value}", unit=MetricUnit.Count, value=1)
    return _view(case)


@app.post(
    "/admin/rights/<request_id>/restriction",
    summary="Accept a restriction request (Art. 18): the subject's data is only stored from now on",
    responses=_RIGHTS_ANSWERS,
)
def restrict_subject(request_id: RequestId) -> Response[Any]:
    case = wiring.rights_desk.restrict(request_id)
    metrics.add_metric(name="SubjectRestricted", unit=MetricUnit.Count, value=1)
    return _view(case)


@app.delete(
    "/admin/subjects/<subject>/restriction",
    summary="Lift the restriction (tell the person first, Art. 18(3))",
    responses={
        204: {"description": "Lifted"},
        404: {"description": "Not restricted", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def lift_restriction(subject: Subject) -> Response[Any]:
    wiring.rights_desk.lift(subject)
    metrics.add_metric(name="RestrictionLifted", unit=MetricUnit.Count, value=1)
    return Response(204, content_types.APPLICATION_JSON, "")


def audit_ref(subject: str) -> str:
    """How the audit trail names a subject: ask for the trail of one person with this."""
    return wiring.pseudonymizer.audit_ref(subject)


def _agent(event: APIGatewayProxyEventV2 | None = None) -> str:
    """Who acted (the IAM principal), for the log and the trail: no personal data of the customer."""
    authorizer = (event or app.current_event).request_context.authorizer
    iam = getattr(authorizer, "iam", None) if authorizer else None
    return str(getattr(iam, "user_arn", "") or "local")


def record_action(event: APIGatewayProxyEventV2, status: int) -> None:
    """One trail entry per request, with the status it is answered with (refused by validation, by an
    exception handler or by the route alike); the subject only as its audit reference."""
    subject = (event.path_parameters or {}).get("subject") or _acted_on["subject"] or ""
    subject_ref = audit_ref(subject) if re.fullmatch(r"[0-9a-f]{64}", subject) else None
    wiring.store.audit.record(_agent(event), event.route_key, subject_ref, status)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    _acted_on["subject"] = None
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:  # refused before any parsing, recorded all the same
        record_action(request, refused.status)
        return rejected_response(refused)
    try:
        response = app.resolve(event, context)
    except Exception:
        record_action(request, 500)
        raise
    record_action(request, response["statusCode"])  # before the answer leaves
    return response
