"""One JSON POST to a provider's API, with the failures every channel's sender meets mapped alike.

- An error answer (4xx/5xx): the provider certainly did not send. The sender's own ``refusal``
  reads the status and the answer's first bytes and says what it means (throttled, blocked, down,
  refused for good): a :class:`~chatconsent.channels.base.ChannelRejected`.
- A refused connection: nothing was sent, and the provider is down (``unavailable``).
- Any other network failure or a timeout: whether the message went out is unknown
  (:class:`~chatconsent.channels.base.ChannelError`); the outbox tries again with the same message id.

Messages name the provider, never the recipient or the text.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

from chatconsent.channels.base import ChannelError, ChannelRejected

MAX_ANSWER = 1024 * 1024  # a provider's answer is a few hundred bytes; read no more than this
MAX_ERROR_ANSWER = 65_536
Refusal = Callable[[int, bytes], ChannelRejected]  # (HTTP status, the error answer's first bytes)


def post_json(
    url: str,
    payload: Mapping[str, object],
    headers: Mapping[str, str],
    *,
    provider: str,
    refusal: Refusal,
    timeout: float,
) -> bytes:
    """POST ``payload`` as JSON to ``url`` (a fixed https URL of the provider); the answer's body."""
    request = urllib.request.Request(  # noqa: S310 (the provider's fixed https URL)
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bytes(response.read(MAX_ANSWER))
    except urllib.error.HTTPError as error:
        try:
            details = bytes(error.read(MAX_ERROR_ANSWER))
        except OSError:
            details = b""
        raise refusal(error.code, details) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):  # nothing was sent
            raise ChannelRejected(f"{provider} refused the connection", unavailable=True) from None
        raise ChannelError(f"{provider} unreachable") from None
    except (TimeoutError, OSError):
        raise ChannelError(f"{provider} timed out or dropped the connection") from None


def json_answer(body: bytes, provider: str) -> object:
    """The answer's JSON (ChannelError when it is none: whether the message went out is unknown)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ChannelError(f"{provider} answered something that is not JSON") from None
