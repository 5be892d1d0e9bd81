"""Time as a dependency, so that expiry can be tested with a controlled clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch."""
        ...


def system_clock() -> float:
    return time.time()


def sleeper(clock: Clock) -> Callable[[float], None]:
    """How to wait on ``clock``: a controlled clock moves forward instead of the process sleeping."""
    advance = getattr(clock, "advance", None)
    return advance if callable(advance) else time.sleep


class FrozenClock:
    """A clock that moves only when told to (tests, benchmarks)."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
