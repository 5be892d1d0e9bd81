"""Requests to the desk function as API Gateway hands them on after its JWT authorizer verified the token."""

from __future__ import annotations

import json
from typing import Any

from localrun.events import http_event
from tests.conftest import Env

AGENT = "agent@example.test"
OFFICER = "privacy@example.test"


def jwt_authorizer(user: str | None, groups: Any) -> dict[str, Any]:
    """``requestContext.authorizer`` of a JWT-authorised route: API Gateway passes a list claim as ``"[a b]"``."""
    claims: dict[str, Any] = {"sub": "0f6c9a52-7d1e-4b7a-9a1c-2f0e8d1b4c3a", "token_use": "id"}
    if user is not None:
        claims["email"] = user
    if groups is not None:
        claims["cognito:groups"] = groups
    return {"jwt": {"claims": claims, "scopes": None}}


def desk(
    env: Env,
    method: str,
    route: str,
    *,
    groups: Any = "[agents]",
    user: str | None = AGENT,
    body: Any = None,
    query: dict[str, str] | None = None,
    **params: str,
) -> dict[str, Any]:
    """Call a desk route (``route`` in API Gateway's form) as ``user`` in ``groups``."""
    path = route.format(**params)
    event = http_event(
        method,
        path,
        route_path=route,
        path_parameters=params or None,
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json"} if body is not None else None,
        query=query,
        authorizer=jwt_authorizer(user, groups),
    )
    return env.invoke("desk", event)


def as_officer(env: Env, method: str, route: str, **kwargs: Any) -> dict[str, Any]:
    return desk(env, method, route, groups="[privacy]", user=OFFICER, **kwargs)
