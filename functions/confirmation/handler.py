"""Confirmation links: ``GET /confirm/{token}`` shows what the person is asked, ``POST`` answers it.
Access links (DATA in the chat): ``GET /data/{token}`` shows a download button, ``POST`` downloads
the person's copy (Art. 15) once.

A GET never changes state (link previews and scanners fetch links by themselves); the POST is
the person's explicit, single-use answer. Unknown, foreign and expired tokens get one answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseContentModel, OpenAPIResponseContentSchema
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.access import AccessOutcome
from chatconsent.api.body import gateway_response, refused_body
from chatconsent.api.errors import register_error_handlers
from chatconsent.config import Language
from chatconsent.confirmation import LinkDecision, LinkOutcome
from chatconsent.pages import access_page, access_result_page, result_page
from chatconsent.wiring import Wiring

logger = Logger(service="confirmation")
metrics = Metrics(service="confirmation")
app = APIGatewayHttpResolver()
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

register_error_handlers(app)


def _html(status: int, body: str) -> Response[str]:
    return Response(status, HTML, body, dict(PAGE_HEADERS))


def _visitor_language(headers: Mapping[str, str] | None = None) -> Language:
    """The language the visitor's browser asks for, among the business's (the token tells nothing yet)."""
    source = app.current_event.headers if headers is None else headers
    return wiring.texts.language(source.get("accept-language"))


def _decision() -> LinkDecision | None:
    """The button the person pressed; ``None`` for anything else (too many fields, not text, no choice)."""
    try:
        form = parse_qs(app.current_event.decoded_body or "", max_num_fields=5)
    except (ValueError, UnicodeDecodeError):
        return None
    choice = form.get("decision", [""])[0]
    return LinkDecision(choice) if choice in (LinkDecision.CONFIRM.value, LinkDecision.DECLINE.value) else None


_PAGE: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/html": {"schema": {"type": "string"}}
}


@app.get(
    "/confirm/<token>",
    summary="The confirmation page (never changes anything)",
    responses={
        200: {"description": "Who will write, about what; confirm and decline buttons", "content": _PAGE},
        404: {"description": "Unknown, foreign or expired link (one answer for each)", "content": _PAGE},
        410: {"description": "The link was used, declined or withdrawn", "content": _PAGE},
    },
)
def show(token: str) -> Response[str]:
    config = wiring.config
    service = wiring.link_confirmation
    request = service.request_for(token)
    if request is None:
        return _html(404, result_page(config, _visitor_language(), "invalid"))
    language = wiring.texts.language(request.language)
    if not service.is_open(request):
        return _html(410, result_page(config, language, "closed"))
    return _html(200, service.page(request))


@app.post(
    "/confirm/<token>",
    summary="The person's answer: form field decision=confirm or decline",
    responses={
        200: {"description": "Confirmed or declined (the same answer again shows the same result)", "content": _PAGE},
        400: {"description": "No readable decision in the form", "content": _PAGE},
        404: {"description": "Unknown, foreign or expired link", "content": _PAGE},
        410: {"description": "Already answered the other way, or withdrawn", "content": _PAGE},
    },
)
def answer(token: str) -> Response[str]:
    config = wiring.config
    decision = _decision()
    if decision is None:
        return _html(400, result_page(config, _visitor_language(), "bad"))
    outcome, request = wiring.link_confirmation.decide(token, decision)
    language = wiring.texts.language(request.language) if request else _visitor_language()
    metrics.add_metric(name=f"Link{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("confirmation link answered", extra={"outcome": outcome.value})
    return _html(STATUS[outcome], result_page(config, language, outcome.value))


@app.get(
    "/data/<token>",
    summary="The access page: one button that downloads the person's copy (never changes anything)",
    responses={
        200: {"description": "What the file holds and the download button", "content": _PAGE},
        404: {"description": "Unknown, foreign or expired link, or the person's data was erased", "content": _PAGE},
        410: {"description": "The copy was downloaded with this link before", "content": _PAGE},
    },
)
def show_access(token: str) -> Response[str]:
    link = wiring.access_downloads.link_for(token)
    if link is None:
        return _html(404, access_result_page(_visitor_language(), AccessOutcome.INVALID.value))
    language = wiring.texts.language(link.language)
    if not link.is_open:
        return _html(410, access_result_page(language, AccessOutcome.USED.value))
    return _html(200, access_page(wiring.config, language))


@app.post(
    "/data/<token>",
    summary="Download the person's copy (Art. 15) as a JSON file, once; the link is spent",
    responses={
        200: {
            "description": "The export the admin API gives, as an attachment (no-store, no-referrer)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        404: {"description": "Unknown, foreign or expired link, or the person's data was erased", "content": _PAGE},
        410: {"description": "The copy was downloaded with this link before", "content": _PAGE},
    },
)
def download_access(token: str) -> Response[str]:
    outcome, link, document = wiring.access_downloads.download(token, app.current_event.route_key)
    metrics.add_metric(name=f"Access{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("access link used", extra={"outcome": outcome.value})
    if document is None:
        language = wiring.texts.language(link.language) if link else _visitor_language()
        return _html(ACCESS_STATUS[outcome], access_result_page(language, outcome.value))
    day = time.strftime("%Y-%m-%d", time.gmtime(document["generated_at"]))
    headers = {**DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="personal-data-{day}.json"'}
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(200, "application/json; charset=utf-8", body, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if refused_body(event, MAX_FORM_BYTES) is not None:  # refused before any parsing: the "bad" page
        page = result_page(wiring.config, _visitor_language(event.get("headers") or {}), "bad")
        return gateway_response(400, HTML, page, PAGE_HEADERS)
    return app.resolve(event, context)
