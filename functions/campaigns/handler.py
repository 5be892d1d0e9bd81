"""Campaigns API (IAM-authorised): draft, audience size, four-eyes approval, schedule or start, pause,
resume, cancel, and aggregate results.

Nothing here names a person: the audience is a count, the results are counts. Every action is
recorded in the audit trail (who, what, when, outcome), like the admin API's.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from chatconsent.api.body import refused_json_body, rejected_response
from chatconsent.api.errors import ErrorBody, register_error_handlers
from chatconsent.campaigns import CampaignInvalid, Draft
from chatconsent.store import Campaign
from chatconsent.wiring import Wiring

logger = Logger(service="campaigns")
metrics = Metrics(service="campaigns")
app = APIGatewayHttpResolver(enable_validation=True)
wiring = Wiring()

CampaignId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The campaign's id")]
JSON = "application/json"

register_error_handlers(app, parses_json=True)


def _errors(*codes: int) -> dict[int, OpenAPIResponse]:
    meaning = {
        400: "The campaign or the request is wrong (template, parameters, languages, time)",
        404: "No such campaign",
        409: "Not allowed in the campaign's state, or by the four-eyes rule",
        413: "Body too large",
        415: "Not sent as JSON (Content-Type: application/json)",
    }
    return {code: {"description": meaning[code], "content": {JSON: {"model": ErrorBody}}} for code in codes}


# -- the API's models ------------------------------------------------------------------------------


class DraftBody(BaseModel):
    """A campaign: a configured template, its parameters, and optionally the languages to reach."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    parameters: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default_factory=list, max_length=10)
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(
        default_factory=list, max_length=10, description="Reach only people who opted in in these languages"
    )


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime.datetime = Field(description="When to start, with its time zone (ISO 8601)")


class CampaignView(BaseModel):
    campaign_id: str
    template: str
    purpose: str = Field(description="The purpose whose active consent each recipient has")
    parameters: list[str]
    languages: list[str]
    status: str = Field(description="draft, approved, scheduled, running, paused or cancelled")
    created_by: str
    created_at: int
    approved_by: str
    scheduled_for: int
    started_at: int
    paused_reason: str
    planning_done: bool = Field(description="The whole audience has been read and queued")
    queued: int = Field(description="Recipients queued so far")

    @classmethod
    def of(cls, c: Campaign) -> CampaignView:
        return cls(
            campaign_id=c.campaign_id,
            template=c.template,
            purpose=c.purpose,
            parameters=list(c.parameters),
            languages=list(c.languages),
            status=c.status.value,
            created_by=c.created_by,
            created_at=c.created_at,
            approved_by=c.approved_by,
            scheduled_for=c.scheduled_for,
            started_at=c.started_at,
            paused_reason=c.paused_reason,
            planning_done=c.started_at > 0 and c.plans_open == 0,
            queued=c.planned,
        )


class CampaignList(BaseModel):
    campaigns: list[CampaignView]


class AudienceSize(BaseModel):
    size: int = Field(description="People the campaign would reach if it started now (a count only)")


class CampaignResults(BaseModel):
    campaign: CampaignView
    processed: int = Field(description="Queued recipients whose part is over (sent, skipped, failed, in doubt)")
    finished: bool = Field(description="The whole audience was read and every queued recipient processed")
    counts: dict[str, int] = Field(
        description="Aggregate counts: sent, delivered, read, failed_<reason>, skipped_<reason>, "
        "withdrawn_after, deferred_quiet_hours, in_doubt (no person is named)"
    )


# -- routes ----------------------------------------------------------------------------------------


def _created() -> dict[int, OpenAPIResponse]:
    created: dict[int, OpenAPIResponse] = {201: {"description": "Created", "content": {JSON: {"model": CampaignView}}}}
    return created | _errors(400, 413, 415)


@app.post(
    "/admin/campaigns",
    summary="Create a campaign draft",
    responses=_created(),
)
def create(body: Annotated[DraftBody, Body()]) -> Response[Any]:
    draft = Draft(body.template, tuple(body.parameters), tuple(body.languages))
    campaign = wiring.campaigns.create(draft, principal())
    metrics.add_metric(name="CampaignCreated", unit=MetricUnit.Count, value=1)
    return Response(201, content_types.APPLICATION_JSON, CampaignView.of(campaign))


