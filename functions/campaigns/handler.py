"""Campaigns API (IAM-authorised): draft, audience size, four-eyes approval, schedule or start, pause,
resume, cancel, and aggregate results.

Nothing here names a person: the audience is a count, the results are counts. Every action is
recorded in the audit trail (who, what, when, outcome), like the admin API's.

The lean path (as the webhook's and the opt-in's): the routes are routed on API Gateway's
``routeKey`` without Powertools' resolver, whose package imports every resolver and ``asyncio``; the
models (``chatconsent.api.campaign_models``, pydantic) are loaded on the first request and before a
SnapStart snapshot, and check the path, query and body with the resolver's 422 answers
(``chatconsent.api.requests``). ``openapi_app`` declares the same routes with the same models for the
OpenAPI document (``tools/openapi.py``); nothing else imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from chatconsent.api.answers import json_answer
from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.requests import RequestCheck, prime, principal
from chatconsent.api.routing import Answer, Event, route_request
from chatconsent.campaigns import CampaignInvalid, Draft
from chatconsent.snapshot import snapshot_hooks
from chatconsent.wiring import Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from chatconsent.store import Campaign

logger = Logger(service="campaigns")
metrics = Metrics(service="campaigns")
wiring = Wiring()

CAMPAIGN_ID = r"^[0-9a-f]{32}$"
JSON = "application/json"


def _check(event: Event) -> RequestCheck:
    return RequestCheck(event, wiring.config.limits.max_api_body_bytes)


def _view(campaign: Campaign, status: int = 200) -> Answer:
    from chatconsent.api.campaign_models import CampaignView  # noqa: PLC0415 (pydantic: on the first request)

    return json_answer(status, CampaignView.of(campaign).model_dump(mode="json"))


def _campaign_id(event: Event) -> str:
    check = _check(event)
    campaign_id = check.path("campaign_id", CAMPAIGN_ID)
    check.done()
    return campaign_id


def _limit(event: Event) -> int:
    from typing import Annotated  # noqa: PLC0415

    from pydantic import Field  # noqa: PLC0415

    check = _check(event)
    limit: int = check.query("limit", Annotated[int, Field(ge=1, le=100)], 50)
    check.done()
    return limit


# -- the routes ------------------------------------------------------------------------------------


def create(event: Event) -> Answer:
    from chatconsent.api.campaign_models import DraftBody  # noqa: PLC0415

    check = _check(event)
    body = check.body(DraftBody)
    check.done()
    assert body is not None
    draft = Draft(body.template, tuple(body.parameters), tuple(body.languages))
    campaign = wiring.campaigns.create(draft, principal(event))
    metrics.add_metric(name="CampaignCreated", unit=MetricUnit.Count, value=1)
    return _view(campaign, 201)


def recent(event: Event) -> Answer:
    from chatconsent.api.campaign_models import CampaignList, CampaignView  # noqa: PLC0415

    campaigns = [CampaignView.of(c) for c in wiring.campaigns.recent(_limit(event))]
    return json_answer(200, CampaignList(campaigns=campaigns).model_dump(mode="json"))


def one(event: Event) -> Answer:
    return _view(wiring.campaigns.get(_campaign_id(event)))


def audience(event: Event) -> Answer:
    from chatconsent.api.campaign_models import AudienceSize  # noqa: PLC0415

    size = wiring.campaigns.audience_size(_campaign_id(event))
    return json_answer(200, AudienceSize(size=size).model_dump(mode="json"))


def approve(event: Event) -> Answer:
    campaign_id = _campaign_id(event)
    wiring.campaigns.approve(campaign_id, principal(event))
    return _view(wiring.campaigns.get(campaign_id))


def schedule(event: Event) -> Answer:
    from chatconsent.api.campaign_models import ScheduleBody  # noqa: PLC0415

    check = _check(event)
    campaign_id = check.path("campaign_id", CAMPAIGN_ID)
    body = check.body(ScheduleBody)
    check.done()
    assert body is not None
    if body.at.tzinfo is None:
        raise CampaignInvalid("at: give a time zone (for example 2026-12-01T09:00:00+01:00)")
    wiring.campaigns.schedule(campaign_id, int(body.at.timestamp()))
    return _view(wiring.campaigns.get(campaign_id))


def _action(name: str) -> Callable[[Event], Answer]:
    def act(event: Event) -> Answer:
        campaign_id = _campaign_id(event)
        getattr(wiring.campaigns, name)(campaign_id)
        metrics.add_metric(name=f"Campaign{name.title()}", unit=MetricUnit.Count, value=1)
        return _view(wiring.campaigns.get(campaign_id))

    act.__name__ = name
    return act


def results(event: Event) -> Answer:
    from chatconsent.api.campaign_models import CampaignResults, CampaignView  # noqa: PLC0415

    found = wiring.campaigns.results(_campaign_id(event))
    view = CampaignResults(
        campaign=CampaignView.of(found.campaign),
        processed=found.processed,
        finished=found.finished,
        counts=found.counts,
    )
    return json_answer(200, view.model_dump(mode="json"))


ROUTES: dict[str, Callable[[Event], Answer]] = {
    "POST /admin/campaigns": create,
    "GET /admin/campaigns": recent,
    "GET /admin/campaigns/{campaign_id}": one,
    "GET /admin/campaigns/{campaign_id}/audience": audience,
    "POST /admin/campaigns/{campaign_id}/approval": approve,
    "POST /admin/campaigns/{campaign_id}/schedule": schedule,
    **{
        f"POST /admin/campaigns/{{campaign_id}}/{name}": _action(name)
        for name in ("start", "pause", "resume", "cancel")
    },
    "GET /admin/campaigns/{campaign_id}/results": results,
}


# -- errors: one place -----------------------------------------------------------------------------


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route_key = str(event.get("routeKey", ""))
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:
        wiring.store.audit.record(principal(event), route_key, None, refused.status)
        return rejected_response(refused)
    try:
        response = route_request(ROUTES, event)
    except Exception:
        wiring.store.audit.record(principal(event), route_key, None, 500)
        raise
    wiring.store.audit.record(principal(event), route_key, None, response["statusCode"])
    return response


# -- SnapStart: the models and pydantic built and warm (requests refused by validation) -------------------

snapshot_hooks().register_before_snapshot(
    prime, [(create, {"body": "{}"}), (recent, {"queryStringParameters": {"limit": "0"}})]
)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``)."""
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Path, Query  # noqa: PLC0415

    from chatconsent.api import campaign_models as m  # noqa: PLC0415
    from chatconsent.api.requests import (  # noqa: PLC0415
        NO_DEFAULT,
        body_parameter,
        documented_routes,
        error_document,
        json_document,
    )

    campaign_id = (
        "campaign_id",
        Annotated[str, Path(pattern=CAMPAIGN_ID, description="The campaign's id")],
        NO_DEFAULT,
    )
    meaning = {
        400: "The campaign or the request is wrong (template, parameters, languages, time)",
        404: "No such campaign",
        409: "Not allowed in the campaign's state, or by the four-eyes rule",
        413: "Body too large",
        415: "Not sent as JSON (Content-Type: application/json)",
    }

    def errors(*codes: int) -> dict[int, Any]:
        return {code: error_document(meaning[code]) for code in codes}

    declared: Any = (  # method, path, summary, the route's function, its parameters, its answer, its responses
        ("POST", "/admin/campaigns", "Create a campaign draft", create, [body_parameter(m.DraftBody)], Response[Any],
         {201: json_document("Created", m.CampaignView)} | errors(400, 413, 415)),
        ("GET", "/admin/campaigns", "The most recent campaigns",
         recent, [("limit", Annotated[int, Query(ge=1, le=100)], 50)], m.CampaignList, None),
        ("GET", "/admin/campaigns/<campaign_id>", "One campaign", one, [campaign_id], m.CampaignView, errors(404)),
        ("GET", "/admin/campaigns/<campaign_id>/audience", "How many it would reach now",
         audience, [campaign_id], m.AudienceSize, errors(404)),
        ("POST", "/admin/campaigns/<campaign_id>/approval", "Approve a draft (four eyes: not by its creator)",
         approve, [campaign_id], m.CampaignView, errors(404, 409)),
        ("POST", "/admin/campaigns/<campaign_id>/schedule",
         "Start an approved campaign at a given time (a one-time schedule)",
         schedule, [campaign_id, body_parameter(m.ScheduleBody)], m.CampaignView, errors(400, 404, 409, 413, 415)),
        *(
            ("POST", f"/admin/campaigns/<campaign_id>/{name}", summary,
             ROUTES[f"POST /admin/campaigns/{{campaign_id}}/{name}"], [campaign_id], m.CampaignView, errors(404, 409))
            for name, summary in (
                ("start", "Start an approved campaign now"),
                ("pause", "Pause a running campaign"),
                ("resume", "Resume a paused campaign (nobody is sent to twice)"),
                ("cancel", "Cancel a campaign for good"),
            )
        ),
        ("GET", "/admin/campaigns/<campaign_id>/results", "Aggregate results",
         results, [campaign_id], m.CampaignResults, errors(404)),
    )  # fmt: skip
    app: APIGatewayHttpResolver = documented_routes(declared)
    return app
