"""Opt-in API: the widget, its settings, the Art. 13 notices and ``POST /optin`` (double opt-in, step one).

``POST /optin`` without a phone number starts the chat-started opt-in (a code and deep links);
with one, the link-confirmed opt-in (one template message with a confirmation link).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema, field_validator

from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.errors import ErrorBody, domain_error_response, register_error_handlers
from chatconsent.config import Language
from chatconsent.errors import RateLimited, TryAgain
from chatconsent.optin import AgeNotConfirmed, CodeIssued, LinkAccepted, OptInAsk
from chatconsent.pages import notice_page
from chatconsent.widget import widget_settings
from chatconsent.wiring import Wiring, snapshot_hooks

logger = Logger(service="optin")
metrics = Metrics(service="optin")
app = APIGatewayHttpResolver(enable_validation=True)
wiring = Wiring()
WIDGET_FILE = FilePath(__file__).with_name("widget") / "index.html"
# The widget names its own version in the page (a copy opened as a file sends it too); the API reads it from there.
_WIDGET_VERSION_META = re.compile(r'<meta name="widget-version" content="([0-9A-Za-z.\-]{1,32})">')


# -- the API's models ------------------------------------------------------------------------------


def _ticked(value: bool) -> bool:
    if value is not True:
        raise ValueError("a ticked box is the JSON literal true")
    return value


# A ticked box: the JSON literal true, never 1, 1.0 or "true" (pydantic's Literal[True] takes 1 even when strict).
Ticked = Annotated[StrictBool, AfterValidator(_ticked), WithJsonSchema({"type": "boolean", "const": True})]


class OptInBody(BaseModel):
    """What the widget sends: only ticked purposes, each explicitly ``true`` (no pre-ticked boxes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: dict[str, Ticked] = Field(min_length=1, max_length=10, description="Ticked purposes, each true.")
    channel: Literal["whatsapp"]
    language: Language
    notice_version: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,32}$")
    notice_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Hash of the notice text shown."
    )
    phone: str | None = Field(
        default=None,
        min_length=3,
        max_length=40,
        description="Link-confirmed opt-in: the number to send one confirmation link to.",
    )
    age_confirmed: Annotated[
        Ticked | None,
        WithJsonSchema(
            {
                "type": "boolean",
                "const": True,
                "description": 'The box "I am at least N years old" is ticked: required (true) when the '
                "settings name a minimum age (Art. 8 GDPR); otherwise optional, and only true if sent.",
            }
        ),
    ] = None
    widget_version: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z.\-]{1,32}$",
        description="The version of the widget that sends the request (recorded in the proof).",
    )

    @field_validator("age_confirmed", mode="before")
    @classmethod
    def _age_ticked_if_sent(cls, value: object) -> object:
        if value is None:  # absent is fine; null sent is no tick
            raise ValueError("a ticked box is the JSON literal true")
        return value

    def ask(self) -> OptInAsk:
        return OptInAsk(
            purposes=tuple(self.purposes),
            channel=self.channel,
            language=self.language,
            notice_version=self.notice_version,
            notice_sha256=self.notice_sha256,
            phone=self.phone,
            age_confirmed=self.age_confirmed is True,
            widget_version=self.widget_version,
        )


class OptInLinks(BaseModel):
    whatsapp: str | None = None


class OptInStarted(BaseModel):
    request_id: str
    code: str
    expires_at: int = Field(description="Epoch seconds after which the code is void.")
    links: OptInLinks
    qr_svg: str | None = Field(default=None, description="The WhatsApp link as a QR code (SVG data URI).")
    notice_version: str
    notice_sha256: str

    @classmethod
    def of(cls, issued: CodeIssued) -> OptInStarted:
        link = issued.whatsapp_link
        return cls(
            request_id=issued.request_id,
            code=issued.code,
            expires_at=issued.expires_at,
            links=OptInLinks(whatsapp=link),
            qr_svg=_qr_svg(link) if link else None,
            notice_version=issued.notice_version,
            notice_sha256=issued.notice_sha256,
        )


class LinkRequested(BaseModel):
    """The same answer for every acceptable number, whether or not a message was sent."""

    status: Literal["accepted"] = "accepted"
    expires_at: int = Field(description="Epoch seconds after which a link sent now is void.")

    @classmethod
    def of(cls, accepted: LinkAccepted) -> LinkRequested:
        return cls(expires_at=accepted.expires_at)


class NoticeDocument(BaseModel):
    version: str
    language: str
    sha256: str
    text: str


class Controller(BaseModel):
    name: str
    email: str


class PurposeChoice(BaseModel):
    id: str
    legal_basis: str
    special_category: bool
    title: dict[str, str]
    description: dict[str, str]


class ChannelChoice(BaseModel):
    id: str
    name: str
    link_confirmation: bool


