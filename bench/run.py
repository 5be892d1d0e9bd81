"""``make bench``: every benchmark, printed as tables. A report, not a test: it exits 0 on a miss."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]

import coldstart  # noqa: E402
import dynamo_requests  # noqa: E402
import purge  # noqa: E402


def main() -> int:
    for module in (coldstart, dynamo_requests, purge):
        module.main()
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
