"""Campaigns in tests: the API as two IAM principals, and a provider that can refuse or fail."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chatconsent.channels.base import ChannelError, ChannelRejected
from chatconsent.channels.outbox import Outbox
from chatconsent.channels.whatsapp import WhatsAppChannel
from chatconsent.wiring import local_outbox
from localrun.events import http_event
from tests.conftest import Env, json_body

CREATOR = "arn:aws:iam::123456789012:user/marketing"
APPROVER = "arn:aws:iam::123456789012:user/approver"


def call(
    env: Env, method: str, path: str, route: str, body: Any = None, principal: str = CREATOR, **params: str
) -> dict[str, Any]:
    event = http_event(
        method,
        path,
        route_path=route,
        path_parameters=params or None,
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json"} if body is not None else {},
    )
    event["requestContext"]["authorizer"] = {
        "iam": {"accountId": "123456789012", "userArn": principal, "userId": principal.rsplit("/", 1)[-1]}
    }
    return env.invoke("campaigns", event)


def create(
    env: Env, template: str = "weekly_offers", parameters: tuple[str, ...] = ("Winter sale",), **extra: Any
) -> str:
    response = call(
        env,
        "POST",
        "/admin/campaigns",
        "/admin/campaigns",
        {"template": template, "parameters": list(parameters), **extra},
    )
    assert response["statusCode"] == 201, response
    return str(json_body(response)["campaign_id"])


def act(env: Env, campaign_id: str, action: str, principal: str = APPROVER, body: Any = None) -> dict[str, Any]:
    return call(
        env,
        "POST",
        f"/admin/campaigns/{campaign_id}/{action}",
        f"/admin/campaigns/{{campaign_id}}/{action}",
        body,
        principal,
        campaign_id=campaign_id,
    )


def get(env: Env, campaign_id: str, what: str = "") -> dict[str, Any]:
    suffix = f"/{what}" if what else ""
    return call(
        env,
        "GET",
        f"/admin/campaigns/{campaign_id}{suffix}",
        f"/admin/campaigns/{{campaign_id}}{suffix}",
        campaign_id=campaign_id,
    )


def run(env: Env, campaign_id: str) -> dict[str, int]:
    """Approve (second principal), start, let the planner and the senders work; the results' counts."""
    assert act(env, campaign_id, "approval")["statusCode"] == 200
    assert act(env, campaign_id, "start")["statusCode"] == 200
    env.drain_campaigns()
    return counts(env, campaign_id)


def counts(env: Env, campaign_id: str) -> dict[str, int]:
    response = get(env, campaign_id, "results")
    assert response["statusCode"] == 200, response
    return dict(json_body(response)["counts"])


def campaign_messages(recipient: str | None = None) -> list[Mapping[str, Any]]:
    """Template messages the outbox received (campaign sends), optionally to one number."""
    found = [m for m in local_outbox().messages if m.payload.get("type") == "template"]
    return [m.payload for m in found if recipient is None or m.recipient == recipient]


class Provider:
    """The WhatsApp sender with a script: each call takes the next answer (None: accept)."""

    def __init__(self, outbox: Outbox, answers: list[Exception | None] | None = None) -> None:
        self._outbox = outbox
        self.answers = list(answers or [])
        self.calls = 0

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return self._outbox.deliver(channel, recipient, payload)


def use_provider(env: Env, provider: Provider) -> None:
    """Route the wiring's WhatsApp sends through ``provider`` (the secrets stay the local ones)."""
    with_secrets = env.wiring._with_secrets()
    settings = env.wiring.config.channels.whatsapp
    channel = WhatsAppChannel(with_secrets.secrets.whatsapp_app_secrets, settings.phone_number_id, provider)
    with_secrets.__dict__["whatsapp"] = channel


def rejected(code: int) -> ChannelRejected:
    return ChannelRejected(f"WhatsApp API answered 400 ({code})", code)


def unavailable() -> ChannelRejected:
    return ChannelRejected("WhatsApp API answered 503", unavailable=True)


def timeout() -> ChannelError:
    return ChannelError("WhatsApp API timed out")


Step = Callable[[Env], None]
