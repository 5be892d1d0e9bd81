"""Purge benchmark on the embedded backend: cost must grow with what expired, not with the table.

Two tables built from template.yaml: A holds 100,000 live items and B none; both get the same
1,000 expired items and one purge run each. Printed: items read per item deleted (target <= 1.05),
the DynamoDB work of each run (requests, items read and written: what DynamoDB bills and what its
latency follows) and the wall-clock time on moto, with the ratios A / B (target <= 1.2).

moto answers a Query on an index by testing every item of its in-memory table, so on the
embedded backend the wall-clock of any index query grows with the table; DynamoDB reads only the
index partition asked for. Both figures are printed; the work ratio is the one that carries over.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

LIVE = int(os.environ.get("BENCH_LIVE", "100000"))
EXPIRED = 1_000
ROUNDS = 1
NOW = 1_795_000_000


def _setup_env() -> None:
    from localrun.aws import LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)


def _fill(client: Any, table: Any, name: str, items: list[dict[str, Any]]) -> None:
    from chatconsent.store.values import serialize

    for offset in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": serialize(i)}} for i in items[offset : offset + 25]]
        while requests:
            response = client.batch_write_item(RequestItems={name: requests})
            requests = response.get("UnprocessedItems", {}).get(name, [])


def _items(table: Any, prefix: str, count: int, expired: bool) -> list[dict[str, Any]]:
    from chatconsent.retention import RetentionClass
    from chatconsent.store.keys import ItemKey

    out = []
    for n in range(count):
        # expired: spread over the last 7 days; live: the next 90 days (some later today)
        expires_at = NOW - 1 - (n * 7 * 86_400) // count if expired else NOW + 60 + (n * 90 * 86_400) // count
        out.append(
            table.table.item(
                ItemKey(f"SUBJ#{prefix}{n % 5000}", f"M#{prefix}{n}"), {}, RetentionClass.CONVERSATION, expires_at
            )
        )
    return out


def _row(name: str, live: int, work: dict[str, int], seconds: float) -> str:
    counts = f"{work['requests']} | {work['items read']} | {work['batch writes']}"
    return f"| {name} | {live:,} | {EXPIRED:,} | {counts} | {seconds * 1000:,.0f} ms |"


def run() -> list[str]:
    _setup_env()
    import boto3
    from moto import mock_aws

    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config
    from chatconsent.purge import PurgeJob
    from chatconsent.retention import RetentionPlan
    from chatconsent.store import Store
    from localrun.template import table_definition

    lines: list[str] = []
    with mock_aws():
        client = boto3.client("dynamodb")
        plan = RetentionPlan.from_config(current_config())
        clock = FrozenClock(NOW)
        tables = {}
        for name in ("bench-large", "bench-small"):
            client.create_table(**table_definition("ChatconsentTable", name, stream=False))
            tables[name] = Store(client, name, plan, clock)
        started = time.perf_counter()
        _fill(client, tables["bench-large"], "bench-large", _items(tables["bench-large"], "live", LIVE, expired=False))
        lines.append(f"populated {LIVE:,} live items in {time.perf_counter() - started:.1f} s")
        timings: dict[str, list[float]] = {"bench-large": [], "bench-small": []}
        work: dict[str, dict[str, int]] = {"bench-large": {}, "bench-small": {}}
        current: dict[str, str] = {"table": ""}

        def count(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            tally = work.get(current["table"])
            if tally is None:
                return
            tally["requests"] = tally.get("requests", 0) + 1
            tally["items read"] = tally.get("items read", 0) + int(parsed.get("ScannedCount", 0))
            if model.name == "BatchWriteItem":
                tally["batch writes"] = tally.get("batch writes", 0) + 1

        client.meta.events.register("after-call.dynamodb.*", count)
        reads: list[float] = []
        for round_ in range(ROUNDS):
            for name, table in tables.items():
                _fill(client, table, name, _items(table, f"exp{round_}-", EXPIRED, expired=True))
            for name, table in tables.items():
                purge = PurgeJob(table.purge, clock, 14 * 86_400, current_config().purge.page_size)
                current["table"] = name
                t0 = time.perf_counter()
                report = purge.run(f"bench-{round_}")
                timings[name].append(time.perf_counter() - t0)
                current["table"] = ""
                assert report.items_deleted == EXPIRED, report
                reads.append(report.items_read / report.items_deleted)
        large, small = statistics.median(timings["bench-large"]), statistics.median(timings["bench-small"])
        read_ratio = max(reads)
        a, b = work["bench-large"], work["bench-small"]
        work_ratio = (a["requests"] + a["items read"]) / (b["requests"] + b["items read"])
        ratio = large / small

        def verdict(ok: bool) -> str:
            return "MEETS" if ok else "MISSES"

        lines += [
            "",
            "| table | live items | expired items | requests | items read | batch writes | wall-clock on moto |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            _row("A", LIVE, a, large),
            _row("B", 0, b, small),
            "",
            f"items read per item deleted: {read_ratio:.3f} (target <= 1.05: {verdict(read_ratio <= 1.05)})",
            f"DynamoDB work A / B (requests + items read): {work_ratio:.2f}"
            f" (target <= 1.2: {verdict(work_ratio <= 1.2)})",
            f"wall-clock A / B on moto: {ratio:.2f} ({verdict(ratio <= 1.2)}; moto's index Query tests every item)",
        ]
    return lines


def main() -> int:
    print("## Purge: cost grows with what expired, not with the table (embedded backend)")
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
