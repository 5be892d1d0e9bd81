"""Telegram webhooks: the bot's updates (messages, button taps, the bot blocked), one per request.

A function of its own, not a route of the inbound function: its cold start loads the standard-library
parser of :mod:`chatconsent.channels.telegram` and not WhatsApp's pydantic models, and a fault or a
flood on one messenger's route cannot exhaust the other's concurrency or share its error budget
(each has its own alarms, log group and IAM role). Like the inbound function it routes on API
Gateway's ``routeKey`` without Powertools' resolver.

The secret-token header is checked before the body is read: absent → 401, wrong → 403, and nothing
is written either way. An authentic body that is not an update (not JSON, no ``update_id``) gets
400; an update of a kind the product does not act on is skipped, counted and answered 200 (Telegram
repeats every non-2xx answer). ``update_id`` is the delivery's id: a repeat has no second effect.
Button taps are acknowledged (``answerCallbackQuery``) after the update is handled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from chatconsent.api.answers import JSON, answer, compact, not_found_answer
from chatconsent.api.body import raw_body
from chatconsent.api.webhooks import record_outcomes, refused, route_webhook
from chatconsent.channels.base import ChannelError, InboundKind
from chatconsent.channels.telegram import TelegramChannel, secret_token_of
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="telegram")
metrics = Metrics(service="telegram")
wiring = Wiring()

WEBHOOK = "POST /webhooks/telegram"
CHANNEL = "telegram"


def telegram_webhook(event: dict[str, Any]) -> dict[str, Any]:
    if not wiring.config.channels.is_enabled(CHANNEL):
        return not_found_answer()
    headers = event.get("headers") or {}
    if secret_token_of(headers) is None:
        return refused(metrics, logger, 401, "missing secret token")
    channel = wiring.channel(CHANNEL)
    assert isinstance(channel, TelegramChannel)
    if not channel.verify(headers, b""):
        return refused(metrics, logger, 403, "invalid secret token")
    body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), wiring.config.limits.max_webhook_bytes)
    parsed = channel.parse(body, received_at=int(wiring.clock()))
    handled = wiring.inbound_on(CHANNEL).handle(parsed)
    unanswered = 0
    for message in parsed.messages:
        if message.kind is InboundKind.BUTTON and message.signal:
            try:
                channel.answer_callback(message.signal)
            except ChannelError:  # the spinner stops by itself; the answer itself is owed in the outbox
                unanswered += 1
    outcomes = record_outcomes(metrics, logger, handled, parsed.skipped, callbacks_unanswered=unanswered)
    return answer(200, JSON, compact({"processed": sum(outcomes.values()), "skipped": parsed.skipped}))


ROUTES = {WEBHOOK: telegram_webhook}


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

    class TelegramUpdateAccepted(BaseModel):
        processed: int
        skipped: int

    app = APIGatewayHttpResolver(enable_validation=True)

    def telegram_webhook():  # type: ignore[no-untyped-def]
        raise NotImplementedError("declared for the document; lambda_handler serves it")

    telegram_webhook.__annotations__ = {"return": Response[Any]}
    app.post(
        "/webhooks/telegram",
        summary="Telegram Bot API webhook (one update per request)",
        description="Authenticated by the X-Telegram-Bot-Api-Secret-Token header (the secret_token given to "
        "setWebhook), compared before the body is read. Updates the product does not act on are skipped (200).",
        responses={
            200: {
                "description": "Processed or skipped (also for repeats of an update_id)",
                "content": {"application/json": {"model": TelegramUpdateAccepted}},
            },
            400: {
                "description": "Not a Telegram update (not JSON, no update_id)",
                "content": {"application/json": {"model": ErrorBody}},
            },
            401: {"description": "No secret-token header", "content": {"application/json": {"model": ErrorBody}}},
            403: {"description": "Wrong secret token", "content": {"application/json": {"model": ErrorBody}}},
            404: {"description": "Telegram is not enabled", "content": {"application/json": {"model": ErrorBody}}},
            413: {"description": "Body too large", "content": {"application/json": {"model": ErrorBody}}},
        },
    )(telegram_webhook)
    return app
