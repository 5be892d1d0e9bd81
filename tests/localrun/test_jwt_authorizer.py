"""The local run's JWT authorizer and development sign-in: a token passes only as API Gateway's JWT
authorizer would let it (RS256 by the issuer's key, issuer, audience, period); everything else is 401
and never reaches a function. The sign-in hands out tokens only for a matching PKCE verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from localrun.dev_signin import CLIENT_ID, DevIssuer
from localrun.events import http_event
from localrun.jwt_authorizer import Unauthorized, authorize, gateway_claims, verify
from localrun.template import routes
from tests.conftest import Env

BASE = "http://127.0.0.1:3000"
NOW = 1_800_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


@pytest.fixture(scope="module")
def issuer() -> DevIssuer:
    return DevIssuer(BASE, clock=lambda: NOW)


@pytest.fixture(scope="module")
def other_issuer() -> DevIssuer:
    """Another run's issuer: a key of its own."""
    return DevIssuer(BASE, clock=lambda: NOW)


def claims(issuer: DevIssuer, **changes: Any) -> dict[str, Any]:
    base = {
        "sub": "5b0c",
        "iss": issuer.issuer,
        "aud": CLIENT_ID,
        "token_use": "id",
        "email": "agent@example.test",
        "cognito:groups": ["agents"],
        "iat": int(NOW) - 10,
        "nbf": int(NOW) - 10,
        "exp": int(NOW) + 3600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refused(issuer: DevIssuer, authorization: str | None) -> str:
    with pytest.raises(Unauthorized) as raised:
        authorize(authorization, issuer.authorizer_config(), lambda: NOW)
    answer = raised.value.answer()
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"]) == {"error": str(raised.value)}
    return str(raised.value)


def test_a_valid_id_token_passes_with_the_claims_as_api_gateway_passes_them(issuer: DevIssuer) -> None:
    token = issuer.sign(claims(issuer, **{"cognito:groups": ["agents", "privacy"]}))
    context = authorize(f"Bearer {token}", issuer.authorizer_config(), lambda: NOW)
    passed = context["jwt"]["claims"]
    assert passed["cognito:groups"] == "[agents privacy]"
    assert passed["email"] == "agent@example.test"
    assert passed["exp"] == str(int(NOW) + 3600)
    assert all(isinstance(value, str) for value in passed.values())


def test_an_access_token_is_checked_by_its_client_id(issuer: DevIssuer) -> None:
    token = issuer.sign(claims(issuer, aud=None, client_id=CLIENT_ID, token_use="access", scope="openid email"))
    context = authorize(f"Bearer {token}", issuer.authorizer_config(), lambda: NOW)
    assert context["jwt"]["scopes"] == ["openid", "email"]
    other = issuer.sign(claims(issuer, aud=None, client_id="another-client"))
    assert refused(issuer, f"Bearer {other}") == "token audience not accepted"


def test_the_dev_issuers_own_tokens_pass(issuer: DevIssuer) -> None:
    tokens = issuer.tokens("privacy@example.test")
    for kind in ("id_token", "access_token"):
        passed = authorize(f"Bearer {tokens[kind]}", issuer.authorizer_config(), lambda: NOW)["jwt"]["claims"]
        assert passed["cognito:groups"] == "[privacy]"
    assert gateway_claims({"email_verified": True, "n": 3}) == {"email_verified": "true", "n": "3"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(NOW)}, "token expired"),
        ({"exp": int(NOW) - 1}, "token expired"),
        ({"exp": None}, "token expired"),
        ({"exp": "1900000000"}, "token expired"),
        ({"nbf": int(NOW) + 60}, "token not yet valid"),
        ({"iss": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_other"}, "token issuer not accepted"),
        ({"iss": None}, "token issuer not accepted"),
        ({"aud": "another-client"}, "token audience not accepted"),
        ({"aud": ["another-client"]}, "token audience not accepted"),
        ({"aud": None}, "token audience not accepted"),
    ],
)
def test_claims_that_do_not_hold_are_refused(issuer: DevIssuer, changes: dict[str, Any], reason: str) -> None:
    assert refused(issuer, f"Bearer {issuer.sign(claims(issuer, **changes))}") == reason


def test_a_token_signed_with_another_key_is_refused(issuer: DevIssuer, other_issuer: DevIssuer) -> None:
    forged = other_issuer.sign(claims(issuer))
    assert refused(issuer, f"Bearer {forged}") == "token signed with an unknown key"
    _, body, signature = forged.split(".")
    own_kid = segment({"alg": "RS256", "kid": issuer.kid, "typ": "JWT"})  # the right kid, the wrong key
    assert refused(issuer, f"Bearer {own_kid}.{body}.{signature}") == "token signature is invalid"


