"""Opt-in API: the Art. 13 notices and ``POST /optin`` (chat-started double opt-in, step one)."""

from __future__ import annotations

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
from chatconsent.optin import OptInBody, OptInRejected, OptInStarted, RateLimited
from chatconsent.runtime import Runtime

logger = Logger(service="optin")
metrics = Metrics(service="optin")
app = APIGatewayHttpResolver(enable_validation=True)
runtime = Runtime()


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
    200: {"description": "The notice", "content": {"application/json": {"model": NoticeDocument}}},
    404: {"description": "No such notice", "content": {"application/json": {"model": ErrorBody}}},
}


@app.get("/notices/<language>", summary="Latest Art. 13 notice in a language", responses=_NOTICE_RESPONSES)
def latest_notice(language: Annotated[str, Path(pattern=r"^[a-z]{2}$")]) -> NoticeDocument:
    return _notice(language, None)


@app.get("/notices/<language>/<version>", summary="One published notice version", responses=_NOTICE_RESPONSES)
def notice_version(
    language: Annotated[str, Path(pattern=r"^[a-z]{2}$")],
    version: Annotated[str, Path(pattern=r"^[0-9A-Za-z.\-]{1,32}$")],
) -> NoticeDocument:
    return _notice(language, version)


def _notice(language: str, version: str | None) -> NoticeDocument:
    notice = runtime.notices.get(language, version)
    return NoticeDocument(version=notice.version, language=notice.language, sha256=notice.sha256, text=notice.text)


@app.post(
    "/optin",
    summary="Start a chat-started double opt-in",
    description="Returns a single-use code and deep links; the person confirms by sending the code.",
    responses={
        201: {"description": "Code issued", "content": {"application/json": {"model": OptInStarted}}},
        400: {"description": "Rejected", "content": {"application/json": {"model": ErrorBody}}},
        409: {"description": "Notice changed", "content": {"application/json": {"model": ErrorBody}}},
        429: {"description": "Rate limited", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def start_optin(body: Annotated[OptInBody, Body()]) -> Response[OptInStarted]:
    client_ip = app.current_event.request_context.http.source_ip
    started = runtime.optin_service().start(body, client_ip)
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
