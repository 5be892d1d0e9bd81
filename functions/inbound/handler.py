"""Inbound webhooks: the WhatsApp Cloud API handshake and its signed message/status deliveries.

The signature is checked on the raw bytes before anything is parsed or written; a forged request
gets 401 and leaves no trace. Every message and status of a batch is processed; duplicates have no second effect.

The lean path (the request Meta waits on): the two routes are routed on API Gateway's ``routeKey``
without Powertools' resolver, whose package imports every resolver and ``asyncio``, and without its
request validation, which builds pydantic models of the query: the body is opaque signed bytes that
the channel verifies and parses itself, and the handshake's three query strings are checked here
with the limits and the 422 answer the resolver gave. ``openapi_app`` declares the same routes, with
the same answers, for the OpenAPI document (``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from chatconsent.api.answers import JSON, answer, compact, invalid_answer
from chatconsent.api.body import raw_body
from chatconsent.api.webhooks import record_outcomes, refused, route_webhook
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="inbound")
metrics = Metrics(service="inbound")
wiring = Wiring()

HANDSHAKE = "GET /webhooks/whatsapp"
WEBHOOK = "POST /webhooks/whatsapp"
HANDSHAKE_QUERY = (("hub.mode", 32), ("hub.verify_token", 256), ("hub.challenge", 256))  # name, maximum length
TEXT = "text/plain"


# -- the routes ------------------------------------------------------------------------------------


def whatsapp_handshake(event: dict[str, Any]) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    too_long = [
        {"loc": ["query", name], "msg": f"String should have at most {limit} characters", "type": "string_too_long"}
        for name, limit in HANDSHAKE_QUERY
        if len(query.get(name, "")) > limit
    ]
    if too_long:  # as the resolver's validation answered (chatconsent.api's 422 body)
        return invalid_answer(too_long)
    mode, token, challenge = (query.get(name, "") for name, _ in HANDSHAKE_QUERY)
    expected = wiring.secrets.whatsapp_verify_token.encode()
    if mode == "subscribe" and challenge and hmac.compare_digest(token.encode(), expected):
        return answer(200, TEXT, challenge)
    return answer(403, TEXT, "forbidden")


def whatsapp_webhook(event: dict[str, Any]) -> dict[str, Any]:
    body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), wiring.config.limits.max_webhook_bytes)
    channel = wiring.whatsapp
    if not channel.verify(event.get("headers") or {}, body):
        return refused(metrics, logger, 401, "invalid signature")
    parsed = channel.parse(body)
    outcomes = record_outcomes(metrics, logger, wiring.inbound.handle(parsed), parsed.skipped)
    return answer(200, JSON, compact({"processed": sum(outcomes.values())}))


ROUTES = {HANDSHAKE: whatsapp_handshake, WEBHOOK: whatsapp_webhook}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return route_webhook(ROUTES, event, logger)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``).

    The declarations' annotations are set as objects: this module's annotations are strings (``from
    __future__ import annotations``), which Powertools would resolve in the module's globals.
    """
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Query  # noqa: PLC0415
    from pydantic import BaseModel  # noqa: PLC0415

    from chatconsent.api.errors import ErrorBody  # noqa: PLC0415

    class WebhookAccepted(BaseModel):
        processed: int

    app = APIGatewayHttpResolver(enable_validation=True)

    def whatsapp_handshake(mode="", token="", challenge=""):  # type: ignore[no-untyped-def]
        raise NotImplementedError("declared for the document; lambda_handler serves it")

    whatsapp_handshake.__annotations__ = {
        "mode": Annotated[str, Query(alias="hub.mode", max_length=32)],
        "token": Annotated[str, Query(alias="hub.verify_token", max_length=256)],
        "challenge": Annotated[str, Query(alias="hub.challenge", max_length=256)],
        "return": Response[str],
    }
    app.get(
        "/webhooks/whatsapp",
        summary="WhatsApp webhook verification handshake",
        responses={
            200: {"description": "The challenge, echoed", "content": {"text/plain": {"schema": {"type": "string"}}}},
            403: {
                "description": "Wrong mode or verify token",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
        },
    )(whatsapp_handshake)

    def whatsapp_webhook():  # type: ignore[no-untyped-def]
        raise NotImplementedError("declared for the document; lambda_handler serves it")

    whatsapp_webhook.__annotations__ = {"return": Response[Any]}
    app.post(
        "/webhooks/whatsapp",
        summary="WhatsApp Cloud API webhook (messages and statuses)",
        description="Signed with X-Hub-Signature-256 over the raw body; 401 without a valid signature.",
        responses={
            200: {
                "description": "Processed (also for duplicates)",
                "content": {"application/json": {"model": WebhookAccepted}},
            },
            400: {"description": "Malformed payload", "content": {"application/json": {"model": ErrorBody}}},
            401: {
                "description": "Missing or invalid signature",
                "content": {"application/json": {"model": ErrorBody}},
            },
            413: {"description": "Body too large", "content": {"application/json": {"model": ErrorBody}}},
        },
    )(whatsapp_webhook)
    return app
