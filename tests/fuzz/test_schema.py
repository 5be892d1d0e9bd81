"""Schemathesis against ``openapi.json``: the local server must keep what the document promises.

Every operation gets valid and invalid requests generated from the document (bounded, and the
same ones on every run); each answer must not be a server error (a 5xx, or a connection closed
without an answer) and must match the document: a documented status, a documented media type and
a body that validates against the documented schema. Admin routes get the local admin token.

schemathesis 4 supports pytest 9 (it requires ``pytest>=8.4,<10``), so its pytest integration
(``schema.parametrize()``, one test per operation) is used; the server is ``python -m
localrun.server`` in a subprocess (see ``tests/fuzz/conftest.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localrun.aws import LOCAL_ADMIN_TOKEN
from tests.fuzz.support import ROOT, examples

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ADMIN = {"Authorization": f"Bearer {LOCAL_ADMIN_TOKEN}"}

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",  # valid and invalid requests
            "max-examples": examples(6),
            "deterministic": True,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            # Methods no route has, among those the local server dispatches to its router: for
            # TRACE and QUERY its http.server answers 501 itself, which no function can change.
            "coverage": {"enabled": True, "unexpected-methods": ["get", "put", "post", "delete", "patch"]},
            "stateful": {"enabled": False},
        },
        "request-timeout": 30,
    }
)
SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.json", config=CONFIG)


@SCHEMA.parametrize()
def test_the_api_keeps_what_openapi_json_promises(case: Case[Any], server: str) -> None:
    headers = ADMIN if case.path.startswith("/admin/") else None
    try:
        case.call_and_validate(base_url=server, headers=headers, checks=CHECKS)
    except requests.ConnectionError:
        # API Gateway answers 500 when the function fails; the local server hangs up instead.
        command = case.as_curl_command(headers=headers, base_url=server)
        pytest.fail(
            "no answer at all (a server error): the connection was closed.\n"
            f"Reproduce with:\n  {command}\n  (the body as bytes: {case.body!r}, media type {case.media_type})"
        )
