"""Writes the sample events under events/ (``make events``): one or more per route, deterministic.

Webhook samples are signed with the local development app secret, so they verify in the local
run and in the tests; with ``sam local invoke -e`` against a deployed stack's secrets they are
(correctly) refused with 401.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chatconsent.config import current_config
from chatconsent.notices import NoticeRegistry
from localrun import apple, telegram, whatsapp
from localrun.aws import DEV_SECRETS
from localrun.events import http_event, sqs_event
from localrun.template import ROOT

EVENTS = ROOT / "events"
TIMESTAMP = 1_795_000_000
SENDER = "491701234567"  # a fictitious number from the range used in tests
UNKNOWN_TOKEN = "A" * 43  # the shape of a confirmation or access token, issued to nobody


def _fixed(event: dict[str, Any], name: str) -> dict[str, Any]:
    event["requestContext"]["requestId"] = f"sample-{name}"
    event["requestContext"]["time"] = "18/Nov/2026:08:26:40 +0000"
    event["requestContext"]["timeEpoch"] = TIMESTAMP * 1000
    return event


def _signed(payload: dict[str, Any], secret: str = DEV_SECRETS["whatsapp/app-secret"]) -> dict[str, Any]:
    body, headers = whatsapp.signed(payload, secret)
    return http_event("POST", "/webhooks/whatsapp", body=body, headers=headers)


APPLE_SENDER = "urn:mbid:AQAAYSampleOpaqueIdOfNobody0000000000000000000000000000000000000000000000="


def _apple(body: dict[str, Any], token: str | None = None, compress: bool = False) -> dict[str, Any]:
    """Apple's request, authenticated with the local Base64 secret (``aud`` = the configured MSP id)."""
    message_id = str(body["id"])
    headers = apple.headers(APPLE_SENDER, DEV_SECRETS["apple/messaging-secret"], TIMESTAMP, message_id=message_id)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    raw, extra = apple.encoded(body, compress)
    return http_event("POST", apple.MESSAGE_PATH, body=raw, headers={**headers, **extra}, base64_body=compress)


def _apple_events() -> dict[str, dict[str, Any]]:
    """Samples of the Apple route (their token's ``iat`` is the samples' fixed time: refused as too old when
    invoked against a live clock, as they should be)."""
    forged = apple.token(base64.b64encode(b"not-the-messaging-secret").decode(), TIMESTAMP)
    return {
        "apple-message": _apple(apple.text_body(APPLE_SENDER, "sample-apple-text", "Hello")),
        "apple-message-gzip": _apple(apple.text_body(APPLE_SENDER, "sample-apple-gzip", "Hello"), compress=True),
        "apple-quick-reply": _apple(apple.quick_reply_body(APPLE_SENDER, "sample-apple-quick", "optin:yes:x", "Yes")),
        "apple-close": _apple(apple.close_body(APPLE_SENDER, "sample-apple-close")),
        "apple-forged": _apple(apple.text_body(APPLE_SENDER, "sample-apple-forged", "forged"), token=forged),
    }


def _desk_claims(email: str, groups: str) -> dict[str, Any]:
    """What API Gateway's JWT authorizer hands on for a Cognito ID token (a list claim as ``"[a b]"``)."""
    claims = {
        "sub": "0f6c9a52-7d1e-4b7a-9a1c-2f0e8d1b4c3a",
        "email": email,
        "cognito:groups": groups,
        "cognito:username": "0f6c9a52-7d1e-4b7a-9a1c-2f0e8d1b4c3a",
        "iss": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_EXAMPLE",
        "aud": "5example0desk0client0id00",
        "token_use": "id",
        "auth_time": str(TIMESTAMP - 60),
        "iat": str(TIMESTAMP - 60),
        "exp": str(TIMESTAMP + 3540),
    }
    return {"jwt": {"claims": claims, "scopes": None}}


