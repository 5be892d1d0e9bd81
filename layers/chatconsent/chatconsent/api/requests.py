"""What a handler that dispatches on ``routeKey`` reads from API Gateway's event (payload 2.0):
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
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from chatconsent.api.body import raw_body

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

        text = raw_body(self.event.get("body"), bool(self.event.get("isBase64Encoded")), self.body_limit).decode()
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError as error:  # the resolver answers this alone, before any other check
            raise Invalid([{"loc": ["body", error.pos], "msg": "JSON decode error", "type": "json_invalid"}]) from None
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


def principal(event: dict[str, Any]) -> str:
    """Who acts: the IAM principal that signed the request (``local`` where none did)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    iam = authorizer.get("iam") or {}
    return str(iam.get("userArn") or "local")


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
