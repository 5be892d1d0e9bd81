"""API Gateway's answers (payload 2.0) built without Powertools' resolver, for the lean handlers.

The webhook and the opt-in function route on ``routeKey`` themselves; their answers have the
shape, the error bodies and the statuses that Powertools' resolver and :mod:`chatconsent.api.errors`
give every other handler (one table of statuses, ``STATUS_OF``, for both). Nothing here loads
Powertools or pydantic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from chatconsent.errors import (
    DomainError,
    Gone,
    InvalidInput,
    NotAllowed,
    NotFound,
    NoticeChanged,
    RateLimited,
    TryAgain,
)

JSON = "application/json"

# Most specific meaning first: an error that is both (say, invalid and not allowed) answers as the first.
STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInput, 400),
    (NotFound, 404),
    (NoticeChanged, 409),
    (NotAllowed, 409),
    (Gone, 410),
    (RateLimited, 429),
    (TryAgain, 503),
)
REFUSED = 400  # a DomainError of no kind above: the domain refused the request


def status_of(error: DomainError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), REFUSED)


def retry_headers(error: DomainError) -> dict[str, str] | None:
    """When to retry a rate-limited request or one to try again."""
    return {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited | TryAgain) else None


def answer(status: int, content_type: str, body: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An answer shaped as Powertools' resolver shapes it."""
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "headers": {**(headers or {}), "Content-Type": content_type},
        "cookies": [],
    }


def compact(document: Any) -> str:
    """JSON as the error bodies write it (``ErrorBody``: compact, UTF-8)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def json_answer(status: int, document: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A JSON document as the resolver serialises one (compact, ASCII with escapes)."""
    return answer(status, JSON, json.dumps(document, separators=(",", ":")), headers)


def error_answer(status: int, reason: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The one error body: ``{"error": reason}``."""
    return answer(status, JSON, compact({"error": reason}), headers)


def domain_error_answer(error: DomainError) -> dict[str, Any]:
    return error_answer(status_of(error), error.reason, retry_headers(error))


def invalid_answer(problems: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """422 as the OpenAPI document declares it (``HTTPValidationError``): where, what, which kind; never the input."""
    detail = [
        {"loc": list(p.get("loc", ())), "msg": str(p.get("msg", "")), "type": str(p.get("type", ""))} for p in problems
    ]
    return answer(422, JSON, json.dumps({"statusCode": 422, "detail": detail}))


def not_found_answer() -> dict[str, Any]:
    """No such route (as the resolver answers it)."""
    return answer(404, JSON, compact({"statusCode": 404, "message": "Not found"}))
