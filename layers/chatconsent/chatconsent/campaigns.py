"""Messenger marketing: campaigns a business writes, a second person approves, and the product sends.

A campaign names a configured template; the template's category decides the purpose whose active
consent every recipient must have (marketing templates: the campaigns' purpose). Its audience is
read from the sparse audience index, never from an address book: only people who said yes, in the
languages asked for, and whom the frequency cap lets be written to. Four eyes: whoever created a
campaign cannot approve it. Results are aggregate counts only.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, Template
from chatconsent.errors import InvalidInput, NotAllowed, NotFound
from chatconsent.store import Campaign, CampaignStatus, Store
from chatconsent.store.campaigns import partitions

MAX_PARAMETER = 1024  # WhatsApp's limit for a body parameter
SCHEDULE_AHEAD_MIN = 60  # a schedule at least a minute ahead
SCHEDULE_AHEAD_MAX = 365 * 86_400


class CampaignInvalid(InvalidInput):
    """The campaign itself is wrong (unknown template, parameters, languages, time)."""


class CampaignRefused(NotAllowed):
    """The campaign's state or the four-eyes rule does not allow this now."""


class CampaignQueue(Protocol):
    """Where the planner's work goes (SQS in AWS, a local queue in the local run)."""

    def start(self, campaign_id: str) -> None: ...


class Schedules(Protocol):
    """One-time schedules that start a campaign (EventBridge Scheduler in AWS)."""

    def create(self, campaign_id: str, at: int) -> None: ...

    def delete(self, campaign_id: str) -> None: ...


class SchedulerSchedules:
    """One-time EventBridge Scheduler schedules that put the campaign's start job on the plan queue.

    Without a target (no ``PLAN_QUEUE_ARN`` or ``SCHEDULER_ROLE_ARN``) scheduling is refused.
    """

    def __init__(self, scheduler: Any, queue_arn: str | None, role_arn: str | None, group: str = "default") -> None:
        self._scheduler = scheduler
        self._queue_arn = queue_arn
        self._role_arn = role_arn
        self._group = group

    @staticmethod
    def name(campaign_id: str) -> str:
        return f"campaign-{campaign_id}"

    def create(self, campaign_id: str, at: int) -> None:
        if not self._queue_arn or not self._role_arn:
            raise CampaignRefused("scheduling needs PLAN_QUEUE_ARN and SCHEDULER_ROLE_ARN: start it now instead")
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
        self._scheduler.create_schedule(
            Name=self.name(campaign_id),
            GroupName=self._group,
            ScheduleExpression=f"at({when})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": self._queue_arn,
                "RoleArn": self._role_arn,
                "Input": json.dumps({"kind": "start", "campaign": campaign_id}),
            },
        )

    def delete(self, campaign_id: str) -> None:
        """Drop the campaign's schedule if it has one (started, cancelled or never scheduled: no error)."""
        if not self._queue_arn:
            return
        try:
            self._scheduler.delete_schedule(Name=self.name(campaign_id), GroupName=self._group)
        except self._scheduler.exceptions.ResourceNotFoundException:
            return


@dataclass(frozen=True)
class Draft:
    template: str
    parameters: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # the audience filter: empty means every language offered


# Outcomes that end a recipient's part in a campaign (deferred and retried recipients come back).
FINAL_OUTCOMES = ("sent", "skipped_", "failed_", "in_doubt", "dropped_")


@dataclass(frozen=True)
class Results:
    campaign: Campaign
    audience_queued: int
    counts: dict[str, int]

    @property
    def processed(self) -> int:
        """Recipients whose part is over (sent, skipped, failed, in doubt, dropped)."""
        skip = ("failed_delivery",)  # a status of a message already counted as sent
        return sum(n for k, n in self.counts.items() if k.startswith(FINAL_OUTCOMES) and k not in skip)

    @property
    def finished(self) -> bool:
        """The whole audience was read and every queued recipient processed."""
        c = self.campaign
        return c.started_at > 0 and c.plans_open == 0 and self.processed >= c.planned


def campaign_partitions(campaign: Campaign, config: BusinessConfig) -> list[str]:
    """The audience index partitions a campaign reads: its purpose, its languages, every shard."""
    return partitions(campaign.purpose, tuple(campaign.languages or config.languages))


