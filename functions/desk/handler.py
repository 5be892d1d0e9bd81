"""The agents' desk: one page for the browser and its API, signed in with Cognito.

``GET /desk`` (the page), ``/desk/assets/{name}`` and ``/desk/config.json`` are public: they hold no
data. Every ``/desk/api/*`` route sits behind the HTTP API's JWT authorizer (Cognito's issuer, the
desk client as audience), which answers 401 itself; this function reads the verified claims and
checks the user's group on every route before anything else (``ACCESS``: a route missing there is
refused): ``agents`` work the inbox, ``privacy`` reads it and has the privacy routes. Subjects are
pseudonyms (64 lowercase hex, else 400); replies are refused (409, with a machine ``refusal``) by the
same rules as the admin API's. Every request to the API except the signed-in user's own view and the
inbox list lands in the audit trail as ``desk:<user>``, with its outcome.

The lean path (as the admin API's): the routes are routed on API Gateway's ``routeKey`` without
Powertools' resolver; the models (``chatconsent.api.desk_models``, pydantic) are loaded on the first
request and before a SnapStart snapshot, and check the path, query and body as the resolver did
(``chatconsent.api.requests``), a request they refuse answered 400 with where and what was wrong.
``openapi_app`` declares the same routes with the same models for the OpenAPI document
(``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.agents import ReplyRefused
from chatconsent.api.answers import JSON, answer, error_answer, json_answer
from chatconsent.api.body import gateway_response, refused_json_body, rejected_response
from chatconsent.api.cursors import decode_cursor, encode_cursor
from chatconsent.api.desk_claims import DeskUser, desk_user
from chatconsent.api.requests import Invalid, RequestCheck, prime
from chatconsent.api.routing import Answer, Event, route_request
from chatconsent.desk import interface_texts
from chatconsent.errors import InvalidInput
from chatconsent.snapshot import snapshot_hooks
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from chatconsent.agents import Window
    from chatconsent.api.desk_models import DeskConversationView, DeskWindow
    from chatconsent.desk import DeskConversation

logger = Logger(service="desk")
metrics = Metrics(service="desk")
wiring = Wiring()

SUBJECT = r"^[0-9a-f]{64}$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
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


def _file(name: str) -> Answer:
    if name not in PAGE:
        return error_answer(404, "no such file")
    return answer(200, PAGE_TYPES[name], PAGE[name], _page_headers())


def page(event: Event) -> Answer:
    return _file("index.html")


def asset(event: Event) -> Answer:
    name = str((event.get("pathParameters") or {}).get("name", ""))
    return _file(name) if name in ASSETS else error_answer(404, "no such file")


def config(event: Event) -> Answer:
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
    return answer(200, JSON, json.dumps(body), {"Cache-Control": "no-store"})


# -- the inbox and a conversation (agents; privacy reads) ----------------------------------------------


def _check(event: Event) -> RequestCheck:
    return RequestCheck(event, wiring.config.limits.max_api_body_bytes)


def _subject(event: Event) -> str:
    check = _check(event)
    subject = check.path("subject", SUBJECT)
    check.done()
    return subject


def _json(view: Any, status: int = 200) -> Answer:
    """A model as pydantic writes it (``model_dump_json``: compact, UTF-8)."""
    return answer(status, JSON, view.model_dump_json())


def me(event: Event) -> Answer:
    from chatconsent.api.desk_models import Me  # noqa: PLC0415 (pydantic: on the first request)

    user = desk_user(event)
    agent = user.member_of("agents")
    can = {"reply": agent, "withdraw": agent, "privacy": user.member_of("privacy")}
    return json_answer(200, Me(user=user.name, groups=list(user.groups), can=can).model_dump(mode="json"))


def _window(window: Window) -> DeskWindow:
    from chatconsent.api.desk_models import DeskWindow  # noqa: PLC0415

    return DeskWindow(applies=window.applies, open=window.open, closes_at=window.closes_at)


def conversations(event: Event) -> Answer:
    from typing import Annotated  # noqa: PLC0415

    from pydantic import Field  # noqa: PLC0415

    from chatconsent.api.desk_models import DeskInbox, DeskInboxEntry  # noqa: PLC0415

    check = _check(event)
    limit = check.query("limit", Annotated[int, Field(ge=1, le=50)], 25)
    cursor = check.query("cursor", Annotated[str | None, Field(max_length=2048)], None)
    check.done()
    entries, next_cursor = wiring.desk.inbox(limit, decode_cursor(cursor) if cursor else None)
    body = DeskInbox(
        conversations=[DeskInboxEntry(**{**vars(e), "window": _window(e.window)}) for e in entries],
        next_cursor=encode_cursor(next_cursor) if next_cursor else None,
    )
    return _json(body)


def _conversation_view(c: DeskConversation) -> DeskConversationView:
    from chatconsent.api import desk_models as m  # noqa: PLC0415

    reply = m.DeskReplyOptions(
        text_allowed=c.reply.text_allowed,
        refusal=c.reply.refusal,
        templates=[m.DeskTemplateOption(**vars(t)) for t in c.reply.templates],
    )
    messages = [m.DeskMessageView(**{**vars(msg), "media": m.media_view(msg.media)}) for msg in c.messages]
    return m.DeskConversationView(
        subject=c.subject,
        alias=c.alias,
        channel=c.channel,
        purposes=c.purposes,
        window=_window(c.window),
        messages=messages,
        reply=reply,
    )


def conversation(event: Event) -> Answer:
    return _json(_conversation_view(wiring.desk.conversation(_subject(event))))


def reply(event: Event) -> Answer:
    from chatconsent.api.desk_models import DeskReplyBody, DeskReplyQueued  # noqa: PLC0415

    check = _check(event)
    subject = check.path("subject", SUBJECT)
    body = check.body(DeskReplyBody)
    check.done()
    assert body is not None
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
    return _json(view, 201 if queued.new else 200)


def withdraw(event: Event) -> Answer:
    from chatconsent.api.desk_models import DeskWithdrawalBody, DeskWithdrawn  # noqa: PLC0415

    check = _check(event)
    subject = check.path("subject", SUBJECT)
    body = check.body(DeskWithdrawalBody)
    check.done()
    assert body is not None
    if body.confirm is not True:
        raise InvalidInput("confirm: must be true (the agent confirmed the withdrawal)")
    purposes = None if body.purposes == "all" else list(body.purposes)
    changed = wiring.desk.withdraw(subject, purposes)
    metrics.add_metric(name="DeskWithdrawal", unit=MetricUnit.Count, value=1)
    return _json(DeskWithdrawn(withdrawn=changed))


# -- the privacy officer's view ----------------------------------------------------------------------


def proof(event: Event) -> Answer:
    from chatconsent.api import desk_models as m  # noqa: PLC0415

    p = wiring.desk.proof(_subject(event))
    view = m.DeskProofView(
        subject=p.subject,
        alias=p.alias,
        purposes=p.purposes,
        ledger=m.DeskLedger(verified=p.verified, entries=[m.DeskProofEntry(**vars(e)) for e in p.entries]),
        notices=[m.DeskNotice(**vars(n)) for n in p.notices],
    )
    return _json(view)


def export(event: Event) -> Answer:
    subject = _subject(event)
    document = wiring.desk.export(subject)
    headers = {
        "Content-Disposition": f'attachment; filename="export-{wiring.desk.alias(subject)}.json"',
        "Cache-Control": "no-store",
    }
    return answer(200, JSON, json.dumps(document, ensure_ascii=False), headers)


def erase(event: Event) -> Answer:
    from chatconsent.api.desk_models import DeskErasureBody, DeskErasureReceipt  # noqa: PLC0415

    check = _check(event)
    subject = check.path("subject", SUBJECT)
    body = check.body(DeskErasureBody)
    check.done()
    assert body is not None
    counts = wiring.desk.erase(subject, body.confirm)
    metrics.add_metric(name="DeskSubjectErased", unit=MetricUnit.Count, value=1)
    return _json(DeskErasureReceipt(erased=counts))


def audit_trail(event: Event) -> Answer:
    from chatconsent.api.desk_models import DeskAuditDay, DeskAuditEntry  # noqa: PLC0415

    check = _check(event)
    day = check.path("day", DAY)
    check.done()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidInput("day: not a calendar day") from None
    entries = [
        DeskAuditEntry(at=r.at, actor=r.actor, action=r.action, subject_ref=r.subject_ref, status=r.status)
        for r in wiring.store.audit.day(day)
    ]
    return json_answer(200, DeskAuditDay(day=day, entries=entries).model_dump(mode="json"))


ROUTES: dict[str, Callable[[Event], Answer]] = {
    "GET /desk": page,
    "GET /desk/assets/{name}": asset,
    "GET /desk/config.json": config,
    "GET /desk/api/me": me,
    "GET /desk/api/conversations": conversations,
    "GET /desk/api/conversations/{subject}": conversation,
    "POST /desk/api/conversations/{subject}/replies": reply,
    "POST /desk/api/conversations/{subject}/withdrawals": withdraw,
    "GET /desk/api/privacy/subjects/{subject}/proof": proof,
    "GET /desk/api/privacy/subjects/{subject}/export": export,
    "DELETE /desk/api/privacy/subjects/{subject}": erase,
    "GET /desk/api/privacy/audit/{day}": audit_trail,
}


# -- the group check, the trail and errors: one place each ----------------------------------------------


def refused_group(route_key: str, user: DeskUser) -> dict[str, Any] | None:
    """403 unless the user is in a group the route allows (a route not in ``ACCESS`` allows nobody)."""
    if not route_key.split(" ", 1)[-1].startswith("/desk/api/"):
        return None
    if ACCESS.get(route_key, frozenset()).isdisjoint(user.groups):
        body = json.dumps({"error": "your group may not use this"})
        return gateway_response(403, JSON, body, {"Cache-Control": "no-store"})
    return None


def record_action(event: dict[str, Any], user: DeskUser, status: int) -> None:
    """One trail entry per API request (but the polled ones that succeed), the subject as its audit reference."""
    route_key = str(event.get("routeKey", ""))
    if not route_key.split(" ", 1)[-1].startswith("/desk/api/") or (route_key in NOT_AUDITED and status < 300):
        return
    subject = str((event.get("pathParameters") or {}).get("subject") or "")
    subject_ref = wiring.pseudonymizer.audit_ref(subject) if re.fullmatch(r"[0-9a-f]{64}", subject) else None
    wiring.store.audit.record(user.actor, route_key, subject_ref, status)


def _where(location: Any) -> str:
    return ".".join(str(part) for part in location if part not in ("body", "path", "query"))


def _desk_answer(error: Exception) -> Answer | None:
    """A request the models refuse: 400 with where and what was wrong, never the input itself (it may
    hold a message); a refused reply: 409 with the refusal's code. The rest: the common answers."""
    if isinstance(error, Invalid):
        problems = [f"{_where(p.get('loc', ()))}: {p.get('msg', '')}" for p in error.problems[:5]]
        return error_answer(400, "; ".join(problems) or "invalid request")
    if isinstance(error, ReplyRefused):
        from chatconsent.api.desk_models import DeskRefusal  # noqa: PLC0415

        metrics.add_metric(name="DeskReplyRefused", unit=MetricUnit.Count, value=1)
        return _json(DeskRefusal(error=error.reason, refusal=error.refusal), 409)
    return None


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
        response = route_request(ROUTES, event, _desk_answer)
    except Exception:
        record_action(event, user, 500)
        raise
    record_action(event, user, response["statusCode"])  # before the answer leaves
    return response


