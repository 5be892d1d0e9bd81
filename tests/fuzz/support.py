"""What the fuzz tests share: example budgets, input strategies, raw HTTP events and the answer checks."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import currently_in_test_context, event
from hypothesis import strategies as st

from localrun.events import http_event

ROOT = Path(__file__).resolve().parents[2]
SCALE = max(1, int(os.environ.get("CHATCONSENT_FUZZ_SCALE", "1")))


def examples(count: int) -> int:
    """A test's example budget, times ``CHATCONSENT_FUZZ_SCALE`` (1 in CI)."""
    return count * SCALE


# -- generic inputs --------------------------------------------------------------------------------

JSON_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=20,
)


def loose(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``strategy``, sometimes any JSON value in its place."""
    return st.one_of(strategy, strategy, strategy, JSON_VALUES)


def maybe_extra(body: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object, sometimes with fields the API does not know."""
    extra = st.dictionaries(st.text(min_size=1, max_size=12), JSON_SCALARS, max_size=2)
    return st.one_of(body, st.builds(lambda b, e: {**e, **b}, body, extra))


# -- raw bodies and content types ------------------------------------------------------------------

BOUNDARY = "fuzzboundary7MA4YWxk"
CONTENT_TYPES: st.SearchStrategy[str | None] = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "APPLICATION/JSON",
            "application/vnd.api+json",
            "text/plain",
            "text/plain; charset=utf-16",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            f"multipart/form-data; boundary={BOUNDARY}",
            "multipart/form-data; boundary=",
            'multipart/form-data; boundary=""',
            "multipart/mixed",
            "application/octet-stream",
            "",
        ]
    ),
    st.none(),
    st.text(max_size=60),
)


def multipart(fields: dict[str, str], boundary: str = BOUNDARY) -> bytes:
    """A well-formed ``multipart/form-data`` body."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8")


def raw_bodies(document: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """``document`` as JSON in several encodings, as a form, as multipart, or any bytes at all."""
    as_json = document.map(lambda d: json.dumps(d).encode("utf-8"))
    fields = st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=3)
    return st.one_of(
        as_json,
        as_json,
        document.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8")),
        document.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-16")),
        document.map(lambda d: json.dumps(d, ensure_ascii=False).encode("latin-1", "replace")),
        st.builds(lambda j, junk: j + junk, as_json, st.binary(min_size=1, max_size=8)),  # trailing garbage
        st.builds(lambda j, cut: j[: max(0, len(j) - cut)], as_json, st.integers(1, 8)),  # truncated
        fields.map(multipart),
        fields.map(lambda f: "&".join(f"{k}={v}" for k, v in f.items()).encode("utf-8")),
        st.binary(max_size=200),
        st.sampled_from([b"", b"null", b"[]", b"{}", b"\xff\xfe", b"\xef\xbb\xbf{}", b'{"\xc3\x28": 1}']),
    )


@dataclass(frozen=True)
class Wire:
    """How the body reaches the function: API Gateway base64-encodes what is not text."""

    base64: bool
    lone_surrogate: bool = False


WIRES: st.SearchStrategy[Wire] = st.one_of(
    st.just(Wire(base64=False)), st.just(Wire(base64=True)), st.just(Wire(base64=False, lone_surrogate=True))
)


@dataclass(frozen=True)
class RawBody:
    """A body exactly as bytes, its content type (``None``: no header) and how it travels."""

    data: bytes
    content_type: str | None = "application/json"
    wire: Wire = Wire(base64=False)


def request_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: RawBody | None = None,
    source_ip: str = "198.51.100.7",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload v2) event with the body's bytes exactly as given, whatever they are.

    Bytes that are not UTF-8 always travel base64-encoded (API Gateway does not put them in a JSON
    string otherwise); ``lone_surrogate`` appends an unpaired surrogate to a text body, which a
    JSON event can carry (``"\\ud800"``).
    """
    headers = {"content-type": body.content_type} if body is not None and body.content_type is not None else {}
    event = http_event(
        method,
        path,
        route_path=route_path,
        path_parameters=path_parameters,
        headers=headers,
        source_ip=source_ip,
        query=query,
    )
    if body is None:
        return event
    try:
        text: str | None = body.data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if body.wire.base64 or text is None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body.data).decode("ascii"), True
    else:
        event["body"] = text + ("\ud800" if body.wire.lone_surrogate else "")
    return event


def json_document(body: bytes) -> Any:
    """The JSON document ``body`` holds (UTF-8, -16 or -32, as ``json.loads`` reads bytes), or ``None``."""
    try:
        return json.loads(body)
    except ValueError:
        return None


# -- the answer checks -----------------------------------------------------------------------------


@cache
def validation_error_fields() -> frozenset[str]:
    """What ``openapi.json`` says every item of a 422 answer's ``detail`` holds."""
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    return frozenset(document["components"]["schemas"]["ValidationError"]["required"])


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}


def text_of(response: dict[str, Any]) -> str:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8")
    return str(body)


def note_status(status: int) -> None:
    """Count answers by status: ``--hypothesis-show-statistics`` then tells how deep the examples reached."""
    if currently_in_test_context():
        event(f"status {status}")


def assert_json_answer(response: dict[str, Any]) -> None:
    """Never a server error; every refusal is JSON with a reason (``error``, or ``detail`` for 422).

    Each property is its own ``assert`` line, so that Hypothesis reports each kind of failure
    separately (it tells failures apart by where they are raised). The shape of a 422's items is
    checked by :func:`assert_validation_detail` in its own tests: a failure found on the first
    example would otherwise end every property's search after ten examples.
    """
    status = int(response["statusCode"])
    note_status(status)
    assert status < 500, f"server error {status}"
    if status < 400:
        return
    content_type = headers_of(response).get("content-type", "")
    assert content_type.startswith("application/json"), f"{status} answered as {content_type!r}, not JSON"
    body = json.loads(text_of(response))
    assert isinstance(body, dict), f"{status} body is not a JSON object"
    if status == 422:
        assert isinstance(body.get("detail"), list) and body["detail"], "422 without a detail list"
    else:
        reason = body.get("error")
        assert isinstance(reason, str) and reason.strip(), f"{status} without a reason: {sorted(body)}"


def assert_validation_detail(response: dict[str, Any]) -> None:
    """A 422's ``detail`` items hold every field ``openapi.json``'s ``ValidationError`` requires."""
    assert int(response["statusCode"]) == 422, response
    detail = json.loads(text_of(response))["detail"]
    for item in detail:
        missing = sorted(validation_error_fields() - set(item))
        assert not missing, f"422 detail item {item} lacks {missing} (openapi.json's ValidationError requires them)"


def assert_html_answer(response: dict[str, Any]) -> None:
    """Never a server error; every answer of the confirmation page is an HTML page with a heading."""
    status = int(response["statusCode"])
    note_status(status)
    assert status < 500, f"server error {status}"
    content_type = headers_of(response).get("content-type", "")
    assert content_type.startswith("text/html"), f"{status} answered as {content_type!r}, not HTML"
    page = text_of(response)
    assert "<h1>" in page and page.rstrip().endswith("</html>"), f"{status} page without a reason"
