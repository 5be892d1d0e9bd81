"""Campaigns API (IAM-authorised): draft, audience size, four-eyes approval, schedule or start, pause,
resume, cancel, and aggregate results.

Nothing here names a person: the audience is a count, the results are counts. Every action is
recorded in the audit trail (who, what, when, outcome), like the admin API's.

The lean path (as the webhook's and the opt-in's): the routes are dispatched on API Gateway's
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

from chatconsent.api.answers import domain_error_answer, error_answer, invalid_answer, json_answer, not_found_answer
from chatconsent.api.body import BodyRejected, refused_json_body, rejected_response
from chatconsent.api.requests import Invalid, RequestCheck, principal
from chatconsent.campaigns import CampaignInvalid, Draft
from chatconsent.errors import DomainError
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
Event = dict[str, Any]
Answer = dict[str, Any]


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


def _refused(error: Exception) -> Answer:
    """Every error a route raises, answered as the resolver's exception handlers answered it."""
    if isinstance(error, Invalid):
        return invalid_answer(error.problems)
    if isinstance(error, DomainError):
        return domain_error_answer(error)
    if isinstance(error, BodyRejected):
        return error_answer(error.status, error.reason)
    if isinstance(error, RecursionError):
        return error_answer(400, "request body is nested too deeply")
    return error_answer(400, "request body is not valid UTF-8")  # UnicodeDecodeError


def _route(event: Event) -> Answer:
    route = ROUTES.get(str(event.get("routeKey", "")))
    if route is None:
        return not_found_answer()
    try:
        return route(event)
    except (Invalid, DomainError, BodyRejected, RecursionError, UnicodeDecodeError) as error:
        return _refused(error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route_key = str(event.get("routeKey", ""))
    refused = refused_json_body(event, wiring.config.limits.max_api_body_bytes)
    if refused is not None:
        wiring.store.audit.record(principal(event), route_key, None, refused.status)
        return rejected_response(refused)
    try:
        response = _route(event)
    except Exception:
        wiring.store.audit.record(principal(event), route_key, None, 500)
        raise
    wiring.store.audit.record(principal(event), route_key, None, response["statusCode"])
    return response


# -- SnapStart -------------------------------------------------------------------------------------


def _prime() -> None:
    """Before a SnapStart snapshot: the models and pydantic, built and warm (a draft and a limit refused by
    validation: no AWS call, nothing written)."""
    for route, event in ((create, {"body": "{}"}), (recent, {"queryStringParameters": {"limit": "0"}})):
        try:
            route(event)
        except Invalid:
            continue
        raise RuntimeError("priming expected a request refused by validation")


snapshot_hooks().register_before_snapshot(_prime)


# -- the OpenAPI document --------------------------------------------------------------------------


def openapi_app() -> APIGatewayHttpResolver:
    """The routes above as Powertools declares them, for the OpenAPI document only (``tools/openapi.py``)."""
    from typing import Annotated  # noqa: PLC0415

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse  # noqa: PLC0415

    from chatconsent.api import campaign_models as m  # noqa: PLC0415
    from chatconsent.api.errors import ErrorBody  # noqa: PLC0415
    from chatconsent.api.requests import NO_DEFAULT, declaration  # noqa: PLC0415

    app = APIGatewayHttpResolver(enable_validation=True)
    campaign_id = (
        "campaign_id",
        Annotated[str, Path(pattern=CAMPAIGN_ID, description="The campaign's id")],
        NO_DEFAULT,
    )

    def errors(*codes: int) -> dict[int, OpenAPIResponse]:
        meaning = {
            400: "The campaign or the request is wrong (template, parameters, languages, time)",
            404: "No such campaign",
            409: "Not allowed in the campaign's state, or by the four-eyes rule",
            413: "Body too large",
            415: "Not sent as JSON (Content-Type: application/json)",
        }
        return {code: {"description": meaning[code], "content": {JSON: {"model": ErrorBody}}} for code in codes}

    created: dict[int, OpenAPIResponse] = {
        201: {"description": "Created", "content": {JSON: {"model": m.CampaignView}}}
    }
    app.post("/admin/campaigns", summary="Create a campaign draft", responses=created | errors(400, 413, 415))(
        declaration("create", [("body", Annotated[m.DraftBody, Body()], NO_DEFAULT)], Response[Any])
    )
    app.get("/admin/campaigns", summary="The most recent campaigns")(
        declaration("recent", [("limit", Annotated[int, Query(ge=1, le=100)], 50)], m.CampaignList)
    )
    app.get("/admin/campaigns/<campaign_id>", summary="One campaign", responses=errors(404))(
        declaration("one", [campaign_id], m.CampaignView)
    )
    app.get("/admin/campaigns/<campaign_id>/audience", summary="How many it would reach now", responses=errors(404))(
        declaration("audience", [campaign_id], m.AudienceSize)
    )
    app.post(
        "/admin/campaigns/<campaign_id>/approval",
        summary="Approve a draft (four eyes: not by its creator)",
        responses=errors(404, 409),
    )(declaration("approve", [campaign_id], m.CampaignView))
    app.post(
        "/admin/campaigns/<campaign_id>/schedule",
        summary="Start an approved campaign at a given time (a one-time schedule)",
        responses=errors(400, 404, 409, 413, 415),
    )(declaration("schedule", [campaign_id, ("body", Annotated[m.ScheduleBody, Body()], NO_DEFAULT)], m.CampaignView))
    for name, summary, codes in (
        ("start", "Start an approved campaign now", (404, 409)),
        ("pause", "Pause a running campaign", (404, 409)),
        ("resume", "Resume a paused campaign (nobody is sent to twice)", (404, 409)),
        ("cancel", "Cancel a campaign for good", (404, 409)),
    ):
        app.post(f"/admin/campaigns/<campaign_id>/{name}", summary=summary, responses=errors(*codes))(
            declaration(name, [campaign_id], m.CampaignView)
        )
    app.get("/admin/campaigns/<campaign_id>/results", summary="Aggregate results", responses=errors(404))(
        declaration("results", [campaign_id], m.CampaignResults)
    )
    return app
