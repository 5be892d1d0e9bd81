"""Scheduled purge: deletes every item whose retention expired, and writes receipts.

Run by an EventBridge Scheduler schedule whose ``Input`` is the event. Emits ``ItemsPurged`` and
``PurgeLagSeconds`` (alarmed above two hours), and ``RightsRequestsOverdue``: how many rights
requests received by e-mail or post are open past their Art. 12(3) deadline (alarmed above zero).
Raises on a malformed event, so the scheduler retries and finally dead-letters it.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.schema import Document, constrained
from chatconsent.wiring import Wiring

logger = Logger(service="purge")
metrics = Metrics(service="purge")
wiring = Wiring()


class PurgeSchedule(Document):
    """The schedule's input. ``lookback_days`` widens one run after an outage."""

    job: Literal["purge"] = "purge"
    lookback_days: int | None = constrained(default=None, ge=1, le=400)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    schedule = PurgeSchedule.model_validate(event)  # raises on a malformed input: the scheduler retries
    lookback = schedule.lookback_days * 86_400 if schedule.lookback_days else None
    job = wiring.purge_job(context.get_remaining_time_in_millis, lookback)
    report = job.run(context.aws_request_id)
    metrics.add_metric(name="ItemsPurged", unit=MetricUnit.Count, value=report.items_deleted)
    metrics.add_metric(name="PurgeLagSeconds", unit=MetricUnit.Seconds, value=report.lag_seconds)
    metrics.add_metric(name="PurgeItemsLeft", unit=MetricUnit.Count, value=report.items_left)
    overdue = wiring.store.rights.overdue(wiring.store.now())
    metrics.add_metric(name="RightsRequestsOverdue", unit=MetricUnit.Count, value=overdue)
    summary = {
        "complete": report.complete,
        "items_read": report.items_read,
        "items_deleted": report.items_deleted,
        "items_left": report.items_left,
        "subjects_cleared": report.subjects_cleared,
        "lag_seconds": report.lag_seconds,
        "rights_requests_overdue": overdue,
        "deleted_by_class": {k: v.deleted for k, v in sorted(report.by_class.items())},
    }
    logger.info("purge run finished", extra=summary)
    return summary
