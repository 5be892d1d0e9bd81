"""What the API handlers share about HTTP: bounded raw bodies and one way to answer an error.

The domain never imports this package: it raises :mod:`chatconsent.errors` by meaning, and
:mod:`chatconsent.api.errors` maps each kind to one status code for every handler.
"""

from __future__ import annotations

from chatconsent.api.body import (
    BodyRejected,
    gateway_response,
    raw_body,
    refused_body,
    refused_json_body,
    rejected_response,
)
from chatconsent.api.errors import (
    ErrorBody,
    domain_error_response,
    error_response,
    register_error_handlers,
    status_of,
)

__all__ = [
    "BodyRejected",
    "ErrorBody",
    "domain_error_response",
    "error_response",
    "gateway_response",
    "raw_body",
    "refused_body",
    "refused_json_body",
    "register_error_handlers",
    "rejected_response",
    "status_of",
]