def _desk(subject: str, json_headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The desk's routes: the public page, and the API as an agent and as a privacy officer."""
    agent = _desk_claims("agent@example.test", "[agents]")
    officer = _desk_claims("privacy@example.test", "[privacy]")
    conversation = "/desk/api/conversations/{subject}"
    privacy = "/desk/api/privacy/subjects/{subject}"

    def api(method: str, route: str, claims: dict[str, Any], body: Any = None, **params: str) -> dict[str, Any]:
        return http_event(
            method,
            route.format(**params),
            route_path=route,
            path_parameters=params or None,
            body=json.dumps(body) if body is not None else None,
            headers=json_headers if body is not None else None,
            authorizer=claims,
        )

    return {
        "desk-page": http_event("GET", "/desk", headers={"accept": "text/html"}),
        "desk-asset": http_event(
            "GET", "/desk/assets/desk.js", route_path="/desk/assets/{name}", path_parameters={"name": "desk.js"}
        ),
        "desk-config": http_event("GET", "/desk/config.json"),
        "desk-me": api("GET", "/desk/api/me", agent),
        "desk-conversations": http_event("GET", "/desk/api/conversations", query={"limit": "25"}, authorizer=agent),
        "desk-conversation": api("GET", conversation, agent, subject=subject),
        "desk-reply": api(
            "POST",
            conversation + "/replies",
            agent,
            {"text": "Your parcel left the warehouse today.", "reply_id": "desk-7f3a9c21"},
            subject=subject,
        ),
        "desk-withdrawal": api(
            "POST", conversation + "/withdrawals", agent, {"purposes": ["marketing"], "confirm": True}, subject=subject
        ),
        "desk-proof": api("GET", privacy + "/proof", officer, subject=subject),
        "desk-export": api("GET", privacy + "/export", officer, subject=subject),
        "desk-erase": api("DELETE", privacy, officer, {"confirm": "K7F-2QX"}, subject=subject),
        "desk-audit": api("GET", "/desk/api/privacy/audit/{day}", officer, day="2026-11-18"),
        "desk-privacy-as-agent": api("GET", privacy + "/proof", agent, subject=subject),
    }


def _telegram(
    update: dict[str, Any] | str, secret: str | None = DEV_SECRETS["telegram/secret-token"]
) -> dict[str, Any]:
    body = update if isinstance(update, str) else telegram.body(update)
    return http_event("POST", "/webhooks/telegram", body=body, headers=telegram.headers(secret))


def _telegram_events() -> dict[str, dict[str, Any]]:
    """A deep link's /start with a code, the yes tap, the bot blocked, and a forged request."""
    chat = 7311904826  # a fictitious chat id
    start = telegram.message(chat, "/start CC-ABCDEFGHIJKLMNOPQRSTUVWXYZ", TIMESTAMP, update_id=500000001)
    return {
        "telegram-start": _telegram(start),
        "telegram-button-yes": _telegram(
            telegram.callback(chat, "optin:yes:00000000-0000-4000-8000-000000000000", TIMESTAMP, update_id=500000002)
        ),
        "telegram-blocked": _telegram(telegram.member_status(chat, "kicked", TIMESTAMP, update_id=500000003)),
        "telegram-forged": _telegram(start, secret="not-the-secret-token"),
        "telegram-no-token": _telegram(start, secret=None),
    }


def build() -> dict[str, dict[str, Any]]:
    config = current_config()
    notice = NoticeRegistry().get("en")
    phone_number_id = config.channels.whatsapp.phone_number_id
    optin_body = {
        "purposes": {"customer_service": True, "marketing": True},
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice.version,
        "notice_sha256": notice.sha256,
    }
    json_headers = {"content-type": "application/json"}
    events = {
        "optin-post": http_event("POST", "/optin", body=json.dumps(optin_body), headers=json_headers),
        "optin-post-unticked": http_event(
            "POST", "/optin", body=json.dumps({**optin_body, "purposes": {"marketing": False}}), headers=json_headers
        ),
        "optin-post-link": http_event(
            "POST", "/optin", body=json.dumps({**optin_body, "phone": "+49 170 1234567"}), headers=json_headers
        ),
        "optin-settings": http_event("GET", "/optin/settings"),
        "widget": http_event("GET", "/widget", headers={"accept": "text/html"}),
        "confirm-show": http_event(
            "GET",
            f"/confirm/{UNKNOWN_TOKEN}",
            route_path="/confirm/{token}",
            path_parameters={"token": UNKNOWN_TOKEN},
            headers={"accept": "text/html", "accept-language": "de-DE,de;q=0.9"},
        ),
        "confirm-answer": http_event(
            "POST",
            f"/confirm/{UNKNOWN_TOKEN}",
            route_path="/confirm/{token}",
            path_parameters={"token": UNKNOWN_TOKEN},
            body="decision=confirm",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        "data-show": http_event(
            "GET",
            f"/data/{UNKNOWN_TOKEN}",
            route_path="/data/{token}",
            path_parameters={"token": UNKNOWN_TOKEN},
            headers={"accept": "text/html", "accept-language": "it-IT,it;q=0.9"},
        ),
        "data-download": http_event(
            "POST",
            f"/data/{UNKNOWN_TOKEN}",
            route_path="/data/{token}",
            path_parameters={"token": UNKNOWN_TOKEN},
            body="download=download",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        "notice-latest": http_event(
            "GET", "/notices/en", route_path="/notices/{language}", path_parameters={"language": "en"}
        ),
        "notice-version": http_event(
            "GET",
            f"/notices/de/{notice.version}",
            route_path="/notices/{language}/{version}",
            path_parameters={"language": "de", "version": notice.version},
        ),
        "whatsapp-handshake": http_event(
            "GET",
            "/webhooks/whatsapp",
            query={
                "hub.mode": "subscribe",
                "hub.verify_token": DEV_SECRETS["whatsapp/verify-token"],
                "hub.challenge": "1158201444",
            },
        ),
        "whatsapp-message": _signed(
            whatsapp.text(
                SENDER,
                "Hello! My code: CC-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                phone_number_id=phone_number_id,
                timestamp=TIMESTAMP,
                wamid="wamid.sample-message",
            )
        ),
        "whatsapp-button-yes": _signed(
            whatsapp.button_reply(
                SENDER,
                "optin:yes:00000000-0000-4000-8000-000000000000",
                "Yes, I agree",
                phone_number_id=phone_number_id,
                timestamp=TIMESTAMP,
                wamid="wamid.sample-button",
            )
        ),
        "whatsapp-status": _signed(
            whatsapp.status(
                SENDER, "wamid.sample-outbound", "delivered", phone_number_id=phone_number_id, timestamp=TIMESTAMP
            )
        ),
        "whatsapp-forged": _signed(
            whatsapp.text(SENDER, "forged", phone_number_id=phone_number_id, timestamp=TIMESTAMP, wamid="wamid.forged"),
            secret="not-the-app-secret",
        ),
        **_telegram_events(),
    }
    subject = "0" * 64  # a pseudonym nobody has
    admin = {
        "admin-consents": http_event(
            "GET",
            f"/admin/subjects/{subject}/consents",
            route_path="/admin/subjects/{subject}/consents",
            path_parameters={"subject": subject},
        ),
        "admin-messages": http_event(
            "GET",
            f"/admin/subjects/{subject}/messages",
            route_path="/admin/subjects/{subject}/messages",
            path_parameters={"subject": subject},
        ),
        "admin-reply": http_event(
            "POST",
            f"/admin/subjects/{subject}/messages",
            route_path="/admin/subjects/{subject}/messages",
            path_parameters={"subject": subject},
            body=json.dumps({"text": "Your parcel left the warehouse today."}),
            headers=json_headers,
        ),
        "admin-export": http_event(
            "GET",
            f"/admin/subjects/{subject}/export",
            route_path="/admin/subjects/{subject}/export",
            path_parameters={"subject": subject},
        ),
        "admin-erase": http_event(
            "DELETE",
            f"/admin/subjects/{subject}",
            route_path="/admin/subjects/{subject}",
            path_parameters={"subject": subject},
        ),
    }
    admin["admin-withdrawal"] = http_event(
        "POST",
        f"/admin/subjects/{subject}/withdrawal",
        route_path="/admin/subjects/{subject}/withdrawal",
        path_parameters={"subject": subject},
        body=json.dumps({"purposes": ["marketing"]}),
        headers=json_headers,
    )
    admin["admin-conversations"] = http_event("GET", "/admin/conversations", query={"limit": "25"})
    admin["admin-audit"] = http_event(
        "GET", "/admin/audit/2026-11-18", route_path="/admin/audit/{day}", path_parameters={"day": "2026-11-18"}
    )
    admin["rights-register"] = http_event(
        "POST",
        "/admin/rights",
        body=json.dumps(
            {
                "type": "access",
                "address": "+49 170 1234567",
                "received_on": "2026-11-16",
                "identity_check": "Letter signed by hand; copy of ID card matched name and address",
            }
        ),
        headers=json_headers,
    )
    admin["rights-list"] = http_event("GET", "/admin/rights", query={"limit": "50"})
    rights_request = "00000000-0000-4000-8000-00000000000f"  # a request nobody registered
    for name, method, suffix, body in (
        ("rights-show", "GET", "", None),
        ("rights-extension", "POST", "/extension", {"until": "2027-01-16", "reason": "Many requests at once"}),
        ("rights-closure", "POST", "/closure", {"outcome": "done"}),
        ("rights-restriction", "POST", "/restriction", None),
    ):
        admin[name] = http_event(
            method,
            f"/admin/rights/{rights_request}{suffix}",
            route_path=f"/admin/rights/{{request_id}}{suffix}",
            path_parameters={"request_id": rights_request},
            body=json.dumps(body) if body is not None else None,
            headers=json_headers if body is not None else None,
        )
    admin["rights-lift-restriction"] = http_event(
        "DELETE",
        f"/admin/subjects/{subject}/restriction",
        route_path="/admin/subjects/{subject}/restriction",
        path_parameters={"subject": subject},
    )
    campaign = "5f1c0d8e2a7b4c39a1e6f0b2d4c8e917"  # a campaign nobody created
    admin["campaign-create"] = http_event(
        "POST",
        "/admin/campaigns",
        body=json.dumps({"template": "weekly_offers", "parameters": ["Winter sale"], "languages": ["de"]}),
        headers=json_headers,
    )
    admin["campaign-list"] = http_event("GET", "/admin/campaigns", query={"limit": "20"})
    for name, method, suffix in (
        ("campaign-show", "GET", ""),
        ("campaign-audience", "GET", "/audience"),
        ("campaign-approval", "POST", "/approval"),
        ("campaign-start", "POST", "/start"),
        ("campaign-pause", "POST", "/pause"),
        ("campaign-resume", "POST", "/resume"),
        ("campaign-cancel", "POST", "/cancel"),
        ("campaign-results", "GET", "/results"),
    ):
        admin[name] = http_event(
            method,
            f"/admin/campaigns/{campaign}{suffix}",
            route_path=f"/admin/campaigns/{{campaign_id}}{suffix}",
            path_parameters={"campaign_id": campaign},
        )
    admin["campaign-schedule"] = http_event(
        "POST",
        f"/admin/campaigns/{campaign}/schedule",
        route_path="/admin/campaigns/{campaign_id}/schedule",
        path_parameters={"campaign_id": campaign},
        body=json.dumps({"at": "2026-12-01T09:00:00+01:00"}),
        headers=json_headers,
    )
    for event in admin.values():  # what API Gateway adds after IAM authorisation
        event["requestContext"]["authorizer"] = {
            "iam": {"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/agent", "userId": "AIDA"}
        }
    events.update(admin)
    events.update(_apple_events())
    events.update(_desk(subject, json_headers))
    http = {name: _fixed(event, name) for name, event in events.items()}
    # EventBridge Scheduler delivers the schedule's Input as the event.
    schedules: dict[str, dict[str, Any]] = {
        "purge-schedule": {"job": "purge"},
        "purge-schedule-after-outage": {"job": "purge", "lookback_days": 60},
        "renewal-schedule": {"job": "renewal"},
    }
    # Lambda's SQS event source delivers link jobs; this one's token was issued to nobody.
    # The number is sealed under the KMS key (bound to the token's hash); this sample's is not a real
    # ciphertext, and the link sender never opens it, since no request has this token.
    sealed = base64.b64encode(b"not-a-real-kms-ciphertext").decode("ascii")
    job = {"token": UNKNOWN_TOKEN, "sealed_number": sealed, "channel": "whatsapp", "language": "en"}
    queued = {
        "link-job": sqs_event(
            [{"MessageId": "00000000-0000-4000-8000-000000000001", "ReceiptHandle": "sample", "Body": json.dumps(job)}]
        )
    }
    # The plan queue: a campaign's start job (what the one-time schedule puts there), and a send job.
    start = {"kind": "start", "campaign": campaign}
    queued["campaign-plan-job"] = sqs_event(
        [{"MessageId": "00000000-0000-4000-8000-000000000002", "ReceiptHandle": "sample", "Body": json.dumps(start)}],
        queue="chatconsent-local-campaign-plans",
    )
    return {**http, **schedules, **queued}


def main() -> int:
    EVENTS.mkdir(exist_ok=True)
    for name, event in build().items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(build())} events to events/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
