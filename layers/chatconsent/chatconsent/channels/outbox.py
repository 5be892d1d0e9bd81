"""The local outbox: records what would be sent instead of calling a provider (local run, tests)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutboxMessage:
    id: str
    channel: str
    recipient: str = field(repr=False)
    payload: Mapping[str, object] = field(repr=False)


class Outbox:
    """A :class:`~chatconsent.channels.base.MessageSender` that keeps messages in memory."""

    def __init__(self) -> None:
        self._messages: list[OutboxMessage] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def deliver(self, channel: str, recipient: str, payload: Mapping[str, object]) -> str:
        with self._lock:
            message = OutboxMessage(f"outbox.{next(self._ids)}", channel, recipient, dict(payload))
            self._messages.append(message)
        return message.id

    @property
    def messages(self) -> list[OutboxMessage]:
        with self._lock:
            return list(self._messages)

    def to(self, recipient: str) -> list[OutboxMessage]:
        return [m for m in self.messages if m.recipient == recipient]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
