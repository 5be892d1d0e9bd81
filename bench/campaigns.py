"""Campaign benchmark: one marketing campaign end to end on the embedded backend (moto), counted.

    python bench/campaigns.py                       # 100,000 subjects, 4 simulated senders
    python bench/campaigns.py --population 20000    # smaller; --senders 1, --rate 300, latencies: see --help

The population (``--population``, default 100,000; fictitious numbers that never leave the process):

* 30 % gave marketing consent (with customer service: the opt-in ticked both), of whom
  5 % of the population withdrew since (three in five "stop promotions": marketing only; two in
  five STOP: everything, and the number on the block list), 2 % are blocked (nine in ten as the
  product blocks: everything withdrawn on the person's behalf, the number on the block list; one in
  ten by another route, ``Guards.suppress``, while the consent record still says active) and 1 % are
  inside the frequency cap (an earlier campaign reached them three days ago: the product's own
  claim and close, so their reach record has ``cap_until`` in four days, ``cap_count`` 1 and
  ``reachable_at`` = ``cap_until``); the rest (22 %) is the eligible set;
* 40 % customer service only (an active consent with its own reach record); 30 % nothing at all.

How it is written (not measured): a sample (``--real-sample``) opts in through the product's own
transitions (``OptIns.create_request``, ``Consents.bind``, ``ConsentService.activate`` sealing the
address with the real ``SubjectKeyring``: KMS GenerateDataKey, the key table's conditional put).
Everyone else takes a fast path: the same items, built by the product's builders (``reach_op`` for
the reach record, ``ledger.chain`` and ``Ledger.append_ops`` for the proof, ``Table.item`` for the
consent records as bind + activate leave them), the address sealed by ``SubjectKeyring.encrypt``
under a real KMS-wrapped data key per subject (moto's KMS backend called directly), and the items
put straight into moto's backend instead of one HTTP round trip each. A shape check compares the
fast path's items with the sample's, kind by kind (the opt-in request and delivery records, which
expire within hours and days, are left out of the fast path). Withdrawals go through
``ConsentService.withdraw``, blocks through ``Guards.suppress``, the cap through ``Sends.claim`` and
``Sends.close`` of an earlier campaign, all through the DynamoDB client.

The run: ``CampaignService`` create, approve (a second principal), start; in-memory queues (the
``Queue`` protocol, jobs serialised as SQS would carry them); one planner and ``--senders``
containers (the template's MaximumConcurrency 4, BatchSize 4), each a warm ``Sender`` with its own
``SubjectKeyring`` (cold cache) and its own slots of the shared rate. They run in a discrete-event
simulation on one ``FrozenClock``: exactly one container runs at a time and time moves only when
every one of them waits: the Sender's ``sleep`` (waiting for its slot) and, if asked, a latency per
DynamoDB request and per provider call. The provider is a fake channel that allows
``channels.whatsapp.messages_per_second`` in any sliding second and answers the next one with
``ChannelRejected(code=130429)``.

Counted: every DynamoDB request from create to the last send job (service, planner, senders: key
reads, claims, closes, the rate bucket, results), with the store call that made it; a failed
condition or a cancelled transaction is a request too. Items read from ``by_audience`` are the
items its queries returned. KMS calls are counted apart; the audience preview (``audience_size``)
is shown apart. Requests DynamoDB would reject (unused or undefined placeholders; moto accepts
them) are listed.

moto, in this process only (the same answers; ``--plain-moto`` turns this off, the smoke test
compares the counts): moto answers a Query by testing and sorting every item of the table, the
table's own queries too, so the bench hands its query code only the items of the partition asked
for (for the index, a membership map kept on every write); a transaction deep-copies each table it
touches to be able to roll back, so the bench saves and restores only the items it touches; the
400 KB item limit is checked with a running size instead of re-measuring the item for each
attribute set. The table's stream is off (nothing here reads it). Plain moto takes minutes for a
few hundred subjects; with this, 100,000 take about 8 minutes on 2 cores.

Targets (exit 1 when one fails): the sends are exactly the eligible set; DynamoDB requests per
eligible recipient <= 3; audience index items read per eligible recipient <= 1.05; achieved rate
>= 0.95 of the configured one on the simulated clock; no rate-limit answer from the provider.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import heapq
import inspect
import itertools
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "chatconsent")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

DEFAULT_POPULATION = int(os.environ.get("BENCH_CAMPAIGN_POPULATION", "100000"))
START = 1_795_000_000  # 2026-11-18 11:06 UTC (the tests' "now"): no recipient is in quiet hours
DAY = 86_400
SHARES = {"marketing": 0.30, "withdrawn": 0.05, "blocked": 0.02, "capped": 0.01, "service_only": 0.40}
LANGUAGES = (("de", 0.50), ("en", 0.25), ("it", 0.25))
PREFIXES = {"de": ("+49151", 8), "en": ("+35387", 7), "it": ("+39333", 7)}  # fictitious, never printed
MARKETING, SERVICE = "marketing", "customer_service"
TEMPLATE, PARAMETERS = "weekly_offers", ("Winter sale",)
SENDER_BATCH = 4  # the send queue's BatchSize in template.yaml
POLL = 0.05  # simulated seconds an idle container waits before it looks at the queue again
RETRY_VISIBILITY = 360  # the send queue's VisibilityTimeout: a failed job comes back after it

TARGET_REQUESTS = 3.0
TARGET_INDEX_ITEMS = 1.05
TARGET_RATE = 0.95

GROUP_TEXT = {
    "eligible": "active marketing and customer service consent, reach records with the sealed address",
    "withdrawn": "withdrew since ({stop_marketing:,} marketing only, {stop_all:,} STOP: everything + block list)",
    "blocked": "on the block list: 9 in 10 through an admin withdrawal of everything (the product's way), "
    "1 in 10 by another route (Guards.suppress) while the consent still says active",
    "capped": "reached 3 days ago by an earlier campaign: cap_until in 4 days, cap_count 1",
    "service_only": "active customer service consent only (its own reach record)",
    "nothing": "no item at all",
}
MARKETING_GROUPS = ("eligible", "withdrawn", "blocked", "capped")


# -- the population --------------------------------------------------------------------------------


@dataclass
class Person:
    index: int
    group: str
    language: str
    number: str = field(repr=False)
    subject: str = ""
    suppression: str = ""
    activated_at: int = 0
    real_path: bool = False

    @property
    def purposes(self) -> tuple[str, ...]:
        if self.group in MARKETING_GROUPS:
            return (SERVICE, MARKETING)
        return (SERVICE,) if self.group == "service_only" else ()


def group_sizes(population: int) -> dict[str, int]:
    sizes = {name: round(population * share) for name, share in SHARES.items()}
    marketing = sizes.pop("marketing")
    sizes["eligible"] = marketing - sizes["withdrawn"] - sizes["blocked"] - sizes["capped"]
    sizes["nothing"] = population - marketing - sizes["service_only"]
    if min(sizes.values()) < 0:
        raise ValueError(f"population {population} too small for the shares")
    return {g: sizes[g] for g in (*MARKETING_GROUPS, "service_only", "nothing")}


def make_population(population: int, seed: int) -> list[Person]:
    rng = random.Random(seed)
    groups = [g for g, n in group_sizes(population).items() for _ in range(n)]
    rng.shuffle(groups)
    people = []
    for index, group in enumerate(groups):
        roll, language = rng.random(), LANGUAGES[-1][0]
        for code, share in LANGUAGES:
            if roll < share:
                language = code
                break
            roll -= share
        prefix, digits = PREFIXES[language]
        number = f"{prefix}{index:0{digits}d}"
        activated = START - rng.randint(10, 300) * DAY - rng.randint(0, DAY - 1)
        people.append(Person(index, group, language, number, activated_at=activated))
    return people


# -- counting every request ----------------------------------------------------------------------

_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "KeyConditionExpression", "FilterExpression")


def placeholder_error(request: dict[str, Any]) -> str | None:
    """DynamoDB rejects unused or undefined placeholders; moto does not, so the bench looks."""
    text = " ".join(str(request[k]) for k in _EXPRESSIONS if k in request)
    used = set(re.findall(r"[#:][A-Za-z0-9_]+", text))
    defined = set(request.get("ExpressionAttributeValues", {})) | set(request.get("ExpressionAttributeNames", {}))
    if used == defined:
        return None
    return f"undefined {sorted(used - defined)}, unused {sorted(defined - used)}"


def store_caller() -> str:
    """The product's store method that made the request (the innermost one outside ``store.table``)."""
    frame = sys._getframe(2)
    fallback = ""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("chatconsent.store.") and module != "chatconsent.store.table":
            return f"{module.rsplit('.', 1)[1]}.{frame.f_code.co_qualname}"
        if not fallback and module.startswith("chatconsent.") and module != "chatconsent.store.table":
            fallback = f"{module.rsplit('.', 1)[1]}.{frame.f_code.co_qualname}"
        frame = frame.f_back
    return fallback or "?"


