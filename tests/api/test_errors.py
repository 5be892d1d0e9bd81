"""Domain errors answered by meaning: one status per kind, one body for every error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from chatconsent.api.errors import domain_error_response, error_response, register_error_handlers, status_of
from chatconsent.errors import DomainError, Gone, InvalidInput, NotAllowed, NotFound, NoticeChanged, RateLimited
from localrun.events import http_event
from localrun.functions import LambdaContext


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("x"), 400),
        (NotFound("x"), 404),
        (NotAllowed("x"), 409),
        (NoticeChanged("x"), 409),
        (Gone("x"), 410),
        (RateLimited(60), 429),
        (DomainError("x"), 400),
    ],
)
def test_each_kind_has_one_status(error: DomainError, status: int) -> None:
    assert status_of(error) == status


def test_an_error_of_two_kinds_answers_as_the_more_specific() -> None:
    class Both(NotAllowed, InvalidInput):
        pass

    assert status_of(Both("x")) == 400


def test_the_body_is_the_reason_and_a_rate_limit_says_when_to_retry() -> None:
    response = domain_error_response(RateLimited(retry_after=42))
    assert response.status_code == 429
    assert json.loads(str(response.body)) == {"error": "too many requests, try again later"}
    assert response.headers["Retry-After"] == "42"
    assert error_response(404, "no such thing").body == '{"error":"no such thing"}'


def _app(raised: Exception, parses_json: bool = False) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    register_error_handlers(app, parses_json=parses_json)

    @app.get("/thing")
    def thing() -> dict[str, Any]:
        raise raised

    return app


@pytest.mark.parametrize(
    ("raised", "status", "reason"),
    [
        (NotFound("no such thing"), 404, "no such thing"),
        (RecursionError(), 400, "request body is nested too deeply"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 400, "request body is not valid UTF-8"),
    ],
)
def test_registered_handlers_answer_instead_of_500(raised: Exception, status: int, reason: str) -> None:
    response = _app(raised, parses_json=True).resolve(http_event("GET", "/thing"), LambdaContext())
    assert response["statusCode"] == status
    assert json.loads(response["body"]) == {"error": reason}


def test_parse_errors_are_left_alone_where_nothing_parses_json() -> None:
    with pytest.raises(RecursionError):
        _app(RecursionError()).resolve(http_event("GET", "/thing"), LambdaContext())
