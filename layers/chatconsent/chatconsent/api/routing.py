"""Every handler's routing: the route of API Gateway's ``routeKey``, and one answer per kind of error.

The handlers route on ``routeKey`` without Powertools' resolver (see the inbound function); the
errors a route may raise are answered as the resolver's exception handlers answered them: a request
its declaration refuses (422, :class:`~chatconsent.api.requests.Invalid`), a domain error
(:data:`~chatconsent.api.answers.STATUS_OF`), a body refused by its size, encoding or nesting, an
authentic webhook body that is not the provider's shape (400: nothing to retry). Anything else is
a fault of ours: it propagates (logged, a 500 and the function's error alarm). A
handler that answers one of them its own way (and counts it) passes ``special``,
which returns its answer or None for the common one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chatconsent.api.answers import domain_error_answer, error_answer, invalid_answer, not_found_answer
from chatconsent.api.body import BodyRejected
from chatconsent.api.requests import Invalid
from chatconsent.channels.base import MalformedPayload
from chatconsent.errors import DomainError

Event = dict[str, Any]
Answer = dict[str, Any]
Route = Callable[[Event], Answer]
Special = Callable[[Exception], Answer | None]
REQUEST_ERRORS = (Invalid, DomainError, BodyRejected, MalformedPayload)


def refused_answer(error: Exception) -> Answer:
    """The common answer to an error of :data:`REQUEST_ERRORS`."""
    if isinstance(error, Invalid):
        return invalid_answer(error.problems)
    if isinstance(error, DomainError):
        return domain_error_answer(error)
    if isinstance(error, BodyRejected):
        return error_answer(error.status, error.reason)
    return error_answer(400, str(error))  # MalformedPayload


def route_request(routes: Mapping[str, Route], event: Event, special: Special | None = None) -> Answer:
    """Run the route of ``event``'s ``routeKey`` (404 for none) and answer what it raises."""
    route = routes.get(str(event.get("routeKey", "")))
    if route is None:
        return not_found_answer()
    try:
        return route(event)
    except REQUEST_ERRORS as error:
        answered = special(error) if special is not None else None
        return answered if answered is not None else refused_answer(error)