class CountingClient:
    """Wraps the DynamoDB client: every call counted by phase, store call and operation."""

    def __init__(
        self,
        client: Any,
        key_table: str,
        audience_index: str,
        group_of: dict[str, str],
        phases: CountingClient | None = None,
    ) -> None:
        self._client = client
        self._phases = phases  # another counter whose phases this one follows
        self._key_table = key_table
        self._index = audience_index
        self._group_of = group_of  # subject → group, to tell what the index returned
        self.phase = "setup"
        self.phase_of_thread: dict[str, str] = {}
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (phase, store call, operation)
        self.failed: Counter[tuple[str, str]] = Counter()  # (phase, "operation: reason")
        self.index_items: Counter[tuple[str, str]] = Counter()  # (phase, group)
        self.index_counted: Counter[str] = Counter()  # Select=COUNT answers, by phase
        self.placeholder_errors: list[str] = []
        self.latency = 0.0
        self.sleep: Callable[[float], None] | None = None

    def current_phase(self) -> str:
        if self._phases is not None:
            return self._phases.current_phase()
        return self.phase_of_thread.get(threading.current_thread().name, self.phase)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            phase = self.current_phase()
            label = operation
            if kwargs.get("TableName") == self._key_table or self._key_table in kwargs.get("RequestItems", {}):
                label += " [key table]"
            if kwargs.get("IndexName"):
                label += f" [{kwargs['IndexName']}]"
            requests = [i for entry in kwargs.get("TransactItems", []) for i in entry.values()] or [kwargs]
            for request in requests:
                if (error := placeholder_error(request)) is not None:
                    self.placeholder_errors.append(f"{store_caller()} {operation}: {error}")
            self.requests[(phase, store_caller(), label)] += 1
            try:
                response = attribute(*args, **kwargs)
            except Exception as error:
                parsed = getattr(error, "response", {}) or {}
                code = str(parsed.get("Error", {}).get("Code", type(error).__name__))
                reasons = sorted({str(r.get("Code")) for r in parsed.get("CancellationReasons", [])} - {"None"})
                self.failed[(phase, f"{label}: {code}" + (f" ({', '.join(reasons)})" if reasons else ""))] += 1
                raise
            finally:
                if self.latency and self.sleep is not None and phase in ("planner", "senders"):
                    self.sleep(self.latency)
            if name == "query" and kwargs.get("IndexName") == self._index:
                if kwargs.get("Select") == "COUNT":
                    self.index_counted[phase] += int(response.get("Count", 0))
                for item in response.get("Items", []):
                    subject = str(item.get("PK", {}).get("S", "")).removeprefix("SUBJ#")
                    self.index_items[(phase, self._group_of.get(subject, "other"))] += 1
            return response

        return call


# -- moto: the same answers, without testing every item -----------------------------------------


class _CopyModule:
    """Stands in for ``copy`` inside moto's DynamoDB backend: no deep copy of a whole table."""

    def __init__(self) -> None:
        self.skip_tables = False

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if self.skip_tables and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class _IndexMembers:
    """Per table: (index hash attribute, value) → the keys of the items that have it, kept on every write."""

    def __init__(self) -> None:
        self._tables: dict[int, tuple[set[str], dict[tuple[str, str, str], set[Any]], dict[Any, list[Any]]]] = {}

    @staticmethod
    def _member(name: str, value: Any) -> tuple[str, str, str]:
        return (name, value.type, json.dumps(value.value, sort_keys=True, default=str))

    def _state(self, table: Any) -> tuple[set[str], dict[tuple[str, str, str], set[Any]], dict[Any, list[Any]]]:
        state = self._tables.get(id(table))
        if state is None:
            names = {k["AttributeName"] for i in table.global_indexes for k in i.schema if k["KeyType"] == "HASH"}
            state = (names, defaultdict(set), {})
            self._tables[id(table)] = state
            for hash_key, bucket in table.items.items():
                for range_key, item in bucket.items() if table.range_key_attr else ((None, bucket),):
                    self._add(state, (hash_key, range_key), item)
        return state

    def _add(self, state: Any, key: Any, item: Any) -> None:
        names, members, where = state
        found = [self._member(n, item.attrs[n]) for n in names if n in item.attrs]
        for member in found:
            members[member].add(key)
        if found:
            where[key] = found

    def touch(self, table: Any, hash_key: Any, range_key: Any) -> None:
        """After any write of the item (hash_key, range_key): its memberships as it is now."""
        state = self._tables.get(id(table))
        if state is None:  # not built yet: the first index query builds it from the items
            return
        key = (hash_key, range_key)
        for member in state[2].pop(key, ()):
            state[1][member].discard(key)
        item = table.get_item(hash_key, range_key)
        if item is not None:
            self._add(state, key, item)

    def candidates(self, table: Any, name: str, value: Any) -> list[Any] | None:
        """The items whose ``name`` is ``value`` (None: not an index hash attribute)."""
        state = self._state(table)
        if name not in state[0]:
            return None
        found = (table.get_item(h, r) for h, r in state[1].get(self._member(name, value), ()))
        return [item for item in found if item is not None]


