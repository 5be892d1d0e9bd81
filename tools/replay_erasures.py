"""Replay every erasure after a restore time into a restored copy of the main table (runbook step 3).

    .venv/bin/python -m tools.replay_erasures --copy-table <restored table> --restored-at <T>

``T`` is the ``--restore-date-time`` the copy was restored to (ISO 8601 with a zone, or epoch
seconds). The live table is ``TABLE_NAME`` of the environment (as for the functions); the copy is
written to, the live table only read. Prints counts only. Safe to run again.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime

from chatconsent.restore import replay_erasures
from chatconsent.rights import SubjectRights
from chatconsent.store import Store
from chatconsent.wiring import Wiring


def restore_time(value: str) -> int:
    """Epoch seconds, or an ISO 8601 time with its zone (a time without one is refused)."""
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the restore time with its zone, e.g. 2026-11-30T08:00:00Z")
    return int(moment.timestamp())


def main(argv: list[str], wiring: Wiring | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy-table", required=True, help="the table restored from the backup")
    parser.add_argument("--restored-at", required=True, type=restore_time, help="the restore time T")
    args = parser.parse_args(argv)
    wiring = wiring or Wiring()
    live = wiring.store
    if args.restored_at > live.now():
        parser.error("the restore time is in the future")
    # no key table and no keyring: the copy never shreds a key of the live key table
    copy = Store(wiring.dynamodb, args.copy_table, live.plan, wiring.clock)
    rights = SubjectRights(copy, None, wiring.notices, wiring.config, wiring.clock)
    summary = replay_erasures(live, copy, rights, args.restored_at)
    print(json.dumps(asdict(summary), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
