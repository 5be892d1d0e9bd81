"""Render the configured notice version into the layer's notice registry (``make notices``).

Published versions are immutable: re-publishing a version whose text changed is refused, so a
changed configuration needs a new ``notice_version``. A date-like version may not be later than the
day it is published (a ledger entry must never point to a notice dated after it); the manifest
records the day each version was published.
"""

from __future__ import annotations

import json
import re
import sys
import time

from chatconsent.config import LANGUAGES, current_config
from chatconsent.notice_render import render_notice
from chatconsent.notices import NOTICE_DIR, text_sha256


def main() -> int:
    config = current_config()
    manifest_path = NOTICE_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {"versions": {}}
    manifest.setdefault("published", {})
    version = config.notice_version
    today = time.strftime("%Y-%m-%d", time.gmtime())
    if version not in manifest["versions"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", version) and version > today:
        print(f"notice {version} would be dated in the future: name it no later than {today}", file=sys.stderr)
        return 1
    hashes = {}
    for language in LANGUAGES:
        text = render_notice(config, language)
        published = manifest["versions"].get(version, {}).get(language)
        if published and published != text_sha256(text):
            print(f"notice {version}/{language} is published and differs: bump notice_version", file=sys.stderr)
            return 1
        hashes[language] = text_sha256(text)
        target = NOTICE_DIR / version / f"{language}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    manifest["published"].setdefault(version, today)  # when it took effect (ledger entries point to it)
    manifest["versions"][version] = hashes
    manifest["latest"] = version
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"published notice {version}: {', '.join(LANGUAGES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