@contextmanager
def moto_speedups(enabled: bool = True) -> Iterator[Counter[str]]:
    """moto with the same answers, faster where its cost grows with the table or the item.

    * an index Query gets the items whose index partition is the one asked for (kept per write), a table
      Query the items of its partition, instead of every item of the table, sorted;
    * a transaction backs up and restores the items it touches, instead of deep-copying every table;
    * the 400 KB item limit is checked with a running size instead of re-measuring the item for each
      attribute set (quadratic in the attributes).
    """
    used: Counter[str] = Counter()
    if not enabled:
        yield used
        return
    from moto.dynamodb import models as backend_module
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.models.utilities import bytesize

    backend_class = backend_module.DynamoDBBackend
    limited = dynamo_type.LimitedSizeDict
    originals = {
        "query": Table.query,
        "put": Table.put_item,
        "delete": Table.delete_item,
        "update": backend_class.update_item,
        "transact": backend_class.transact_write_items,
        "setitem": limited.__setitem__,
        "copy": backend_module.copy,
    }
    signature = inspect.signature(Table.query)
    copy_module = _CopyModule()
    members = _IndexMembers()

    def key_of(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
        hash_value = DynamoType(key[table.hash_key_attr])
        return hash_value, DynamoType(key[table.range_key_attr]) if table.range_key_attr else None

    def order(item: Any) -> Any:
        return (item.hash_key, item.range_key) if item.range_key else item.hash_key

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        index, hash_key = arguments.get("index_name"), arguments.get("hash_key")
        conditions = list(arguments.get("hash_key_conditions") or [])
        narrowed: list[Any] | None = None
        if index and conditions:
            narrowed = members.candidates(self, *conditions[0])
            used["index query"] += narrowed is not None
        elif not index and hash_key is not None and self.range_key_attr:
            narrowed = list((self.items.get(hash_key) or {}).values())
            used["table query"] += 1
        if narrowed is None:
            return originals["query"](self, *args, **kwargs)
        narrowed.sort(key=order)
        self.all_items = lambda: narrowed  # moto's query reads the table through this method
        try:
            return originals["query"](self, *args, **kwargs)
        finally:
            del self.all_items

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = originals["put"](self, *args, **kwargs)
        members.touch(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        try:
            return originals["delete"](self, hash_key, range_key)
        finally:
            members.touch(self, hash_key, range_key)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return originals["update"](self, table_name, key, *args, **kwargs)
        finally:
            table = self.get_table(table_name)
            members.touch(table, *key_of(table, key))

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        try:
            for entry in transact_items:
                ((kind, op),) = entry.items()
                table = self.tables.get(op.get("TableName"))
                if kind == "ConditionCheck" or table is None:
                    continue
                if table.stream_shard is not None:
                    raise LookupError("a table with a stream: moto's own rollback")
                hash_value, range_value = key_of(table, op["Item"] if kind == "Put" else op["Key"])
                saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        except (LookupError, ValueError):
            return originals["transact"](self, transact_items)
        used["transaction"] += 1
        copy_module.skip_tables = True
        try:
            return originals["transact"](self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if range_value is None:
                    table.items.pop(hash_value, None)
                    if item is not None:
                        table.items[hash_value] = item
                else:
                    table.items[hash_value].pop(range_value, None)
                    if item is not None:
                        table.items[hash_value][range_value] = item
                members.touch(table, hash_value, range_value)
            raise
        finally:
            copy_module.skip_tables = False

    def size_of(key: str, value: Any) -> int:
        return int(bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value))))

    def setitem(self: Any, key: str, value: Any) -> None:
        total = self.__dict__.get("_bench_size")
        if total is None:
            total = sum(size_of(k, v) for k, v in self.items())
        new = size_of(key, value)
        if total + new > 405000:  # moto's limit, measured as moto does (the value replaced still counted)
            raise ItemSizeTooLarge
        if key in self:
            total -= size_of(key, self[key])
        dict.__setitem__(self, key, value)
        self._bench_size = total + new

    def forget_size(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any) -> Any:
            self.__dict__.pop("_bench_size", None)  # measured again on the next set
            return method(self, *args)

        return call

    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item
    backend_class.update_item = update_item
    backend_class.transact_write_items = transact
    limited.__setitem__ = setitem
    limited.__delitem__ = forget_size(dict.__delitem__)
    limited.pop = forget_size(dict.pop)
    backend_module.copy = copy_module
    try:
        yield used
    finally:
        Table.query = originals["query"]
        Table.put_item = originals["put"]
        Table.delete_item = originals["delete"]
        backend_class.update_item = originals["update"]
        backend_class.transact_write_items = originals["transact"]
        limited.__setitem__ = originals["setitem"]
        del limited.__delitem__, limited.pop
        backend_module.copy = originals["copy"]


# -- a discrete-event simulation of the containers --------------------------------------------------


