"""The local run's own pages and endpoints (never in the template): the playground, its simulated
phones (WhatsApp, Apple-style, Telegram-style), the campaigns panel's setup, the local scheduler
and the recurring jobs.

One table maps each path to its handler per method. A path in the table with another method is
answered 405; what a phone page sent that cannot be a message of its messenger is answered 400 with
the reason.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

from localrun.aws import LocalScheduler
from localrun.template import RateSchedule

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html; charset=utf-8"}
METHOD_NOT_ALLOWED = b'{"message":"Method Not Allowed"}'


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Backend(Protocol):
    """What the pages need of the local API (:class:`localrun.server.LocalApi`)."""

    lock: threading.Lock
    recurring: dict[str, RateSchedule]

    def invoke(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, ip: str
    ) -> dict[str, Any]: ...

    def run_recurring(self, schedule: RateSchedule) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PageRequest:
    query: str
    body: bytes
    api: Backend
    scheduler: LocalScheduler | None

    def parameter(self, name: str) -> str:
        return dict(parse_qsl(self.query)).get(name, "")


Handler = Callable[[PageRequest], Answer]


def _json(value: Any, status: int = 200) -> Answer:
    return Answer(status, dict(JSON), json.dumps(value).encode())


def _not_allowed() -> Answer:
    return Answer(405, dict(JSON), METHOD_NOT_ALLOWED)


def _page(path: Path) -> Answer:
    return Answer(200, dict(HTML), path.read_bytes())


# -- the WhatsApp playground and its campaigns panel ----------------------------------------------


def _playground(request: PageRequest) -> Answer:
    from localrun import playground

    return _page(playground.PAGE)


def _phone_send(request: PageRequest) -> Answer:
    from localrun import playground

    return _json(playground.send(request.body, request.api.invoke))


def _phone_messages(request: PageRequest) -> Answer:
    from localrun import playground

    return _json(playground.messages(request.parameter("to")))


def _campaign_setup(request: PageRequest) -> Answer:
    from localrun import playground

    return _json(playground.campaign_setup())


def _jobs_run(request: PageRequest) -> Answer:
    api = request.api
    return _json({"ran": {name: api.run_recurring(schedule) for name, schedule in sorted(api.recurring.items())}})


# -- the Apple-style device -----------------------------------------------------------------------


def _apple(request: PageRequest) -> Answer:
    from localrun import playground_apple

    return _page(playground_apple.PAGE)


def _apple_send(request: PageRequest) -> Answer:
    from localrun import playground_apple

    return _json(playground_apple.send(request.body, request.api.invoke, int(time.time())))


def _apple_messages(request: PageRequest) -> Answer:
    from localrun import playground_apple

    return _json(playground_apple.messages(request.parameter("to")))


# -- the Telegram-style phone ---------------------------------------------------------------------


def _telegram(request: PageRequest) -> Answer:
    from localrun import playground_telegram

    return _page(playground_telegram.PAGE)


def _telegram_send(request: PageRequest) -> Answer:
    from localrun import playground_telegram

    return _json(playground_telegram.send(request.body, request.api.invoke, int(time.time())))


def _telegram_messages(request: PageRequest) -> Answer:
    from localrun import playground_telegram

    return _json(playground_telegram.messages(request.parameter("chat")))


# -- EventBridge Scheduler's one-time schedules (without a scheduler: 405) ----------------------------


def _schedules(request: PageRequest) -> Answer:
    """The schedules moto holds."""
    if request.scheduler is None:
        return _not_allowed()
    with request.api.lock:
        found = request.scheduler.schedules()
    shown = [
        {"name": s["Name"], "expression": s["ScheduleExpression"], "due": s["due"], "target": s["Target"]["Arn"]}
        for s in found
    ]
    return _json({"now": time.time(), "schedules": shown})


def _schedules_run(request: PageRequest) -> Answer:
    """Fire the schedules due by a given time (``{"until": epoch}``, by default now): a local way to skip
    ahead to a scheduled campaign's start."""
    if request.scheduler is None:
        return _not_allowed()
    try:
        until = json.loads(request.body or b"{}").get("until", time.time())
    except (ValueError, AttributeError):
        until = None
    if isinstance(until, bool) or not isinstance(until, int | float):
        return _json({"error": 'body: {"until": <epoch seconds>} expected'}, 400)
    with request.api.lock:
        fired = request.scheduler.fire_due(float(until))
    return _json({"fired": fired})


PAGES: Mapping[str, Mapping[str, Handler]] = {
    "/playground": {"GET": _playground},
    "/playground/apple": {"GET": _apple},
    "/_local/apple/send": {"POST": _apple_send},
    "/_local/apple/messages": {"GET": _apple_messages},
    "/playground/telegram": {"GET": _telegram},
    "/_local/telegram/send": {"POST": _telegram_send},
    "/_local/telegram/messages": {"GET": _telegram_messages},
    "/_local/phone/send": {"POST": _phone_send},
    "/_local/phone/messages": {"GET": _phone_messages},
    "/_local/campaign-setup": {"GET": _campaign_setup},
    "/_local/scheduler": {"GET": _schedules},
    "/_local/scheduler/run": {"POST": _schedules_run},
    "/_local/jobs/run": {"POST": _jobs_run},
}


def _input_errors() -> tuple[type[ValueError], ...]:
    """What the phone pages raise for input that cannot be a message of their messenger."""
    from localrun import playground, playground_apple, playground_telegram

    return playground.PhoneInputError, playground_apple.AppleInputError, playground_telegram.TelegramInputError


def serve(method: str, path: str, request: PageRequest) -> Answer:
    """The answer to a request for one of :data:`PAGES` (405 for another method, 400 for bad input)."""
    handler = PAGES[path].get(method)
    if handler is None:
        return _not_allowed()
    try:
        return handler(request)
    except _input_errors() as error:
        return _json({"error": str(error)}, 400)
