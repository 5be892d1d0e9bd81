"""Shared fixtures: the embedded AWS backend built from template.yaml, a controlled clock, handlers."""

from __future__ import annotations

import json
import os
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from localrun.aws import (
    LOCAL_ENVIRONMENT,
    TABLE_NAME,
    StreamPoller,
    create_campaign_queues,
    create_data_key,
    create_link_queue,
    create_tables,
    drain_campaign_queues,
    drain_link_queue,
    seed_secrets,
)
from localrun.functions import LambdaContext, load_function

os.environ.update(LOCAL_ENVIRONMENT)

from moto import mock_aws

from chatconsent.clock import FrozenClock
from chatconsent.config import current_config
from chatconsent.retention import RetentionPlan
from chatconsent.store import Store
from chatconsent.store.values import deserialize
from chatconsent.wiring import Wiring, local_outbox

ROOT = Path(__file__).resolve().parent.parent
START = 1_795_000_000  # 2026-11-18, a fixed "now" for every test
STREAM_FUNCTIONS = {"RetentionFunction": "retention", "OutboxFunction": "outbox"}  # the table stream's consumers


@dataclass
class Env:
    """One test's world: backend clients, clock, wiring and the outbox."""

    dynamodb: Any
    ssm: Any
    clock: FrozenClock
    wiring: Wiring
    sqs: Any = None
    stream: StreamPoller | None = None

    @property
    def store(self) -> Store:
        return self.wiring.store

    def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": TABLE_NAME}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items += [deserialize(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def subject_items(self, subject: str) -> list[dict[str, Any]]:
        """Every item in the subject's partition, live or not, as stored (sorted by sort key)."""
        return sorted((i for i in self.items() if i["PK"] == f"SUBJ#{subject}"), key=lambda i: str(i["SK"]))

    def inbound_items(self, subject: str) -> list[dict[str, Any]]:
        """The subject's live inbound messages as stored, oldest first."""
        now = self.clock()
        items = self.subject_items(subject)
        return [i for i in items if str(i["SK"]).startswith("M#IN#") and i["expires_at"] > now]

    def quarantined(self, subject: str) -> list[dict[str, Any]]:
        return [i for i in self.inbound_items(subject) if i["retention_class"] == "special_quarantine"]

    def items_with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        return [i for i in self.items() if str(i["PK"]).startswith(prefix)]

    def drain_links(self) -> int:
        """Run the link sender on the queued jobs, as Lambda's SQS event source would."""
        return drain_link_queue(self.sqs, lambda event, context: self.invoke("linksender", event), None)

    def drain_campaigns(self) -> int:
        """Run the campaign planner and sender until their queues are empty, as Lambda's SQS sources would."""
        return drain_campaign_queues(
            self.sqs,
            lambda event, context: self.invoke("campaignplanner", event),
            lambda event, context: self.invoke("campaignsender", event),
            None,
        )

    def drain_stream(self) -> int:
        """Run the stream's consumers (retention, outbox) on the table's new records, as Lambda's event
        sources would; a consumer that fails keeps its position (its records come again next time)."""
        if self.stream is None:
            return 0
        delivered, failed = 0, None
        for function, directory in STREAM_FUNCTIONS.items():  # each event source on its own, as in Lambda
            try:
                delivered += self.stream.drain(
                    function, lambda event, context, d=directory: self.invoke(d, event), None
                )
            except Exception as error:  # raised below, once the other consumers had their turn
                failed = failed or error
        if failed is not None:
            raise failed
        return delivered

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        module = load_function(f"functions/{function}")
        module.wiring = self.wiring
        # Powertools binds its handler to the sys.stdout of import time; follow pytest's capture.
        module.logger.registered_handler.stream = sys.stdout
        response: dict[str, Any] = module.lambda_handler(event, LambdaContext())
        if function not in STREAM_FUNCTIONS.values():
            self.drain_stream()  # Lambda delivers a stream's records within a second or so
        return response