# -- SnapStart: the models and pydantic built and warm (requests refused by validation) -------------------

snapshot_hooks().register_before_snapshot(
    prime,
    [
        (conversations, {"queryStringParameters": {"limit": "0"}}),
        (reply, {"body": "{}"}),
        (withdraw, {"body": "{}"}),
        (erase, {"body": "{}"}),
    ],
)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> Any:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``);
    without the 422 the resolver documents (this API answers a request its models refuse with 400)."""
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query  # noqa: PLC0415

    from chatconsent.api import desk_models as m  # noqa: PLC0415
    from chatconsent.api.requests import NO_DEFAULT, body_parameter, documented_routes, without_422  # noqa: PLC0415
    from chatconsent.api.requests import error_document as error  # noqa: PLC0415
    from chatconsent.api.requests import json_document as ok  # noqa: PLC0415

    subject = ("subject", Annotated[str, Path(pattern=SUBJECT, description="The person's pseudonym")], NO_DEFAULT)
    day = ("day", Annotated[str, Path(pattern=DAY, description="A UTC day, YYYY-MM-DD")], NO_DEFAULT)
    any_answer = Response[Any]
    forbidden = {
        401: error("No valid token (answered by the JWT authorizer before the function runs)"),
        403: error("Not for the user's group"),
    }
    about_subject = {
        400: error("Not a pseudonym, or a wrong body"),
        **forbidden,
        404: error("No such person"),
        410: error("The person's data was erased"),
    }
    declared: Any = (  # method, path, summary, the route's function, its parameters, its answer, its responses
        ("GET", "/desk", "The desk page (sign-in, inbox, conversation, privacy view)", page, [], any_answer,
         {200: {"description": "The page", "content": {"text/html": {}}}}),
        ("GET", "/desk/assets/<name>", "The page's script and style sheet", asset,
         [("name", Annotated[str, Path(description="desk.js or desk.css")], NO_DEFAULT)], any_answer,
         {200: {"description": "desk.js or desk.css", "content": {"text/javascript": {}, "text/css": {}}},
          404: error("No such file")}),
        ("GET", "/desk/config.json", "Where the page signs in, and its interface texts", config, [], any_answer,
         None),
        ("GET", "/desk/api/me", "The signed-in user and what the page may offer them", me, [], m.Me,
         {200: ok("The user", m.Me), **forbidden}),
        ("GET", "/desk/api/conversations", "Conversations by latest activity, newest first", conversations,
         [("limit", Annotated[int, Query(ge=1, le=50)], 25),
          ("cursor", Annotated[str | None, Query(max_length=2048)], None)], any_answer,
         {200: ok("A page", m.DeskInbox), 400: error("Bad cursor or limit"), **forbidden}),
        ("GET", "/desk/api/conversations/<subject>",
         "One conversation: both directions, the consents, the window and what a reply may be",
         conversation, [subject], any_answer, {200: ok("The conversation", m.DeskConversationView), **about_subject}),
        ("POST", "/desk/api/conversations/<subject>/replies",
         "Reply: free text inside the window, or a configured template",
         reply, [subject, body_parameter(m.DeskReplyBody)], any_answer,
         {201: ok("Queued: sent in a moment", m.DeskReplyQueued),
          200: ok("Queued before under this reply_id", m.DeskReplyQueued),
          409: ok("Refused, with the reason", m.DeskRefusal), **about_subject}),
        ("POST", "/desk/api/conversations/<subject>/withdrawals",
         "Withdraw consent on the person's behalf, per purpose or all (confirm: true)",
         withdraw, [subject, body_parameter(m.DeskWithdrawalBody)], any_answer,
         {200: ok("Done", m.DeskWithdrawn), **about_subject}),
        ("GET", "/desk/api/privacy/subjects/<subject>/proof",
         "Consent proof: ledger entries, verification, the notice texts they refer to",
         proof, [subject], any_answer, {200: ok("The proof", m.DeskProofView), **about_subject}),
        ("GET", "/desk/api/privacy/subjects/<subject>/export", "Art. 15 export as a JSON download",
         export, [subject], any_answer, {200: {"description": "The export (attachment)"}, **about_subject}),
        ("DELETE", "/desk/api/privacy/subjects/<subject>", "Art. 17 erasure, confirmed by typing the person's alias",
         erase, [subject, body_parameter(m.DeskErasureBody)], any_answer,
         {200: ok("Erased", m.DeskErasureReceipt), **about_subject}),
        ("GET", "/desk/api/privacy/audit/<day>", "The audit trail of one UTC day", audit_trail, [day], m.DeskAuditDay,
         {200: ok("The day's entries", m.DeskAuditDay), 400: error("Not a day"), **forbidden}),
    )  # fmt: skip
    return without_422(documented_routes(declared))
