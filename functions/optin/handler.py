"""Opt-in API: the widget, its settings, the Art. 13 notices and ``POST /optin`` (double opt-in, step one).

``POST /optin`` without a phone number starts the chat-started opt-in (a code and deep links);
with one, the link-confirmed opt-in (one template message with a confirmation link).

The lean path (as the webhook function's): the five routes are routed on API Gateway's
``routeKey`` without Powertools' resolver, whose package imports every resolver and ``asyncio``,
and without pydantic at start-up. The path parameters are checked here with the resolver's
patterns and 422 answer; ``POST /optin``'s body is validated by ``OptInBody``
(``chatconsent.api.optin_models``, loaded on the first such request and before a SnapStart
snapshot) with the resolver's 422 answers. ``openapi_app`` declares the same routes with the same
models for the OpenAPI document (``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.api.answers import (
    answer,
    invalid_answer,
    json_answer,
)
from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.requests import Invalid, json_body
from chatconsent.api.routing import route_request
from chatconsent.errors import AgeNotConfirmed, RateLimited, TryAgain
from chatconsent.pages import notice_page
from chatconsent.snapshot import snapshot_hooks
from chatconsent.widget import widget_settings
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from chatconsent.api.optin_models import OptInBody

logger = Logger(service="optin")
metrics = Metrics(service="optin")
wiring = Wiring()
WIDGET_FILE = FilePath(__file__).with_name("widget") / "index.html"
# The widget names its own version in the page (a copy opened as a file sends it too); the API reads it from there.
_WIDGET_VERSION_META = re.compile(r'<meta name="widget-version" content="([0-9A-Za-z.\-]{1,32})">')
LANGUAGE_PATTERN = r"^[a-z]{2}$"
VERSION_PATTERN = r"^[0-9A-Za-z.\-]{1,32}$"
CACHED = {"Cache-Control": "public, max-age=300"}
NOT_STORED = {"Cache-Control": "no-store"}
HTML = "text/html; charset=utf-8"
WIDGET_HEADERS = {
    **CACHED,
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}


# -- the routes ------------------------------------------------------------------------------------


def _path(event: dict[str, Any], name: str, pattern: str) -> str:
    value = str((event.get("pathParameters") or {}).get(name, ""))
    if not re.search(pattern, value):
        msg = f"String should match pattern '{pattern}'"
        raise Invalid([{"loc": ["path", name], "msg": msg, "type": "string_pattern_mismatch"}])
    return value


def latest_notice(event: dict[str, Any]) -> dict[str, Any]:
    return _notice(event, _path(event, "language", LANGUAGE_PATTERN), None)


def notice_version(event: dict[str, Any]) -> dict[str, Any]:
    language = _path(event, "language", LANGUAGE_PATTERN)
    return _notice(event, language, _path(event, "version", VERSION_PATTERN))


def _notice(event: dict[str, Any], language: str, version: str | None) -> dict[str, Any]:
    """JSON for the widget; a readable page for a person who opens the notice link in a browser."""
    notice = wiring.notices.get(language, version)
    headers = {**CACHED, "Vary": "Accept"}
    accept = next((str(v) for k, v in (event.get("headers") or {}).items() if str(k).lower() == "accept"), "")
    if "text/html" in accept:
        return answer(200, HTML, notice_page(notice.language, notice.version, notice.text), headers)
    document = {"version": notice.version, "language": notice.language, "sha256": notice.sha256, "text": notice.text}
    return json_answer(200, document, headers)  # NoticeDocument


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


def widget(event: dict[str, Any]) -> dict[str, Any]:
    return answer(200, HTML, _widget_html(), WIDGET_HEADERS)


def settings(event: dict[str, Any]) -> dict[str, Any]:
    info = widget_settings(wiring.config, widget_version())
    return json_answer(200, dataclasses.asdict(info), CACHED)  # WidgetSettings


def _qr_svg(link: str) -> str:
    import segno  # noqa: PLC0415 (only the opt-in answer draws QR codes)

    return str(segno.make(link, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff"))


def _body(event: dict[str, Any]) -> OptInBody:
    """The body validated by ``OptInBody``, or ``Invalid`` with the resolver's problems (locations under body)."""
    from pydantic import ValidationError  # noqa: PLC0415

    from chatconsent.api.optin_models import OptInBody  # noqa: PLC0415 (pydantic: this route only, primed for SnapStart)

    data = json_body(event, wiring.config.limits.max_api_body_bytes)
    if data is None:
        raise Invalid([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
    if not isinstance(data, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        raise Invalid([{"loc": ["body"], "msg": msg, "type": "model_attributes_type"}])
    try:
        return OptInBody.model_validate(data)
    except ValidationError as error:
        raise Invalid([{**e, "loc": ["body", *e["loc"]]} for e in error.errors()]) from None


def start_optin(event: dict[str, Any]) -> dict[str, Any]:
    from chatconsent.api.optin_models import LinkRequested, OptInStarted  # noqa: PLC0415 (loaded by _body already)

    body = _body(event)
    client_ip = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp", ""))
    if body.phone is not None:
        accepted = wiring.optin.request_link(body.ask(), client_ip, wiring.link_queue.enqueue)
        metrics.add_metric(name="OptInLinkRequested", unit=MetricUnit.Count, value=1)
        if not accepted.queued:  # the queue is down (whatever the number): nothing kept, the widget tries again
            metrics.add_metric(name="OptInLinkNotQueued", unit=MetricUnit.Count, value=1)
            raise TryAgain("the request could not be accepted now: try again")
        logger.info("opt-in link requested", extra={"purposes": sorted(body.purposes)})
        return json_answer(202, LinkRequested.of(accepted).model_dump(mode="json"), NOT_STORED)
    issued = wiring.optin.start(body.ask(), client_ip)
    started = OptInStarted.of(issued, _qr_svg(issued.link) if issued.link else None)
    metrics.add_metric(name="OptInStarted", unit=MetricUnit.Count, value=1)
    logger.info("opt-in code issued", extra={"request_id": started.request_id, "purposes": sorted(body.purposes)})
    return json_answer(201, started.model_dump(mode="json"), NOT_STORED)


ROUTES = {
    "GET /notices/{language}": latest_notice,
    "GET /notices/{language}/{version}": notice_version,
    "GET /widget": widget,
    "GET /optin/settings": settings,
    "POST /optin": start_optin,
}


# -- errors: one place -----------------------------------------------------------------------------


def _optin_answer(error: Exception) -> dict[str, Any] | None:
    """An age not confirmed: 422 like any other invalid field (this business needs it confirmed); both it
    and a rate limit are counted. The rest: the common answers."""
    if isinstance(error, AgeNotConfirmed):
        metrics.add_metric(name="OptInAgeNotConfirmed", unit=MetricUnit.Count, value=1)
        return invalid_answer([{"loc": ["body", "age_confirmed"], "msg": error.reason, "type": "missing"}])
    if isinstance(error, RateLimited):
        metrics.add_metric(name="OptInRateLimited", unit=MetricUnit.Count, value=1)
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:  # refused before any parsing
        return rejected_response(refused)
    return route_request(ROUTES, event, _optin_answer)


# -- SnapStart -------------------------------------------------------------------------------------


def _event(method: str, path: str, body: str | None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "192.0.2.1"}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": False,
    }


PRIMING_BODIES = ("{}", '{"purposes": {"customer_service": true}, "channel": "whatsapp", "language": "en"}')


def _prime() -> None:
    """Before a SnapStart snapshot: answers that need no AWS call and no secret (the widget's settings, and
    opt-ins refused by validation), so that the snapshot holds ``OptInBody`` and pydantic, built and warm."""
    settings(_event("GET", "/optin/settings", None))
    for body in PRIMING_BODIES:
        try:
            _body(_event("POST", "/optin", body))
        except Invalid:
            continue
        raise RuntimeError("priming expected a body refused by validation")


snapshot_hooks().register_before_snapshot(_prime)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``).

    The declarations' annotations are set as objects: this module's annotations are strings (``from
    __future__ import annotations``), which Powertools would resolve in the module's globals.
    """
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Body, Path  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse  # noqa: PLC0415

    from chatconsent.api import optin_models as m  # noqa: PLC0415
    from chatconsent.api.errors import ErrorBody  # noqa: PLC0415

    app = APIGatewayHttpResolver(enable_validation=True)

    def declared(route: Any, annotations: dict[str, Any]) -> Any:
        def declaration(**_: Any) -> Any:
            raise NotImplementedError("declared for the document; lambda_handler serves it")

        declaration.__name__ = declaration.__qualname__ = route.__name__
        declaration.__annotations__ = annotations
        declaration.__signature__ = _signature(annotations)  # type: ignore[attr-defined]
        return declaration

    language = Annotated[str, Path(pattern=LANGUAGE_PATTERN)]
    notice_responses: dict[int, OpenAPIResponse] = {
        200: {
            "description": "The notice (JSON; a readable page when the client accepts text/html)",
            "content": {"application/json": {"model": m.NoticeDocument}, "text/html": {}},
        },
        404: {"description": "No such notice", "content": {"application/json": {"model": ErrorBody}}},
    }
    app.get("/notices/<language>", summary="Latest Art. 13 notice in a language", responses=notice_responses)(
        declared(latest_notice, {"language": language, "return": Response[Any]})
    )
    app.get("/notices/<language>/<version>", summary="One published notice version", responses=notice_responses)(
        declared(
            notice_version,
            {"language": language, "version": Annotated[str, Path(pattern=VERSION_PATTERN)], "return": Response[Any]},
        )
    )
    app.get(
        "/widget",
        summary="The opt-in widget (one static HTML page)",
        responses={200: {"description": "The widget", "content": {"text/html": {}}}},
    )(declared(widget, {"return": Response[str]}))
    app.get("/optin/settings", summary="What the widget shows: purposes, channels, the notice's first layer")(
        declared(settings, {"return": Response[m.WidgetSettings]})
    )
    app.post(
        "/optin",
        summary="Start a double opt-in",
        description="Without `phone`: a single-use code, deep links and a QR code; the person confirms by sending "
        "the code. With `phone`: one confirmation link is sent by template message if the number is eligible; "
        "the answer is the same for every acceptable number.",
        responses={
            201: {"description": "Code issued", "content": {"application/json": {"model": m.OptInStarted}}},
            202: {"description": "Link requested", "content": {"application/json": {"model": m.LinkRequested}}},
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
    )(
        declared(
            start_optin, {"body": Annotated[m.OptInBody, Body()], "return": Response[m.OptInStarted | m.LinkRequested]}
        )
    )
    return app


def _signature(annotations: dict[str, Any]) -> Any:
    """The declaration's signature: its parameters and answer, annotated as the route declares them."""
    import inspect  # noqa: PLC0415

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter(name, kind, annotation=tp) for name, tp in annotations.items() if name != "return"]
    return inspect.Signature(parameters, return_annotation=annotations["return"])
