"""The one routing every handler uses: the route of ``routeKey``, and the answer to each kind of error."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chatconsent.api.body import BodyRejected
from chatconsent.api.requests import Invalid, json_body
from chatconsent.api.routing import Answer, Event, route_request
from chatconsent.channels.base import MalformedPayload
from chatconsent.errors import InvalidInput, NotAllowed, NotFound, RateLimited


def raising(error: BaseException) -> dict[str, Any]:
    def route(event: Event) -> Answer:
        raise error

    return {"GET /x": route}


def body(answer: Answer) -> Any:
    return json.loads(answer["body"])


def test_the_route_of_the_route_key_answers() -> None:
    routes = {"GET /x": lambda event: {"statusCode": 200, "body": event["routeKey"]}}
    assert route_request(routes, {"routeKey": "GET /x"}) == {"statusCode": 200, "body": "GET /x"}


@pytest.mark.parametrize("event", [{}, {"routeKey": "POST /x"}, {"routeKey": None}])
def test_no_route_is_404(event: Event) -> None:
    assert route_request(raising(RuntimeError("never")), event)["statusCode"] == 404


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Invalid([{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]), 422),
        (InvalidInput("unknown purpose"), 400),
        (NotFound("no such person"), 404),
        (NotAllowed("window closed"), 409),
        (RateLimited("too many"), 429),
        (BodyRejected(413, "request body too large"), 413),
        (MalformedPayload("not a WhatsApp webhook payload"), 400),
    ],
)
def test_each_kind_of_error_has_its_answer(error: Exception, status: int) -> None:
    answer = route_request(raising(error), {"routeKey": "GET /x"})
    assert answer["statusCode"] == status
    assert body(answer)  # a reason, never empty


def test_a_special_answer_comes_first_and_none_falls_back_to_the_common_one() -> None:
    def special(error: Exception) -> Answer | None:
        return {"statusCode": 418, "body": "{}"} if isinstance(error, RateLimited) else None

    assert route_request(raising(RateLimited("x")), {"routeKey": "GET /x"}, special)["statusCode"] == 418
    assert route_request(raising(NotFound("x")), {"routeKey": "GET /x"}, special)["statusCode"] == 404


@pytest.mark.parametrize(
    "error",
    [KeyError("bug"), RecursionError(), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")],
)
def test_anything_else_is_not_caught(error: Exception) -> None:
    """A fault of ours (a stored value that does not decode, a runaway recursion) is a logged 500,
    never a 400 blaming the caller's body: the body's own decoding refuses it where it is read."""
    with pytest.raises(type(error)):
        route_request(raising(error), {"routeKey": "GET /x"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"\xff\xfe", "not valid UTF-8"), (b"[" * 100_000 + b"]" * 100_000, "nested too deeply")],
)
def test_a_body_that_does_not_decode_is_refused_where_it_is_read(body: bytes, reason: str) -> None:
    event = {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    with pytest.raises(BodyRejected, match=reason) as refused:
        json_body(event, 1_000_000)
    assert refused.value.status == 400


def test_a_body_that_is_not_json_is_the_resolvers_422() -> None:
    with pytest.raises(Invalid) as refused:
        json_body({"body": "{not json"}, 1_000)
    assert refused.value.problems[0]["type"] == "json_invalid"
