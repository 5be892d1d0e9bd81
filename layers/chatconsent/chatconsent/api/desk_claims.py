"""Who signed in to the desk: the JWT claims API Gateway's JWT authorizer verified and handed on.

The authorizer (Cognito's issuer, the desk client as audience; locally the local run playing it)
has checked the token before the function runs; the function reads the claims from
``requestContext.authorizer.jwt.claims`` and never sees the token itself. A list claim such as
``cognito:groups`` reaches the function as API Gateway writes it, ``"[agents privacy]"``, or as a
list (a JSON array string is read too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUPS_CLAIM = "cognito:groups"
KNOWN_GROUPS = ("agents", "privacy")
_GROUP = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_USER_MAX = 256


@dataclass(frozen=True)
class DeskUser:
    """The signed-in user: ``name`` (e-mail or user name; empty when the token had neither) and the
    desk's groups among theirs (others are ignored)."""

    name: str
    groups: tuple[str, ...]

    @property
    def actor(self) -> str:
        """How the audit trail names them."""
        return f"desk:{self.name or 'unknown'}"

    def member_of(self, group: str) -> bool:
        return group in self.groups


def parse_groups(value: Any) -> tuple[str, ...]:
    """The group names of a claim: a list, ``"[a b]"``, ``"a,b"`` or a JSON array string; junk is dropped."""
    if isinstance(value, list | tuple):
        names = [str(v) for v in value]
    elif isinstance(value, str):
        text = value.strip()
        names = []
        if text.startswith("[") and '"' in text:
            try:
                decoded = json.loads(text)
            except (ValueError, RecursionError):
                decoded = None
            if isinstance(decoded, list):
                names = [str(v) for v in decoded]
        if not names:
            names = re.split(r"[\s,]+", text.strip("[]"))
    else:
        names = []
    return tuple(dict.fromkeys(n.strip() for n in names if _GROUP.match(n.strip())))


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The verified claims of a payload 2.0 event (empty without a JWT authorizer)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) else {}


def desk_user(event: Mapping[str, Any]) -> DeskUser:
    """The signed-in user of an event: e-mail (else ``cognito:username``, else ``username``) and desk groups."""
    claims = claims_of(event)
    name = next(
        (str(claims[k]).strip() for k in ("email", "cognito:username", "username") if str(claims.get(k) or "").strip()),
        "",
    )
    groups = tuple(g for g in parse_groups(claims.get(GROUPS_CLAIM)) if g in KNOWN_GROUPS)
    return DeskUser(name=name[:_USER_MAX], groups=groups)