_EXPRESSION_KEYS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)


def check_placeholders(request: dict[str, Any]) -> None:
    """DynamoDB rejects unused or undefined placeholders; moto does not, so the tests do."""
    expressions = " ".join(str(request[k]) for k in _EXPRESSION_KEYS if k in request)
    used = set(re.findall(r"[#:][A-Za-z0-9_]+", expressions))
    defined = set(request.get("ExpressionAttributeValues", {})) | set(request.get("ExpressionAttributeNames", {}))
    assert used == defined, f"placeholders used {sorted(used - defined)} undefined, {sorted(defined - used)} unused"


class JitterClient:
    """Sleeps a random moment before each request, so that threads interleave differently."""

    def __init__(self, client: Any, rng: random.Random) -> None:
        self._client = client
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._rng.random() * 0.002)
            return attribute(*args, **kwargs)

        return call if callable(attribute) else attribute


class SerializedClient:
    """A client whose calls run one at a time: each DynamoDB request is atomic, as in AWS, while
    threads still interleave between requests. moto's in-process backend is not thread-safe."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "transact_write_items":
                for item in kwargs["TransactItems"]:
                    for request in item.values():
                        check_placeholders(request)
            elif name in ("put_item", "update_item", "delete_item", "query"):
                check_placeholders(kwargs)
            with self._lock:
                return attribute(*args, **kwargs)

        return call


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        ssm = boto3.client("ssm")
        kms = boto3.client("kms")
        create_tables(dynamodb)
        seed_secrets(ssm)
        create_data_key(kms)
        sqs = boto3.client("sqs")
        create_link_queue(sqs)
        create_campaign_queues(sqs)
        clock = FrozenClock(START)
        wiring = Wiring(clock=clock, dynamodb=SerializedClient(dynamodb), kms=kms)
        local_outbox().clear()
        stream = StreamPoller(dynamodb)
        yield Env(dynamodb=dynamodb, ssm=ssm, clock=clock, wiring=wiring, sqs=sqs, stream=stream)


@pytest.fixture
def plan() -> RetentionPlan:
    return RetentionPlan.from_config(current_config())


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# Phone numbers in every notation the tests use, and the distinctive message texts they send.
PERSONAL = ["491701234567", "393471234567", "1701234567", "3471234567"]
# Apple's opaque customer ids (tests/apple_flow.py): the distinctive part of each.
PERSONAL += ["PersonOpaqueIdForTestsOnly", "OtherOpaqueIdForTestsOnly"]
TELEGRAM_CHAT_IDS = ["7311904826", "7311904827"]  # tests/telegram_flow.py's people (a chat id is the person)
MESSAGE_TEXTS = ["Mein Code", "My code", "where is my parcel", "Il mio codice", "private question"]
TELEGRAM_TEXTS = ["parcel via telegram", "Telegram private note"]


@pytest.fixture(autouse=True)
def no_personal_data_in_output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Across the whole suite: nothing printed or logged carries a number or a message text."""
    yield
    out, err = capfd.readouterr()
    captured = out + err + caplog.text
    for needle in PERSONAL + TELEGRAM_CHAT_IDS + MESSAGE_TEXTS + TELEGRAM_TEXTS:
        assert needle not in captured, "personal data or message text reached the output"


# Tests that need AWS (the embedded moto backend, a local server or a browser) by their fixtures or
# their module; everything else is marked ``unit`` so that ``pytest -m unit`` runs in seconds.
_AWS_FIXTURES = frozenset({"env", "world", "server", "browser", "context", "page"})
_AWS_MODULE_MARKERS = ("mock_aws", "boto3", "ThreadedMotoServer")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    sources: dict[str, bool] = {}
    for item in items:
        path = str(item.path)
        if path not in sources:
            text = item.path.read_text(encoding="utf-8")
            sources[path] = "/browser/" in path or any(marker in text for marker in _AWS_MODULE_MARKERS)
        if not sources[path] and _AWS_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.unit)
