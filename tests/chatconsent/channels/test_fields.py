"""The standard-library readers the channels parse provider JSON with."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconsent.channels import fields


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, 1700000000),
        ("1700000000", 1700000000),  # Meta's timestamps are strings
        (" 1700000000 ", 1700000000),
        ("-5", -5),
        ("+5", 5),
        (1700000000.0, 1700000000),
        (2**63 - 1, 2**63 - 1),
        (2**63, None),  # beyond a signed 64-bit number: not a timestamp anyone sends
        ("9" * 20, None),
        (1e300, None),
        (float("inf"), None),
        (float("nan"), None),
        (1.5, None),
        ("1.5", None),
        ("12a", None),
        ("", None),
        ("١٢", None),  # digits, but not ASCII ones
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_number_reads_whole_numbers_only(value: Any, expected: int | None) -> None:
    assert fields.number(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (-3, -3), (False, None), (3.0, None), ("3", None)])
def test_integer_is_a_json_integer(value: Any, expected: int | None) -> None:
    assert fields.integer(value) == expected


def test_string_respects_its_limit_and_type() -> None:
    assert fields.string("abc", 3) == "abc"
    assert fields.string("abcd", 3) is None
    assert fields.string(5, 3) is None
    assert fields.string(None, 3) is None


def test_items_is_a_bounded_list_and_missing_is_empty() -> None:
    assert fields.items(None, 2) == []
    assert fields.items([1, 2], 2) == [1, 2]
    assert fields.items([1, 2, 3], 2) is None
    assert fields.items({"a": 1}, 2) is None


def test_mapping_is_a_json_object() -> None:
    assert fields.mapping({"a": 1}) == {"a": 1}
    assert fields.mapping([("a", 1)]) is None


def test_storable_refuses_a_lone_surrogate_anywhere() -> None:
    assert fields.storable({"text": "fine ✓", "n": [1, 2.5, None]})
    assert not fields.storable(json.loads('{"deep": [{"text": "cut \\ud83d here"}]}'))
    assert fields.storable(json.loads('{"text": "whole \\ud83d\\ude00"}'))