def test_a_changed_claim_breaks_the_signature(issuer: DevIssuer) -> None:
    header, _, signature = issuer.sign(claims(issuer)).split(".")
    promoted = segment(claims(issuer, **{"cognito:groups": ["privacy"]}))
    assert refused(issuer, f"Bearer {header}.{promoted}.{signature}") == "token signature is invalid"


def test_alg_none_is_refused(issuer: DevIssuer) -> None:
    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims(issuer))}."
    assert refused(issuer, f"Bearer {unsigned}") == "token algorithm not accepted"
    with_kid = f"{segment({'alg': 'none', 'kid': issuer.kid})}.{segment(claims(issuer))}.AAAA"
    assert refused(issuer, f"Bearer {with_kid}") == "token algorithm not accepted"


def test_hs256_with_the_public_key_as_secret_is_refused(issuer: DevIssuer) -> None:
    public = issuer.authorizer_config().keys[issuer.kid]
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{segment({'alg': 'HS256', 'kid': issuer.kid, 'typ': 'JWT'})}.{segment(claims(issuer))}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert refused(issuer, f"Bearer {signing_input}.{b64(mac)}") == "token algorithm not accepted"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer !!!.???.###",
        f"Bearer {segment([1, 2])}.{segment({})}.AAAA",
        f"Bearer {b64(b'not json')}.{segment({})}.AAAA",
        "Bearer " + "A" * 20_000,
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_malformed_token_is_refused(issuer: DevIssuer, authorization: str) -> None:
    assert refused(issuer, authorization) in {"token is malformed", "token algorithm not accepted"}


@pytest.mark.parametrize("authorization", [None, "", "   ", "Bearer", "Bearer   "])
def test_a_missing_token_is_refused(issuer: DevIssuer, authorization: str | None) -> None:
    assert refused(issuer, authorization) in {"missing bearer token", "token is malformed"}


def test_verify_uses_the_clock_it_is_given(issuer: DevIssuer) -> None:
    token = issuer.sign(claims(issuer))
    assert verify(token, issuer.authorizer_config(), NOW)["sub"] == "5b0c"
    with pytest.raises(Unauthorized, match="expired"):
        verify(token, issuer.authorizer_config(), NOW + 3600)
    fresh = DevIssuer(BASE)  # the real clock: its tokens are valid now
    assert verify(fresh.tokens("agent@example.test")["id_token"], fresh.authorizer_config(), time.time())


# -- the development sign-in: authorization code with PKCE (S256) ----------------------------------------------


VERIFIER = "v" * 20 + "-" + "x" * 30
CHALLENGE = b64(hashlib.sha256(VERIFIER.encode()).digest())


def authorize_query(issuer: DevIssuer, **changes: str) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": issuer.redirect_uri,
        "state": "s-123",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "scope": "openid email profile",
    }
    query.update(changes)
    return query


def grant_code(issuer: DevIssuer, user: str = "agent@example.test") -> str:
    answer = issuer.handle(
        "POST", "/dev/oauth2/authorize", "", urlencode({**authorize_query(issuer), "user": user}).encode()
    )
    assert answer.status == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == issuer.redirect_uri
    found = parse_qs(location.query)
    assert found["state"] == ["s-123"]
    return found["code"][0]


def exchange(issuer: DevIssuer, code: str, verifier: str = VERIFIER) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": code,
        "redirect_uri": issuer.redirect_uri,
        "code_verifier": verifier,
    }
    answer = issuer.handle("POST", "/dev/oauth2/token", "", urlencode(form).encode())
    return answer.status, json.loads(answer.body)


def test_the_sign_in_page_offers_both_sample_users(issuer: DevIssuer) -> None:
    answer = issuer.handle("GET", "/dev/oauth2/authorize", urlencode(authorize_query(issuer)), b"")
    assert answer.status == 200
    page = answer.body.decode()
    assert "agent@example.test" in page and "privacy@example.test" in page


@pytest.mark.parametrize(
    "changes",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"code_challenge": "short"},
        {"client_id": "another-client"},
        {"redirect_uri": "https://evil.example/desk"},
        {"response_type": "token"},
    ],
)
def test_an_authorization_request_without_pkce_s256_or_for_another_client_is_refused(
    issuer: DevIssuer, changes: dict[str, str]
) -> None:
    answer = issuer.handle("GET", "/dev/oauth2/authorize", urlencode(authorize_query(issuer, **changes)), b"")
    assert answer.status == 400