class Simulation:
    """Simulated containers on one clock: exactly one runs at a time; time moves when all of them wait."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._running: str | None = None
        self._alive: set[str] = set()
        self.failure: BaseException | None = None

    def sleep(self, seconds: float) -> None:
        name = threading.current_thread().name
        if name not in self._alive:  # outside the simulation: the clock just moves
            self.clock.advance(seconds)
            return
        with self._cond:
            heapq.heappush(self._heap, (self.clock.now + max(seconds, 0.0), next(self._seq), name))
            self._switch()
            self._cond.wait_for(lambda: self._running == name)

    def _switch(self) -> None:
        if self._heap:
            at, _, name = heapq.heappop(self._heap)
            self.clock.now = max(self.clock.now, at)
            self._running = name
        else:
            self._running = None
        self._cond.notify_all()

    def run(self, workers: dict[str, Callable[[], None]]) -> None:
        def body(name: str, work: Callable[[], None]) -> None:
            with self._cond:
                self._cond.wait_for(lambda: self._running == name)
            try:
                work()
            except BaseException as error:  # reported by run(), after every container stopped
                self.failure = self.failure or error
            finally:
                with self._cond:
                    self._alive.discard(name)
                    self._switch()

        with self._cond:
            for name in workers:
                heapq.heappush(self._heap, (self.clock.now, next(self._seq), name))
                self._alive.add(name)
        threads = [threading.Thread(target=body, args=item, name=item[0], daemon=True) for item in workers.items()]
        for thread in threads:
            thread.start()
        with self._cond:
            self._switch()
        for thread in threads:
            thread.join()
        if self.failure is not None:
            raise self.failure


class MemoryQueue:
    """The plan and send queues in memory, with jobs as SQS carries them (JSON) and delays on the clock."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._plans: deque[str] = deque()
        self._sends: deque[tuple[str, str]] = deque()  # (message id, body), as SQS carries them
        self._delayed: list[tuple[float, int, tuple[str, str]]] = []
        self._seq = itertools.count()
        self.in_flight = 0
        self.queued: Counter[str] = Counter()

    def start(self, campaign_id: str) -> None:
        from chatconsent.broadcast import PlanJob

        self.plan([PlanJob(kind="start", campaign=campaign_id)])

    def plan(self, jobs: Sequence[Any]) -> None:
        self._plans.extend(j.model_dump_json() for j in jobs)
        self.queued["plan jobs"] += len(jobs)

    def send(self, jobs: Sequence[Any], delay: int = 0) -> None:
        for job in jobs:
            self.send_body(job.model_dump_json(), delay)
        self.queued["send jobs" if not delay else "send jobs, delayed"] += len(jobs)

    def send_body(self, body: str, delay: float, message_id: str = "") -> None:
        """Queue ``body``: a new message, or with ``message_id`` the same message delivered again."""
        from chatconsent.broadcast import MAX_QUEUE_DELAY

        message = (message_id or f"message-{next(self._seq)}", body)
        if delay > 0:
            heapq.heappush(self._delayed, (self._clock() + min(delay, MAX_QUEUE_DELAY), next(self._seq), message))
        else:
            self._sends.append(message)

    def take_plan(self) -> Any:
        from chatconsent.broadcast import PlanJob

        return PlanJob.model_validate_json(self._plans.popleft()) if self._plans else None

    def take_sends(self, count: int) -> list[tuple[str, str, Any]]:
        from chatconsent.broadcast import SendJob

        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            self._sends.append(heapq.heappop(self._delayed)[2])
        messages = [self._sends.popleft() for _ in range(min(count, len(self._sends)))]
        return [(message_id, body, SendJob.model_validate_json(body)) for message_id, body in messages]

    def next_due(self) -> float | None:
        return self._delayed[0][0] if self._delayed else None

    def idle(self) -> bool:
        return not self._plans and not self._sends and not self._delayed and self.in_flight == 0


class RateLimitedChannel:
    """The provider: at most ``per_second`` messages in any sliding second, else error 130429."""

    name = "whatsapp"

    def __init__(self, clock: Any, per_second: int, sleep: Callable[[float], None], latency: float) -> None:
        self._clock = clock
        self._per_second = per_second
        self._sleep = sleep
        self._latency = latency
        self._window: deque[float] = deque()
        self.sent: list[str] = []  # the numbers, in order (compared, never printed)
        self.times: list[float] = []
        self.rejected = 0
        self.busiest_second = 0

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        url_suffix: str | None = None,
        quick_reply: tuple[int, str] | None = None,
    ) -> str:
        from chatconsent.channels.base import ChannelRejected

        now = self._clock()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self._per_second:
            self.rejected += 1
            raise ChannelRejected("(#130429) Rate limit hit (simulated provider)", code=130429)
        self._window.append(now)
        self.busiest_second = max(self.busiest_second, len(self._window))
        self.sent.append(to)
        self.times.append(now)
        if self._latency:
            self._sleep(self._latency)
        return f"wamid.bench.{len(self.sent):09d}"


class NoSchedules:
    def create(self, campaign_id: str, at: int) -> None:
        raise RuntimeError("the benchmark starts its campaign now")

    def delete(self, campaign_id: str) -> None:
        return None


# -- writing the population ----------------------------------------------------------------------


class _BulkDataKeys:
    """``DataKeys`` for the fast path: remembers the wrapped keys; the bench writes the key table items."""

    def __init__(self) -> None:
        self.created: dict[str, bytes] = {}

    def wrapped(self, subject: str) -> bytes | None:
        return self.created.get(subject)

    def create(self, subject: str, wrapped: bytes) -> bool:
        self.created[subject] = wrapped
        return True


class _BackendKms:
    """moto's KMS backend called directly (no HTTP round trip): real wrapped keys, bound to the subject."""

    def __init__(self, backend: Any, key_id: str) -> None:
        self._backend = backend
        self._key_id = key_id

    def generate_data_key(self, KeyId: str, KeySpec: str, EncryptionContext: dict[str, str]) -> dict[str, bytes]:  # noqa: N803
        plaintext, blob, _ = self._backend.generate_data_key(self._key_id, EncryptionContext, 32, KeySpec)
        return {"Plaintext": plaintext, "CiphertextBlob": blob}

    def decrypt(self, CiphertextBlob: bytes, EncryptionContext: dict[str, str], KeyId: str) -> dict[str, bytes]:  # noqa: N803
        plaintext, _ = self._backend.decrypt(CiphertextBlob, EncryptionContext, self._key_id)
        return {"Plaintext": plaintext}


@dataclass
class World:
    """What the population build leaves for the campaign run."""

    dynamodb: Any
    kms: Any
    counter: CountingClient
    clock: Any
    wiring: Any
    people: list[Person]
    real_sample: list[Person]
    shape_rows: list[tuple[str, str]]
    shape_ok: bool
    withdrawn_kinds: Counter[str]
    seconds: dict[str, float]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signature(item: dict[str, Any]) -> dict[str, Any]:
    """An item's shape: attribute names and types (for maps, their keys), and the values that must agree."""
    same = {"state", "rev", "consent_rev", "retention_class", "channel", "notice_version", "seq", "event", "purpose"}
    shape: dict[str, Any] = {}
    for name, value in item.items():
        ((kind, raw),) = value.items()
        if kind == "M":
            shape[name] = ("M", tuple(sorted(raw)))
        else:
            shape[name] = (kind, raw if name in same else None)
    return shape