@app.get("/admin/campaigns", summary="The most recent campaigns")
def recent(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> CampaignList:
    return CampaignList(campaigns=[CampaignView.of(c) for c in wiring.campaigns.recent(limit)])


@app.get("/admin/campaigns/<campaign_id>", summary="One campaign", responses=_errors(404))
def one(campaign_id: CampaignId) -> CampaignView:
    return CampaignView.of(wiring.campaigns.get(campaign_id))


@app.get("/admin/campaigns/<campaign_id>/audience", summary="How many it would reach now", responses=_errors(404))
def audience(campaign_id: CampaignId) -> AudienceSize:
    return AudienceSize(size=wiring.campaigns.audience_size(campaign_id))


@app.post(
    "/admin/campaigns/<campaign_id>/approval",
    summary="Approve a draft (four eyes: not by its creator)",
    responses=_errors(404, 409),
)
def approve(campaign_id: CampaignId) -> CampaignView:
    wiring.campaigns.approve(campaign_id, principal())
    return CampaignView.of(wiring.campaigns.get(campaign_id))


@app.post(
    "/admin/campaigns/<campaign_id>/schedule",
    summary="Start an approved campaign at a given time (a one-time schedule)",
    responses=_errors(400, 404, 409, 413, 415),
)
def schedule(campaign_id: CampaignId, body: Annotated[ScheduleBody, Body()]) -> CampaignView:
    if body.at.tzinfo is None:
        raise CampaignInvalid("at: give a time zone (for example 2026-12-01T09:00:00+01:00)")
    wiring.campaigns.schedule(campaign_id, int(body.at.timestamp()))
    return CampaignView.of(wiring.campaigns.get(campaign_id))


def _action(name: str, campaign_id: str) -> CampaignView:
    getattr(wiring.campaigns, name)(campaign_id)
    metrics.add_metric(name=f"Campaign{name.title()}", unit=MetricUnit.Count, value=1)
    return CampaignView.of(wiring.campaigns.get(campaign_id))


@app.post("/admin/campaigns/<campaign_id>/start", summary="Start an approved campaign now", responses=_errors(404, 409))
def start(campaign_id: CampaignId) -> CampaignView:
    return _action("start", campaign_id)


@app.post("/admin/campaigns/<campaign_id>/pause", summary="Pause a running campaign", responses=_errors(404, 409))
def pause(campaign_id: CampaignId) -> CampaignView:
    return _action("pause", campaign_id)


@app.post(
    "/admin/campaigns/<campaign_id>/resume",
    summary="Resume a paused campaign (nobody is sent to twice)",
    responses=_errors(404, 409),
)
def resume(campaign_id: CampaignId) -> CampaignView:
    return _action("resume", campaign_id)


@app.post("/admin/campaigns/<campaign_id>/cancel", summary="Cancel a campaign for good", responses=_errors(404, 409))
def cancel(campaign_id: CampaignId) -> CampaignView:
    return _action("cancel", campaign_id)


@app.get("/admin/campaigns/<campaign_id>/results", summary="Aggregate results", responses=_errors(404))
def results(campaign_id: CampaignId) -> CampaignResults:
    found = wiring.campaigns.results(campaign_id)
    return CampaignResults(
        campaign=CampaignView.of(found.campaign),
        processed=found.processed,
        finished=found.finished,
        counts=found.counts,
    )


# -- who acts --------------------------------------------------------------------------------------


def principal(event: APIGatewayProxyEventV2 | None = None) -> str:
    """Who acts (the IAM principal that signed the request): the four-eyes rule compares these."""
    authorizer = (event or app.current_event).request_context.authorizer
    iam = getattr(authorizer, "iam", None) if authorizer else None
    return str(getattr(iam, "user_arn", "") or "local")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:
        wiring.store.audit.record(principal(request), request.route_key, None, refused.status)
        return rejected_response(refused)
    try:
        response = app.resolve(event, context)
    except Exception:
        wiring.store.audit.record(principal(request), request.route_key, None, 500)
        raise
    wiring.store.audit.record(principal(request), request.route_key, None, response["statusCode"])
    return response
