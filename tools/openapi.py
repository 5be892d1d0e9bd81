"""The HTTP API's OpenAPI document, generated from the handlers' models (``make openapi``).

Every function the template wires contributes its routes; the merged document is committed as
``openapi.json`` and a test fails when it is stale.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from localrun.aws import LOCAL_ENVIRONMENT
from localrun.functions import load_function
from localrun.template import ROOT, routes

OPENAPI_PATH = ROOT / "openapi.json"
TITLE = "chatconsent API"
DESCRIPTION = (
    "Consent-first customer messaging: the opt-in widget, Art. 13 notices, double opt-in (chat-started "
    "and link-confirmed), the WhatsApp webhooks and the admin API. Generated from the handlers' models; "
    "do not edit by hand."
)


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def build_document() -> dict[str, Any]:
    for name, value in LOCAL_ENVIRONMENT.items():  # each handler builds its wiring (settings, clients) at import
        os.environ.setdefault(name, value)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": _version(), "description": DESCRIPTION},
        "paths": {},
        "components": {"schemas": {}},
    }
    for code_uri in sorted({route.code_uri for route in routes()}):
        module = load_function(code_uri)
        # A function that serves its routes without the resolver declares them in ``openapi_app()``.
        app = module.openapi_app() if hasattr(module, "openapi_app") else module.app
        schema = app.get_openapi_schema(title=TITLE, version=_version())
        part = json.loads(schema.model_dump_json(by_alias=True, exclude_none=True))
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        for name, component in part.get("components", {}).get("schemas", {}).items():
            existing = document["components"]["schemas"].get(name)
            if existing is not None and existing != component:
                raise ValueError(f"two functions define schema {name!r} differently")
            document["components"]["schemas"][name] = component
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        OPENAPI_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OPENAPI_PATH.relative_to(ROOT)}")
        return 0
    if not OPENAPI_PATH.exists() or Path(OPENAPI_PATH).read_text("utf-8") != text:
        print("openapi.json is stale: run `make openapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