def build_world(population: int, seed: int, real_sample: int, rate: int | None) -> World:
    """The tables from template.yaml, and the population written as the product writes it."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.kms.models import kms_backends

    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config
    from chatconsent.consent_state import ConsentState
    from chatconsent.keyring import SubjectKeyring
    from chatconsent.ledger import ConsentFact, LedgerEvent, chain
    from chatconsent.notices import NoticeRegistry
    from chatconsent.retention import RetentionClass
    from chatconsent.store import Campaign, CampaignStatus, Cap, LedgerAppend, OptInRequest, keys
    from chatconsent.store.campaigns import recipient_of
    from chatconsent.store.consents import Reach, activation_renewal, reach_op, valid_until
    from chatconsent.store.keys import ADDRESS_ID
    from chatconsent.store.values import serialize, to_attribute
    from chatconsent.wiring import Wiring
    from localrun.aws import KEY_TABLE_NAME, REGION, TABLE_NAME, create_data_key, create_tables, seed_secrets

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    people = make_population(population, seed)
    group_of: dict[str, str] = {}

    dynamodb = boto3.client("dynamodb")
    kms = boto3.client("kms")
    create_tables(dynamodb, stream=False)
    seed_secrets(boto3.client("ssm"))
    key_id = create_data_key(kms)
    counter = CountingClient(dynamodb, KEY_TABLE_NAME, keys.AUDIENCE_INDEX, group_of)
    kms = CountingClient(kms, KEY_TABLE_NAME, keys.AUDIENCE_INDEX, group_of, phases=counter)
    clock = FrozenClock(START)
    config = current_config()
    if rate is not None:
        whatsapp = config.channels.whatsapp.model_copy(update={"messages_per_second": rate})
        config = config.model_copy(update={"channels": config.channels.model_copy(update={"whatsapp": whatsapp})})
    wiring = Wiring(clock=clock, dynamodb=counter, kms=kms, config=config)
    store, t = wiring.store, wiring.store.table
    pseudonymizer = wiring.pseudonymizer
    for person in people:
        person.subject = pseudonymizer.subject("whatsapp", person.number)
        person.suppression = pseudonymizer.suppression("whatsapp", person.number)
        group_of[person.subject] = person.group

    notices = NoticeRegistry()
    rng = random.Random(seed + 1)
    question = _hash("the yes/no question, as the bench would have sent it")
    consenting = [p for p in people if p.purposes]
    marketing = [p for p in consenting if MARKETING in p.purposes]
    service_only = [p for p in consenting if MARKETING not in p.purposes]
    sample = marketing[:real_sample] + service_only[: max(1, real_sample // 2)]
    for person in sample:
        person.real_path = True

    # (1) the sample: the product's own opt-in transitions, its keyring sealing the address.
    for person in sample:
        notice = notices.get(person.language)
        clock.now = person.activated_at - 60
        request = OptInRequest(
            request_id=f"{rng.getrandbits(128):032x}",
            code_hash=_hash(f"code {person.index}"),
            flow="chat",
            channel="whatsapp",
            language=person.language,
            purposes=person.purposes,
            notice_version=notice.version,
            notice_sha256=notice.sha256,
            status="pending",
            created_at=int(clock.now),
            expires_at=int(clock.now) + 3600,
        )
        store.optins.create_request(request)
        clock.now = person.activated_at - 30
        code_message = pseudonymizer.message("whatsapp", f"wamid.code.{person.index}")
        store.consents.bind(request, person.subject, list(person.purposes), code_message, person.suppression, question)
        clock.now = person.activated_at
        state = store.subjects.state(person.subject)
        keyring = wiring.keyring
        assert keyring is not None

        def seal(p: Person = person, k: Any = keyring) -> bytes:
            return bytes(k.encrypt(p.subject, ADDRESS_ID, p.number.encode("utf-8")))

        yes = pseudonymizer.message("whatsapp", f"wamid.yes.{person.index}")
        result = wiring.consents.activate(
            person.subject, state, request.request_id, yes, {"confirmation_method": "button"}, seal
        )
        if result.value != "activated":
            raise RuntimeError(f"the sample's opt-in ended {result.value}, not activated")
    seconds[f"tables, and the sample through the product ({len(sample)} subjects)"] = time.perf_counter() - started

    # (2) everyone else: the same items from the product's builders, put straight into moto.
    mark = time.perf_counter()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    bulk_keys = _BulkDataKeys()
    bulk_keyring = SubjectKeyring(bulk_keys, _BackendKms(kms_backends[DEFAULT_ACCOUNT_ID][REGION], key_id), key_id, 16)
    written = 0
    for person in consenting:
        if person.real_path:
            continue
        at = clock.now = person.activated_at
        notice = notices.get(person.language)
        request_id = f"{rng.getrandbits(128):032x}"
        code_message = pseudonymizer.message("whatsapp", f"wamid.code.{person.index}")
        yes = pseudonymizer.message("whatsapp", f"wamid.yes.{person.index}")
        evidence = {
            "code_message": code_message,
            "code_received_at": str(at - 30),
            "form_requested_at": str(at - 60),
            "question_sha256": question,
            "confirmation_message": yes,
            "confirmation_method": "button",
        }
        facts = [
            ConsentFact(
                event=LedgerEvent.CONSENT_GIVEN,
                purpose=purpose,
                legal_basis=config.purpose(purpose).legal_basis,
                notice_version=notice.version,
                notice_language=person.language,
                notice_sha256=notice.sha256,
                channel="whatsapp",
                request_id=request_id,
                evidence=evidence,
            )
            for purpose in person.purposes
        ]
        entries, head = chain(None, f"{rng.getrandbits(128):032x}", at, facts)
        proof = LedgerAppend(None, head, tuple(entries))
        address = bulk_keyring.encrypt(person.subject, ADDRESS_ID, person.number.encode("utf-8"))
        items: list[dict[str, Any]] = []
        renewal = activation_renewal(t, person.subject, at)
        for purpose in person.purposes:
            retention_class, expires = valid_until(t, at)
            consent = t.item(
                keys.consent(person.subject, purpose),
                {
                    "state": ConsentState.ACTIVE.value,
                    "request_id": request_id,
                    "updated_at": at,
                    "suppression_hash": person.suppression,
                    "rev": 2,  # bind: 0 + 1, activate: + 1
                    "activated_at": at,
                    "notice_version": notice.version,
                    "notice_language": person.language,
                    "notice_sha256": notice.sha256,
                    "channel": "whatsapp",
                    # where the renewal job finds it (the sparse by_renewal index), as activation writes it
                    "renewal_slot": renewal[":rslot"],
                    "renewal_at": renewal[":rat"],
                },
                retention_class,
                expires,
            )
            items.append(serialize(consent))
            reach = reach_op(
                t, person.subject, purpose, 2, Reach(person.language, address, proof, person.suppression), at
            )
            assert reach is not None
            items.append(reach[2]["Item"])
        head_item = t.item(
            keys.ledger_head(person.subject),
            {"ledger_id": head.ledger_id, "seq": head.seq, "hash": head.hash, "last_at": head.at},
            RetentionClass.CONSENT_LEDGER,
            t.plan.consent_record_expires_at(at),
        )
        items.append(serialize(head_item))
        items += [op[2]["Item"] for op in store.ledger.append_ops(person.subject, proof, at) if op[1] == "Put"]
        for item in items:
            backend.put_item(TABLE_NAME, item)
        wrapped = bulk_keys.created.pop(person.subject)
        key_item = {**serialize(keys.data_key(person.subject)), "wrapped_key": to_attribute(wrapped)}
        backend.put_item(KEY_TABLE_NAME, key_item)
        written += len(items) + 1
    seconds[f"fast path ({len(consenting) - len(sample):,} subjects, {written:,} items)"] = time.perf_counter() - mark

    # (3) the shape check: a fast-path subject's items against a sample subject's, kind by kind.
    def stored(subject: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        response = dynamodb.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.subject_pk(subject)}},
        )
        for item in response["Items"]:
            sk = item["SK"]["S"]
            if sk.startswith(("S#CONSENT#", "S#REACH#", "S#LEDGER")):
                found[sk] = item
        head = found.get("S#LEDGER")
        if head is not None:
            entries = dynamodb.query(
                TableName=TABLE_NAME,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.ledger_pk(head["ledger_id"]["S"])}},
            )["Items"]
            for n, entry in enumerate(entries):
                found[f"ledger entry {n + 1}"] = entry
        key = dynamodb.get_item(TableName=KEY_TABLE_NAME, Key=serialize(keys.data_key(subject)))
        if "Item" in key:
            found["key table"] = key["Item"]
        return found

    shape_rows: list[tuple[str, str]] = []
    shape_ok = True
    for label, kind in (("marketing and customer service", MARKETING), ("customer service only", SERVICE)):
        real = next(p for p in sample if p.purposes[-1] == kind)
        fast = next(p for p in consenting if not p.real_path and p.purposes[-1] == kind)
        mine, theirs = stored(fast.subject), stored(real.subject)
        for name in sorted(set(mine) | set(theirs)):
            if name not in mine or name not in theirs:
                verdict = f"only in the {'fast path' if name in mine else 'product'}"
            elif _signature(mine[name]) != _signature(theirs[name]):
                a, b = _signature(mine[name]), _signature(theirs[name])
                differing = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
                verdict = f"differs: {', '.join(differing)}"
            else:
                verdict = "same attributes, types and fixed values"
            shape_ok &= verdict.startswith("same")
            shape_rows.append((f"{label}: {name}", verdict))

    # (4) withdrawals, the earlier campaign (the cap) and the blocks: through the product, counted as setup.
    mark = time.perf_counter()
    withdrawn_kinds: Counter[str] = Counter()
    clock.now = START - 5 * DAY
    for n, person in enumerate(p for p in people if p.group == "withdrawn"):
        message = pseudonymizer.message("whatsapp", f"wamid.stop.{person.index}")
        if n % 5 < 3:  # "stop promotions": marketing only
            changed = wiring.consents.withdraw(
                person.subject, source="chat:marketing_stop", purposes={MARKETING}, message_hash=message
            )
            withdrawn_kinds["stop_marketing"] += 1
        else:  # STOP: everything, and the number on the block list
            changed = wiring.consents.withdraw(
                person.subject, source="chat:keyword", message_hash=message, suppression_hash=person.suppression
            )
            withdrawn_kinds["stop_all"] += 1
        if MARKETING not in changed:
            raise RuntimeError("a withdrawal did not withdraw marketing")
        clock.advance(1)

    clock.now = START - 3 * DAY
    earlier = Campaign(
        campaign_id=f"{rng.getrandbits(128):032x}",
        template=TEMPLATE,
        purpose=MARKETING,
        parameters=PARAMETERS,
        languages=(),
        status=CampaignStatus.RUNNING,
        created_by=_hash("an earlier creator"),
        created_at=int(clock.now),
    )
    store.campaigns.create(earlier)
    cap_config = config.frequency_cap(MARKETING)
    assert cap_config is not None
    cap = Cap(cap_config.messages, int(cap_config.period.total_seconds()))
    sends = getattr(store, "sends", store.campaigns)  # the send records' store (moved between modules)
    for person in (p for p in people if p.group == "capped"):
        data = t.get(keys.reach(person.subject, MARKETING))
        assert data is not None
        claim = sends.claim(earlier, recipient_of(data), cap)
        if claim.value != "claimed":
            raise RuntimeError(f"the earlier campaign's claim ended {claim.value}")
        sends.close(earlier.campaign_id, person.subject, _hash(f"earlier {person.index}"), TEMPLATE)
        clock.advance(0.013)

    clock.now = START - 2 * DAY
    for n, person in enumerate(p for p in people if p.group == "blocked"):
        if n % 10:  # blocked the way the product blocks: everything withdrawn on the person's behalf
            wiring.consents.withdraw(person.subject, source="admin", suppression_hash=person.suppression)
        else:  # one in ten put on the block list by another route while the consent still says active
            store.guards.suppress(person.suppression)
    seconds["withdrawals, earlier campaign, blocks (through the product)"] = time.perf_counter() - mark

    clock.now = START
    for name in ("eligible", "blocked", "capped"):  # the reach records are what the index will show
        person = next(p for p in people if p.group == name)
        data = t.get(keys.reach(person.subject, MARKETING))
        if data is None or (name == "capped") != (int(data[keys.AUDIENCE_SORT]) > START):
            raise RuntimeError(f"the {name} group's reach records are not as planned")
    person = next(p for p in people if p.group == "withdrawn")
    if t.get(keys.reach(person.subject, MARKETING)) is not None:
        raise RuntimeError("a withdrawal left its reach record")
    return World(dynamodb, kms, counter, clock, wiring, people, sample, shape_rows, shape_ok, withdrawn_kinds, seconds)


# -- the campaign run ------------------------------------------------------------------------------


@dataclass
class Run:
    campaign_id: str
    preview: int
    results: dict[str, int]
    channel: RateLimitedChannel
    queue: MemoryQueue
    per_sender: Counter[str]
    job_errors: Counter[str]
    rate: int
    interval_ms: int
    senders: int
    seconds: float


def run_campaign(world: World, senders: int, provider_latency: float, dynamodb_latency: float) -> Run:
    from chatconsent.broadcast import Planner, Sender, SenderParts, SendRate
    from chatconsent.campaigns import CampaignService, Draft
    from chatconsent.keyring import SubjectKeyring

    wiring, clock, counter = world.wiring, world.clock, world.counter
    store, config = wiring.store, wiring.config
    started = time.perf_counter()
    simulation = Simulation(clock)
    queue = MemoryQueue(clock)
    rate = config.channels.whatsapp.messages_per_second
    channel = RateLimitedChannel(clock, rate, simulation.sleep, provider_latency)
    counter.latency, counter.sleep = dynamodb_latency, simulation.sleep
    service = CampaignService(store, config, clock, queue, NoSchedules())

    counter.phase = "service"
    campaign = service.create(Draft(TEMPLATE, PARAMETERS), _hash("the marketing manager"))
    counter.phase = "preview"
    preview = service.audience_size(campaign.campaign_id)
    counter.phase = "service"
    service.approve(campaign.campaign_id, _hash("the second pair of eyes"))
    service.start(campaign.campaign_id)

    planner = Planner(store, config, clock, queue)
    pseudonymizer = wiring.pseudonymizer
    per_sender: Counter[str] = Counter()
    job_errors: Counter[str] = Counter()
    kms_key_id = wiring.settings.kms_key_id

    def planner_loop() -> None:
        while simulation.failure is None:
            job = queue.take_plan()
            if job is None:
                return  # nothing sends plan jobs after the start (no pause, no resume here)
            queue.in_flight += 1
            try:
                planner.handle(job)
            finally:
                queue.in_flight -= 1

    def sender_loop(name: str) -> Callable[[], None]:
        def loop() -> None:
            parts = SenderParts(
                SubjectKeyring(store.data_keys, world.kms, kms_key_id),
                lambda: channel,
                queue,
                lambda mid: pseudonymizer.message("whatsapp", mid),
                simulation.sleep,
            )
            sender = Sender(store, parts, config, clock)
            while simulation.failure is None:
                batch = queue.take_sends(SENDER_BATCH)
                if not batch:
                    if queue.idle():
                        return
                    due = queue.next_due()
                    simulation.sleep(max(POLL, (due - clock()) if due is not None else 0.0))
                    continue
                queue.in_flight += 1
                try:
                    for message_id, body, job in batch:
                        try:
                            report = sender.handle(job, message_id)
                        except Exception as error:  # the job comes back after the visibility timeout
                            job_errors[type(error).__name__] += 1
                            queue.send_body(body, RETRY_VISIBILITY, message_id)
                            continue
                        per_sender[name] += report.counts.get("sent", 0)
                finally:
                    queue.in_flight -= 1

        return loop

    workers: dict[str, Callable[[], None]] = {"planner": planner_loop}
    for n in range(senders):
        workers[f"sender-{n + 1}"] = sender_loop(f"sender-{n + 1}")
    counter.phase_of_thread = {name: "planner" if name == "planner" else "senders" for name in workers}
    simulation.run(workers)
    counter.phase_of_thread = {}
    counter.latency = 0.0

    counter.phase = "report"
    results = dict(service.results(campaign.campaign_id).counts)
    interval = SendRate(store, "unused", rate, lambda: 0)._interval
    return Run(
        campaign.campaign_id,
        preview,
        results,
        channel,
        queue,
        per_sender,
        job_errors,
        rate,
        interval,
        senders,
        time.perf_counter() - started,
    )


# -- the report ------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    measured: str
    target: str
    passed: bool


@dataclass
class Outcome:
    lines: list[str]
    checks: list[Check]
    numbers: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


CAMPAIGN_PHASES = ("service", "planner", "senders")


def report(world: World, result: Run, args: argparse.Namespace, seconds: dict[str, float]) -> Outcome:
    counter, people = world.counter, world.people
    sizes = Counter(p.group for p in people)
    eligible = {p.number for p in people if p.group == "eligible"}
    group_of_number = {p.number: p.group for p in people}
    sent = result.channel.sent
    duplicates = len(sent) - len(set(sent))
    missing = eligible - set(sent)
    unexpected = Counter(group_of_number.get(n, "unknown") for n in set(sent) - eligible)
    n_eligible = len(eligible)

    lines = [
        f"## Marketing campaign end to end ({args.population:,} subjects, {result.senders} simulated"
        f" sender{'s' if result.senders != 1 else ''}, {result.rate} msgs/s; embedded backend: moto)",
        "",
        "| group | subjects | what the table holds |",
        "| --- | ---: | --- |",
    ]
    for group in (*MARKETING_GROUPS, "service_only", "nothing"):
        text = GROUP_TEXT[group].format(**{k: world.withdrawn_kinds[k] for k in ("stop_marketing", "stop_all")})
        lines.append(f"| {group.replace('_', ' ')} | {sizes[group]:,} | {text} |")
    lines.append(
        f"| **total** | {len(people):,} | of whom {len(world.real_sample)} opted in through the product itself |"
    )
    lines.append("")

    # requests, by store call and operation
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (phase, caller, operation), count in counter.requests.items():
        rows[(caller, operation)][phase] += count
    campaign_rows = {k: v for k, v in rows.items() if any(v[p] for p in CAMPAIGN_PHASES)}
    total = sum(v[p] for v in campaign_rows.values() for p in CAMPAIGN_PHASES)
    lines += [
        "DynamoDB requests of the campaign run (create to the last send job), by the store call that made them:",
        "",
        "| store call | operation | service | planner | senders | total | per eligible recipient |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (caller, operation), by_phase in sorted(campaign_rows.items(), key=lambda kv: -sum(kv[1].values())):
        count = sum(by_phase[p] for p in CAMPAIGN_PHASES)
        cells = " | ".join(f"{by_phase[p]:,}" if by_phase[p] else "" for p in CAMPAIGN_PHASES)
        lines.append(f"| {caller} | {operation} | {cells} | {count:,} | {count / max(n_eligible, 1):.3f} |")
    per_phase = [sum(v[p] for v in campaign_rows.values()) for p in CAMPAIGN_PHASES]
    lines.append(
        f"| **all** | | {' | '.join(f'{n:,}' for n in per_phase)} | **{total:,}** |"
        f" **{total / max(n_eligible, 1):.3f}** |"
    )
    failed = Counter()
    for (phase, what), count in counter.failed.items():
        if phase in CAMPAIGN_PHASES:
            failed[what] += count
    if failed:
        lines.append("")
        lines.append(
            "of them answered with an error (billed all the same): "
            + ", ".join(f"{what} {count:,}" for what, count in sorted(failed.items()))
        )
    kms_calls: Counter[str] = Counter()
    for (phase, caller, operation), count in world.kms.requests.items():
        if phase in CAMPAIGN_PHASES:
            kms_calls[f"KMS {operation} ({caller})"] += count
    lines.append("")
    lines.append(
        "other AWS calls of the run: "
        + (
            ", ".join(f"{k} {v:,} ({v / max(n_eligible, 1):.3f} per eligible recipient)" for k, v in kms_calls.items())
            or "none"
        )
    )
    preview: Counter[str] = Counter()
    for (phase, _, operation), count in counter.requests.items():
        if phase == "preview":
            preview[operation] += count
    lines += [
        "",
        "not in the run: the audience preview (audience_size) before the start: "
        + ", ".join(f"{operation} {count}" for operation, count in sorted(preview.items()))
        + f" (Select=COUNT), counting {result.preview:,} people; {sizes['eligible']:,} are eligible.",
        "",
    ]

    # the audience index
    read = Counter()
    for (phase, group), count in counter.index_items.items():
        if phase in CAMPAIGN_PHASES:
            read[group] += count
    items_read = sum(read.values())
    lines.append(
        f"audience index items read by the planner: {items_read:,} ("
        + ", ".join(f"{g.replace('_', ' ')} {n:,}" for g, n in read.most_common())
        + f") for {n_eligible:,} eligible recipients"
    )

    # the rate
    times = result.channel.times
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span > 0 else 0.0
    lines += [
        f"simulated clock: first send {times[0] - START if times else 0:.3f} s after the start, last"
        f" {times[-1] - START if times else 0:.1f} s; {len(times):,} sends in {span:.1f} s = {achieved:.2f} msgs/s"
        f" (configured {result.rate}/s; the slot interval is {result.interval_ms} ms = {1000 / result.interval_ms:.2f}/s);"
        f" busiest sliding second {result.channel.busiest_second}",
        "sends per simulated sender: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.per_sender.items())),
        f"queued: {', '.join(f'{k} {v:,}' for k, v in sorted(result.queue.queued.items()))}"
        + (f"; send jobs that raised: {dict(result.job_errors)}" if result.job_errors else ""),
        "campaign results (aggregate counts): " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.results.items())),
    ]
    if counter.placeholder_errors:
        lines.append(f"requests DynamoDB would reject (placeholders): {Counter(counter.placeholder_errors)}")
    lines.append("")
    lines += ["fast path against the product's own writes (one subject of each kind):", ""]
    lines += ["| item | verdict |", "| --- | --- |"]
    lines += [f"| {name} | {verdict} |" for name, verdict in world.shape_rows]
    lines.append("")

    requests_per = total / max(n_eligible, 1)
    index_per = items_read / max(n_eligible, 1)
    ratio = achieved / result.rate
    exact = not missing and not unexpected and not duplicates and len(sent) == n_eligible
    results_agree = result.results.get("sent", 0) == len(sent)
    checks = [
        Check(
            "sends == the eligible set (computed from the population)",
            f"{len(sent):,} sent, {n_eligible:,} eligible; {len(missing):,} missing, "
            f"{sum(unexpected.values()):,} not eligible {dict(unexpected) or ''}, {duplicates:,} twice",
            "exactly",
            exact,
        ),
        Check(
            "campaign results count the sends",
            f"results.sent {result.results.get('sent', 0):,}",
            f"= {len(sent):,}",
            results_agree,
        ),
        Check(
            "DynamoDB requests per eligible recipient",
            f"{requests_per:.3f} ({total:,})",
            f"<= {TARGET_REQUESTS:g}",
            requests_per <= TARGET_REQUESTS,
        ),
        Check(
            "by_audience items read per eligible recipient",
            f"{index_per:.4f} ({items_read:,})",
            f"<= {TARGET_INDEX_ITEMS}",
            index_per <= TARGET_INDEX_ITEMS,
        ),
        Check(
            "achieved rate / configured (simulated clock)",
            f"{achieved:.2f} / {result.rate} = {ratio:.4f}",
            f">= {TARGET_RATE}",
            ratio >= TARGET_RATE,
        ),
        Check("provider rate-limit errors (130429)", f"{result.channel.rejected:,}", "0", result.channel.rejected == 0),
        Check(
            "requests DynamoDB would accept (placeholders)",
            f"{len(counter.placeholder_errors)} rejected",
            "0",
            not counter.placeholder_errors,
        ),
        Check("fast-path items shaped as the product writes them", "see above", "same", world.shape_ok),
    ]
    lines += ["| target | measured | limit | verdict |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.name} | {c.measured} | {c.target} | {'PASS' if c.passed else 'FAIL'} |" for c in checks]
    lines.append("")
    lines.append(
        "wall clock: "
        + "; ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
        + f" (moto speed-ups {'on' if not args.plain_moto else 'off'})"
    )
    by_operation: Counter[str] = Counter()
    for (phase, _, operation), count in counter.requests.items():
        if phase in CAMPAIGN_PHASES:
            by_operation[operation] += count
    numbers = {
        "eligible": n_eligible,
        "sent": len(sent),
        "missing": len(missing),
        "unexpected": sum(unexpected.values()),
        "duplicates": duplicates,
        "requests": total,
        "requests_per_recipient": requests_per,
        "requests_by_operation": dict(by_operation),
        "kms_calls": sum(kms_calls.values()),
        "index_items_read": items_read,
        "index_items_per_recipient": index_per,
        "rate_ratio": ratio,
        "rejected": result.channel.rejected,
        "results": result.results,
        "preview": result.preview,
        "placeholder_errors": list(counter.placeholder_errors),
        "shape_ok": world.shape_ok,
    }
    return Outcome(lines, checks, numbers)


def run(argv: Sequence[str] | None = None, quiet: bool = False) -> Outcome:
    """Build the world, run the campaign, and say what it cost (``quiet``: do not print)."""
    args = parse(argv)
    from localrun.aws import LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    from moto import mock_aws

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with mock_aws(), moto_speedups(not args.plain_moto):
        world = build_world(args.population, args.seed, args.real_sample, args.rate)
        seconds.update(world.seconds)
        seconds["population, total"] = time.perf_counter() - started
        result = run_campaign(world, args.senders, args.provider_latency_ms / 1000, args.dynamodb_latency_ms / 1000)
        seconds["campaign run"] = result.seconds
        seconds["total"] = time.perf_counter() - started
        outcome = report(world, result, args, seconds)
    if not quiet:
        for line in outcome.lines:
            print(line, flush=True)
    return outcome


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--population", type=int, default=DEFAULT_POPULATION, help="subjects (default %(default)s)")
    parser.add_argument("--senders", type=int, default=16, help="concurrent sender containers (template: 16)")
    parser.add_argument("--seed", type=int, default=20261118)
    parser.add_argument(
        "--real-sample",
        type=int,
        default=100,
        help="marketing subjects opted in through the product (+ half as many customer-service-only ones)",
    )
    parser.add_argument("--rate", type=int, default=None, help="override channels.whatsapp.messages_per_second")
    parser.add_argument("--provider-latency-ms", type=float, default=0.0, help="simulated time per provider call")
    parser.add_argument("--dynamodb-latency-ms", type=float, default=0.0, help="simulated time per DynamoDB request")
    parser.add_argument("--plain-moto", action="store_true", help="without the bench's moto speed-ups (slow)")
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON")
    args = parser.parse_args(list(argv) if argv is not None else [])
    if args.senders < 1 or args.population < 100:
        parser.error("at least one sender and 100 subjects")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    outcome = run(argv)
    if parse(argv).json:
        print(json.dumps(outcome.numbers, sort_keys=True, default=str))
    failed = [c.name for c in outcome.checks if not c.passed]
    print(f"campaign benchmark: {'PASS' if not failed else 'FAIL (' + '; '.join(failed) + ')'}", flush=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
