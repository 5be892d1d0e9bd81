"""The agents' desk: one page for the browser and its API, signed in with Cognito.

``GET /desk`` (the page), ``/desk/assets/{name}`` and ``/desk/config.json`` are public: they hold no
data. Every ``/desk/api/*`` route sits behind the HTTP API's JWT authorizer (Cognito's issuer, the
desk client as audience), which answers 401 itself; this function reads the verified claims and
checks the user's group on every route before anything else (``ACCESS``: a route missing there is
refused): ``agents`` work the inbox, ``privacy`` reads it and has the privacy routes. Subjects are
pseudonyms (64 lowercase hex, else 400); replies are refused (409, with a machine ``refusal``) by the
same rules as the admin API's. Every request to the API except the signed-in user's own view and the
inbox list lands in the audit trail as ``desk:<user>``, with its outcome.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.agents import ReplyRefused
from chatconsent.api.body import gateway_response, refused_json_body, rejected_response
from chatconsent.api.cursors import decode_cursor, encode_cursor
from chatconsent.api.desk_claims import DeskUser, desk_user
from chatconsent.api.desk_models import (
    DeskAuditDay,
    DeskAuditEntry,
    DeskConversationView,
    DeskErasureBody,
    DeskErasureReceipt,
    DeskInbox,
    DeskInboxEntry,
    DeskLedger,
    DeskMessageView,
    DeskNotice,
    DeskProofEntry,
    DeskProofView,
    DeskRefusal,
    DeskReplyBody,
    DeskReplyOptions,
    DeskReplyQueued,
    DeskTemplateOption,
    DeskWindow,
    DeskWithdrawalBody,
    DeskWithdrawn,
    Me,
    media_view,
)
from chatconsent.api.errors import ErrorBody, error_response, register_error_handlers
from chatconsent.desk import DeskConversation, Window, interface_texts
from chatconsent.errors import InvalidInput
from chatconsent.wiring import Wiring

logger = Logger(service="desk")
metrics = Metrics(service="desk")
app = APIGatewayHttpResolver(enable_validation=True)
wiring = Wiring()

Subject = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The person's pseudonym")]
Day = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A UTC day, YYYY-MM-DD")]
AGENTS, PRIVACY = frozenset({"agents"}), frozenset({"privacy"})
BOTH = AGENTS | PRIVACY
# Who may call which API route (the groups of the signed-in user): checked before anything else.
ACCESS: dict[str, frozenset[str]] = {
    "GET /desk/api/me": BOTH,
    "GET /desk/api/conversations": BOTH,
    "GET /desk/api/conversations/{subject}": BOTH,
    "POST /desk/api/conversations/{subject}/replies": AGENTS,
    "POST /desk/api/conversations/{subject}/withdrawals": AGENTS,
    "GET /desk/api/privacy/subjects/{subject}/proof": PRIVACY,
    "GET /desk/api/privacy/subjects/{subject}/export": PRIVACY,
    "DELETE /desk/api/privacy/subjects/{subject}": PRIVACY,
    "GET /desk/api/privacy/audit/{day}": PRIVACY,
}
NOT_AUDITED = frozenset({"GET /desk/api/me", "GET /desk/api/conversations"})  # polled; no one person's data

# -- the page: read once per container ---------------------------------------------------------------

PAGE_DIR = FilePath(__file__).with_name("page")
PAGE_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "desk.js": "text/javascript; charset=utf-8",
    "desk.css": "text/css; charset=utf-8",
}
ASSETS = ("desk.js", "desk.css")


def read_page(directory: FilePath) -> dict[str, str]:
    """The page's files that exist (a missing one is answered 404)."""
    return {name: (directory / name).read_text("utf-8") for name in PAGE_TYPES if (directory / name).is_file()}


PAGE = read_page(PAGE_DIR)


# -- errors ----------------------------------------------------------------------------------------

register_error_handlers(app, parses_json=True)


def _where(location: Any) -> str:
    return ".".join(str(part) for part in location if part not in ("body", "path", "query"))


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Any]:
    """400 with where and what was wrong, never the input itself (it may hold a message)."""
    problems = [f"{_where(e.get('loc', ()))}: {e.get('msg', '')}" for e in error.errors()[:5]]
    return error_response(400, "; ".join(problems) or "invalid request")


