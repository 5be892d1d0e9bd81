"""The webhook function's lean path: no Powertools resolver, the same answers.

The handler dispatches on ``routeKey`` and never imports Powertools' event handler package (nor its
request validation); what it does in its place is held equal to the shared code here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from chatconsent.api.errors import domain_error_response
from chatconsent.keyring import KeyShredded
from localrun.aws import LOCAL_ENVIRONMENT
from localrun.events import http_event
from localrun.functions import load_function
from tests.conftest import ROOT, Env
from tests.flow import activate, text, webhook_event

LIMIT = 64


def _lean() -> Any:
    return load_function("functions/inbound")


def test_the_function_does_not_load_the_resolver() -> None:
    code = (
        "import sys, handler; "
        "print(sorted(m for m in sys.modules if m.startswith(('aws_lambda_powertools.event_handler', 'asyncio',"
        " 'chatconsent.api.errors'))))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **LOCAL_ENVIRONMENT,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "chatconsent"), str(ROOT / "functions" / "inbound")]),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_over_long_handshake_parameter_answers_422_as_validation_did(env: Env) -> None:
    query = {"hub.mode": "s" * 33, "hub.verify_token": "t" * 257, "hub.challenge": "c"}
    response = env.invoke("inbound", http_event("GET", "/webhooks/whatsapp", query=query))
    assert response["statusCode"] == 422
    assert json.loads(response["body"]) == {
        "statusCode": 422,
        "detail": [
            {
                "loc": ["query", "hub.mode"],
                "msg": "String should have at most 32 characters",
                "type": "string_too_long",
            },
            {
                "loc": ["query", "hub.verify_token"],
                "msg": "String should have at most 256 characters",
                "type": "string_too_long",
            },
        ],
    }


def test_a_domain_error_answers_as_in_every_handler(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    activate(env)

    def erased(*_: object) -> None:
        raise KeyShredded()

    monkeypatch.setattr(env.wiring.inbound, "handle", erased)
    response = env.invoke("inbound", webhook_event(text(env, "where is my parcel?")))
    shared = domain_error_response(KeyShredded())
    assert response["statusCode"] == shared.status_code == 410
    assert response["body"] == shared.body
    assert response["headers"] == {"Content-Type": "application/json"}


def test_another_route_is_not_found(env: Env) -> None:
    response = env.invoke("inbound", http_event("PUT", "/webhooks/whatsapp"))
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"statusCode": 404, "message": "Not found"})
