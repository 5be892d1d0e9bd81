"""API Gateway's JWT authorizer, played by the local run for the routes the template puts behind one.

In AWS the HTTP API checks a route's bearer token against the Cognito user pool before the function
runs: signature with a key of the issuer's JWKS, ``alg`` RS256 only, ``iss``, ``aud`` (an ID token) or
``client_id`` (an access token) among the audiences, ``exp`` and ``nbf``. A request that fails gets 401
and never reaches the function; one that passes carries the token's claims in
``event.requestContext.authorizer.jwt.claims``, every value a string as API Gateway passes them (a list
claim such as ``cognito:groups`` as ``"[agents privacy]"``). This module does the same with the local
run's development issuer (:mod:`localrun.dev_signin`); it never lets a request through without a
valid token.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RS256"  # Cognito signs with RS256; API Gateway's JWT authorizer accepts nothing else
LEEWAY = 0  # API Gateway allows no clock skew on exp/nbf locally either: one clock
MAX_TOKEN = 16 * 1024  # a bearer token longer than this is refused unread


class Unauthorized(Exception):
    """The request carries no valid token; the reason is safe to show (it names no claim values)."""

    def answer(self) -> dict[str, Any]:
        """API Gateway's 401 (payload v2 answer shape); the function is never invoked."""
        body = json.dumps({"error": str(self)})
        return {"statusCode": 401, "headers": {"content-type": "application/json"}, "body": body}


@dataclass(frozen=True)
class JwtAuthorizerConfig:
    """A route's JWT authorizer: the issuer, the audiences it accepts and the issuer's signing keys."""

    issuer: str
    audiences: tuple[str, ...]
    keys: Mapping[str, rsa.RSAPublicKey]  # by ``kid``, as the issuer's JWKS lists them


def b64url_decode(part: str) -> bytes:
    if not part or any(c not in _B64URL for c in part):
        raise Unauthorized("token is malformed")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise Unauthorized("token is malformed") from None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _json_object(part: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except ValueError:
        raise Unauthorized("token is malformed") from None
    if not isinstance(value, dict):
        raise Unauthorized("token is malformed")
    return value


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization`` header (``Bearer <token>``; API Gateway also takes the bare token)."""
    if not authorization or not authorization.strip():
        raise Unauthorized("missing bearer token")
    scheme, _, rest = authorization.strip().partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else authorization.strip()
    if not token or len(token) > MAX_TOKEN:
        raise Unauthorized("token is malformed")
    return token


def verify(token: str, config: JwtAuthorizerConfig, now: float | None = None) -> dict[str, Any]:
    """The claims of ``token`` once its signature, algorithm, issuer, audience and period check out."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("token is malformed")
    header, claims = _json_object(parts[0]), _json_object(parts[1])
    if header.get("alg") != ALGORITHM:
        raise Unauthorized("token algorithm not accepted")
    kid = header.get("kid")
    key = config.keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthorized("token signed with an unknown key")
    try:
        key.verify(
            b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise Unauthorized("token signature is invalid") from None
    _check_claims(claims, config, time.time() if now is None else now)
    return claims


def _check_claims(claims: Mapping[str, Any], config: JwtAuthorizerConfig, now: float) -> None:
    if claims.get("iss") != config.issuer:
        raise Unauthorized("token issuer not accepted")
    audience = claims.get("aud", claims.get("client_id"))
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a in config.audiences for a in audiences):
        raise Unauthorized("token audience not accepted")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool) or now >= expires + LEEWAY:
        raise Unauthorized("token expired")
    not_before = claims.get("nbf")
    if not_before is not None and (not _is_number(not_before) or now + LEEWAY < float(not_before)):
        raise Unauthorized("token not yet valid")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as API Gateway hands them to the function: strings, a list as ``"[a b]"``."""
    shown: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            shown[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            shown[name] = "true" if value else "false"
        elif isinstance(value, str):
            shown[name] = value
        else:
            shown[name] = json.dumps(value, separators=(",", ":"))
    return shown


def authorize(
    authorization: str | None, config: JwtAuthorizerConfig, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """``requestContext.authorizer`` for a request with a valid token (:class:`Unauthorized` otherwise)."""
    claims = verify(bearer_token(authorization), config, clock())
    scopes = claims.get("scope")
    return {
        "jwt": {
            "claims": gateway_claims(claims),
            "scopes": scopes.split() if isinstance(scopes, str) and scopes else None,
        }
    }
