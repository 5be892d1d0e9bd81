"""The embedded AWS backend (moto): the template's tables and development secrets."""

from __future__ import annotations

from typing import Any

from localrun.template import matches, stream_consumers, table_definition, ttl_attribute

REGION = "eu-central-1"
TABLE_NAME = "chatconsent-local"
KEY_TABLE_NAME = "chatconsent-local-keys"
SECRETS_PATH = "/chatconsent/local"
KMS_ALIAS = "alias/chatconsent-local"
LINK_QUEUE = "chatconsent-local-links"
LINK_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{LINK_QUEUE}"  # moto's default account

# Development secrets of the local run (named in the README). Never use them anywhere else.
DEV_SECRETS = {
    "pepper": "local-development-pepper-not-secret",
    "whatsapp/app-secret": "local-app-secret",
    "whatsapp/app-secret-previous": "local-app-secret-previous",
    "whatsapp/verify-token": "local-verify-token",
    "whatsapp/access-token": "local-access-token",
}

# Stands in for IAM authorisation on the admin routes in the local run (API Gateway does it in AWS).
LOCAL_ADMIN_TOKEN = "local-admin-token"  # noqa: S105

LOCAL_ENVIRONMENT = {
    "TABLE_NAME": TABLE_NAME,
    "KEY_TABLE_NAME": KEY_TABLE_NAME,
    "KMS_KEY_ID": KMS_ALIAS,
    "SECRETS_PATH": SECRETS_PATH,
    "CHANNEL_SENDER": "outbox",
    "LINK_QUEUE_URL": LINK_QUEUE_URL,
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


def drain_link_queue(sqs: Any, handler: Any, context: Any, url: str = LINK_QUEUE_URL) -> int:
    """Deliver queued jobs to the link sender as Lambda's SQS event source would; returns how many."""
    from localrun.events import sqs_event

    delivered = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return delivered
        response = handler(sqs_event(messages), context)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages) - len(failed)
        if failed:
            return delivered  # retried on a later drain, as SQS would after the visibility timeout


class StreamPoller:
    """Lambda's DynamoDB stream event source for the main table's consumer (the retention function).

    Records after the last delivered one, filtered by the template's ``FilterCriteria``, in batches of
    its ``BatchSize``. A handler that raises leaves the position where it was: the batch is delivered
    again on the next drain, as Lambda retries a failed batch.
    """

    def __init__(self, dynamodb: Any, table_name: str = TABLE_NAME) -> None:
        import boto3

        (self.consumer,) = stream_consumers("ChatconsentTable")
        # The regional endpoint: moto does not answer botocore's account-based one for streams.
        self._streams = boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
        self._arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        self._shard = shards[0]["ShardId"]
        self._after: str | None = None  # the last sequence number handed over

    def _pending(self) -> list[dict[str, Any]]:
        position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if self._after is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._after}
        iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=self._shard, **position)
        records: list[dict[str, Any]] = []
        while True:
            page = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                return records
            iterator = {"ShardIterator": page["NextShardIterator"]}

    def drain(self, handler: Any, context: Any) -> int:
        """Deliver what arrived since the last drain; returns how many records were delivered."""
        delivered = 0
        records = self._pending()
        size = self.consumer.batch_size
        for start in range(0, len(records), size):
            batch = records[start : start + size]
            chosen = [r for r in batch if any(matches(p, r) for p in self.consumer.patterns)]
            if chosen:
                handler({"Records": chosen}, context)  # raises: the position stays, the batch comes again
            self._after = batch[-1]["dynamodb"]["SequenceNumber"]
            delivered += len(chosen)
        return delivered
