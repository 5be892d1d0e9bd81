"""Campaign planner: starts a campaign and reads its audience, one index page per job.

SQS-triggered (the plan queue; EventBridge Scheduler puts a scheduled campaign's start job there)
with partial batch responses. A start job splits the audience into its index partitions; a
partition job reads one page, queues its recipients for the senders and queues itself again with
the page's cursor. Nothing is scanned and no run reads more than a page. A job delivered twice
queues its recipients twice: their send records make the second delivery send nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.api.batch import partial_batch
from chatconsent.broadcast import PlanJob
from chatconsent.schema import DocumentError
from chatconsent.wiring import Wiring

logger = Logger(service="campaignplanner")
metrics = Metrics(service="campaignplanner")
wiring = Wiring()


def plan(record: Mapping[str, Any]) -> None:
    try:
        job = PlanJob.model_validate_json(record["body"])
    except DocumentError:  # retrying cannot help
        metrics.add_metric(name="PlanJobMalformed", unit=MetricUnit.Count, value=1)
        return
    queued = wiring.planner.handle(job)  # raises: the job comes back, then the dead-letter queue
    metrics.add_metric(name="RecipientsQueued", unit=MetricUnit.Count, value=queued)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_batch(event, plan)
