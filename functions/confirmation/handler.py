"""Confirmation links: ``GET /confirm/{token}`` shows what the person is asked, ``POST`` answers it.
Access links (DATA in the chat): ``GET /data/{token}`` shows a download button, ``POST`` downloads
the person's copy (Art. 15) once.

A GET never changes state (link previews and scanners fetch links by themselves); the POST is
the person's explicit, single-use answer. Unknown, foreign and expired tokens get one answer.

The lean path (as the webhook's and the opt-in's): the four routes are routed on API Gateway's
``routeKey`` without Powertools' resolver, whose package imports every resolver, ``asyncio`` and
pydantic; the token is the path's one parameter and the form has one field, so nothing needs a
validation library. ``openapi_app`` declares the same routes, with the same answers, for the OpenAPI
document (``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.access import AccessOutcome
from chatconsent.api.answers import answer
from chatconsent.api.body import raw_body, refused_body
from chatconsent.api.routing import Answer, Event, route_request
from chatconsent.config import Language
from chatconsent.confirmation import LinkDecision, LinkOutcome
from chatconsent.pages import access_page, access_result_page, result_page
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="confirmation")
metrics = Metrics(service="confirmation")
wiring = Wiring()

# The token is in the URL: keep it out of referrers, caches and search engines; no scripts at all.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
}
HTML = "text/html; charset=utf-8"
MAX_FORM_BYTES = 1024  # the form has one field
STATUS = {
    LinkOutcome.CONFIRMED: 200,
    LinkOutcome.DECLINED: 200,
    LinkOutcome.CLOSED: 410,
    LinkOutcome.INVALID: 404,
}

# The person's copy: a download, never cached, never rendered (it is JSON, and it holds their messages).
DOWNLOAD_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
ACCESS_STATUS = {AccessOutcome.USED: 410, AccessOutcome.INVALID: 404}


def _html(status: int, body: str) -> Answer:
    return answer(status, HTML, body, PAGE_HEADERS)


def _header(event: Event, name: str) -> str | None:
    """A request header, by name in any case (API Gateway lowercases them; a test or a proxy may not)."""
    headers: Mapping[str, Any] = event.get("headers") or {}
    found = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return None if found is None else str(found)


def _token(event: Event) -> str:
    return str((event.get("pathParameters") or {}).get("token", ""))


def _visitor_language(event: Event) -> Language:
    """The language the visitor's browser asks for, among the business's (the token tells nothing yet)."""
    return wiring.texts.language(_header(event, "accept-language"))


def _decision(event: Event) -> LinkDecision | None:
    """The button the person pressed; ``None`` for anything else (too many fields, not text, no choice)."""
    try:
        data = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), MAX_FORM_BYTES)
        form = parse_qs(data.decode("utf-8"), max_num_fields=5)
    except (ValueError, UnicodeDecodeError):
        return None
    choice = form.get("decision", [""])[0]
    return LinkDecision(choice) if choice in (LinkDecision.CONFIRM.value, LinkDecision.DECLINE.value) else None


# -- the routes ------------------------------------------------------------------------------------


def show(event: Event) -> Answer:
    config = wiring.config
    service = wiring.link_confirmation
    request = service.request_for(_token(event))
    if request is None:
        return _html(404, result_page(config, _visitor_language(event), "invalid"))
    language = wiring.texts.language(request.language)
    if not service.is_open(request):
        return _html(410, result_page(config, language, "closed"))
    return _html(200, service.page(request))


def decide(event: Event) -> Answer:
    config = wiring.config
    decision = _decision(event)
    if decision is None:
        return _html(400, result_page(config, _visitor_language(event), "bad"))
    outcome, request = wiring.link_confirmation.decide(_token(event), decision)
    language = wiring.texts.language(request.language) if request else _visitor_language(event)
    metrics.add_metric(name=f"Link{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("confirmation link answered", extra={"outcome": outcome.value})
    return _html(STATUS[outcome], result_page(config, language, outcome.value))


def show_access(event: Event) -> Answer:
    link = wiring.access_downloads.link_for(_token(event))
    if link is None:
        return _html(404, access_result_page(_visitor_language(event), AccessOutcome.INVALID.value))
    language = wiring.texts.language(link.language)
    if not link.is_open:
        return _html(410, access_result_page(language, AccessOutcome.USED.value))
    return _html(200, access_page(wiring.config, language))


def download_access(event: Event) -> Answer:
    outcome, link, document = wiring.access_downloads.download(_token(event), str(event.get("routeKey", "")))
    metrics.add_metric(name=f"Access{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("access link used", extra={"outcome": outcome.value})
    if document is None:
        language = wiring.texts.language(link.language) if link else _visitor_language(event)
        return _html(ACCESS_STATUS[outcome], access_result_page(language, outcome.value))
    day = time.strftime("%Y-%m-%d", time.gmtime(document["generated_at"]))
    headers = {**DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="personal-data-{day}.json"'}
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return answer(200, "application/json; charset=utf-8", body, headers)


ROUTES: dict[str, Callable[[Event], Answer]] = {
    "GET /confirm/{token}": show,
    "POST /confirm/{token}": decide,
    "GET /data/{token}": show_access,
    "POST /data/{token}": download_access,
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if refused_body(event, MAX_FORM_BYTES) is not None:  # refused before any parsing: the "bad" page
        return _html(400, result_page(wiring.config, _visitor_language(event), "bad"))
    return route_request(ROUTES, event)


# -- the OpenAPI document --------------------------------------------------------------------------

_PAGE = {"text/html": {"schema": {"type": "string"}}}
_DECLARED = (  # method, path, the route's name (its operationId), summary, responses: (status, description, content)
    ("GET", "/confirm/<token>", "show", "The confirmation page (never changes anything)", (
        (200, "Who will write, about what; confirm and decline buttons", _PAGE),
        (404, "Unknown, foreign or expired link (one answer for each)", _PAGE),
        (410, "The link was used, declined or withdrawn", _PAGE),
    )),
    ("POST", "/confirm/<token>", "answer", "The person's answer: form field decision=confirm or decline", (
        (200, "Confirmed or declined (the same answer again shows the same result)", _PAGE),
        (400, "No readable decision in the form", _PAGE),
        (404, "Unknown, foreign or expired link", _PAGE),
        (410, "Already answered the other way, or withdrawn", _PAGE),
    )),
    ("GET", "/data/<token>", "show_access",
     "The access page: one button that downloads the person's copy (never changes anything)", (
        (200, "What the file holds and the download button", _PAGE),
        (404, "Unknown, foreign or expired link, or the person's data was erased", _PAGE),
        (410, "The copy was downloaded with this link before", _PAGE),
    )),
    ("POST", "/data/<token>", "download_access",
     "Download the person's copy (Art. 15) as a JSON file, once; the link is spent", (
        (200, "The export the admin API gives, as an attachment (no-store, no-referrer)",
         {"application/json": {"schema": {"type": "object"}}}),
        (404, "Unknown, foreign or expired link, or the person's data was erased", _PAGE),
        (410, "The copy was downloaded with this link before", _PAGE),
    )),
)  # fmt: skip


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response  # noqa: PLC0415

    app = APIGatewayHttpResolver()
    for method, path, name, summary, responses in _DECLARED:

        def declaration(token: str) -> Any:
            raise NotImplementedError("declared for the document; lambda_handler serves it")

        declaration.__name__ = declaration.__qualname__ = name
        declaration.__annotations__ = {"token": str, "return": Response[str]}
        documented: Any = {status: {"description": text, "content": content} for status, text, content in responses}
        app.route(path, method, summary=summary, responses=documented)(declaration)
    return app
