"""The desk's privacy officer's view (proof, export, erasure, the audit trail), the public page routes,
and the trail of every desk action with the signed-in user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatconsent.api.desk_claims import desk_user, parse_groups
from localrun.events import http_event
from localrun.functions import load_function
from tests.conftest import Env, json_body
from tests.flow import PERSON, activate, deliver, subject_of, text
from tests.functions.desk_helpers import AGENT, OFFICER, as_officer, desk, jwt_authorizer

PROOF = "/desk/api/privacy/subjects/{subject}/proof"
EXPORT = "/desk/api/privacy/subjects/{subject}/export"
ERASE = "/desk/api/privacy/subjects/{subject}"
AUDIT = "/desk/api/privacy/audit/{day}"
DAY = "2026-11-18"


def person(env: Env, purposes: dict[str, Any] | None = None) -> str:
    activate(env, purposes=purposes)
    deliver(env, text(env, "where is my parcel?"))
    return subject_of(env)


def alias(env: Env, subject: str) -> str:
    return str(json_body(as_officer(env, "GET", PROOF, subject=subject))["alias"])


# -- proof, export, erasure ------------------------------------------------------------------------


def test_the_proof_shows_the_ledger_its_verification_and_the_notice_texts(env: Env) -> None:
    subject = person(env, {"customer_service": True, "marketing": True})
    desk(env, "POST", "/desk/api/conversations/{subject}/withdrawals", subject=subject,
         body={"purposes": ["marketing"], "confirm": True})  # fmt: skip
    response = as_officer(env, "GET", PROOF, subject=subject)
    assert response["statusCode"] == 200
    proof = json_body(response)
    assert proof["subject"] == subject and proof["purposes"] == {"customer_service": "active", "marketing": "withdrawn"}
    assert proof["ledger"]["verified"] is True
    events = [(e["event"], e["purpose"], e["source"]) for e in proof["ledger"]["entries"]]
    assert ("consent_withdrawn", "marketing", "desk") in events
    assert [e["seq"] for e in proof["ledger"]["entries"]] == list(range(1, len(events) + 1))
    assert all(len(e["hash"]) == 64 for e in proof["ledger"]["entries"])
    [notice] = proof["notices"]
    versions = {e["notice_version"] for e in proof["ledger"]["entries"]}
    assert notice["version"] in versions and notice["language"] == "en"
    assert notice["text"] == env.wiring.notices.get("en", notice["version"]).text
    assert PERSON not in json.dumps(proof)


def test_a_broken_ledger_shows_as_not_verified(env: Env) -> None:
    subject = person(env)
    [entry] = [i for i in env.items() if str(i["PK"]).startswith("LEDGER#")][:1]
    env.dynamodb.update_item(
        TableName="chatconsent-local",
        Key={"PK": {"S": entry["PK"]}, "SK": {"S": entry["SK"]}},
        UpdateExpression="SET purpose = :p",
        ExpressionAttributeValues={":p": {"S": "marketing"}},
    )
    assert json_body(as_officer(env, "GET", PROOF, subject=subject))["ledger"]["verified"] is False


def test_the_export_is_a_download_named_by_the_alias(env: Env) -> None:
    subject = person(env)
    response = as_officer(env, "GET", EXPORT, subject=subject)
    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-disposition"] == f'attachment; filename="export-{alias(env, subject)}.json"'
    assert headers["cache-control"] == "no-store"
    document = json_body(response)
    assert document["subject"] == subject and document["ledger"]["verified"] is True
    texts = [m["content"]["text"] for m in document["items"]["inbound_messages"]]
    assert "where is my parcel?" in texts


def test_erasure_needs_the_alias_typed_then_erases_and_the_person_is_gone(env: Env) -> None:
    subject = person(env)
    name = alias(env, subject)
    before = [i for i in env.subject_items(subject)]
    for wrong in ("", "AAA-AAA" if name != "AAA-AAA" else "BBB-BBB", subject[:7]):
        refused = as_officer(env, "DELETE", ERASE, subject=subject, body={"confirm": wrong})
        assert refused["statusCode"] == 400, wrong
    assert as_officer(env, "DELETE", ERASE, subject=subject)["statusCode"] == 400  # no body at all
    assert env.subject_items(subject) == before  # nothing erased
    erased = as_officer(env, "DELETE", ERASE, subject=subject, body={"confirm": name.lower()})
    assert erased["statusCode"] == 200
    assert json_body(erased)["erased"]["inbound_messages"] == 1
    assert env.subject_items(subject) == []
    for method, route in (("GET", PROOF), ("GET", EXPORT)):
        assert as_officer(env, method, route, subject=subject)["statusCode"] == 410
    assert as_officer(env, "DELETE", ERASE, subject=subject, body={"confirm": name})["statusCode"] == 410
    assert desk(env, "GET", "/desk/api/conversations/{subject}", subject=subject)["statusCode"] == 410


def test_an_erased_person_who_had_withdrawn_stays_blocked(env: Env) -> None:
    subject = person(env)
    deliver(env, text(env, "STOP"))
    name = alias(env, subject)
    assert as_officer(env, "DELETE", ERASE, subject=subject, body={"confirm": name})["statusCode"] == 200
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))


# -- the audit trail -------------------------------------------------------------------------------


def trail(env: Env, day: str = DAY) -> list[dict[str, Any]]:
    response = as_officer(env, "GET", AUDIT, day=day)
    assert response["statusCode"] == 200
    return list(json_body(response)["entries"])


def test_every_desk_action_lands_in_the_trail_with_the_signed_in_user(env: Env) -> None:
    subject = person(env, {"customer_service": True, "marketing": True})
    name = env.wiring.pseudonymizer.desk_alias(subject)
    withdrawal = {"purposes": ["marketing"], "confirm": True}
    for call in (
        lambda: desk(env, "GET", "/desk/api/me"),
        lambda: desk(env, "GET", "/desk/api/conversations"),  # polled: not recorded when it succeeds
        lambda: desk(env, "GET", "/desk/api/conversations/{subject}", subject=subject),
        lambda: desk(env, "POST", "/desk/api/conversations/{subject}/replies", subject=subject, body={"text": "Hi"}),
        lambda: desk(env, "POST", "/desk/api/conversations/{subject}/withdrawals", subject=subject, body=withdrawal),
        lambda: desk(env, "GET", PROOF, subject=subject),  # an agent on a privacy route: refused, recorded
        lambda: as_officer(env, "GET", PROOF, subject=subject),
        lambda: as_officer(env, "GET", EXPORT, subject=subject),
        lambda: as_officer(env, "DELETE", ERASE, subject=subject, body={"confirm": name}),
    ):
        call()
        env.clock.advance(1)  # the trail is ordered by the second
    entries = trail(env)
    seen = [(e["actor"], e["action"], e["status"]) for e in entries if e["actor"].startswith("desk:")]
    assert seen == [
        (f"desk:{AGENT}", "GET /desk/api/conversations/{subject}", 200),
        (f"desk:{AGENT}", "POST /desk/api/conversations/{subject}/replies", 201),
        (f"desk:{AGENT}", "POST /desk/api/conversations/{subject}/withdrawals", 200),
        (f"desk:{AGENT}", "GET /desk/api/privacy/subjects/{subject}/proof", 403),
        (f"desk:{OFFICER}", "GET /desk/api/privacy/subjects/{subject}/proof", 200),
        (f"desk:{OFFICER}", "GET /desk/api/privacy/subjects/{subject}/export", 200),
        (f"desk:{OFFICER}", "DELETE /desk/api/privacy/subjects/{subject}", 200),
    ]
    ref = env.wiring.pseudonymizer.audit_ref(subject)
    assert {e["subject_ref"] for e in entries if "{subject}" in e["action"]} == {ref}
    stored = json.dumps(env.items_with_prefix("AUDIT#"))
    assert subject not in stored and "parcel" not in stored and PERSON not in stored
    assert (f"desk:{OFFICER}", "GET /desk/api/privacy/audit/{day}", 200) in [
        (e["actor"], e["action"], e["status"]) for e in trail(env)
    ]


@pytest.mark.parametrize("day", ["2026-13-01", "18-11-2026", "2026-02-30"])
def test_a_day_that_is_not_one_is_400(env: Env, day: str) -> None:
    assert as_officer(env, "GET", AUDIT, day=day)["statusCode"] == 400


# -- the page's public routes ----------------------------------------------------------------------


@pytest.fixture
def page_files(tmp_path: Path) -> Any:
    module = load_function("functions/desk")
    (tmp_path / "index.html").write_text("<!doctype html><title>Desk</title>", "utf-8")
    (tmp_path / "desk.js").write_text("'use strict';", "utf-8")
    (tmp_path / "desk.css").write_text("body{}", "utf-8")
    saved = module.PAGE
    module.PAGE = module.read_page(tmp_path)
    yield module
    module.PAGE = saved


def public(env: Env, path: str, route: str | None = None, **params: str) -> dict[str, Any]:
    return env.invoke("desk", http_event("GET", path, route_path=route, path_parameters=params or None))


def test_the_page_is_served_with_a_strict_policy(env: Env, page_files: Any) -> None:
    env.wiring.settings = _with_sign_in(env)
    response = public(env, "/desk")
    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"] == "text/html; charset=utf-8" and "<title>Desk</title>" in response["body"]
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' https://desk.auth.eu-central-1.amazoncognito.com;" in policy
    assert "form-action https://desk.auth.eu-central-1.amazoncognito.com 'self'" in policy
    assert "unsafe-inline" not in policy and "base-uri 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    for name, kind in (("desk.js", "text/javascript"), ("desk.css", "text/css")):
        asset = public(env, f"/desk/assets/{name}", "/desk/assets/{name}", name=name)
        assert asset["statusCode"] == 200 and asset["headers"]["Content-Type"].startswith(kind)
    for name in ("index.html", "handler.py", "..", "desk.map"):
        assert public(env, f"/desk/assets/{name}", "/desk/assets/{name}", name=name)["statusCode"] in (400, 404)


def _with_sign_in(env: Env) -> Any:
    import dataclasses

    base = "https://desk.auth.eu-central-1.amazoncognito.com"
    return dataclasses.replace(
        env.wiring.settings,
        desk_authorize_url=f"{base}/oauth2/authorize",
        desk_token_url=f"{base}/oauth2/token",
        desk_logout_url=f"{base}/logout?client_id=abc&logout_uri=https://api.example/desk",
        desk_client_id="abc",
        desk_redirect_uri="https://api.example/desk",
    )


def test_the_config_names_the_sign_in_and_the_texts(env: Env) -> None:
    env.wiring.settings = _with_sign_in(env)
    response = public(env, "/desk/config.json")
    assert response["statusCode"] == 200
    config = json_body(response)
    assert config["authorize_url"] == "https://desk.auth.eu-central-1.amazoncognito.com/oauth2/authorize"
    assert config["client_id"] == "abc" and config["redirect_uri"] == "https://api.example/desk"
    assert config["scopes"] == "openid email profile"
    assert set(config["texts"]) == {"de", "en", "it"}
    assert all(key.startswith("desk.") for texts in config["texts"].values() for key in texts)
    assert config["purposes"]["marketing"]["en"] == "Offers and news"


def test_a_missing_page_file_is_404(env: Env, page_files: Any) -> None:
    page_files.PAGE = {}
    assert public(env, "/desk")["statusCode"] == 404


# -- the claims ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("[agents privacy]", ("agents", "privacy")),
        ("[agents]", ("agents",)),
        (["privacy"], ("privacy",)),
        ('["agents","privacy"]', ("agents", "privacy")),
        ("agents,privacy", ("agents", "privacy")),
        ("[]", ()),
        ("", ()),
        (None, ()),
        ({"agents": True}, ()),
        ("[agents<script> privacy]", ("privacy",)),
    ],
)
def test_groups_are_read_in_every_form_api_gateway_passes(claim: Any, groups: tuple[str, ...]) -> None:
    event = {"requestContext": {"authorizer": jwt_authorizer("a@example.test", claim)}}
    assert desk_user(event).groups == groups


def test_the_user_is_the_email_else_the_user_name() -> None:
    claims = {"cognito:username": "3f1d7c", "cognito:groups": "[agents]"}
    assert desk_user({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}).actor == "desk:3f1d7c"
    assert desk_user({"requestContext": {}}).groups == ()
    assert desk_user({}).actor == "desk:unknown"
    assert parse_groups("[marketing agents agents]") == ("marketing", "agents")