def test_the_code_gives_tokens_once_and_only_with_the_verifier(issuer: DevIssuer) -> None:
    code = grant_code(issuer)
    status, body = exchange(issuer, code, verifier="w" * 43)
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = exchange(issuer, code)  # the failed try spent the code, as an authorization server should
    assert (status, body["error"]) == (400, "invalid_grant")

    code = grant_code(issuer, "privacy@example.test")
    status, body = exchange(issuer, code)
    assert status == 200 and body["token_type"] == "Bearer"
    passed = authorize(f"Bearer {body['id_token']}", issuer.authorizer_config(), lambda: NOW)["jwt"]["claims"]
    assert (passed["email"], passed["cognito:groups"]) == ("privacy@example.test", "[privacy]")
    assert exchange(issuer, code)[0] == 400  # single use


def test_an_unknown_user_gets_no_code(issuer: DevIssuer) -> None:
    form = {**authorize_query(issuer), "user": "admin@example.test"}
    assert issuer.handle("POST", "/dev/oauth2/authorize", "", urlencode(form).encode()).status == 400


def test_logout_returns_only_to_the_registered_address(issuer: DevIssuer) -> None:
    good = urlencode({"client_id": CLIENT_ID, "logout_uri": issuer.redirect_uri})
    answer = issuer.handle("GET", "/dev/oauth2/logout", good, b"")
    assert (answer.status, answer.headers["location"]) == (302, issuer.redirect_uri)
    bad = urlencode({"client_id": CLIENT_ID, "logout_uri": "https://evil.example/"})
    assert issuer.handle("GET", "/dev/oauth2/logout", bad, b"").status == 400


def test_the_jwks_publishes_the_signing_key(issuer: DevIssuer) -> None:
    answer = issuer.handle("GET", "/dev/.well-known/jwks.json", "", b"")
    (key,) = json.loads(answer.body)["keys"]
    assert (key["kid"], key["alg"], key["kty"]) == (issuer.kid, "RS256", "RSA")
    numbers = issuer.authorizer_config().keys[issuer.kid].public_numbers()
    assert int.from_bytes(base64.urlsafe_b64decode(key["n"] + "=="), "big") == numbers.n


# -- through the desk function: the claims as the local run hands them on ------------------------------


def desk_event(issuer: DevIssuer, token: str, method: str, route: str, **params: str) -> dict[str, Any]:
    """The event the local run builds for a JWT-authorised route once the token verified."""
    context = authorize(f"Bearer {token}", issuer.authorizer_config(), lambda: NOW)
    return http_event(
        method, route.format(**params), route_path=route, path_parameters=params or None, authorizer=context
    )


def test_the_desk_refuses_a_valid_token_without_a_group_and_reads_the_groups_it_is_handed(
    issuer: DevIssuer, env: Env
) -> None:
    no_group = issuer.sign(claims(issuer, **{"cognito:groups": None}))
    refused = env.invoke("desk", desk_event(issuer, no_group, "GET", "/desk/api/me"))
    assert refused["statusCode"] == 403
    assert "error" in json.loads(refused["body"])

    other_group = issuer.sign(claims(issuer, **{"cognito:groups": ["admins"]}))
    assert env.invoke("desk", desk_event(issuer, other_group, "GET", "/desk/api/conversations"))["statusCode"] == 403

    both = issuer.sign(claims(issuer, **{"cognito:groups": ["agents", "privacy"]}))
    me = env.invoke("desk", desk_event(issuer, both, "GET", "/desk/api/me"))
    assert me["statusCode"] == 200
    assert set(json.loads(me["body"])["groups"]) == {"agents", "privacy"}

    agent = issuer.tokens("agent@example.test")["id_token"]
    audit = desk_event(issuer, agent, "GET", "/desk/api/privacy/audit/{day}", day="2026-01-01")
    assert env.invoke("desk", audit)["statusCode"] == 403
    assert env.invoke("desk", desk_event(issuer, agent, "GET", "/desk/api/me"))["statusCode"] == 200


def test_the_template_puts_every_desk_api_route_and_no_page_route_behind_the_jwt_authorizer() -> None:
    desk_routes = [r for r in routes() if r.path.startswith("/desk")]
    assert desk_routes, "no desk routes in the template"
    for route in desk_routes:
        guarded = route.path.startswith("/desk/api/")
        assert (route.jwt_authorizer is not None) == guarded, route.route_key
