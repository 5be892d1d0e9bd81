"""Opt-in API: the widget, its settings, the Art. 13 notices and ``POST /optin`` (double opt-in, step one).

``POST /optin`` without a phone number starts the chat-started opt-in (a code and deep links);
with one, the link-confirmed opt-in (one template message with a confirmation link).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from chatconsent.http_body import BodyRejected, raw_body, rejected_response
from chatconsent.notices import UnknownNotice
from chatconsent.optin import LinkRequested, OptInBody, OptInRejected, OptInStarted, RateLimited
from chatconsent.runtime import Runtime
from chatconsent.widget import WidgetSettings, widget_settings

logger = Logger(service="optin")
metrics = Metrics(service="optin")
app = APIGatewayHttpResolver(enable_validation=True)
runtime = Runtime()
WIDGET_FILE = FilePath(__file__).with_name("widget") / "index.html"


class NoticeDocument(BaseModel):
    version: str
    language: str
    sha256: str
    text: str


class ErrorBody(BaseModel):
    error: str


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status, content_types.APPLICATION_JSON, ErrorBody(error=reason).model_dump_json(), headers)


_NOTICE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The notice (JSON; a readable page when the client accepts text/html)",
        "content": {"application/json": {"model": NoticeDocument}, "text/html": {}},
    },
    404: {"description": "No such notice", "content": {"application/json": {"model": ErrorBody}}},
}


@app.get("/notices/<language>", summary="Latest Art. 13 notice in a language", responses=_NOTICE_RESPONSES)
def latest_notice(language: Annotated[str, Path(pattern=r"^[a-z]{2}$")]) -> Response[Any]:
    return _notice(language, None)


@app.get("/notices/<language>/<version>", summary="One published notice version", responses=_NOTICE_RESPONSES)
def notice_version(
    language: Annotated[str, Path(pattern=r"^[a-z]{2}$")],
    version: Annotated[str, Path(pattern=r"^[0-9A-Za-z.\-]{1,32}$")],
) -> Response[Any]:
    return _notice(language, version)


def _notice(language: str, version: str | None) -> Response[Any]:
    """JSON for the widget; a readable page for a person who opens the notice link in a browser."""
    notice = runtime.notices.get(language, version)
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept"}
    if "text/html" in (app.current_event.headers.get("accept") or ""):
        from chatconsent.pages import notice_page  # noqa: PLC0415 (browsers only)

        page = notice_page(notice.language, notice.version, notice.text)
        return Response(200, "text/html; charset=utf-8", page, headers)
    document = NoticeDocument(version=notice.version, language=notice.language, sha256=notice.sha256, text=notice.text)
    return Response(200, content_types.APPLICATION_JSON, document, headers)


@lru_cache(maxsize=1)
def _widget_html() -> str:
    return WIDGET_FILE.read_text(encoding="utf-8")


@app.get(
    "/widget",
    summary="The opt-in widget (one static HTML page)",
    responses={200: {"description": "The widget", "content": {"text/html": {}}}},
)
def widget() -> Response[str]:
    headers = {
        "Cache-Control": "public, max-age=300",
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(200, "text/html; charset=utf-8", _widget_html(), headers)


@app.get("/optin/settings", summary="What the widget shows: purposes, channels, the notice's first layer")
def settings() -> Response[WidgetSettings]:
    return Response(
        200, content_types.APPLICATION_JSON, widget_settings(runtime.config), {"Cache-Control": "public, max-age=300"}
    )


def _qr_svg(link: str) -> str:
    import segno  # noqa: PLC0415 (only the opt-in answer draws QR codes)

    return str(segno.make(link, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff"))


@app.post(
    "/optin",
    summary="Start a double opt-in",
    description="Without `phone`: a single-use code, deep links and a QR code; the person confirms by sending "
    "the code. With `phone`: one confirmation link is sent by template message if the number is eligible; "
    "the answer is the same for every acceptable number.",
    responses={
        201: {"description": "Code issued", "content": {"application/json": {"model": OptInStarted}}},
        202: {"description": "Link requested", "content": {"application/json": {"model": LinkRequested}}},
        400: {"description": "Rejected", "content": {"application/json": {"model": ErrorBody}}},
        409: {"description": "Notice changed", "content": {"application/json": {"model": ErrorBody}}},
        429: {"description": "Rate limited", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def start_optin(body: Annotated[OptInBody, Body()]) -> Response[OptInStarted | LinkRequested]:
    client_ip = app.current_event.request_context.http.source_ip
    service = runtime.optin_service()
    if body.phone is not None:
        requested = service.request_link(body, client_ip, runtime.enqueue_link)
        metrics.add_metric(name="OptInLinkRequested", unit=MetricUnit.Count, value=1)
        if service.send_failures:  # the answer stays the same; operators see it here
            metrics.add_metric(name="OptInLinkNotQueued", unit=MetricUnit.Count, value=service.send_failures)
        logger.info("opt-in link requested", extra={"purposes": sorted(body.purposes)})
        return Response(202, content_types.APPLICATION_JSON, requested, {"Cache-Control": "no-store"})
    started = service.start(body, client_ip)
    if started.links.whatsapp:
        started = started.model_copy(update={"qr_svg": _qr_svg(started.links.whatsapp)})
    metrics.add_metric(name="OptInStarted", unit=MetricUnit.Count, value=1)
    logger.info("opt-in code issued", extra={"request_id": started.request_id, "purposes": sorted(body.purposes)})
    return Response(201, content_types.APPLICATION_JSON, started, {"Cache-Control": "no-store"})


@app.exception_handler(RateLimited)
def _rate_limited(error: RateLimited) -> Response[Any]:
    metrics.add_metric(name="OptInRateLimited", unit=MetricUnit.Count, value=1)
    return _error(429, error.reason, {"Retry-After": str(error.retry_after)})


@app.exception_handler(OptInRejected)
def _rejected(error: OptInRejected) -> Response[Any]:
    return _error(error.status, error.reason)


@app.exception_handler(UnknownNotice)
def _unknown_notice(_: UnknownNotice) -> Response[Any]:
    return _error(404, "no such notice")


@app.exception_handler(RecursionError)
def _too_deep(_: RecursionError) -> Response[Any]:
    return _error(400, "request body is nested too deeply")


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(_: UnicodeDecodeError) -> Response[Any]:
    return _error(400, "request body is not valid UTF-8")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        raw_body(event.get("body"), bool(event.get("isBase64Encoded")), runtime.config.limits.max_api_body_bytes)
    except BodyRejected as error:  # refused before any parsing
        return rejected_response(error)
    return app.resolve(event, context)
