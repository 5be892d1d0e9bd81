"""Campaign sender: sends the queued recipients of running campaigns at the provider's rate.

SQS-triggered (the send queue, with a maximum concurrency) with partial batch responses. Each
recipient's send is claimed in one transaction first (consent still active, not blocked, frequency
cap, the per-(campaign, person) send record), then sent in a slot of the shared rate, then closed.
Rate limits are retried with back-off and then queued again later; undeliverable recipients are
counted; a provider outage pauses the campaign instead of burning the queue into the dead-letter
queue. Outcomes become metrics and the campaign's aggregate results (no person is named).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.api.batch import partial_batch
from chatconsent.broadcast import SendJob
from chatconsent.schema import DocumentError
from chatconsent.wiring import Wiring

logger = Logger(service="campaignsender")
metrics = Metrics(service="campaignsender")
wiring = Wiring()


def send(record: Mapping[str, Any]) -> None:
    try:
        job = SendJob.model_validate_json(record["body"])
    except DocumentError:  # retrying cannot help; the body is never logged
        metrics.add_metric(name="SendJobMalformed", unit=MetricUnit.Count, value=1)
        return
    # raises: the job comes back (its sends are recorded); the message id is the same on every delivery
    report = wiring.campaign_sender.handle(job, str(record.get("messageId") or ""))
    if report.repeated:
        metrics.add_metric(name="SendJobRepeated", unit=MetricUnit.Count, value=1)
    for outcome, count in report.counts.items():
        metrics.add_metric(name=f"Campaign_{outcome}", unit=MetricUnit.Count, value=count)
    if report.paused:
        logger.warning("campaign paused: the provider is unavailable", extra={"campaign": job.campaign})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_batch(event, send)
