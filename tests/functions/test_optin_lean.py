"""The opt-in function's lean path: no Powertools resolver and no pydantic at start-up, the same answers.

The handler dispatches on ``routeKey``; its answers are held to the models the OpenAPI document
declares (``chatconsent.api.optin_models``), and its start to what it imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel

from chatconsent.api.optin_models import NoticeDocument, WidgetSettings
from chatconsent.notices import NoticeRegistry
from chatconsent.wiring import Wiring
from localrun.aws import LOCAL_ENVIRONMENT
from localrun.events import http_event
from localrun.functions import load_function
from tests.conftest import ROOT, Env, json_body
from tests.flow import optin_event


def _started_modules(function: str, prefixes: tuple[str, ...]) -> list[str]:
    code = f"import sys, handler; print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **LOCAL_ENVIRONMENT,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "chatconsent"), str(ROOT / "functions" / function)]),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    found: list[str] = json.loads(done.stdout.strip().replace("'", '"'))
    return found


@pytest.mark.parametrize("function", ["optin", "inbound"])
def test_the_function_starts_without_the_resolver_or_pydantic(function: str) -> None:
    heavy = ("aws_lambda_powertools.event_handler", "asyncio", "pydantic", "chatconsent.api.errors")
    assert _started_modules(function, heavy) == []


def _as_declared(model: type[BaseModel], response: dict[str, Any]) -> None:
    """The answer is exactly what its model declares: nothing missing, nothing more, the same types."""
    document = json_body(response)
    assert model.model_validate(document).model_dump(mode="json") == document


def test_the_settings_answer_is_what_the_document_declares(env: Env) -> None:
    response = env.invoke("optin", http_event("GET", "/optin/settings"))
    assert response["statusCode"] == 200
    _as_declared(WidgetSettings, response)
    assert json_body(response)["age_check"] is None


def test_the_settings_answer_with_an_age_check_is_what_the_document_declares(env: Env) -> None:
    config = env.wiring.config.model_copy(update={"minimum_age": 16})
    env.wiring = Wiring(clock=env.clock, dynamodb=env.wiring.dynamodb, config=config, kms=env.wiring._kms)
    response = env.invoke("optin", http_event("GET", "/optin/settings"))
    _as_declared(WidgetSettings, response)
    assert json_body(response)["age_check"]["minimum_age"] == 16


def test_a_notice_answer_is_what_the_document_declares(env: Env) -> None:
    version = NoticeRegistry().latest_version
    event = http_event(
        "GET",
        f"/notices/de/{version}",
        route_path="/notices/{language}/{version}",
        path_parameters={"language": "de", "version": version},
    )
    response = env.invoke("optin", event)
    _as_declared(NoticeDocument, response)
    assert response["headers"] == {
        "Cache-Control": "public, max-age=300",
        "Vary": "Accept",
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    ("language", "version", "where"),
    [("deu", None, "language"), ("DE", None, "language"), ("de", "1.0;drop", "version"), ("de", "v" * 33, "version")],
)
def test_a_path_parameter_out_of_pattern_answers_422_as_validation_did(
    env: Env, language: str, version: str | None, where: str
) -> None:
    params = {"language": language, **({"version": version} if version else {})}
    route = "/notices/{language}/{version}" if version else "/notices/{language}"
    response = env.invoke("optin", http_event("GET", "/notices/x", route_path=route, path_parameters=params))
    assert response["statusCode"] == 422
    [problem] = json_body(response)["detail"]
    assert problem["loc"] == ["path", where] and problem["type"] == "string_pattern_mismatch"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", [{"loc": ["body"], "msg": "Field required", "type": "missing"}]),
        (b"null", [{"loc": ["body"], "msg": "Field required", "type": "missing"}]),
        (b"{not json", [{"loc": ["body", 1], "msg": "JSON decode error", "type": "json_invalid"}]),
        (
            b"[]",
            [
                {
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "type": "model_attributes_type",
                }
            ],
        ),
    ],
    ids=["empty", "null", "not-json", "array"],
)
def test_a_body_that_is_no_object_answers_422_as_validation_did(env: Env, body: bytes, detail: list[Any]) -> None:
    event = http_event("POST", "/optin", body=body, headers={"content-type": "application/json"})
    response = env.invoke("optin", event)
    assert response["statusCode"] == 422 and json_body(response) == {"statusCode": 422, "detail": detail}
    assert env.items() == []


def test_an_unknown_route_is_404_as_the_resolver_answered(env: Env) -> None:
    response = env.invoke("optin", http_event("GET", "/optin/other"))
    assert response["statusCode"] == 404 and json_body(response) == {"statusCode": 404, "message": "Not found"}


def test_the_answers_are_serialised_as_the_resolver_did(env: Env) -> None:
    """Compact JSON; the error body as ``ErrorBody`` writes it."""
    response = env.invoke("optin", optin_event(purposes={"nothing": True}))
    assert response["statusCode"] == 400 and response["body"] == '{"error":"unknown purpose: nothing"}'
    started = env.invoke("optin", optin_event())
    assert started["statusCode"] == 201 and ": " not in started["body"]
    assert started["headers"] == {"Cache-Control": "no-store", "Content-Type": "application/json"}


def test_the_declarations_serve_nothing() -> None:
    """``openapi_app`` is for the document; a request still reaches ``lambda_handler``'s routes only."""
    module = load_function("functions/optin")
    app = module.openapi_app()
    paths = set(app.get_openapi_schema(title="t", version="1").paths or {})
    assert paths == {"/notices/{language}", "/notices/{language}/{version}", "/widget", "/optin/settings", "/optin"}
    assert {key.split(" ", 1)[1].replace("{", "<").replace("}", ">") for key in module.ROUTES} == {
        p.replace("{", "<").replace("}", ">") for p in paths
    }
