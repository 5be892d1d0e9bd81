"""Confirmation links: ``GET /confirm/{token}`` shows what the person is asked, ``POST`` answers it.

A GET never changes state (link previews and scanners fetch links by themselves); the POST is
the person's explicit, single-use answer. Unknown, foreign and expired tokens get one answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.confirmation import LinkConfirmation, LinkDecision, LinkOutcome
from chatconsent.http_body import BodyRejected, raw_body
from chatconsent.pages import confirmation_page, language_of, result_page
from chatconsent.runtime import Runtime

logger = Logger(service="confirmation")
metrics = Metrics(service="confirmation")
app = APIGatewayHttpResolver()
runtime = Runtime()

# The token is in the URL: keep it out of referrers, caches and search engines; no scripts at all.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
}
MAX_FORM_BYTES = 1024  # the form has one field
STATUS = {
    LinkOutcome.CONFIRMED: 200,
    LinkOutcome.DECLINED: 200,
    LinkOutcome.CLOSED: 410,
    LinkOutcome.INVALID: 404,
}


def _html(status: int, body: str) -> Response[str]:
    return Response(status, "text/html; charset=utf-8", body, dict(PAGE_HEADERS))


def _confirmation() -> LinkConfirmation:
    return runtime.link_confirmation()


def _visitor_language() -> str | None:
    return app.current_event.headers.get("accept-language")


@app.get("/confirm/<token>")
def show(token: str) -> Response[str]:
    config = runtime.config
    service = _confirmation()
    request = service.request_for(token)
    if request is None:
        return _html(404, result_page(config, language_of(_visitor_language(), config), "invalid"))
    language = language_of(request.language, config)
    if not service.is_open(request):
        return _html(410, result_page(config, language, "closed"))
    page = confirmation_page(config, language, request.purposes, request.channel, request.notice_version)
    return _html(200, page)


@app.post("/confirm/<token>")
def answer(token: str) -> Response[str]:
    config = runtime.config
    try:
        form = parse_qs(app.current_event.decoded_body or "", max_num_fields=5)
    except (ValueError, UnicodeDecodeError):  # too many fields, or not text
        form = {}
    choice = form.get("decision", [""])[0]
    if choice not in (LinkDecision.CONFIRM.value, LinkDecision.DECLINE.value):
        return _html(400, result_page(config, language_of(_visitor_language(), config), "bad"))
    outcome, request = _confirmation().decide(token, LinkDecision(choice))
    language = language_of(request.language if request else _visitor_language(), config)
    metrics.add_metric(name=f"Link{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("confirmation link answered", extra={"outcome": outcome.value})
    return _html(STATUS[outcome], result_page(config, language, outcome.value))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        raw_body(event.get("body"), bool(event.get("isBase64Encoded")), MAX_FORM_BYTES)
    except BodyRejected:  # refused before any parsing
        config = runtime.config
        page = result_page(config, language_of((event.get("headers") or {}).get("accept-language"), config), "bad")
        return {
            "statusCode": 400,
            "headers": {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"},
            "body": page,
        }
    return app.resolve(event, context)
