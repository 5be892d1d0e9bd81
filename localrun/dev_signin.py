"""The development sign-in: the local run's stand-in for the Cognito hosted UI (local run only).

``/dev/oauth2/authorize`` shows a page to pick a sample user (an agent or a privacy officer), then
redirects back with a single-use code; ``/dev/oauth2/token`` exchanges the code for an ID and an access
token once its PKCE verifier (S256) matches; ``/dev/oauth2/logout`` redirects to the sign-out URL;
``/dev/.well-known/jwks.json`` publishes the public key. The tokens carry the claims Cognito's do
(``sub``, ``email``, ``cognito:username``, ``cognito:groups``, ``token_use`` …) and are signed RS256
with a key made when the local run starts (never at import, never saved). Nothing here decides access:
the local run checks every token with :mod:`localrun.jwt_authorizer`, as API Gateway would.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from localrun.jwt_authorizer import ALGORITHM, JwtAuthorizerConfig, authorize

CLIENT_ID = "chatconsent-desk-local"
SCOPES = "openid email profile"
TOKEN_LIFETIME = 3600  # Cognito's default for ID and access tokens
CODE_LIFETIME = 300  # Cognito's authorization codes are valid for 5 minutes
SAMPLE_USERS = {
    "agent@example.test": ("agents",),
    "privacy@example.test": ("privacy",),
}
PATHS = ("/dev/oauth2/authorize", "/dev/oauth2/token", "/dev/oauth2/logout", "/dev/.well-known/jwks.json")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of the sign-in endpoints."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class _Grant:
    user: str
    redirect_uri: str
    challenge: str
    expires: float


class OAuthError(ValueError):
    """A request the sign-in endpoints refuse: ``code`` is OAuth's error code, the message says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class DevIssuer:
    """One local run's issuer: its key, its sample users and its outstanding authorization codes."""

    def __init__(self, base_url: str, clock: Any = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.issuer = f"{self.base_url}/dev"
        self.client_id = CLIENT_ID
        self.redirect_uri = f"{self.base_url}/desk"
        self.clock = clock
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    # -- what the desk and the authorizer are told ------------------------------------------------

    def endpoints(self) -> dict[str, str]:
        """The hosted UI's endpoints and the app client, as the desk's config.json names them."""
        back = urlencode({"client_id": self.client_id, "logout_uri": self.redirect_uri})
        return {
            "authorize_url": f"{self.issuer}/oauth2/authorize",
            "token_url": f"{self.issuer}/oauth2/token",
            "logout_url": f"{self.issuer}/oauth2/logout?{back}",  # as the template's: the way back included
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "issuer": self.issuer,
        }

    def authorizer_config(self) -> JwtAuthorizerConfig:
        return JwtAuthorizerConfig(
            issuer=self.issuer, audiences=(self.client_id,), keys={self.kid: self._key.public_key()}
        )

    def authorize(self, authorization: str | None) -> dict[str, Any]:
        """``requestContext.authorizer`` for a request to a JWT-authorised route (:class:`Unauthorized`)."""
        return authorize(authorization, self.authorizer_config(), self.clock)

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": ALGORITHM,
                    "use": "sig",
                    "kid": self.kid,
                    "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
                }
            ]
        }

    # -- tokens ----------------------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}
        signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def tokens(self, user: str) -> dict[str, Any]:
        """An ID and an access token for a sample user, with Cognito's claims."""
        now = int(self.clock())
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{user}"))
        common = {
            "sub": sub,
            "cognito:groups": list(SAMPLE_USERS[user]),
            "iss": self.issuer,
            "auth_time": now,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
        }
        id_token = {
            **common,
            "aud": self.client_id,
            "token_use": "id",
            "email": user,
            "email_verified": True,
            "cognito:username": user,
            "jti": str(uuid.uuid4()),
        }
        access_token = {
            **common,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": SCOPES,
            "username": user,
            "jti": str(uuid.uuid4()),
        }
        return {
            "id_token": self.sign(id_token),
            "access_token": self.sign(access_token),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
        }

    # -- the endpoints -----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: bytes) -> Answer:
        try:
            if path == "/dev/.well-known/jwks.json" and method == "GET":
                return _json(200, self.jwks())
            if path == "/dev/oauth2/authorize" and method == "GET":
                params = self._authorize_params(dict(parse_qsl(query)))
                return Answer(200, {"content-type": "text/html; charset=utf-8"}, self._picker(params).encode())
            if path == "/dev/oauth2/authorize" and method == "POST":
                return self._grant(dict(parse_qsl(body.decode("utf-8", "replace"))))
            if path == "/dev/oauth2/token" and method == "POST":
                return _json(200, self._exchange(dict(parse_qsl(body.decode("utf-8", "replace")))))
            if path == "/dev/oauth2/logout" and method == "GET":
                return self._logout(dict(parse_qsl(query)))
        except OAuthError as error:
            if path == "/dev/oauth2/token":
                return _json(400, {"error": error.code, "error_description": str(error)})
            return _page(400, "Sign-in refused", f"<p>{html.escape(str(error))}</p>")
        return _json(405, {"error": "method not allowed"})

    def _authorize_params(self, params: dict[str, str]) -> dict[str, str]:
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        if params.get("client_id") != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id")
        if params.get("redirect_uri") != self.redirect_uri:
            raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
        if params.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(params.get("code_challenge", "")):
            raise OAuthError("invalid_request", "a PKCE code_challenge with code_challenge_method S256 is required")
        return {k: params.get(k, "") for k in ("client_id", "redirect_uri", "state", "code_challenge", "scope")}

    def _picker(self, params: dict[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in params.items()
        )
        buttons = "".join(
            f'<li><button type="submit" name="user" value="{html.escape(user)}" data-testid="dev-user-{groups[0]}">'
            f"{html.escape(user)} ({', '.join(groups)})</button></li>"
            for user, groups in SAMPLE_USERS.items()
        )
        form = (
            '<form method="post" action="/dev/oauth2/authorize">'
            f'{hidden}<fieldset><legend>Sign in as a sample user</legend><ul class="users">{buttons}</ul></fieldset>'
            "</form><p>Development sign-in of the local run: in AWS, Cognito's hosted sign-in page stands here.</p>"
        )
        return _document("Development sign-in", form)

    def _grant(self, form: dict[str, str]) -> Answer:
        params = self._authorize_params({**form, "response_type": "code", "code_challenge_method": "S256"})
        user = form.get("user", "")
        if user not in SAMPLE_USERS:
            raise OAuthError("access_denied", "unknown sample user")
        code = secrets.token_urlsafe(24)
        grant = _Grant(user, params["redirect_uri"], params["code_challenge"], self.clock() + CODE_LIFETIME)
        with self._lock:
            self._grants[code] = grant
        query = {"code": code, **({"state": params["state"]} if params["state"] else {})}
        return Answer(302, {"location": f"{params['redirect_uri']}?{urlencode(query)}"}, b"")

    def _exchange(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "authorization_code":
            raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code")
        if form.get("client_id") != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # single use, whatever follows
        if grant is None or grant.expires <= self.clock():
            raise OAuthError("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.fullmatch(verifier):
            raise OAuthError("invalid_grant", "code_verifier missing or malformed")
        if not secrets.compare_digest(b64url(hashlib.sha256(verifier.encode("ascii")).digest()), grant.challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        return self.tokens(grant.user)

    def _logout(self, params: dict[str, str]) -> Answer:
        if params.get("client_id") != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id")
        if params.get("logout_uri") != self.redirect_uri:
            raise OAuthError("invalid_request", "logout_uri is not registered for this client")
        return Answer(302, {"location": self.redirect_uri}, b"")


def desk_environment(issuer: DevIssuer) -> dict[str, str]:
    """The desk function's sign-in settings for the local run (in AWS the template sets them from Cognito)."""
    endpoints = issuer.endpoints()
    return {
        "DESK_AUTHORIZE_URL": endpoints["authorize_url"],
        "DESK_TOKEN_URL": endpoints["token_url"],
        "DESK_LOGOUT_URL": endpoints["logout_url"],
        "DESK_CLIENT_ID": endpoints["client_id"],
        "DESK_REDIRECT_URI": endpoints["redirect_uri"],
    }


def _json(status: int, value: Any) -> Answer:
    headers = {"content-type": "application/json", "cache-control": "no-store"}
    return Answer(status, headers, json.dumps(value).encode())


_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}"
    "ul.users{list-style:none;padding:0}ul.users li{margin:.5rem 0}"
    "button{font:inherit;padding:.5rem 1rem;width:100%;text-align:left;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}"
)


def _document(title: str, content: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{content}</main></body></html>"
    )


def _page(status: int, title: str, content: str) -> Answer:
    return Answer(status, {"content-type": "text/html; charset=utf-8"}, _document(title, content).encode())