class CampaignService:
    def __init__(
        self,
        store: Store,
        config: BusinessConfig,
        clock: Clock,
        queue: CampaignQueue,
        schedules: Schedules,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._queue = queue
        self._schedules = schedules
        self._new_id = new_id

    # -- writing one --------------------------------------------------------------------------------

    def _template(self, name: str, parameters: Sequence[str]) -> Template:
        template = self._config.channels.whatsapp.template(name)
        if template is None:
            raise CampaignInvalid(f"template {name!r} is not configured")
        if len(parameters) != template.parameters:
            raise CampaignInvalid(f"template {name!r} takes {template.parameters} parameters, not {len(parameters)}")
        if any(not p.strip() or len(p) > MAX_PARAMETER or "\n" in p for p in parameters):
            raise CampaignInvalid(f"parameters: 1 to {MAX_PARAMETER} characters each, on one line")
        if template.category == "AUTHENTICATION":
            raise CampaignInvalid(f"template {name!r} is an authentication template: never sent by a campaign")
        return template

    def create(self, draft: Draft, principal: str) -> Campaign:
        template = self._template(draft.template, draft.parameters)
        unknown = sorted(set(draft.languages) - set(self._config.languages))
        if unknown:
            raise CampaignInvalid(f"languages: not offered: {', '.join(unknown)}")
        campaign = Campaign(
            campaign_id=self._new_id(),
            template=template.name,
            purpose=self._config.template_purpose(template),
            parameters=tuple(draft.parameters),
            languages=tuple(dict.fromkeys(draft.languages)),
            status=CampaignStatus.DRAFT,
            created_by=principal,
            created_at=int(self._clock()),
        )
        self._store.campaigns.create(campaign)
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        campaign = self._store.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound("no such campaign")
        return campaign

    def recent(self, limit: int) -> list[Campaign]:
        return self._store.campaigns.recent(limit)

    def audience_size(self, campaign_id: str) -> int:
        """How many people the campaign would reach if it started now (a count: nobody is named)."""
        campaign = self.get(campaign_id)
        return self._store.campaigns.audience_size(campaign_partitions(campaign, self._config), int(self._clock()))

    # -- moving it ----------------------------------------------------------------------------------

    def _move(self, campaign_id: str, allowed: Sequence[CampaignStatus], to: CampaignStatus, **changes: object) -> None:
        if not self._store.campaigns.move(campaign_id, allowed, to, changes):
            current = self.get(campaign_id).status  # NotFound when it does not exist
            raise CampaignRefused(f"a {current.value} campaign cannot become {to.value}")

    def approve(self, campaign_id: str, principal: str) -> None:
        """Four eyes: a second principal approves the draft (the creator cannot)."""
        campaign = self.get(campaign_id)
        if campaign.created_by == principal:
            raise CampaignRefused("four eyes: the campaign must be approved by someone other than its creator")
        condition = ("created_by <> :approver", {":approver": principal})
        if not self._store.campaigns.move(
            campaign_id,
            [CampaignStatus.DRAFT],
            CampaignStatus.APPROVED,
            {"approved_by": principal, "approved_at": int(self._clock())},
            condition,
        ):
            raise CampaignRefused(f"a {self.get(campaign_id).status.value} campaign cannot be approved")

    def schedule(self, campaign_id: str, at: int) -> None:
        now = int(self._clock())
        if not now + SCHEDULE_AHEAD_MIN <= at <= now + SCHEDULE_AHEAD_MAX:
            raise CampaignInvalid("at: between one minute and one year from now")
        self._move(campaign_id, [CampaignStatus.APPROVED], CampaignStatus.SCHEDULED, scheduled_for=at)
        try:
            self._schedules.create(campaign_id, at)
        except Exception:
            self._store.campaigns.move(campaign_id, [CampaignStatus.SCHEDULED], CampaignStatus.APPROVED)
            raise

    def start(self, campaign_id: str) -> None:
        """Start now (an approved or scheduled campaign): the planner reads the audience and queues it."""
        self._move(
            campaign_id,
            [CampaignStatus.APPROVED, CampaignStatus.SCHEDULED],
            CampaignStatus.RUNNING,
            started_at=int(self._clock()),
            plans_open=-1,
        )
        self._schedules.delete(campaign_id)
        self._queue.start(campaign_id)

    def pause(self, campaign_id: str, reason: str = "paused") -> None:
        """Senders drop the queued work of a paused campaign; resuming reads the audience again."""
        self._move(campaign_id, [CampaignStatus.RUNNING], CampaignStatus.PAUSED, paused_reason=reason)

    def resume(self, campaign_id: str) -> None:
        """Queue the audience again: who was sent to is skipped by their send record and the cap."""
        self._move(campaign_id, [CampaignStatus.PAUSED], CampaignStatus.RUNNING, paused_reason="", plans_open=-1)
        self._queue.start(campaign_id)

    def cancel(self, campaign_id: str) -> None:
        self._move(
            campaign_id,
            [
                CampaignStatus.DRAFT,
                CampaignStatus.APPROVED,
                CampaignStatus.SCHEDULED,
                CampaignStatus.RUNNING,
                CampaignStatus.PAUSED,
            ],
            CampaignStatus.CANCELLED,
        )
        self._schedules.delete(campaign_id)

    def results(self, campaign_id: str) -> Results:
        campaign = self.get(campaign_id)
        return Results(campaign, campaign.planned, self._store.campaigns.results(campaign_id))
