"""One error body and one status per kind of domain error, for every API handler.

==================  ======  =====================================================
domain error        status  when
==================  ======  =====================================================
``InvalidInput``    400     the request itself is wrong
``NotFound``        404     what it names does not exist
``NotAllowed``      409     consent or state does not allow it now
``NoticeChanged``   409     the notice shown is not the one published
``Gone``            410     the data was erased
``RateLimited``     429     too many requests (with ``Retry-After``)
==================  ======  =====================================================

Each handler calls ``register_error_handlers(app)`` once; a handler that wants to count an error
registers its own handler for that (more specific) class and answers with ``domain_error_response``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from chatconsent.api.answers import STATUS_OF, retry_headers, status_of
from chatconsent.api.body import BodyRejected
from chatconsent.errors import DomainError

__all__ = ["STATUS_OF", "ErrorBody", "domain_error_response", "error_response", "register_error_handlers", "status_of"]


class ErrorBody(BaseModel):
    """Every error answer's body: a reason that is safe to show (never personal data)."""

    error: str


def error_response(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response[Any]:
    """The one error answer: ``{"error": reason}`` as JSON."""
    body = ErrorBody(error=reason).model_dump_json()
    return Response(status, content_types.APPLICATION_JSON, body, dict(headers) if headers else None)


def domain_error_response(error: DomainError) -> Response[Any]:
    """The answer for a domain error: its status, its reason, and when to retry a rate-limited request."""
    return error_response(status_of(error), error.reason, retry_headers(error))


def _body_rejected(error: BodyRejected) -> Response[Any]:
    return error_response(error.status, error.reason)


def _too_deep(_: RecursionError) -> Response[Any]:
    return error_response(400, "request body is nested too deeply")


def _not_utf8(_: UnicodeDecodeError) -> Response[Any]:
    return error_response(400, "request body is not valid UTF-8")


def _invalid_request(error: RequestValidationError) -> Response[Any]:
    """422 as the OpenAPI document declares it: where, what was expected, which kind of error; never the
    input itself (it may hold a number or a message)."""
    detail = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in error.errors()
    ]
    return Response(422, content_types.APPLICATION_JSON, json.dumps({"statusCode": 422, "detail": detail}))


def register_error_handlers(app: ApiGatewayResolver, *, parses_json: bool = False) -> None:
    """Answer domain errors and refused bodies by the table above; with ``parses_json``, also bodies the
    resolver cannot parse (nested too deeply for Python, or not UTF-8) with 400 rather than 500."""
    app.exception_handler(DomainError)(domain_error_response)
    app.exception_handler(BodyRejected)(_body_rejected)
    app.exception_handler(RequestValidationError)(_invalid_request)
    if parses_json:
        app.exception_handler(RecursionError)(_too_deep)
        app.exception_handler(UnicodeDecodeError)(_not_utf8)
