"""Request bodies: decoded exactly as received and bounded before anything parses them."""

from __future__ import annotations

import base64
import json

import pytest

from chatconsent.api.body import BodyRejected, raw_body, rejected_response

LIMIT = 1024


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize("body", [None, ""])
@pytest.mark.parametrize("is_base64", [False, True])
def test_no_body_is_empty_bytes(body: str | None, is_base64: bool) -> None:
    assert raw_body(body, is_base64, LIMIT) == b""


def test_plain_body_is_its_utf8_bytes() -> None:
    assert raw_body('{"a": "é"}', False, LIMIT) == '{"a": "é"}'.encode()


def test_base64_body_is_decoded_to_the_exact_bytes() -> None:
    data = b'{"object":"whatsapp_business_account",  "entry":[]}\n\x00\xff'
    assert raw_body(b64(data), True, LIMIT) == data


@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT])
def test_plain_body_up_to_the_limit_is_accepted(size: int) -> None:
    assert len(raw_body("x" * size, False, LIMIT)) == size


def test_plain_body_over_the_limit_is_413() -> None:
    with pytest.raises(BodyRejected) as error:
        raw_body("x" * (LIMIT + 1), False, LIMIT)
    assert error.value.status == 413


def test_the_limit_counts_bytes_not_characters() -> None:
    assert len(raw_body("é" * (LIMIT // 2), False, LIMIT)) == LIMIT
    with pytest.raises(BodyRejected) as error:
        raw_body("é" * (LIMIT // 2) + "x", False, LIMIT)  # LIMIT characters would be fine, LIMIT + 1 bytes are not
    assert error.value.status == 413


@pytest.mark.parametrize("size", [LIMIT - 2, LIMIT - 1, LIMIT])
def test_base64_body_up_to_the_limit_is_accepted(size: int) -> None:
    assert len(raw_body(b64(b"x" * size), True, LIMIT)) == size


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + 2, LIMIT + 3, 10 * LIMIT])
def test_base64_body_over_the_limit_is_413(size: int) -> None:
    with pytest.raises(BodyRejected) as error:
        raw_body(b64(b"x" * size), True, LIMIT)
    assert error.value.status == 413


def test_huge_bodies_are_refused_before_decoding() -> None:
    with pytest.raises(BodyRejected) as error:
        raw_body("!" * (LIMIT * 2), True, LIMIT)  # invalid base64, but too large is found first
    assert error.value.status == 413


@pytest.mark.parametrize("body", ["not base64!", "YW Jj", "YWJj\n", "é", "YWJjZA"])
def test_invalid_base64_is_400(body: str) -> None:
    with pytest.raises(BodyRejected) as error:
        raw_body(body, True, LIMIT)
    assert error.value.status == 400
    assert error.value.reason == "request body is not valid base64"


def test_rejection_answer_for_the_gateway() -> None:
    response = rejected_response(BodyRejected(413, "request body too large"))
    assert response["statusCode"] == 413
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == {"error": "request body too large"}
    assert response["isBase64Encoded"] is False


def test_body_rejected_is_a_value_error_with_a_safe_reason() -> None:
    error = BodyRejected(400, "bad")
    assert isinstance(error, ValueError) and str(error) == "bad" and error.status == 400
