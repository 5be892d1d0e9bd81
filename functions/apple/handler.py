"""Apple Messages for Business: the messages Apple posts to the MSP endpoint (``POST /webhooks/apple/message``).

A function of its own, not a route of the WhatsApp webhook: it loads only the Apple channel and the
inbound path (no Powertools resolver, whose package imports every resolver and ``asyncio``: one
route needs a dictionary, not a router), and a fault or a flood on one provider's endpoint leaves
the other's untouched (its own concurrency, errors, alarms and log group).

The request is authenticated on its headers before the body is read (Apple's statuses: no
``Authorization`` → 401, a token that does not validate → 403, a ``destination-id`` that is not one
of our business ids → 404); nothing is written for a refused request. The body may come gzipped: it
is limited after decompression (413). A body that is not JSON → 400; a message without its ids or
of a type that carries nothing for us (typing indicators among them) is skipped and counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.api.answers import JSON, answer, compact, error_answer
from chatconsent.api.body import decoded_body, raw_body
from chatconsent.api.webhooks import record_outcomes, refused, route_webhook
from chatconsent.channels.base import UnknownChannel
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from chatconsent.channels.apple import AppleChannel

logger = Logger(service="apple")
metrics = Metrics(service="apple")
wiring = Wiring()

MESSAGE = "POST /webhooks/apple/message"
CHANNEL = "apple"
REASONS = {401: "authorization required", 403: "invalid token", 404: "unknown destination"}


def _header(headers: dict[str, Any], name: str) -> str:
    return next((str(v) for k, v in headers.items() if k.lower() == name), "")


def apple_message(event: dict[str, Any]) -> dict[str, Any]:
    headers = event.get("headers") or {}
    try:
        channel = cast("AppleChannel", wiring.channel(CHANNEL))
    except UnknownChannel:  # no Apple account configured: no such business here
        return error_answer(404, "Apple Messages for Business is not configured")
    refusal = channel.refusal(headers)
    if refusal is not None:
        return refused(metrics, logger, int(refusal), REASONS[int(refusal)])
    limit = wiring.config.limits.max_webhook_bytes
    compressed = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), limit)
    body = decoded_body(compressed, _header(headers, "content-encoding"), limit)
    delivery = channel.read(body, headers)
    metrics.add_metric(name=f"Apple_{delivery.kind or 'missing'}", unit=MetricUnit.Count, value=1)
    parsed = delivery.parsed
    outcomes = record_outcomes(metrics, logger, wiring.inbound_on(CHANNEL).handle(parsed), parsed.skipped)
    return answer(200, JSON, compact({"processed": sum(outcomes.values())}))


ROUTES = {MESSAGE: apple_message}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return route_webhook(ROUTES, event, logger)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The route above as Powertools declares it, for the OpenAPI document only (``tools/openapi.py``)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response  # noqa: PLC0415
    from pydantic import BaseModel  # noqa: PLC0415

    from chatconsent.api.errors import ErrorBody  # noqa: PLC0415

    class MessageAccepted(BaseModel):
        processed: int

    app = APIGatewayHttpResolver(enable_validation=True)

    def apple_message():  # type: ignore[no-untyped-def]
        raise NotImplementedError("declared for the document; lambda_handler serves it")

    apple_message.__annotations__ = {"return": Response[Any]}
    app.post(
        "/webhooks/apple/message",
        summary="Apple Messages for Business: a message from a customer (MSP REST API)",
        description=(
            "Authorization: Bearer <HS256 JWT signed with the Base64-decoded Messaging API secret, aud = the MSP id, "
            "iat within an hour>; headers id, source-id, destination-id, capability-list. The body may be gzipped "
            "(Content-Encoding: gzip); its limit applies after decompression."
        ),
        responses={
            200: {
                "description": "Processed (also for duplicates and for skipped messages)",
                "content": {"application/json": {"model": MessageAccepted}},
            },
            400: {
                "description": "Malformed body (not JSON, not gzip)",
                "content": {"application/json": {"model": ErrorBody}},
            },
            401: {"description": "No Authorization header", "content": {"application/json": {"model": ErrorBody}}},
            403: {
                "description": "A token that does not validate",
                "content": {"application/json": {"model": ErrorBody}},
            },
            404: {
                "description": "destination-id is not one of our business ids",
                "content": {"application/json": {"model": ErrorBody}},
            },
            413: {
                "description": "Body too large (after decompression)",
                "content": {"application/json": {"model": ErrorBody}},
            },
            415: {
                "description": "Content-Encoding other than gzip",
                "content": {"application/json": {"model": ErrorBody}},
            },
        },
    )(apple_message)
    return app
