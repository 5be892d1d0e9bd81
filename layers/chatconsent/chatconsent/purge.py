"""The scheduled purge: deletes what expired, on time, at a cost that grows with what expired.

It reads the sparse, sharded expiry index (``expiry day # shard`` → ``expires_at``), never the
table; deletes in batches of 25 with retries of unprocessed items and exponential backoff; stops
before the invocation's time runs out (the next run simply continues: what is deleted has left
the index); and can run twice at once (deleting a deleted item is a no-op). When a subject has
nothing left, its data-key item goes too. Receipts hold counts and ages, never personal data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from chatconsent.clock import Clock
from chatconsent.store import ExpiredItem
from chatconsent.store.purge import PurgeAccess

BATCH_SIZE = 25
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"}
)


@dataclass
class ClassTally:
    deleted: int = 0
    oldest_overdue_seconds: int = 0


@dataclass
class PurgeReport:
    run_id: str
    started_at: int
    finished_at: int = 0
    complete: bool = True
    items_read: int = 0
    items_deleted: int = 0
    items_left: int = 0  # still unprocessed after every retry: the next run takes them
    subjects_cleared: int = 0
    lag_seconds: int = 0  # how long the most overdue item seen had been expired
    by_class: dict[str, ClassTally] = field(default_factory=dict)


@dataclass(frozen=True)
class Pacing:
    """How a run treats time: when to stop before the invocation ends, how to retry throttled deletes."""

    safety_ms: int = 10_000
    max_attempts: int = 8
    backoff_base: float = 0.05
    sleep: Callable[[float], None] = time.sleep


class PurgeJob:
    def __init__(
        self,
        access: PurgeAccess,
        clock: Clock,
        lookback_seconds: int,
        page_size: int = 100,
        time_left_ms: Callable[[], int] | None = None,
        pacing: Pacing = Pacing(),
    ) -> None:
        self._access = access
        self._clock = clock
        self._lookback = lookback_seconds
        self._page_size = page_size
        self._time_left_ms = time_left_ms
        self._safety_ms = pacing.safety_ms
        self._max_attempts = pacing.max_attempts
        self._backoff_base = pacing.backoff_base
        self._sleep = pacing.sleep

    def _out_of_time(self) -> bool:
        return self._time_left_ms is not None and self._time_left_ms() < self._safety_ms

    def run(self, run_id: str) -> PurgeReport:
        """Delete what has expired; the receipts say what was deleted, also when the run fails midway
        (then marked incomplete, and the exception goes on: the schedule runs it again)."""
        now = int(self._clock())
        report = PurgeReport(run_id=run_id, started_at=now)
        failure: Exception | None = None
        try:
            self._purge(now, report)
        except Exception as error:  # re-raised below, after the receipts
            report.complete = False
            failure = error
        for attempt in range(self._max_attempts):  # receipts are puts under fixed keys: safe to repeat
            try:
                self._receipts(run_id, report)
                break
            except ClientError:
                if attempt + 1 == self._max_attempts:
                    raise
                self._sleep(self._backoff_base * 2**attempt)
        if failure is not None:
            raise failure
        return report

    def _purge(self, now: int, report: PurgeReport) -> None:
        touched_subjects: set[str] = set()
        for partition in self._access.partitions(now, self._lookback):
            start_key = None
            while True:
                if self._out_of_time():
                    report.complete = False
                    break
                page, start_key = self._access.expired_page(partition, now, start_key, self._page_size)
                report.items_read += len(page)
                for offset in range(0, len(page), BATCH_SIZE):
                    self._delete(page[offset : offset + BATCH_SIZE], now, report, touched_subjects)
                if start_key is None:
                    break
            if not report.complete:
                break
        for subject in sorted(self._access.subjects_with_keys(sorted(touched_subjects))):
            if not self._access.subject_has_items(subject) and self._access.delete_subject_key(subject):
                report.subjects_cleared += 1

    def _receipts(self, run_id: str, report: PurgeReport) -> None:
        report.finished_at = int(self._clock())
        for retention_class, tally in sorted(report.by_class.items()):
            self._access.put_receipt(
                run_id,
                retention_class,
                {
                    "deleted": tally.deleted,
                    "oldest_overdue_seconds": tally.oldest_overdue_seconds,
                    "started_at": report.started_at,
                    "finished_at": report.finished_at,
                    "complete": report.complete,
                },
            )

    def _delete(self, batch: Sequence[ExpiredItem], now: int, report: PurgeReport, subjects: set[str]) -> None:
        pending = list(batch)
        for attempt in range(self._max_attempts):
            if attempt:
                # Exponential backoff with full jitter, as AWS recommends for unprocessed items.
                self._sleep(random.uniform(0, self._backoff_base * 2**attempt))  # noqa: S311
            try:
                pending = self._access.delete(pending)
            except ClientError as error:
                if error.response["Error"]["Code"] not in _THROTTLED:
                    raise
                continue
            if not pending:
                break
        left = {i.key for i in pending}
        report.items_left += len(left)
        for item in batch:
            overdue = max(0, now - item.expires_at)
            report.lag_seconds = max(report.lag_seconds, overdue)
            if item.key in left:
                continue
            tally = report.by_class.setdefault(item.retention_class or "unclassified", ClassTally())
            tally.deleted += 1
            tally.oldest_overdue_seconds = max(tally.oldest_overdue_seconds, overdue)
            report.items_deleted += 1
            if item.subject:
                subjects.add(item.subject)
