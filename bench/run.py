"""``make bench``: the benchmarks, printed as tables. A report, not a test.

    python bench/run.py                    # cold start, requests per message, warm webhook time (~2 min)
    python bench/run.py purge              # the purge benchmark (~3 min on moto: 100,000 live items)
    python bench/run.py campaigns          # one campaign to 100,000 subjects (BENCH_CAMPAIGN_POPULATION)
    python bench/run.py coldstart requests purge

A missed target is printed as MISSES and still exits 0. The exit code is 1 only when a benchmark
could not measure what it claims (it crashed, or the flow did not reach a scenario's state), and
when the campaign benchmark prints a FAIL: its targets are exact counts (the eligible set, requests
per recipient, index items read, the simulated send rate), not timings.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [p for p in (str(BENCH), str(ROOT), str(ROOT / "layers" / "chatconsent")) if p not in sys.path]

import campaigns  # noqa: E402
import coldstart  # noqa: E402
import detector  # noqa: E402
import dynamo_requests  # noqa: E402
import link_answers  # noqa: E402
import purge  # noqa: E402
import webhook_warm  # noqa: E402

SECTIONS: dict[str, Callable[[], int]] = {
    "coldstart": coldstart.main,
    "requests": dynamo_requests.main,
    "warm": webhook_warm.main,
    "links": link_answers.main,
    "purge": purge.main,
    "detector": detector.main,
    "campaigns": campaigns.main,
}
DEFAULT = ("coldstart", "requests", "warm", "links", "detector", "purge", "campaigns")


def main(argv: list[str]) -> int:
    chosen = argv or list(DEFAULT)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    status = 0
    for name in chosen:
        started = time.perf_counter()
        try:
            status |= SECTIONS[name]()
        except Exception:
            traceback.print_exc()
            print(f"benchmark {name!r} FAILED to run (see the traceback above)", flush=True)
            status = 1
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
        print(flush=True)
    if "purge" not in chosen:
        print("not run here: the purge benchmark (~3 min), `python bench/run.py purge`")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