@app.exception_handler(ReplyRefused)
def _reply_refused(error: ReplyRefused) -> Response[Any]:
    metrics.add_metric(name="DeskReplyRefused", unit=MetricUnit.Count, value=1)
    body = DeskRefusal(error=error.reason, refusal=error.refusal)
    return Response(409, content_types.APPLICATION_JSON, body.model_dump_json())


# -- the page --------------------------------------------------------------------------------------


def _origins() -> str:
    """The sign-in endpoints' origins (Cognito's hosted domain), for the page's connect and form rules."""
    settings = wiring.settings
    urls = (settings.desk_authorize_url, settings.desk_token_url, settings.desk_logout_url)
    found = dict.fromkeys(f"{p.scheme}://{p.netloc}" for p in map(urlsplit, filter(None, urls)) if p.netloc)
    return " ".join(found)


def _page_headers() -> dict[str, str]:
    origins = _origins()
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {origins}; form-action {origins} 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": re.sub(r" +", " ", policy),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _file(name: str) -> Response[Any]:
    if name not in PAGE:
        return error_response(404, "no such file")
    return Response(200, PAGE_TYPES[name], PAGE[name], _page_headers())


@app.get(
    "/desk",
    summary="The desk page (sign-in, inbox, conversation, privacy view)",
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
def page() -> Response[Any]:
    return _file("index.html")


@app.get(
    "/desk/assets/<name>",
    summary="The page's script and style sheet",
    responses={
        200: {"description": "desk.js or desk.css", "content": {"text/javascript": {}, "text/css": {}}},
        404: {"description": "No such file", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def asset(name: Annotated[str, Path(description="desk.js or desk.css")]) -> Response[Any]:
    return _file(name) if name in ASSETS else error_response(404, "no such file")


@app.get("/desk/config.json", summary="Where the page signs in, and its interface texts")
def config() -> Response[Any]:
    s = wiring.settings
    body = {
        "authorize_url": s.desk_authorize_url,
        "token_url": s.desk_token_url,
        "logout_url": s.desk_logout_url,
        "client_id": s.desk_client_id,
        "redirect_uri": s.desk_redirect_uri,
        "scopes": "openid email profile",
        "texts": interface_texts(),
        "purposes": {p.id: dict(p.title) for p in wiring.config.purposes},
    }
    return Response(200, content_types.APPLICATION_JSON, json.dumps(body), {"Cache-Control": "no-store"})


# -- the inbox and a conversation (agents; privacy reads) ----------------------------------------------


_FORBIDDEN: dict[int, Any] = {
    401: {
        "description": "No valid token (answered by the JWT authorizer before the function runs)",
        "content": {"application/json": {"model": ErrorBody}},
    },
    403: {"description": "Not for the user's group", "content": {"application/json": {"model": ErrorBody}}},
}


@app.get(
    "/desk/api/me",
    summary="The signed-in user and what the page may offer them",
    responses={200: {"description": "The user", "content": {"application/json": {"model": Me}}}, **_FORBIDDEN},
)
def me() -> Me:
    user = desk_user(app.current_event.raw_event)
    agent = user.member_of("agents")
    return Me(
        user=user.name,
        groups=list(user.groups),
        can={"reply": agent, "withdraw": agent, "privacy": user.member_of("privacy")},
    )


def _window(window: Window) -> DeskWindow:
    return DeskWindow(applies=window.applies, open=window.open, closes_at=window.closes_at)


@app.get(
    "/desk/api/conversations",
    summary="Conversations by latest activity, newest first",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": DeskInbox}}},
        400: {"description": "Bad cursor or limit", "content": {"application/json": {"model": ErrorBody}}},
        **_FORBIDDEN,
    },
)
def conversations(
    limit: Annotated[int, Query(ge=1, le=50)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[Any]:
    entries, next_cursor = wiring.desk.inbox(limit, decode_cursor(cursor) if cursor else None)
    body = DeskInbox(
        conversations=[DeskInboxEntry(**{**vars(e), "window": _window(e.window)}) for e in entries],
        next_cursor=encode_cursor(next_cursor) if next_cursor else None,
    )
    return Response(200, content_types.APPLICATION_JSON, body.model_dump_json())


def _conversation_view(c: DeskConversation) -> DeskConversationView:
    reply = DeskReplyOptions(
        text_allowed=c.reply.text_allowed,
        refusal=c.reply.refusal,
        templates=[DeskTemplateOption(**vars(t)) for t in c.reply.templates],
    )
    messages = [DeskMessageView(**{**vars(m), "media": media_view(m.media)}) for m in c.messages]
    return DeskConversationView(
        subject=c.subject,
        alias=c.alias,
        channel=c.channel,
        purposes=c.purposes,
        window=_window(c.window),
        messages=messages,
        reply=reply,
    )


_SUBJECT_ANSWERS: dict[int, Any] = {
    400: {"description": "Not a pseudonym, or a wrong body", "content": {"application/json": {"model": ErrorBody}}},
    **_FORBIDDEN,
    404: {"description": "No such person", "content": {"application/json": {"model": ErrorBody}}},
    410: {"description": "The person's data was erased", "content": {"application/json": {"model": ErrorBody}}},
}


@app.get(
    "/desk/api/conversations/<subject>",
    summary="One conversation: both directions, the consents, the window and what a reply may be",
    responses={
        200: {"description": "The conversation", "content": {"application/json": {"model": DeskConversationView}}},
        **_SUBJECT_ANSWERS,
    },
)
def conversation(subject: Subject) -> Response[Any]:
    view = _conversation_view(wiring.desk.conversation(subject))
    return Response(200, content_types.APPLICATION_JSON, view.model_dump_json())


@app.post(
    "/desk/api/conversations/<subject>/replies",
    summary="Reply: free text inside the window, or a configured template",
    responses={
        201: {"description": "Queued: sent in a moment", "content": {"application/json": {"model": DeskReplyQueued}}},
        200: {
            "description": "Queued before under this reply_id",
            "content": {"application/json": {"model": DeskReplyQueued}},
        },
        409: {"description": "Refused, with the reason", "content": {"application/json": {"model": DeskRefusal}}},
        **_SUBJECT_ANSWERS,
    },
)
def reply(subject: Subject, body: Annotated[DeskReplyBody, Body()]) -> Response[Any]:
    wiring.desk.require_known(subject)
    agents = wiring.agents
    if body.template is not None:
        queued = agents.reply_template(subject, body.template.name, body.template.parameters, body.reply_id)
    else:
        queued = agents.reply(subject, body.text or "", body.reply_id)
    metrics.add_metric(
        name="DeskReplyQueued" if queued.new else "DeskReplyQueuedBefore", unit=MetricUnit.Count, value=1
    )
    view = DeskReplyQueued(reply_id=queued.reply_id, status="queued" if queued.new else "queued_before")
    return Response(201 if queued.new else 200, content_types.APPLICATION_JSON, view.model_dump_json())


@app.post(
    "/desk/api/conversations/<subject>/withdrawals",
    summary="Withdraw consent on the person's behalf, per purpose or all (confirm: true)",
    responses={
        200: {"description": "Done", "content": {"application/json": {"model": DeskWithdrawn}}},
        **_SUBJECT_ANSWERS,
    },
)
def withdraw(subject: Subject, body: Annotated[DeskWithdrawalBody, Body()]) -> Response[Any]:
    if body.confirm is not True:
        raise InvalidInput("confirm: must be true (the agent confirmed the withdrawal)")
    purposes = None if body.purposes == "all" else list(body.purposes)
    changed = wiring.desk.withdraw(subject, purposes)
    metrics.add_metric(name="DeskWithdrawal", unit=MetricUnit.Count, value=1)
    return Response(200, content_types.APPLICATION_JSON, DeskWithdrawn(withdrawn=changed).model_dump_json())


# -- the privacy officer's view ----------------------------------------------------------------------


@app.get(
    "/desk/api/privacy/subjects/<subject>/proof",
    summary="Consent proof: ledger entries, verification, the notice texts they refer to",
    responses={
        200: {"description": "The proof", "content": {"application/json": {"model": DeskProofView}}},
        **_SUBJECT_ANSWERS,
    },
)
def proof(subject: Subject) -> Response[Any]:
    p = wiring.desk.proof(subject)
    view = DeskProofView(
        subject=p.subject,
        alias=p.alias,
        purposes=p.purposes,
        ledger=DeskLedger(verified=p.verified, entries=[DeskProofEntry(**vars(e)) for e in p.entries]),
        notices=[DeskNotice(**vars(n)) for n in p.notices],
    )
    return Response(200, content_types.APPLICATION_JSON, view.model_dump_json())


@app.get(
    "/desk/api/privacy/subjects/<subject>/export",
    summary="Art. 15 export as a JSON download",
    responses={200: {"description": "The export (attachment)"}, **_SUBJECT_ANSWERS},
)
def export(subject: Subject) -> Response[Any]:
    document = wiring.desk.export(subject)
    headers = {
        "Content-Disposition": f'attachment; filename="export-{wiring.desk.alias(subject)}.json"',
        "Cache-Control": "no-store",
    }
    return Response(200, content_types.APPLICATION_JSON, json.dumps(document, ensure_ascii=False), headers)


@app.delete(
    "/desk/api/privacy/subjects/<subject>",
    summary="Art. 17 erasure, confirmed by typing the person's alias",
    responses={
        200: {"description": "Erased", "content": {"application/json": {"model": DeskErasureReceipt}}},
        **_SUBJECT_ANSWERS,
    },
)
def erase(subject: Subject, body: Annotated[DeskErasureBody, Body()]) -> Response[Any]:
    counts = wiring.desk.erase(subject, body.confirm)
    metrics.add_metric(name="DeskSubjectErased", unit=MetricUnit.Count, value=1)
    return Response(200, content_types.APPLICATION_JSON, DeskErasureReceipt(erased=counts).model_dump_json())


@app.get(
    "/desk/api/privacy/audit/<day>",
    summary="The audit trail of one UTC day",
    responses={
        200: {"description": "The day's entries", "content": {"application/json": {"model": DeskAuditDay}}},
        400: {"description": "Not a day", "content": {"application/json": {"model": ErrorBody}}},
        **_FORBIDDEN,
    },
)
def audit_trail(day: Day) -> DeskAuditDay:
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidInput("day: not a calendar day") from None
    entries = [
        DeskAuditEntry(at=r.at, actor=r.actor, action=r.action, subject_ref=r.subject_ref, status=r.status)
        for r in wiring.store.audit.day(day)
    ]
    return DeskAuditDay(day=day, entries=entries)


class _DocumentedApp:
    """The resolver as the OpenAPI document shows it: without the 422 it adds to every route (this API answers
    a request its models refuse with 400 and the one error body)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = app.get_openapi_schema(**kwargs)
        for item in (schema.paths or {}).values():
            for operation in (item.get, item.post, item.delete):
                if operation is not None and operation.responses is not None:
                    operation.responses.pop(422, None)
        return schema


def openapi_app() -> _DocumentedApp:
    """What ``tools/openapi.py`` documents (nothing else uses it)."""
    return _DocumentedApp()


# -- the group check and the trail ---------------------------------------------------------------------


def refused_group(route_key: str, user: DeskUser) -> dict[str, Any] | None:
    """403 unless the user is in a group the route allows (a route not in ``ACCESS`` allows nobody)."""
    if not route_key.split(" ", 1)[-1].startswith("/desk/api/"):
        return None
    if ACCESS.get(route_key, frozenset()).isdisjoint(user.groups):
        body = json.dumps({"error": "your group may not use this"})
        return gateway_response(403, content_types.APPLICATION_JSON, body, {"Cache-Control": "no-store"})
    return None


def record_action(event: dict[str, Any], user: DeskUser, status: int) -> None:
    """One trail entry per API request (but the polled ones that succeed), the subject as its audit reference."""
    route_key = str(event.get("routeKey", ""))
    if not route_key.split(" ", 1)[-1].startswith("/desk/api/") or (route_key in NOT_AUDITED and status < 300):
        return
    subject = str((event.get("pathParameters") or {}).get("subject") or "")
    subject_ref = wiring.pseudonymizer.audit_ref(subject) if re.fullmatch(r"[0-9a-f]{64}", subject) else None
    wiring.store.audit.record(user.actor, route_key, subject_ref, status)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    user = desk_user(event)
    refused = refused_group(str(event.get("routeKey", "")), user)
    if refused is not None:
        metrics.add_metric(name="DeskForbidden", unit=MetricUnit.Count, value=1)
        record_action(event, user, 403)
        return refused
    rejected = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if rejected is not None:
        record_action(event, user, rejected.status)
        return rejected_response(rejected)
    try:
        response = app.resolve(event, context)
    except Exception:
        record_action(event, user, 500)
        raise
    record_action(event, user, response["statusCode"])  # before the answer leaves
    return response
