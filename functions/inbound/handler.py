"""Inbound webhooks: the WhatsApp Cloud API handshake and its signed message/status deliveries.

The signature is checked on the raw bytes before anything is parsed or written; a forged request
gets 401 and leaves no trace. Every message and status of a batch is processed; duplicates have no second effect.
"""

from __future__ import annotations

import hmac
from collections import Counter
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from chatconsent.api import ErrorBody, error_response, raw_body, register_error_handlers
from chatconsent.channels.base import MalformedPayload
from chatconsent.wiring import Wiring

logger = Logger(service="inbound")
metrics = Metrics(service="inbound")
app = APIGatewayHttpResolver(enable_validation=True)
wiring = Wiring()


class WebhookAccepted(BaseModel):
    processed: int


register_error_handlers(app)


@app.exception_handler(MalformedPayload)
def _malformed(error: MalformedPayload) -> Response[Any]:
    """Authentic but not the provider's shape: nothing to retry."""
    logger.warning("malformed webhook payload", extra={"reason": str(error)})
    return error_response(400, str(error))


@app.get(
    "/webhooks/whatsapp",
    summary="WhatsApp webhook verification handshake",
    responses={
        200: {"description": "The challenge, echoed", "content": {"text/plain": {"schema": {"type": "string"}}}},
        403: {"description": "Wrong mode or verify token", "content": {"text/plain": {"schema": {"type": "string"}}}},
    },
)
def whatsapp_handshake(
    mode: Annotated[str, Query(alias="hub.mode", max_length=32)] = "",
    token: Annotated[str, Query(alias="hub.verify_token", max_length=256)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=256)] = "",
) -> Response[str]:
    expected = wiring.secrets.whatsapp_verify_token.encode()
    if mode == "subscribe" and challenge and hmac.compare_digest(token.encode(), expected):
        return Response(200, content_types.TEXT_PLAIN, challenge)
    return Response(403, content_types.TEXT_PLAIN, "forbidden")


@app.post(
    "/webhooks/whatsapp",
    summary="WhatsApp Cloud API webhook (messages and statuses)",
    description="Signed with X-Hub-Signature-256 over the raw body; 401 without a valid signature.",
    responses={
        200: {
            "description": "Processed (also for duplicates)",
            "content": {"application/json": {"model": WebhookAccepted}},
        },
        400: {"description": "Malformed payload", "content": {"application/json": {"model": ErrorBody}}},
        401: {"description": "Missing or invalid signature", "content": {"application/json": {"model": ErrorBody}}},
        413: {"description": "Body too large", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def whatsapp_webhook() -> Response[Any]:
    event = app.current_event
    body = raw_body(event.body, bool(event.is_base64_encoded), wiring.config.limits.max_webhook_bytes)
    channel = wiring.whatsapp
    if not channel.verify(event.headers, body):
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook signature rejected")
        return error_response(401, "invalid signature")
    parsed = channel.parse(body)
    outcomes = Counter(wiring.inbound.handle(parsed))
    for outcome, count in outcomes.items():
        metrics.add_metric(name=f"Inbound_{outcome.value}", unit=MetricUnit.Count, value=count)
    logger.info(
        "webhook processed", extra={"outcomes": {k.value: v for k, v in outcomes.items()}, "skipped": parsed.skipped}
    )
    return Response(200, content_types.APPLICATION_JSON, WebhookAccepted(processed=sum(outcomes.values())))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
