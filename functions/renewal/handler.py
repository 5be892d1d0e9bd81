"""Scheduled consent renewal: asks before a consent lapses, and writes the lapse when it does.

Run by an EventBridge Scheduler schedule whose ``Input`` is the event (every 30 minutes). Each run
reads the sparse renewal index for the active consents due now: it asks each person once per
validity period (in WhatsApp's 24-hour window as a yes/no question, outside it by the configured
utility template) and lapses what ends unrenewed (a ``consent_lapsed`` ledger entry, the reach
record deleted), one transaction per person conditioned on the revision read. Outcomes become
metrics (counts only, nobody named). Raises on a malformed event or when a person's turn failed
(after the others were handled), so the scheduler retries and finally dead-letters it.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.schema import Document
from chatconsent.wiring import Wiring

logger = Logger(service="renewal")
metrics = Metrics(service="renewal")
wiring = Wiring()


class RenewalSchedule(Document):
    """The schedule's input (validated without pydantic, as the purge's: no unknown field, the one job)."""

    job: Literal["renewal"] = "renewal"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    RenewalSchedule.model_validate(event)  # raises on a malformed input: the scheduler retries
    report = wiring.renewal_job.run()
    metrics.add_metric(name="RenewalsDue", unit=MetricUnit.Count, value=report.due)
    for outcome, count in sorted(report.counts.items()):
        metrics.add_metric(name=f"Renewal_{outcome}", unit=MetricUnit.Count, value=count)
    summary = {"due": report.due, "subjects": report.subjects, "outcomes": dict(sorted(report.counts.items()))}
    logger.info("renewal run finished", extra=summary)
    if report.counts.get("failed"):
        raise RuntimeError("renewal run incomplete: the schedule retries it")
    return summary
