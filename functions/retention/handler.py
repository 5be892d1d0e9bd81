"""Retention after a withdrawal: the person's conversation moves under the plan's withdrawn period.

Triggered by the main table's stream (keys only), filtered to changed consent records: a withdrawal
commits its consent records, its ledger proof and its block-list entry in one transaction, and the
stream carries that commit here, so the webhook answers with the same few requests whatever the
person's history. ``ConsentService.settle_retention`` reads the subject's state first (nothing to do
while the conversation's consent is active) and is idempotent, so a batch delivered twice, or
retried after a run that was cut short (timeout, crash: the whole batch is retried, then split, then
recorded in the dead-letter queue), changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatconsent.store import keys
from chatconsent.store.values import deserialize
from chatconsent.wiring import Wiring

logger = Logger(service="retention")
metrics = Metrics(service="retention")
wiring = Wiring()


def subjects_of(event: dict[str, Any]) -> list[str]:
    """The subjects whose consent records changed, once each, in stream order."""
    found: dict[str, None] = {}
    for record in event.get("Records", []):
        key = keys.key_of(deserialize(record["dynamodb"]["Keys"]))
        if key.subject is not None and key.sk.startswith(keys.CONSENT_PREFIX):  # the filter's guarantee, kept here
            found[key.subject] = None
    return list(found)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    subjects = subjects_of(event)
    shortened = sum(wiring.consents.settle_retention(subject) for subject in subjects)  # raises: batch retried
    metrics.add_metric(name="RetentionShortened", unit=MetricUnit.Count, value=shortened)
    logger.info("retention settled", extra={"subjects": len(subjects), "items_shortened": shortened})
    return {"subjects": len(subjects), "items_shortened": shortened}
