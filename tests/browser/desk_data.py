"""Data for the desk's browser tests, made the local run's own ways: the widget's opt-in API and the
playground's simulated phone (signed webhooks), never direct table writes; and tokens from the local
run's development sign-in (authorization code with PKCE), for calling the desk API as a user would."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
AGENT = "agent@example.test"
PRIVACY = "privacy@example.test"


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request (redirects not followed), from the loopback address ``source`` when given; the body as
    JSON when it parses (never printed: it may hold personal data)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    sent = {**(JSON if data is not None and not isinstance(body, bytes) else {}), **(headers or {})}
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(
        url.hostname or "127.0.0.1", url.port, timeout=20, source_address=(source, 0) if source else None
    )
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        status, raw = response.status, response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    try:
        return status, json.loads(raw), found
    except ValueError:
        return status, raw.decode("utf-8", "replace"), found


def source_of(phone: str) -> str:
    """A loopback address of the person's own (each person opts in from their own device: the per-IP
    opt-in limit is not spent for the other browser tests)."""
    digest = hashlib.sha256(phone.encode()).digest()
    return f"127.{digest[0]}.{digest[1]}.{1 + digest[2] % 254}"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


def phone_messages(base: str, phone: str) -> list[dict[str, Any]]:
    status, messages, _ = call(base, "GET", "/_local/phone/messages?to=" + urllib.parse.quote(phone.replace(" ", "")))
    assert status == 200
    return list(messages)


def phone_send(base: str, phone: str, text: str) -> None:
    status, answer, _ = call(base, "POST", "/_local/phone/send", {"from": phone, "text": text})
    assert (status, answer) == (200, {"status": 200}), "the simulated phone's message was not accepted"


def opt_in(base: str, phone: str, purposes: dict[str, bool]) -> None:
    """The chat-started double opt-in, as the playground's widget and phone do it."""
    _, notice, _ = call(base, "GET", "/notices/en")
    body = {
        "purposes": purposes,
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started, _ = call(base, "POST", "/optin", body, source=source_of(phone))
    assert status == 201
    phone_send(base, phone, started["code"])
    yes = next(b for b in phone_messages(base, phone)[-1]["buttons"] if b["id"].startswith("optin:yes:"))
    status, answer, _ = call(base, "POST", "/_local/phone/send", {"from": phone, "button": yes})
    assert (status, answer) == (200, {"status": 200})
    eventually(lambda: "consent is recorded" in phone_messages(base, phone)[-1]["text"], "the opt-in's confirmation")


def subject_of(phone: str) -> str:
    """The person's pseudonym in the local run (keyed with its development pepper), to find their row."""
    from chatconsent.identity import Pseudonymizer, normalize_phone
    from localrun.aws import DEV_SECRETS

    return Pseudonymizer(DEV_SECRETS["pepper"].encode()).subject("whatsapp", normalize_phone(phone))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dev_token(base: str, user: str) -> str:
    """An ID token for a sample user from the development sign-in (code flow with PKCE S256)."""
    _, config, _ = call(base, "GET", "/desk/config.json")
    verifier = secrets.token_urlsafe(48)
    form = {
        "response_type": "code",
        "client_id": config["client_id"],
        "redirect_uri": config["redirect_uri"],
        "state": "t",
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
        "scope": config["scopes"],
        "user": user,
    }
    authorize = urllib.parse.urlsplit(config["authorize_url"]).path
    status, _, headers = call(base, "POST", authorize, urllib.parse.urlencode(form).encode(), FORM)
    assert status == 302
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["location"]).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "client_id": config["client_id"],
        "code": code,
        "redirect_uri": config["redirect_uri"],
        "code_verifier": verifier,
    }
    token_path = urllib.parse.urlsplit(config["token_url"]).path
    status, tokens, _ = call(base, "POST", token_path, urllib.parse.urlencode(exchange).encode(), FORM)
    assert status == 200
    return str(tokens["id_token"])


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
