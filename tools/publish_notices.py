"""Render the configured notice version into the layer's notice registry (``make notices``).

Published versions are immutable: re-publishing a version whose text changed is refused, so a
changed configuration needs a new ``notice_version``.
"""

from __future__ import annotations

import json
import sys

from chatconsent.config import LANGUAGES, current_config
from chatconsent.notice_render import render_notice
from chatconsent.notices import NOTICE_DIR, text_sha256


def main() -> int:
    config = current_config()
    manifest_path = NOTICE_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {"versions": {}}
    version = config.notice_version
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
    manifest["versions"][version] = hashes
    manifest["latest"] = version
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"published notice {version}: {', '.join(LANGUAGES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
