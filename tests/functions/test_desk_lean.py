"""The desk function's lean path: no Powertools resolver and no pydantic at start-up, the resolver's answers
word for word, and the models warm in a SnapStart snapshot (as the admin and campaigns functions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from chatconsent.api.requests import Invalid, prime
from chatconsent.snapshot import snapshot_hooks
from localrun.aws import LOCAL_ENVIRONMENT
from localrun.events import http_event
from localrun.functions import load_function
from tests.conftest import ROOT, Env, json_body
from tests.functions.desk_helpers import as_officer, desk, jwt_authorizer
from tests.test_snapstart import _count_calls

REPLIES = "/desk/api/conversations/{subject}/replies"
SUBJECT = "ab" * 32


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


@pytest.mark.parametrize("function", ["desk", "admin", "campaigns"])
def test_the_function_starts_without_the_resolver_or_pydantic(function: str) -> None:
    heavy = ("aws_lambda_powertools.event_handler", "asyncio", "pydantic", "chatconsent.api.errors")
    assert _started_modules(function, heavy) == []


def _raw(env: Env, body: str, subject: str = SUBJECT) -> dict[str, Any]:
    event = http_event(
        "POST",
        REPLIES.format(subject=subject),
        route_path=REPLIES,
        path_parameters={"subject": subject},
        body=body,
        headers={"content-type": "application/json"},
        authorizer=jwt_authorizer("agent@example.test", "[agents]"),
    )
    return env.invoke("desk", event)


@pytest.mark.parametrize(
    ("body", "subject", "error"),
    [
        ("{", SUBJECT, "1: JSON decode error"),
        ("{", "x", "1: JSON decode error"),  # the resolver answers a body it cannot parse alone
        ("", SUBJECT, ": Field required"),
        ("[1]", SUBJECT, ": Input should be a valid dictionary or object to extract fields from"),
        ('{"text": ""}', "x", "subject: String should match pattern '^[0-9a-f]{64}$'; "
         "text: String should have at least 1 character"),
        ('{"text": "Hi", "extra": 1}', SUBJECT, "extra: Extra inputs are not permitted"),
        ("{}", SUBJECT, ": Value error, send either text or template"),
        ("[" * 5_000 + "]" * 5_000, SUBJECT, "request body is nested too deeply"),
    ],
)  # fmt: skip
def test_a_request_the_models_refuse_is_400_with_where_and_what(env: Env, body: str, subject: str, error: str) -> None:
    response = _raw(env, body, subject)
    assert (response["statusCode"], json_body(response)) == (400, {"error": error})
    assert response["headers"] == {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": "x"}, "limit: Input should be a valid integer, unable to parse string as an integer"),
        ({"cursor": "a" * 2049}, "cursor: String should have at most 2048 characters"),
        ({"cursor": "e30"}, "cursor: not one this API handed out"),
    ],
)
def test_a_wrong_inbox_query_is_400_with_where_and_what(env: Env, query: dict[str, str], error: str) -> None:
    response = desk(env, "GET", "/desk/api/conversations", query=query)
    assert (response["statusCode"], json_body(response)) == (400, {"error": error})


def test_an_unknown_route_and_an_unknown_file_are_404(env: Env) -> None:
    event = http_event("PUT", "/desk", authorizer=jwt_authorizer("agent@example.test", "[agents]"))
    assert json_body(env.invoke("desk", event)) == {"statusCode": 404, "message": "Not found"}
    for name in ("index.html", "DESK.JS", "desk.js.map"):
        response = desk(env, "GET", "/desk/assets/{name}", name=name)
        assert (response["statusCode"], json_body(response)) == (404, {"error": "no such file"})


def test_the_answers_keep_the_resolver_shape(env: Env) -> None:
    me = desk(env, "GET", "/desk/api/me")
    assert me == {
        "statusCode": 200,
        "body": '{"user":"agent@example.test","groups":["agents"],'
        '"can":{"reply":true,"withdraw":true,"privacy":false}}',
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }
    audit = as_officer(env, "GET", "/desk/api/privacy/audit/{day}", day="2026-02-30")
    assert (audit["statusCode"], json_body(audit)) == (400, {"error": "day: not a calendar day"})


def _priming(module: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The requests the module's hook primes with (the hook registered by this load of the module)."""
    routes = set(module.ROUTES.values())
    found = [args[0] for func, args, _ in snapshot_hooks().get_before_snapshot() if func is prime]
    return next(requests for requests in reversed(found) if {route for route, _ in requests} <= routes)


@pytest.mark.parametrize("function", ["desk", "admin", "campaigns"])
def test_the_function_primes_its_models_before_the_snapshot_without_an_aws_call(env: Env, function: str) -> None:
    module = load_function(f"functions/{function}")
    module.wiring = env.wiring
    requests = _priming(module)
    assert len(requests) >= 2
    calls = _count_calls(env.dynamodb)
    prime(requests)
    assert calls == []
    assert any(name.startswith("chatconsent.api.") and name.endswith("_models") for name in sys.modules)


def test_priming_refuses_a_request_that_validation_lets_through() -> None:
    refused: list[str] = []

    def checked(event: dict[str, Any]) -> None:
        if event.get("body") == "{}":
            refused.append("refused")
            raise Invalid([{"loc": ["body"], "msg": "Field required", "type": "missing"}])

    prime([(checked, {"body": "{}"})])
    assert refused == ["refused"]
    with pytest.raises(RuntimeError, match="checked"):
        prime([(checked, {"body": '{"text": "Hi"}'})])
