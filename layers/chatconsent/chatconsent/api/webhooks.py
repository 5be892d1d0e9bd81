"""What every webhook function (WhatsApp, Apple, Telegram) does around its channel, in one place.

Each webhook function routes on API Gateway's ``routeKey`` as every handler does
(:mod:`chatconsent.api.routing`) and logs an authentic body that is not the provider's shape.
After a delivery it counts each outcome as the metric ``Inbound_<outcome>`` and the items skipped
as ``InboundSkipped`` (the function's ``service`` dimension tells the channels apart), and logs the
counts — never an item's content.

Nothing here loads Powertools: the logger and the metrics are the function's own, passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from chatconsent.api.answers import error_answer
from chatconsent.api.routing import Answer, Event, Route, route_request
from chatconsent.channels.base import MalformedPayload

if TYPE_CHECKING:  # the inbound package loads with the first delivery, not at init
    from chatconsent.inbound.outcomes import Outcome

COUNT = "Count"  # Powertools' MetricUnit.Count, by value


class Log(Protocol):
    def info(self, msg: str, *, extra: Mapping[str, Any]) -> None: ...
    def warning(self, msg: str, *, extra: Mapping[str, Any]) -> None: ...


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


def route_webhook(routes: Mapping[str, Route], event: Event, logger: Log) -> Answer:
    """Run the route of ``event``'s ``routeKey`` (:func:`chatconsent.api.routing.route_request`); an
    authentic body that is not the provider's shape is logged (its reason names no content)."""

    def malformed(error: Exception) -> Answer | None:
        if isinstance(error, MalformedPayload):
            logger.warning("malformed webhook payload", extra={"reason": str(error)})
        return None

    return route_request(routes, event, malformed)


def refused(metrics: MetricSink, logger: Log, status: int, reason: str) -> Answer:
    """A request that did not prove it came from the provider: counted, logged by status, answered."""
    metrics.add_metric(name="WebhookRejected", unit=COUNT, value=1)
    logger.warning("webhook request refused", extra={"status": status})
    return error_answer(status, reason)


def record_outcomes(
    metrics: MetricSink, logger: Log, outcomes: Iterable[Outcome], skipped: int, **extra: Any
) -> Counter[Outcome]:
    """Count a delivery's outcomes and skipped items (metrics and one log line); the counts, by outcome."""
    counted = Counter(outcomes)
    for outcome, count in counted.items():
        metrics.add_metric(name=f"Inbound_{outcome.value}", unit=COUNT, value=count)
    if skipped:
        metrics.add_metric(name="InboundSkipped", unit=COUNT, value=skipped)
    logger.info(
        "webhook processed",
        extra={"outcomes": {k.value: v for k, v in counted.items()}, "skipped": skipped, **extra},
    )
    return counted
