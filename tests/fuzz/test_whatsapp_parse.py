"""``WhatsAppChannel.parse`` on payloads shaped like Meta's webhooks, on any JSON and on any bytes.

Properties: ``parse`` returns a ``ParsedWebhook`` or raises ``MalformedPayload``, nothing else; in a
payload addressed to our number every item is either returned or counted as skipped (the rest of
a batch still counts); items with the provider's shape and a valid number are never skipped;
profile names from ``contacts[]`` never reach the result. Signatures are checked before parsing
(``verify``) and are not this test's concern.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chatconsent.channels.base import MalformedPayload, ParsedWebhook
from chatconsent.channels.outbox import Outbox
from chatconsent.channels.whatsapp import WhatsAppChannel
from tests.flow import PHONE_NUMBER_ID
from tests.fuzz.meta import META_LIKE, OURS, PROFILE_NAME, VALID
from tests.fuzz.support import JSON_SCALARS, JSON_VALUES, examples


def channel() -> WhatsAppChannel:
    return WhatsAppChannel([b"fuzz-app-secret"], PHONE_NUMBER_ID, Outbox())


def parse_or_malformed(raw: bytes) -> ParsedWebhook | None:
    """The property every input must keep: a result, or ``MalformedPayload`` and nothing else."""
    try:
        parsed = channel().parse(raw)
    except MalformedPayload:
        return None
    assert isinstance(parsed, ParsedWebhook)
    return parsed


def items_in(payload: dict[str, Any]) -> int:
    value_lists = [c["value"] for e in payload["entry"] for c in e["changes"]]
    return sum(len(v.get(k, [])) for v in value_lists for k in ("messages", "statuses", "user_preferences"))


def assert_no_profile_name(parsed: ParsedWebhook) -> None:
    assert PROFILE_NAME not in json.dumps(dataclasses.asdict(parsed), default=str), "a profile name was read"


@settings(max_examples=examples(150))
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_malformed(raw: bytes) -> None:
    parse_or_malformed(raw)


@settings(max_examples=examples(100))
@given(JSON_VALUES)
def test_any_json_parses_or_is_malformed(document: Any) -> None:
    parse_or_malformed(json.dumps(document).encode())


@settings(max_examples=examples(120))
@given(META_LIKE)
def test_meta_like_payloads_parse_or_are_malformed(payload: dict[str, Any]) -> None:
    parsed = parse_or_malformed(json.dumps(payload).encode())
    if parsed is not None:
        assert_no_profile_name(parsed)
        assert all(m.sender.startswith("+") and m.sender[1:].isdigit() for m in parsed.messages)
        assert all(s.recipient.startswith("+") and s.recipient[1:].isdigit() for s in parsed.statuses)


@settings(max_examples=examples(120))
@given(OURS)
def test_every_item_addressed_to_us_is_returned_or_counted_as_skipped(payload: dict[str, Any]) -> None:
    parsed = parse_or_malformed(json.dumps(payload).encode())
    assert parsed is not None, "a payload with the envelope's shape was refused whole"
    returned = len(parsed.messages) + len(parsed.statuses) + len(parsed.preferences)
    assert returned + parsed.skipped == items_in(payload)
    assert_no_profile_name(parsed)


@settings(max_examples=examples(60))
@given(VALID)
def test_items_with_the_providers_shape_are_never_skipped(payload: dict[str, Any]) -> None:
    parsed = parse_or_malformed(json.dumps(payload, ensure_ascii=False).encode())
    assert parsed is not None
    assert parsed.skipped == 0
    assert len(parsed.messages) + len(parsed.statuses) + len(parsed.preferences) == items_in(payload)


@settings(max_examples=examples(30))
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from([b"[", b'{"a":', b'{"object":"x","entry":[']))
def test_deeply_nested_bodies_are_malformed(depth: int, opener: bytes) -> None:
    parse_or_malformed(opener * depth)


@settings(max_examples=examples(60))
@given(JSON_SCALARS, st.sampled_from(["object", "entry", "changes", "value", "metadata", "messages"]))
def test_a_scalar_where_a_container_belongs_is_malformed_or_skipped(scalar: Any, where: str) -> None:
    payload: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_NUMBER_ID}, "messages": []}}
                ],
            }
        ],
    }
    target: dict[str, Any] = {
        "object": payload,
        "entry": payload,
        "changes": payload["entry"][0],
        "value": payload["entry"][0]["changes"][0],
        "metadata": payload["entry"][0]["changes"][0]["value"],
        "messages": payload["entry"][0]["changes"][0]["value"],
    }[where]
    target[where] = scalar
    parse_or_malformed(json.dumps(payload).encode())


@settings(max_examples=examples(20))
@given(st.text(max_size=10), st.sampled_from(["\\ud83d", "\\ude00", "\\udfff"]), st.text(max_size=10))
def test_an_unpaired_surrogate_in_one_text_costs_that_item_only(before: str, escape: str, after: str) -> None:
    """A text cut in the middle of an emoji (an unpaired UTF-16 escape, valid JSON syntax) is one bad
    item: the other message of the batch still counts (README: the rest of a batch still counts)."""

    def message(body: str, n: int) -> dict[str, Any]:
        return {
            "from": "4915112345678",
            "id": f"wamid.{n}",
            "timestamp": "1795000000",
            "type": "text",
            "text": {"body": body},
        }

    value = {"metadata": {"phone_number_id": PHONE_NUMBER_ID}, "messages": [message("cut", 1), message("whole", 2)]}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    raw = json.dumps(payload).replace('"cut"', json.dumps(before)[:-1] + escape + json.dumps(after)[1:])
    parsed = parse_or_malformed(raw.encode())
    assert parsed is not None, "one unpaired surrogate escape refused the whole batch"
    assert [m.text for m in parsed.messages][-1:] == ["whole"]
    assert len(parsed.messages) + parsed.skipped == 2
