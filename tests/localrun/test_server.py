"""The README's run command: the whole API on 127.0.0.1, driven over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from localrun import whatsapp
from localrun.aws import DEV_SECRETS
from localrun.server import compile_routes
from localrun.template import ROOT, routes

SENDER = "491701234567"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "chatconsent"), str(ROOT)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "localrun.server", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "local API on http://127.0.0.1:" in first, first
        yield first.split(" on ", 1)[1].split(" ", 1)[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(
    base: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def webhook(base: str, payload: dict[str, Any]) -> int:
    body, headers = whatsapp.signed(payload, DEV_SECRETS["whatsapp/app-secret"])
    return call(base, "POST", "/webhooks/whatsapp", body, headers)[0]


def test_double_opt_in_over_http(server: str) -> None:
    status, notice = call(server, "GET", "/notices/en")
    assert status == 200 and notice["language"] == "en"
    body = {
        "purposes": {"customer_service": True},
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started = call(server, "POST", "/optin", json.dumps(body).encode(), {"content-type": "application/json"})
    assert status == 201
    phone_number_id = "106540352242922"
    now = int(time.time())  # the webhook drops items dated outside the window a delivery can arrive in
    code_message = whatsapp.text(SENDER, f"Hi, code {started['code']}", phone_number_id=phone_number_id, timestamp=now)
    assert webhook(server, code_message) == 200
    _, outbox = call(server, "GET", "/_local/outbox")
    buttons = outbox[-1]["payload"]["interactive"]["action"]["buttons"]
    yes = buttons[0]["reply"]
    assert (
        webhook(
            server,
            whatsapp.button_reply(SENDER, yes["id"], yes["title"], phone_number_id=phone_number_id, timestamp=now),
        )
        == 200
    )
    _, outbox = call(server, "GET", "/_local/outbox")
    assert "consent is recorded" in outbox[-1]["payload"]["text"]["body"]


def test_handshake_and_errors_over_http(server: str) -> None:
    query = "hub.mode=subscribe&hub.verify_token=local-verify-token&hub.challenge=42"
    assert call(server, "GET", f"/webhooks/whatsapp?{query}") == (200, 42)
    assert call(server, "POST", "/webhooks/whatsapp", b"{}")[0] == 401
    assert call(server, "GET", "/nowhere")[0] == 404
    assert call(server, "DELETE", "/optin")[0] == 404
    admin = "/admin/subjects/" + "0" * 64 + "/consents"
    assert call(server, "GET", admin)[0] == 403  # IAM in AWS, a bearer token locally
    assert call(server, "GET", admin, headers={"authorization": "Bearer local-admin-token"})[0] == 200


def test_routes_match_like_api_gateway() -> None:
    compiled = compile_routes(routes())
    matched = {c.route.route_key for c in compiled if c.pattern.match("/notices/de/2026-11-01")}
    assert matched == {"GET /notices/{language}/{version}"}
    assert not any(c.pattern.match("/notices/de/x/y") for c in compiled)


def test_both_opt_ins_through_the_simulated_phone(server: str) -> None:
    """What the playground does: the phone's messages are signed webhooks, replies come from the outbox."""
    phone = "+49 170 7654321"
    json_type = {"content-type": "application/json"}
    status, notice = call(server, "GET", "/notices/en")
    body = {
        "purposes": {"customer_service": True},
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
    }
    status, started = call(server, "POST", "/optin", json.dumps(body).encode(), json_type)
    sent = call(server, "POST", "/_local/phone/send", json.dumps({"from": phone, "text": started["code"]}).encode())
    assert sent == (200, {"status": 200})
    _, chat = call(server, "GET", "/_local/phone/messages?to=%2B491707654321")
    assert chat[-1]["type"] == "buttons"
    yes = chat[-1]["buttons"][0]
    assert call(server, "POST", "/_local/phone/send", json.dumps({"from": phone, "button": yes}).encode())[0] == 200
    _, chat = call(server, "GET", "/_local/phone/messages?to=%2B491707654321")
    assert "consent is recorded" in chat[-1]["text"]

    other = "+49 170 7654322"
    status, _ = call(server, "POST", "/optin", json.dumps({**body, "phone": other}).encode(), json_type)
    assert status == 202
    for _ in range(50):  # the link sender picks the job from the queue
        _, chat = call(server, "GET", "/_local/phone/messages?to=%2B491707654322")
        if chat:
            break
        time.sleep(0.1)
    link = chat[-1]["link"]
    assert chat[-1]["type"] == "template" and link.startswith(server + "/confirm/")  # this server's address
    assert call(server, "GET", link.removeprefix(server))[0] == 200
    status, page = call(
        server,
        "POST",
        link.removeprefix(server),
        b"decision=confirm",
        {"content-type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and "confirmed" in page


def test_the_simulated_phone_refuses_what_is_no_message(server: str) -> None:
    send = "/_local/phone/send"
    assert call(server, "POST", send, b"not json")[0] == 400
    assert call(server, "POST", send, json.dumps({"from": "nobody", "text": "hi"}).encode())[0] == 400
    assert call(server, "POST", send, json.dumps({"from": "+49 170 7654323"}).encode())[0] == 400
    assert call(server, "GET", "/_local/phone/messages?to=x")[0] == 400


def test_cors_lets_an_embedded_widget_call_the_api(server: str) -> None:
    request = urllib.request.Request(
        server + "/optin",
        method="OPTIONS",
        headers={"origin": "https://shop.example.com", "access-control-request-method": "POST"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
        assert response.headers["access-control-allow-origin"] == "*"
        assert "POST" in response.headers["access-control-allow-methods"]
        assert response.headers["access-control-allow-headers"] == "content-type"
    request = urllib.request.Request(server + "/optin/settings", headers={"origin": "https://shop.example.com"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["access-control-allow-origin"] == "*"


ADMIN = {"authorization": "Bearer local-admin-token"}
UNREADABLE_BODIES = [
    ("multipart/form-data", b'{"purposes":{"customer_service":true}}'),
    ("multipart/form-data; boundary=", b"--\r\n"),
    ("application/json", b'\xb0\xff{"purposes":{"customer_service":true}}'),
    ("application/octet-stream", b"\x00\x01\x02"),
]


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_BODIES)
@pytest.mark.parametrize(
    "path", ["/optin", "/admin/subjects/" + "a" * 64 + "/messages", "/admin/subjects/" + "a" * 64 + "/withdrawal"]
)
def test_every_unreadable_body_gets_an_answer_with_a_reason(
    server: str, path: str, content_type: str, body: bytes
) -> None:
    """As API Gateway would: the connection is never closed without an answer, and the answer is a 4xx."""
    headers = {"content-type": content_type, **(ADMIN if path.startswith("/admin") else {})}
    status, answer = call(server, "POST", path, body, headers)
    assert status in (400, 415), (status, answer)
    assert isinstance(answer, dict) and answer.get("error")


def test_the_local_gateway_passes_binary_bodies_base64_encoded() -> None:
    from localrun.server import is_text

    assert is_text("application/json", b"{}") and is_text("", b"{}") and is_text("text/plain; charset=utf-8", b"x")
    assert not is_text("application/json", b"\xb0\xff") and not is_text("application/octet-stream", b"{}")


def test_the_recurring_schedules_run_locally(server: str) -> None:
    """The purge and the consent renewal run at their rate; ``/_local/jobs/run`` runs them once now."""
    status, body = call(server, "POST", "/_local/jobs/run", b"{}", {"content-type": "application/json"})
    assert status == 200 and set(body["ran"]) == {"PurgeFunction", "RenewalFunction"}
    assert body["ran"]["RenewalFunction"] == {"due": 0, "subjects": 0, "outcomes": {}}
    assert body["ran"]["PurgeFunction"]["complete"] is True


def test_rate_schedules_come_from_the_template() -> None:
    from localrun.template import rate_schedules

    found = {s.function: (s.every_seconds, s.input) for s in rate_schedules()}
    assert found == {"PurgeFunction": (1800, {"job": "purge"}), "RenewalFunction": (1800, {"job": "renewal"})}
