"""The campaigns API's request and answer models: the OpenAPI document's schemas and the bodies' validation.

Loaded by the campaigns function on its first request (and before a SnapStart snapshot, and by its
``openapi_app()``): the function starts without pydantic and routes on ``routeKey``.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chatconsent.store import Campaign


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