class AgeCheck(BaseModel):
    """Art. 8 GDPR: the box the widget shows before any purpose; the opt-in then needs `age_confirmed`."""

    minimum_age: int
    statement: dict[str, str] = Field(description="What the person ticks, per language.")
    hint: dict[str, str] = Field(description="Why it is asked, per language.")
    need: dict[str, str] = Field(description="What to do while it is not ticked, per language.")


class WidgetSettings(BaseModel):
    languages: list[str]
    default_language: str
    controller: Controller
    purposes: list[PurposeChoice]
    channels: list[ChannelChoice]
    summary: dict[str, list[str]]
    code_ttl_seconds: int
    link_ttl_seconds: int
    age_check: AgeCheck | None = Field(description="Present when the business sets a minimum age (Art. 8 GDPR).")
    widget_version: str = Field(description="The version of the widget served at /widget.")


# -- errors ----------------------------------------------------------------------------------------

register_error_handlers(app, parses_json=True)


@app.exception_handler(RateLimited)
def _rate_limited(error: RateLimited) -> Response[Any]:
    metrics.add_metric(name="OptInRateLimited", unit=MetricUnit.Count, value=1)
    return domain_error_response(error)


@app.exception_handler(AgeNotConfirmed)
def _age_not_confirmed(error: AgeNotConfirmed) -> Response[Any]:
    """422 like any other invalid field: this business needs the age confirmed, and the body does not."""
    metrics.add_metric(name="OptInAgeNotConfirmed", unit=MetricUnit.Count, value=1)
    detail = [{"loc": ["body", "age_confirmed"], "msg": error.reason, "type": "missing"}]
    return Response(422, content_types.APPLICATION_JSON, json.dumps({"statusCode": 422, "detail": detail}))


# -- routes ----------------------------------------------------------------------------------------

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
    notice = wiring.notices.get(language, version)
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept"}
    if "text/html" in (app.current_event.headers.get("accept") or ""):
        page = notice_page(notice.language, notice.version, notice.text)
        return Response(200, "text/html; charset=utf-8", page, headers)
    document = NoticeDocument(version=notice.version, language=notice.language, sha256=notice.sha256, text=notice.text)
    return Response(200, content_types.APPLICATION_JSON, document, headers)


@lru_cache(maxsize=1)
def _widget_html() -> str:
    return WIDGET_FILE.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def widget_version() -> str:
    """The version the served widget names in its ``widget-version`` meta tag."""
    found = _WIDGET_VERSION_META.search(_widget_html())
    if found is None:
        raise RuntimeError("the widget names no version (meta widget-version)")
    return found.group(1)


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
    info = widget_settings(wiring.config, widget_version())
    document = WidgetSettings.model_validate(info, from_attributes=True)
    return Response(200, content_types.APPLICATION_JSON, document, {"Cache-Control": "public, max-age=300"})


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
        503: {
            "description": "The link could not be queued now (for any number alike): nothing was kept, try again",
            "content": {"application/json": {"model": ErrorBody}},
        },
        415: {
            "description": "Not sent as JSON (Content-Type: application/json)",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def start_optin(body: Annotated[OptInBody, Body()]) -> Response[OptInStarted | LinkRequested]:
    client_ip = app.current_event.request_context.http.source_ip
    if body.phone is not None:
        accepted = wiring.optin.request_link(body.ask(), client_ip, wiring.link_queue.enqueue)
        metrics.add_metric(name="OptInLinkRequested", unit=MetricUnit.Count, value=1)
        if not accepted.queued:  # the queue is down (whatever the number): nothing kept, the widget tries again
            metrics.add_metric(name="OptInLinkNotQueued", unit=MetricUnit.Count, value=1)
            raise TryAgain("the request could not be accepted now: try again")
        logger.info("opt-in link requested", extra={"purposes": sorted(body.purposes)})
        return Response(202, content_types.APPLICATION_JSON, LinkRequested.of(accepted), {"Cache-Control": "no-store"})
    started = OptInStarted.of(wiring.optin.start(body.ask(), client_ip))
    metrics.add_metric(name="OptInStarted", unit=MetricUnit.Count, value=1)
    logger.info("opt-in code issued", extra={"request_id": started.request_id, "purposes": sorted(body.purposes)})
    return Response(201, content_types.APPLICATION_JSON, started, {"Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:  # refused before any parsing
        return rejected_response(refused)
    return app.resolve(event, context)


def _prime() -> None:
    """Before a SnapStart snapshot: two answers that need no AWS call and no secret (the widget's settings,
    and an opt-in refused by validation), so that the snapshot holds what the resolver builds on a
    route's first request (its validation models, the answers' serialisers)."""
    for method, path, body in (("GET", "/optin/settings", None), ("POST", "/optin", "{}")):
        event = {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": method, "path": path, "sourceIp": "192.0.2.1"}, "stage": "$default"},
            "body": body,
            "isBase64Encoded": False,
        }
        app.resolve(event, LambdaContext())


snapshot_hooks().register_before_snapshot(_prime)
