"""A running campaign's fan-out: the planner reads the audience and queues it, senders send it.

Planner: a start job splits the audience into its index partitions (purpose × language × shard);
each partition job reads one page, queues the recipients in send jobs of a few dozen and queues
itself again with the page's cursor, so no run reads more than a page and nothing is ever scanned.

Sender: for each recipient of a job, the send is claimed first (one transaction: consent still
active as read, number not blocked, frequency cap, the per-(campaign, person) send record), then
sent at the shared provider rate, then closed with the provider's message id. A job delivered
twice sends nothing twice; a withdrawal that lands before the claim always wins; a crash after
the provider accepted leaves the record claimed, so it is never sent again (README: the one
window left is a crash between the claim and the provider call: that person misses the message).
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from chatconsent.buttons import MARKETING_STOP_BUTTON
from chatconsent.campaigns import campaign_partitions
from chatconsent.channels.base import RETRY_LATER, Channel, ChannelError, ChannelRejected
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig, Template
from chatconsent.errors import Gone
from chatconsent.keyring import SubjectKeyring
from chatconsent.schema import Document, constrained
from chatconsent.store import Campaign, CampaignStatus, Cap, Claim, Recipient, Store
from chatconsent.store.keys import ADDRESS_ID

RETRY_ATTEMPTS = 3
RATE_SLOTS = 10  # slots reserved from the shared bucket at a time
RETRY_DELAY_SECONDS = 60
MAX_QUEUE_DELAY = 900  # SQS's longest delay


class RecipientJob(Document):
    """One recipient as the audience index had it: a pseudonym and a sealed address, nothing in clear."""

    subject: str = constrained(pattern=r"^[0-9a-f]{64}$")
    purpose: str
    rev: int
    language: str
    address: str = constrained(repr=False)  # base64 of the sealed address
    proof: str = ""
    block: str = ""
    cap_until: int = 0
    cap_count: int = 0

    @classmethod
    def of(cls, r: Recipient) -> RecipientJob:
        return cls(
            subject=r.subject,
            purpose=r.purpose,
            rev=r.consent_rev,
            language=r.language,
            address=base64.b64encode(r.address).decode("ascii"),
            proof=r.proof_hash,
            block=r.suppression_hash,
            cap_until=r.cap_until,
            cap_count=r.cap_count,
        )

    def recipient(self) -> Recipient:
        return Recipient(
            subject=self.subject,
            purpose=self.purpose,
            consent_rev=self.rev,
            language=self.language,
            address=base64.b64decode(self.address),
            proof_hash=self.proof,
            suppression_hash=self.block,
            cap_until=self.cap_until,
            cap_count=self.cap_count,
        )


class PlanJob(Document):
    """Start a campaign (no partition), or read one page of one audience partition."""

    kind: Literal["start", "plan"]
    campaign: str = constrained(pattern=r"^[0-9a-f]{32}$")
    partition: str = ""
    cursor: dict[str, Any] | None = None


class SendJob(Document):
    kind: Literal["send"] = "send"
    campaign: str = constrained(pattern=r"^[0-9a-f]{32}$")
    recipients: tuple[RecipientJob, ...] = constrained(min_length=1, max_length=100)


class Queue(Protocol):
    """Queues the planner's and the senders' work."""

    def plan(self, jobs: Sequence[PlanJob]) -> None: ...

    def send(self, jobs: Sequence[SendJob], delay: int = 0) -> None: ...


class SqsQueue:
    """Both queues on SQS, ten messages per request."""

    def __init__(self, sqs: Any, plan_url: str, send_url: str) -> None:
        self._sqs = sqs
        self._plan_url = plan_url
        self._send_url = send_url

    def _batch(self, url: str, bodies: Sequence[str], delay: int) -> None:
        for offset in range(0, len(bodies), 10):
            entries = [
                {"Id": str(n), "MessageBody": body, "DelaySeconds": min(delay, MAX_QUEUE_DELAY)}
                for n, body in enumerate(bodies[offset : offset + 10])
            ]
            response = self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"{len(response['Failed'])} jobs could not be queued")

    def start(self, campaign_id: str) -> None:
        self.plan([PlanJob(kind="start", campaign=campaign_id)])

    def plan(self, jobs: Sequence[PlanJob]) -> None:
        self._batch(self._plan_url, [j.model_dump_json() for j in jobs], 0)

    def send(self, jobs: Sequence[SendJob], delay: int = 0) -> None:
        self._batch(self._send_url, [j.model_dump_json() for j in jobs], delay)


# -- the planner ---------------------------------------------------------------------------------


class Planner:
    def __init__(self, store: Store, config: BusinessConfig, clock: Clock, queue: Queue) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._queue = queue

    def handle(self, job: PlanJob) -> int:
        """Run one planner job; returns how many recipients it queued."""
        campaigns = self._store.campaigns
        if job.kind == "start":
            # a schedule's start: scheduled → running (a cancel that landed first wins)
            started = {"started_at": self._now(), "plans_open": -1}
            campaigns.move(job.campaign, [CampaignStatus.SCHEDULED], CampaignStatus.RUNNING, started)
        campaign = campaigns.get(job.campaign)
        if campaign is None or campaign.status is not CampaignStatus.RUNNING:
            return 0  # cancelled or paused: resuming queues the audience again
        if job.kind == "start":
            parts = campaign_partitions(campaign, self._config)
            campaigns.plan_started(campaign.campaign_id, len(parts))
            self._queue.plan([PlanJob(kind="plan", campaign=campaign.campaign_id, partition=p) for p in parts])
            return 0
        return self._page(campaign, job)

    def _now(self) -> int:
        return int(self._clock())

    def _page(self, campaign: Campaign, job: PlanJob) -> int:
        recipients, cursor = self._store.campaigns.audience_page(job.partition, self._now(), job.cursor)
        size = self._config.campaigns.recipients_per_job
        jobs = [
            SendJob(
                campaign=campaign.campaign_id, recipients=tuple(RecipientJob.of(r) for r in recipients[i : i + size])
            )
            for i in range(0, len(recipients), size)
        ]
        if jobs:
            self._queue.send(jobs)
        if cursor is not None:
            self._queue.plan([job.model_copy(update={"cursor": cursor})])
        self._store.campaigns.planned(campaign.campaign_id, len(recipients), partition_done=cursor is None)
        return len(recipients)


# -- the shared rate -----------------------------------------------------------------------------


class SendRate:
    """Slots of the provider's rate, reserved from the shared bucket a few at a time (microseconds,
    so that any rate is kept closely: 80/s is a slot every 12,501 µs)."""

    def __init__(self, store: Store, bucket: str, per_second: int, now_us: Callable[[], int]) -> None:
        self._store = store
        self._bucket = bucket
        self._interval = 1_000_000 // per_second + 1  # a hair over: never 81 in a closed second
        self._now_us = now_us
        self._slots: list[int] = []
        self._busy = False

    def next_slot(self, wanted: int = RATE_SLOTS) -> int:
        """When (epoch µs) the next send may go out. Slots left over from before that have passed are
        dropped: sending in them now would add a burst to the slots other senders hold."""
        now = self._now_us()
        while self._slots and self._slots[0] < now - self._interval:
            self._slots.pop(0)
        if not self._slots:
            start = self._store.sends.reserve(self._bucket, wanted, self._interval, now, self._busy)
            self._busy = start > now
            self._slots = [start + n * self._interval for n in range(wanted)]
        return self._slots.pop(0)


# -- the sender ----------------------------------------------------------------------------------


@dataclass
class JobReport:
    """What one send job did, as counts (the campaign's results add them up)."""

    counts: Counter[str] = field(default_factory=Counter)
    retry: list[RecipientJob] = field(default_factory=list)
    deferred: dict[int, list[RecipientJob]] = field(default_factory=dict)
    paused: bool = False
    repeated: bool = False  # the job ran to its end on an earlier delivery: nothing done again


@dataclass(frozen=True)
class SenderParts:
    keyring: SubjectKeyring
    channel: Callable[[], Channel]
    queue: Queue
    message_hash: Callable[[str], str]  # the provider's message id → the key statuses find the record by
    sleep: Callable[[float], None] = time.sleep


class Sender:
    def __init__(self, store: Store, parts: SenderParts, config: BusinessConfig, clock: Clock) -> None:
        self._store = store
        self._parts = parts
        self._config = config
        self._clock = clock
        whatsapp = config.channels.whatsapp
        self._rate = SendRate(store, f"whatsapp#{whatsapp.phone_number_id}", whatsapp.messages_per_second, self._us)
        self._outages = 0

    def _us(self) -> int:
        return int(self._clock() * 1_000_000)

    def handle(self, job: SendJob, job_id: str = "") -> JobReport:
        """Send one job's recipients. ``job_id`` (the queue's message id, the same on every delivery)
        makes a job that ran to its end before do nothing again: its sends, follow-up jobs and counts
        are all recorded (a job cut short runs again; its claims keep every send single)."""
        report = JobReport()
        if job_id and self._store.campaigns.counted(job.campaign, job_id):
            report.repeated = True
            return report
        campaign = self._store.campaigns.get(job.campaign)
        if campaign is None or campaign.status is not CampaignStatus.RUNNING:
            report.counts["dropped_not_running"] += len(job.recipients)  # resuming queues them again
            return report
        template = self._config.channels.whatsapp.template(campaign.template)
        if template is None:  # the configuration changed under a running campaign
            self._store.campaigns.move(
                campaign.campaign_id, [CampaignStatus.RUNNING], CampaignStatus.PAUSED, {"paused_reason": "template"}
            )
            report.paused = True
            return report
        self._parts.keyring.preload([r.subject for r in job.recipients])
        cap = self._cap(campaign.purpose)
        for n, recipient in enumerate(job.recipients):
            if report.paused:
                report.counts["dropped_paused"] += len(job.recipients) - n
                break
            self._one(campaign, template, recipient, cap, report)
        self._finish(campaign, report, job_id)
        return report

    def _cap(self, purpose: str) -> Cap | None:
        cap = self._config.frequency_cap(purpose)
        return Cap(cap.messages, int(cap.period.total_seconds())) if cap is not None else None

    def _one(
        self, campaign: Campaign, template: Template, job: RecipientJob, cap: Cap | None, report: JobReport
    ) -> None:
        recipient = job.recipient()
        try:
            number = self._parts.keyring.decrypt(recipient.subject, ADDRESS_ID, recipient.address).decode("utf-8")
        except Gone:
            report.counts["skipped_erased"] += 1
            return
        wait = quiet_for(number, self._config, self._clock())
        if wait:
            report.deferred.setdefault(min(wait, MAX_QUEUE_DELAY), []).append(job)
            report.counts["deferred_quiet_hours"] += 1
            return
        claim = self._store.sends.claim(campaign, recipient, cap)
        if claim is not Claim.CLAIMED:
            report.counts[f"skipped_{claim.value}"] += 1
            return
        self._send(campaign, template, recipient, number, report)

    def _send(
        self, campaign: Campaign, template: Template, recipient: Recipient, number: str, report: JobReport
    ) -> None:
        codes: dict[str, str] = {str(k): v for k, v in template.languages.items()}
        language = codes.get(recipient.language) or codes[self._config.default_language]
        stop = (
            (template.stop_button, MARKETING_STOP_BUTTON + campaign.campaign_id)
            if template.stop_button is not None
            else None
        )
        for attempt in range(RETRY_ATTEMPTS):
            try:
                self._wait_for(self._rate.next_slot())
            except Exception:  # nothing went out: the claim is given back, so the job's redelivery sends it
                self._store.sends.release(campaign.campaign_id, recipient, reason="slot")
                raise
            try:
                sent = self._parts.channel().send_template(
                    number, template.name, language, list(campaign.parameters), quick_reply=stop
                )
            except ChannelRejected as rejected:
                if rejected.unavailable:
                    self._outage(report)
                later = rejected.code in RETRY_LATER or rejected.unavailable
                if later and attempt + 1 < RETRY_ATTEMPTS and not report.paused:
                    self._parts.sleep(2.0**attempt)  # back off, then a fresh slot
                    continue
                self._rejected(campaign, recipient, rejected, report)
                return
            except ChannelError:  # perhaps sent (a timeout): the record stays claimed, never sent twice
                report.counts["in_doubt"] += 1
                self._outage(report)
                return
            self._outages = 0
            message_hash = self._parts.message_hash(sent)
            self._store.sends.close(campaign.campaign_id, recipient.subject, message_hash, template.name)
            report.counts["sent"] += 1
            return

    def _rejected(self, campaign: Campaign, recipient: Recipient, rejected: ChannelRejected, report: JobReport) -> None:
        if rejected.unavailable or rejected.code in RETRY_LATER:  # not sent: send again later
            self._store.sends.release(campaign.campaign_id, recipient, reason=str(rejected.code or "unavailable"))
            report.retry.append(RecipientJob.of(recipient))
            report.counts["retried"] += 1
            return
        self._outages = 0
        reason = str(rejected.code) if rejected.code is not None else "other"
        self._store.sends.settle(campaign.campaign_id, recipient.subject, "failed", reason)
        report.counts[f"failed_{reason}"] += 1

    def _outage(self, report: JobReport) -> None:
        self._outages += 1
        if self._outages >= self._config.campaigns.outage_pause_after:
            report.paused = True

    def _wait_for(self, slot_us: int) -> None:
        delay = slot_us - self._us()
        if delay > 0:
            self._parts.sleep(delay / 1_000_000)

    def _finish(self, campaign: Campaign, report: JobReport, job_id: str) -> None:
        if report.paused:
            self._outages = 0
            self._store.campaigns.move(
                campaign.campaign_id,
                [CampaignStatus.RUNNING],
                CampaignStatus.PAUSED,
                {"paused_reason": "provider_outage"},
            )
        queue = self._parts.queue
        size = self._config.campaigns.recipients_per_job
        if report.retry and not report.paused:
            queue.send(_jobs(campaign.campaign_id, report.retry, size), delay=RETRY_DELAY_SECONDS)
        for delay, waiting in report.deferred.items():
            queue.send(_jobs(campaign.campaign_id, waiting, size), delay=delay)
        shard = report_shard(report)
        self._store.campaigns.add_results(campaign.campaign_id, shard, dict(report.counts), job_id)


def report_shard(report: JobReport) -> str:
    """Which results shard a job adds to: spread by the job's time, so no shard is hot."""
    return str(time.monotonic_ns())


def _jobs(campaign_id: str, recipients: Sequence[RecipientJob], size: int) -> list[SendJob]:
    return [
        SendJob(campaign=campaign_id, recipients=tuple(recipients[i : i + size]))
        for i in range(0, len(recipients), size)
    ]


def quiet_for(number: str, config: BusinessConfig, now: float) -> int:
    """Seconds until the recipient's quiet hours end (0: not quiet), in the number's time zone."""
    quiet = config.campaigns.quiet_hours
    if quiet is None:
        return 0
    zone = time_zone_of(number)
    if zone is None:
        return 0
    local = datetime.fromtimestamp(now, zone)
    if not quiet.covers(local.hour):
        return 0
    end = local.replace(hour=quiet.end, minute=0, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return max(1, int((end - local).total_seconds()))


def time_zone_of(number: str) -> Any:
    """The number's time zone from its country and area (phonenumbers' data); None when unknown."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    import phonenumbers  # noqa: PLC0415
    from phonenumbers import timezone  # noqa: PLC0415

    try:
        zones = timezone.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
    zone = next((z for z in zones if z != "Etc/Unknown"), None)
    return ZoneInfo(zone) if zone else None
