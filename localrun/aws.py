"""The embedded AWS backend (moto): the template's tables and development secrets."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from localrun.template import matches, stream_consumers, table_definition, ttl_attribute

REGION = "eu-central-1"
TABLE_NAME = "chatconsent-local"
KEY_TABLE_NAME = "chatconsent-local-keys"
SECRETS_PATH = "/chatconsent/local"
KMS_ALIAS = "alias/chatconsent-local"
LINK_QUEUE = "chatconsent-local-links"
LINK_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{LINK_QUEUE}"  # moto's default account

PLAN_QUEUE = "chatconsent-local-campaign-plans"
SEND_QUEUE = "chatconsent-local-campaign-sends"
PLAN_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{PLAN_QUEUE}"
SEND_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{SEND_QUEUE}"
PLAN_QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:{PLAN_QUEUE}"
# EventBridge Scheduler's role in AWS (the template's ``SchedulerRole``); locally only a name.
SCHEDULER_ROLE_ARN = "arn:aws:iam::123456789012:role/chatconsent-local-scheduler"
# The template's queues by logical id, as the local run creates them.
QUEUE_URLS = {"LinkQueue": LINK_QUEUE_URL, "PlanQueue": PLAN_QUEUE_URL, "SendQueue": SEND_QUEUE_URL}

# Development secrets of the local run (named in the README). Never use them anywhere else.
DEV_SECRETS = {
    "pepper": "local-development-pepper-not-secret",
    "whatsapp/app-secret": "local-app-secret",
    "whatsapp/app-secret-previous": "local-app-secret-previous",
    "whatsapp/verify-token": "local-verify-token",
    "whatsapp/access-token": "local-access-token",
    # Apple hands its Messaging API secret out Base64-encoded: base64("local-apple-messaging-secret")
    "apple/messaging-secret": "bG9jYWwtYXBwbGUtbWVzc2FnaW5nLXNlY3JldA==",
    "apple/messaging-secret-previous": "bG9jYWwtYXBwbGUtbWVzc2FnaW5nLXByZXZpb3Vz",  # "local-apple-messaging-previous"
    "telegram/bot-token": "local-telegram-bot-token",
    "telegram/secret-token": "local-telegram-secret-token",
    "telegram/secret-token-previous": "local-telegram-secret-token-previous",
}

# Stand in for IAM authorisation on the admin routes in the local run (API Gateway does it in AWS):
# each bearer token is one IAM principal, so that the campaigns' four-eyes rule can be exercised.
LOCAL_ADMIN_TOKEN = "local-admin-token"  # noqa: S105
LOCAL_APPROVER_TOKEN = "local-approver-token"  # noqa: S105
LOCAL_PRINCIPALS = {
    LOCAL_ADMIN_TOKEN: "arn:aws:iam::123456789012:user/local-admin",
    LOCAL_APPROVER_TOKEN: "arn:aws:iam::123456789012:user/local-approver",
}

LOCAL_ENVIRONMENT = {
    "TABLE_NAME": TABLE_NAME,
    "KEY_TABLE_NAME": KEY_TABLE_NAME,
    "KMS_KEY_ID": KMS_ALIAS,
    "SECRETS_PATH": SECRETS_PATH,
    "CHANNEL_SENDER": "outbox",
    "LINK_QUEUE_URL": LINK_QUEUE_URL,
    "PLAN_QUEUE_URL": PLAN_QUEUE_URL,
    "SEND_QUEUE_URL": SEND_QUEUE_URL,
    "PLAN_QUEUE_ARN": PLAN_QUEUE_ARN,
    "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
    "POWERTOOLS_METRICS_NAMESPACE": "chatconsent",
    "POWERTOOLS_SERVICE_NAME": "chatconsent",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def create_tables(
    dynamodb: Any, table_name: str = TABLE_NAME, key_table_name: str = KEY_TABLE_NAME, stream: bool = True
) -> None:
    for logical_id, name in (("ChatconsentTable", table_name), ("SubjectKeyTable", key_table_name)):
        dynamodb.create_table(**table_definition(logical_id, name, stream))
        if attribute := ttl_attribute(logical_id):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )


def seed_secrets(ssm: Any, path: str = SECRETS_PATH, values: dict[str, str] | None = None) -> None:
    for name, value in (values or DEV_SECRETS).items():
        ssm.put_parameter(Name=f"{path}/{name}", Value=value, Type="SecureString", Overwrite=True)


def create_data_key(kms: Any) -> str:
    """The KMS key that wraps the per-person data keys (the template's ``DataKey``)."""
    key_id = str(kms.create_key(Description="chatconsent local data key")["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key_id)
    return key_id


def create_link_queue(sqs: Any) -> str:
    """The template's ``LinkQueue``: jobs of link-confirmed opt-ins, for the link sender."""
    return str(sqs.create_queue(QueueName=LINK_QUEUE)["QueueUrl"])


def create_campaign_queues(sqs: Any) -> tuple[str, str]:
    """The template's ``PlanQueue`` and ``SendQueue``: a campaign's planner and sender jobs."""
    plan = str(sqs.create_queue(QueueName=PLAN_QUEUE)["QueueUrl"])
    send = str(sqs.create_queue(QueueName=SEND_QUEUE)["QueueUrl"])
    return plan, send


def drain_campaign_queues(sqs: Any, planner: Any, sender: Any, context: Any, rounds: int = 10_000) -> int:
    """Run the planner and the sender until both queues are empty (jobs delayed for later stay)."""
    total = 0
    for _ in range(rounds):
        moved = drain_link_queue(sqs, planner, context, PLAN_QUEUE_URL)
        moved += drain_link_queue(sqs, sender, context, SEND_QUEUE_URL)
        total += moved
        if not moved:
            break
    return total


def drain_link_queue(sqs: Any, handler: Any, context: Any, url: str = LINK_QUEUE_URL) -> int:
    """Deliver queued jobs to the link sender as Lambda's SQS event source would; returns how many."""
    delivered = 0
    while True:
        received, failed = deliver_batch(sqs, handler, context, url)
        if not received:
            return delivered
        delivered += received - failed
        if failed:
            return delivered  # retried on a later drain, as SQS would after the visibility timeout


def deliver_batch(sqs: Any, handler: Any, context: Any, url: str, batch_size: int = 10) -> tuple[int, int]:
    """One invocation of Lambda's SQS event source: up to ``batch_size`` jobs to ``handler``, the ones it
    did not report as failed (partial batch response) deleted; returns (received, failed)."""
    from localrun.events import sqs_event

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size).get("Messages", [])
    if not messages:
        return 0, 0
    response = handler(sqs_event(messages, queue=url.rsplit("/", 1)[-1]), context)
    failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages), len(failed)


class LocalScheduler:
    """EventBridge Scheduler's part for the one-time schedules moto's ``scheduler`` holds.

    moto stores schedules (create, get, list, delete) but never runs them; :meth:`fire_due` does:
    each enabled ``at(YYYY-MM-DDTHH:MM:SS)`` schedule whose time (in its ``ScheduleExpressionTimezone``)
    has come sends its target's ``Input`` to the target SQS queue, then is deleted when its
    ``ActionAfterCompletion`` is ``DELETE`` (else it stays, done, as in AWS). Only SQS targets and
    one-time schedules are supported locally; anything else is reported once and left alone.
    """

    def __init__(self, scheduler: Any, sqs: Any, warn: Callable[[str], object] = sys.stderr.write) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._warn = warn
        self._done: set[str] = set()  # fired schedules that stay (ActionAfterCompletion NONE)
        self._warned: set[str] = set()

    def schedules(self) -> list[dict[str, Any]]:
        """Every enabled schedule in full (``GetSchedule``), with ``due``: its time in epoch seconds."""
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {"State": "ENABLED"}
        while True:
            page = self._scheduler.list_schedules(**request)
            for summary in page.get("Schedules", []):
                schedule = self._scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
                found.append({**schedule, "due": due_at(schedule)})
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def fire_due(self, now: float) -> list[str]:
        """Fire the schedules due at ``now`` (epoch seconds); returns their names."""
        fired = []
        for schedule in self.schedules():
            arn = schedule["Arn"]
            if arn in self._done:
                continue
            due, target = schedule["due"], schedule["Target"]
            if due is None or not target["Arn"].startswith("arn:aws:sqs:"):
                if arn not in self._warned:
                    self._warned.add(arn)
                    self._warn(f"schedule {schedule['Name']}: only one-time schedules to SQS run locally\n")
                continue
            if due > now:
                continue
            self._sqs.send_message(QueueUrl=self._queue_url(target["Arn"]), MessageBody=target.get("Input") or "{}")
            if schedule.get("ActionAfterCompletion") == "DELETE":
                self._scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
            else:
                self._done.add(arn)
            fired.append(str(schedule["Name"]))
        return fired

    def _queue_url(self, arn: str) -> str:
        _, _, _, _, account, name = arn.split(":", 5)
        return str(self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def due_at(schedule: dict[str, Any]) -> float | None:
    """When a one-time schedule (``at(...)``) is due, in epoch seconds; None for rate and cron schedules."""
    expression = str(schedule.get("ScheduleExpression", ""))
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    try:
        return datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone).timestamp()
    except ValueError:
        return None


class StreamPoller:
    """Lambda's DynamoDB stream event sources for the main table's consumers (the template's
    ``AWS::Lambda::EventSourceMapping`` resources on its stream: retention, outbox).

    Each consumer gets the records after the last one it was handed, filtered by its
    ``FilterCriteria``, in batches of its ``BatchSize``. A handler that raises leaves that
    consumer's position where it was, and one that answers a partial batch response
    (``batchItemFailures``) moves it to just before the first failed record: the rest comes again
    on the next drain, as Lambda retries.
    """

    def __init__(self, dynamodb: Any, table_name: str = TABLE_NAME) -> None:
        import boto3

        self.consumers = {c.function: c for c in stream_consumers("ChatconsentTable")}
        # The regional endpoint: moto does not answer botocore's account-based one for streams.
        self._streams = boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
        self._arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        self._shard = shards[0]["ShardId"]
        self._after: dict[str, str | None] = dict.fromkeys(self.consumers)  # the last sequence number handed over

    def _pending(self, after: str | None) -> list[dict[str, Any]]:
        position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if after is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=self._shard, **position)
        records: list[dict[str, Any]] = []
        while True:
            page = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                return records
            iterator = {"ShardIterator": page["NextShardIterator"]}

    def drain(self, function: str, handler: Any, context: Any) -> int:
        """Deliver to ``function`` (a logical id) what arrived since its last drain; returns how many
        records were delivered and taken."""
        consumer = self.consumers[function]
        delivered = 0
        records = self._pending(self._after[function])
        size = consumer.batch_size
        for start in range(0, len(records), size):
            batch = records[start : start + size]
            chosen = [r for r in batch if any(matches(p, r) for p in consumer.patterns)]
            if chosen:
                answer = handler({"Records": chosen}, context)  # raises: the position stays, the batch comes again
                failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
                if failures:
                    first = str(failures[0]["itemIdentifier"])
                    index = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] == first)
                    if index:
                        self._after[function] = batch[index - 1]["dynamodb"]["SequenceNumber"]
                    return delivered + sum(1 for r in batch[:index] if r in chosen)
            self._after[function] = batch[-1]["dynamodb"]["SequenceNumber"]
            delivered += len(chosen)
        return delivered
