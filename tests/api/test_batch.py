"""SQS partial batch responses, as Powertools' ``process_partial_response`` gives them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from chatconsent.api.batch import partial_batch

pytestmark = pytest.mark.unit


def _event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]}


def _handle(record: Mapping[str, Any]) -> None:
    if record["body"] == "fail":
        raise RuntimeError("no")


def test_the_records_that_raised_come_back() -> None:
    handled: list[str] = []

    def handle(record: Mapping[str, Any]) -> None:
        handled.append(record["messageId"])
        _handle(record)

    answer = partial_batch(_event("ok", "fail", "ok", "fail"), handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert handled == ["m0", "m1", "m2", "m3"]  # one failure does not stop the others


def test_a_batch_that_failed_entirely_raises_so_lambda_delivers_it_again() -> None:
    with pytest.raises(BatchProcessingError) as raised:
        partial_batch(_event("fail", "fail"), _handle)
    assert len(raised.value.child_exceptions) == 2


def test_nothing_failed() -> None:
    assert partial_batch(_event("ok"), _handle) == {"batchItemFailures": []}
    assert partial_batch({"Records": []}, _handle) == {"batchItemFailures": []}
