"""The answer of ``POST /optin`` with a phone number, for a new, a pending and a blocked number.

Identical bodies are tested; this shows that the work behind the answer is the same too: the
AWS requests each branch makes (counted with botocore hooks on the wiring's clients: every
request, a cancelled transaction included, is billed and takes a round trip) and the median
in-process time on the embedded backend, against the new-number branch measured in the same run.
The provider call is not in any branch: it happens later, in the link sender, from the queue.

Numbers are fictitious, exist only inside the requests, and nothing printed carries one.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections import Counter
from typing import Any

RUNS = 40
START = 1_795_000_000
TOLERANCE = 1.25  # a branch slower or faster than this against "new" would be telling


def main() -> int:
    from localrun.aws import LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
    import boto3
    from moto import mock_aws

    from chatconsent.aws import client as runtime_client
    from chatconsent.clock import FrozenClock
    from chatconsent.config import current_config, load_config
    from chatconsent.notices import NoticeRegistry
    from chatconsent.wiring import Wiring
    from localrun.aws import create_data_key, create_link_queue, create_tables, seed_secrets
    from localrun.events import http_event
    from localrun.functions import LambdaContext, load_function

    # Limits out of the way: the benchmark measures branches, not the rate limiter.
    config = load_config().model_dump(mode="json")
    config["limits"].update({"link_per_ip_per_day": 100_000, "link_per_prefix_per_hour": 100_000})
    handle, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(config, file)
    os.environ["CHATCONSENT_CONFIG"] = path
    current_config.cache_clear()

    notice = NoticeRegistry().get("en")
    requests: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        requests[model.name] += 1

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_tables(dynamodb)
        seed_secrets(boto3.client("ssm"))
        create_data_key(boto3.client("kms"))
        create_link_queue(runtime_client("sqs"))
        wiring = Wiring(clock=FrozenClock(START), dynamodb=dynamodb)
        wiring.secrets  # noqa: B018 (a warm container)
        optin: Any = load_function("functions/optin")
        optin.wiring = wiring
        for client in (dynamodb, runtime_client("sqs"), runtime_client("kms")):
            client.meta.events.register("before-call.*.*", count)

        def answer(number: str) -> tuple[float, Counter[str], tuple[int, str]]:
            body = {
                "purposes": {"customer_service": True},
                "channel": "whatsapp",
                "language": "en",
                "notice_version": notice.version,
                "notice_sha256": notice.sha256,
                "phone": number,
            }
            event = http_event("POST", "/optin", body=json.dumps(body), headers={"content-type": "application/json"})
            requests.clear()
            started = time.perf_counter()
            response = optin.lambda_handler(event, LambdaContext())
            elapsed = time.perf_counter() - started
            return elapsed, Counter(requests), (response["statusCode"], response["body"])

        pending = "+4915100000001"
        answer(pending)  # now pending for the whole run
        blocked = [f"+49171{n:07d}" for n in range(RUNS)]
        for number in blocked:
            wiring.store.guards.suppress(wiring.pseudonymizer.suppression("whatsapp", number))
        fresh = iter(f"+49160{n:07d}" for n in range(RUNS * 2))

        samples: dict[str, list[float]] = {"new": [], "pending": [], "blocked": []}
        shapes: dict[str, set[str]] = {name: set() for name in samples}
        bodies: dict[str, set[tuple[int, str]]] = {name: set() for name in samples}
        for run in range(RUNS):  # interleaved, so that drift hits every branch alike
            for name, number in (("new", next(fresh)), ("pending", pending), ("blocked", blocked[run])):
                elapsed, made, response = answer(number)
                samples[name].append(elapsed)
                shapes[name].add(", ".join(f"{op} {n}" for op, n in sorted(made.items())))
                bodies[name].add(response)
        optin.metrics.clear_metrics()  # nothing to publish from a benchmark

    os.unlink(path)
    baseline = statistics.median(samples["new"])
    print("POST /optin with a phone number: the answer per branch (warm container, embedded backend)")
    print(f"| branch | AWS requests | median | ratio to new | {RUNS} runs, interleaved |")
    print("| --- | --- | ---: | ---: | --- |")
    status = 0
    for name, values in samples.items():
        median = statistics.median(values)
        ratio = median / baseline
        verdict = "ok" if 1 / TOLERANCE <= ratio <= TOLERANCE else "MISSES"
        print(f"| {name} | {' / '.join(sorted(shapes[name]))} | {median * 1000:.1f} ms | {ratio:.2f} | {verdict} |")
    same_requests = len({frozenset(s) for s in shapes.values()}) == 1
    same_bodies = len({frozenset(b) for b in bodies.values()}) == 1
    print(
        f"same AWS requests in every branch: {'yes' if same_requests else 'NO'};"
        f" same status and body: {'yes' if same_bodies else 'NO'}"
    )
    if not same_bodies:
        status = 1  # the benchmark's premise failed: the answers differ
    return status
