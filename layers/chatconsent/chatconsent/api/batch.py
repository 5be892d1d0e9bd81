"""SQS partial batch responses without Powertools' batch utility, whose package imports ``asyncio``.

The queue functions (link sender, campaign planner and sender) answer as Powertools'
``process_partial_response`` does: each record is handled on its own; one that raises is named in
``batchItemFailures`` (SQS delivers it again, then dead-letters it); when every record failed,
``BatchProcessingError`` is raised so that Lambda delivers the whole batch again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

_log = logging.getLogger(__name__)


def partial_batch(event: Mapping[str, Any], handle: Callable[[Mapping[str, Any]], None]) -> dict[str, Any]:
    """Handle each SQS record of ``event``; the ids of those that raised, as Lambda's partial batch response."""
    records = list(event.get("Records") or [])
    failed: list[tuple[str, BaseException]] = []
    for record in records:
        try:
            handle(record)
        except Exception as error:
            _log.debug("record failed", exc_info=True)
            failed.append((str(record.get("messageId", "")), error))
    if records and len(failed) == len(records):
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError  # noqa: PLC0415 (rare)

        raise BatchProcessingError(
            f"All records failed processing. {len(failed)} individual errors logged separately below.",
            [(type(e), e, e.__traceback__) for _, e in failed],
        )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, _ in failed]}
