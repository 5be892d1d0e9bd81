"""DynamoDB attribute values: the encoding of the few types the store writes, both ways.

boto3's ``TypeSerializer`` would do, but importing anything from ``boto3`` costs ~100 ms of cold
start (it pulls in ``s3transfer``); the functions talk to DynamoDB through ``botocore`` alone.
Numbers come back as ``int`` when integral, else ``float`` (the store keeps only epoch seconds,
counters and revisions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def to_attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    [(kind, value)] = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() and "e" not in value.lower() and "." not in value else number
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(value)
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind in ("SS", "BS"):
        return sorted(value)
    if kind == "NS":
        return sorted(from_attribute({"N": v}) for v in value)
    raise TypeError(f"unknown attribute type {kind}")


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attributes as DynamoDB values; ``None`` attributes are left out."""
    return {k: to_attribute(v) for k, v in item.items() if v is not None}
