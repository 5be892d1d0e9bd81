"""Link sender: the queued jobs of link-confirmed opt-ins, one template message each.

SQS-triggered with partial batch responses: a job that cannot succeed (malformed) is dropped and
counted, an unexpected failure is retried and finally dead-lettered. Each job is claimed before
the provider call, so a job delivered twice sends once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.api.batch import partial_batch
from chatconsent.link_sender import NOTHING_TO_SEND, LinkJob
from chatconsent.schema import DocumentError
from chatconsent.sealing import Unreadable
from chatconsent.wiring import Wiring

logger = Logger(service="linksender")
metrics = Metrics(service="linksender")
wiring = Wiring()


def send(record: Mapping[str, Any]) -> None:
    if record["body"] == NOTHING_TO_SEND:
        return
    try:
        job = LinkJob.model_validate_json(record["body"])
    except DocumentError:  # retrying cannot help; the body is never logged (it holds the token)
        metrics.add_metric(name="LinkJobMalformed", unit=MetricUnit.Count, value=1)
        return
    try:
        outcome = wiring.link_sender.send(job)
    except Unreadable:  # a number sealed for another token, or altered: retrying cannot help either
        metrics.add_metric(name="LinkJobMalformed", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name=f"LinkSend_{outcome.value}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_batch(event, send)
