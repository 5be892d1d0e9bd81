"""What a handler that routes on ``routeKey`` reads from API Gateway's event (payload 2.0):
path and query parameters and a JSON body, checked as Powertools' resolver checked them, and the
IAM principal that signed the request.

``RequestCheck`` collects every problem of one request in the resolver's order (path, query, body)
and raises ``Invalid`` once with all of them; ``chatconsent.api.answers.invalid_answer`` answers it
with the resolver's 422 body. Query values and bodies are validated by pydantic with the route's own
types, so the messages are the resolver's word for word; pydantic is imported on the first request
that needs it (and before a SnapStart snapshot), never at import: nothing here loads it or Powertools.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from chatconsent.api.body import BodyRejected, raw_body

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter

Model = TypeVar("Model", bound="BaseModel")


class Invalid(Exception):
    """The request does not match what the route declares: 422 with where and what (as the resolver answered)."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.problems = problems


@lru_cache(maxsize=32)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter  # noqa: PLC0415 (the first request that checks a query value)

    return TypeAdapter(annotation)


def _prefixed(where: list[Any], error: Any) -> list[dict[str, Any]]:
    return [{**e, "loc": [*where, *e["loc"]]} for e in error.errors()]


class RequestCheck:
    """One request's parameters and body, each checked; ``done()`` raises ``Invalid`` with every problem."""

    def __init__(self, event: dict[str, Any], body_limit: int) -> None:
        self.event = event
        self.body_limit = body_limit
        self.problems: list[dict[str, Any]] = []

    def path(self, name: str, pattern: str) -> str:
        value = str((self.event.get("pathParameters") or {}).get(name, ""))
        if not re.search(pattern, value):
            msg = f"String should match pattern '{pattern}'"
            self.problems.append({"loc": ["path", name], "msg": msg, "type": "string_pattern_mismatch"})
        return value

    def query(self, name: str, annotation: Any, default: Any) -> Any:
        """The query value validated as ``annotation`` (``Annotated[int, Field(ge=1)]``, say), or the default."""
        value = (self.event.get("queryStringParameters") or {}).get(name)
        if value is None:
            return default
        from pydantic import ValidationError  # noqa: PLC0415

        try:
            return _adapter(annotation).validate_python(value)
        except ValidationError as error:
            self.problems += _prefixed(["query", name], error)
            return default

    def body(self, model: type[Model]) -> Model | None:
        """The JSON body validated by ``model`` (locations under ``body``), or ``None`` with the problems noted."""
        from pydantic import ValidationError  # noqa: PLC0415

        data = json_body(self.event, self.body_limit)
        if data is None:
            self.problems.append({"loc": ["body"], "msg": "Field required", "type": "missing"})
            return None
        if not isinstance(data, dict):
            msg = "Input should be a valid dictionary or object to extract fields from"
            self.problems.append({"loc": ["body"], "msg": msg, "type": "model_attributes_type"})
            return None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self.problems += _prefixed(["body"], error)
            return None

    def done(self) -> None:
        if self.problems:
            raise Invalid(self.problems)


def json_body(event: Mapping[str, Any], limit: int) -> Any:
    """The request's JSON body (None when empty). Not UTF-8 or nested too deeply: ``BodyRejected``
    (400); not JSON: ``Invalid``, answered as the resolver answered it, before any other check."""
    data = raw_body(event.get("body"), bool(event.get("isBase64Encoded")), limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRejected(400, "request body is not valid UTF-8") from None
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as error:
        raise Invalid([{"loc": ["body", error.pos], "msg": "JSON decode error", "type": "json_invalid"}]) from None
    except RecursionError:
        raise BodyRejected(400, "request body is nested too deeply") from None


def principal(event: dict[str, Any]) -> str:
    """Who acts: the IAM principal that signed the request (``local`` where none did)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    iam = authorizer.get("iam") or {}
    return str(iam.get("userArn") or "local")


def prime(requests: Iterable[tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]]) -> None:
    """Before a SnapStart snapshot: run each route once with a request its validation refuses, so the models
    and pydantic are built and warm in the snapshot (no AWS call, nothing written). A request that is not
    refused would have reached the domain: ``RuntimeError``."""
    for route, event in requests:
        try:
            route(event)
        except Invalid:
            continue
        raise RuntimeError(f"priming {route.__name__} expected a request refused by validation")


NO_DEFAULT: Any = inspect.Parameter.empty


def declaration(name: str, parameters: list[tuple[str, Any, Any]], returns: Any) -> Callable[..., Any]:
    """A function for the OpenAPI document only: ``name`` (the operation's id), its parameters as
    ``(name, annotation, default)`` (``NO_DEFAULT``: required) and its answer, as a route declares them
    to Powertools' resolver; calling it raises (``lambda_handler`` serves the route)."""

    def declared(**_: Any) -> Any:
        raise NotImplementedError("declared for the document; lambda_handler serves it")

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = [inspect.Parameter(n, kind, annotation=tp, default=default) for n, tp, default in parameters]
    declared.__name__ = declared.__qualname__ = name
    declared.__annotations__ = {**{n: tp for n, tp, _ in parameters}, "return": returns}
    declared.__signature__ = inspect.Signature(signature, return_annotation=returns)  # type: ignore[attr-defined]
    return declared


# (method, path, summary, the route's function, its parameters as for ``declaration``, its answer, its responses)
Declared = tuple[str, str, str, Callable[..., Any], list[tuple[str, Any, Any]], Any, Any]


def documented_routes(declared: Iterable[Declared]) -> Any:
    """Powertools' resolver with each route declared (operation id: the route function's name), for the
    OpenAPI document only: a handler's ``openapi_app`` (``tools/openapi.py``)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # noqa: PLC0415 (the document only)

    app = APIGatewayHttpResolver(enable_validation=True)
    for method, path, summary, route, parameters, returns, responses in declared:
        app.route(path, method, summary=summary, responses=responses)(declaration(route.__name__, parameters, returns))
    return app


def body_parameter(model: Any) -> tuple[str, Any, Any]:
    """A route's JSON body, validated by ``model`` (a parameter for ``declaration``)."""
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler.openapi.params import Body  # noqa: PLC0415

    return ("body", Annotated[model, Body()], NO_DEFAULT)


def error_document(description: str) -> dict[str, Any]:
    """A documented error answer: the one error body."""
    from chatconsent.api.errors import ErrorBody  # noqa: PLC0415 (Powertools and pydantic: the document only)

    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


def json_document(description: str, model: Any) -> dict[str, Any]:
    """A documented JSON answer of ``model``."""
    return {"description": description, "content": {"application/json": {"model": model}}}


class _Without422:
    """A declared resolver whose document leaves out the 422 the resolver adds to every route."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = self.app.get_openapi_schema(**kwargs)
        for item in (schema.paths or {}).values():
            for operation in (item.get, item.post, item.delete):
                if operation is not None and operation.responses is not None:
                    operation.responses.pop(422, None)
        return schema


def without_422(app: Any) -> Any:
    """``app`` as the OpenAPI document shows it without the 422 the resolver adds to every route: for an API
    that answers a request its models refuse with 400 and the one error body (the desk's)."""
    return _Without422(app)
