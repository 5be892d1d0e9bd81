"""The outbox sender: delivers the messages the product owes, after the change they answer committed.

Triggered by the main table's stream (keys only), filtered to new outbox items (``OUT#`` sort keys):
the webhook wrote each one in the transaction of the change it answers (:mod:`chatconsent.outbox`).
Each item is read, opened, sent and deleted with its outbound record in one transaction, in stream
order. A provider that is down, throttles or times out stops the batch at that item and reports it
as the first failure, so Lambda delivers it again from there (a few times, then its stream position
goes to the dead letters, with an alarm); an item sent before is gone and costs one read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.store import keys
from chatconsent.store.values import deserialize
from chatconsent.wiring import Wiring

logger = Logger(service="outbox")
metrics = Metrics(service="outbox")
wiring = Wiring()


def owed_keys(event: dict[str, Any]) -> list[tuple[str, keys.ItemKey]]:
    """The new outbox items of a batch, with their stream sequence numbers, in stream order."""
    found = []
    for record in event.get("Records", []):
        stream = record["dynamodb"]
        key = keys.key_of(deserialize(stream["Keys"]))
        if key.sk.startswith(keys.OUTBOX_PREFIX):  # the filter's guarantee, kept here
            found.append((str(stream["SequenceNumber"]), key))
    return found


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    owed = owed_keys(event)
    outcomes, stopped = wiring.outbox_sender.deliver_all([key for _, key in owed])
    for outcome, count in Counter(outcomes).items():
        metrics.add_metric(name=f"Outbox_{outcome.value}", unit=MetricUnit.Count, value=count)
    failures = []
    if stopped is not None:  # the messenger did not take it: from this item on, the batch comes again
        metrics.add_metric(name="Outbox_retry", unit=MetricUnit.Count, value=1)
        failures = [{"itemIdentifier": owed[stopped][0]}]
    logger.info(
        "outbox delivered", extra={"owed": len(owed), "outcomes": dict(Counter(outcomes)), "retry": bool(failures)}
    )
    return {"batchItemFailures": failures}
