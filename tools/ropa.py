"""Write the Art. 30 record of processing activities as Markdown and JSON (``make ropa``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chatconsent.config import current_config
from chatconsent.ropa import build_record, render_markdown


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path("build/ropa")
    target.mkdir(parents=True, exist_ok=True)
    record = build_record(current_config())
    (target / "ropa.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (target / "ropa.md").write_text(render_markdown(record), encoding="utf-8")
    print(f"wrote {target}/ropa.md and {target}/ropa.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
