"""The committed OpenAPI document is what the handlers' models generate."""

from __future__ import annotations

import json

from localrun.template import routes
from tools.openapi import OPENAPI_PATH, render


def test_openapi_document_is_current() -> None:
    assert OPENAPI_PATH.read_text("utf-8") == render(), "openapi.json is stale: run `make openapi`"


def test_openapi_covers_every_template_route() -> None:
    document = json.loads(OPENAPI_PATH.read_text("utf-8"))
    documented = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert documented == {route.route_key for route in routes()}


def test_optin_body_requires_explicitly_true_purposes() -> None:
    schema = json.loads(OPENAPI_PATH.read_text("utf-8"))["components"]["schemas"]["OptInBody"]
    purposes = schema["properties"]["purposes"]
    assert purposes["additionalProperties"] == {"const": True, "type": "boolean"}
    assert schema["additionalProperties"] is False
