"""Reads ``template.yaml`` so that local runs and tests use the deployed definitions, not copies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsic functions (``!Ref``, ``!Sub``, …)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=1)
def load_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text("utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    return data


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load_template()["Resources"].items() if r["Type"] == kind}


def table_definition(logical_id: str, table_name: str, stream: bool = True) -> dict[str, Any]:
    """``CreateTable`` arguments from the template's table (encryption and PITR left to AWS); its stream
    unless ``stream`` is false (a benchmark that only fills a table need not record every write)."""
    props = load_template()["Resources"][logical_id]["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if "GlobalSecondaryIndexes" in props:
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if stream and "StreamSpecification" in props:
        definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return definition


@dataclass(frozen=True)
class StreamConsumer:
    """A function fed by a table's stream (an ``AWS::Lambda::EventSourceMapping`` of the template)."""

    function: str  # logical id
    code_uri: str
    batch_size: int
    patterns: tuple[dict[str, Any], ...]  # FilterCriteria: a record is delivered when one matches


def stream_consumers(table_logical_id: str) -> list[StreamConsumer]:
    """The functions that read the table's stream, with their batch size and filters."""
    found = []
    functions = resources("AWS::Serverless::Function")
    for mapping in resources("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        if props.get("EventSourceArn") != {"Fn::GetAtt": [table_logical_id, "StreamArn"]}:
            continue
        target = props["FunctionName"]["Ref"].split(".", 1)[0]  # "<Function>.Alias" or "<Function>"
        filters = props.get("FilterCriteria", {}).get("Filters", [])
        found.append(
            StreamConsumer(
                function=target,
                code_uri=functions[target]["Properties"]["CodeUri"],
                batch_size=int(props.get("BatchSize", 100)),
                patterns=tuple(json.loads(f["Pattern"]) for f in filters),
            )
        )
    return found


@dataclass(frozen=True)
class QueueConsumer:
    """A function fed by an SQS queue (a SAM ``SQS`` event of the template)."""

    function: str  # logical id
    code_uri: str
    queue: str  # the queue's logical id
    batch_size: int
    max_concurrency: int | None = None


def queue_consumers() -> list[QueueConsumer]:
    """The functions the template's SQS event sources invoke, with their queue and batch size."""
    found = []
    for name, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            source = event["Properties"]
            scaling = source.get("ScalingConfig", {})
            found.append(
                QueueConsumer(
                    function=name,
                    code_uri=props["CodeUri"],
                    queue=source["Queue"]["Fn::GetAtt"][0],
                    batch_size=int(source.get("BatchSize", 10)),
                    max_concurrency=scaling.get("MaximumConcurrency"),
                )
            )
    return found


@dataclass(frozen=True)
class RateSchedule:
    """A function the template's EventBridge Scheduler schedule runs at a fixed rate, with its input."""

    function: str  # logical id
    code_uri: str
    every_seconds: int
    input: dict[str, Any]


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86_400, "days": 86_400}


def rate_schedules() -> list[RateSchedule]:
    """The functions the template's ``rate(...)`` schedules (``ScheduleV2`` events) invoke."""
    found = []
    for name, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "ScheduleV2":
                continue
            expression = str(event["Properties"]["ScheduleExpression"])
            value, _, unit = expression.removeprefix("rate(").removesuffix(")").partition(" ")
            found.append(
                RateSchedule(
                    function=name,
                    code_uri=props["CodeUri"],
                    every_seconds=int(value) * _RATE_UNITS[unit],
                    input=json.loads(event["Properties"].get("Input", "{}")),
                )
            )
    return found


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, the part the template uses: nested keys, lists of values, ``prefix``."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(
            isinstance(value, str) and value.startswith(p["prefix"]) if isinstance(p, dict) else p == value
            for p in pattern
        )
    return bool(pattern == value)


def ttl_attribute(logical_id: str) -> str | None:
    spec = load_template()["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway form, e.g. /notices/{language}
    function: str  # logical id
    code_uri: str
    handler: str
    iam_auth: bool = False
    jwt_authorizer: str | None = None  # the name of the route's JWT authorizer (checked with a bearer token)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def jwt_authorizers() -> dict[str, dict[str, Any]]:
    """The HTTP APIs' JWT authorizers by name, with their ``JwtConfiguration``."""
    found = {}
    for api in resources("AWS::Serverless::HttpApi").values():
        for name, authorizer in api["Properties"].get("Auth", {}).get("Authorizers", {}).items():
            if "JwtConfiguration" in authorizer:
                found[name] = authorizer["JwtConfiguration"]
    return found


def _default_authorizer() -> str | None:
    apis = resources("AWS::Serverless::HttpApi").values()
    defaults = {api["Properties"].get("Auth", {}).get("DefaultAuthorizer") for api in apis} - {None}
    return defaults.pop() if len(defaults) == 1 else None


def route_jwt_authorizer(event_properties: dict[str, Any]) -> str | None:
    """The JWT authorizer guarding a route: its own ``Auth.Authorizer``, else the API's default
    (``NONE`` and ``AWS_IAM`` are not JWT authorizers)."""
    named = event_properties.get("Auth", {}).get("Authorizer") or _default_authorizer()
    return named if named in jwt_authorizers() else None


def routes() -> list[Route]:
    """Every HttpApi route the template wires, with the function that serves it."""
    found = []
    for name, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            found.append(
                Route(
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    function=name,
                    code_uri=props["CodeUri"],
                    handler=props["Handler"],
                    iam_auth=event["Properties"].get("Auth", {}).get("Authorizer") == "AWS_IAM",
                    jwt_authorizer=route_jwt_authorizer(event["Properties"]),
                )
            )
    return found
