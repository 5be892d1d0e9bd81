"""The campaign benchmark (bench/campaigns.py) at small populations: counts, never timings.

The benchmark builds its own embedded backend (moto's mock_aws) from template.yaml, writes the
population, runs one campaign through CampaignService, the Planner and simulated Sender containers,
and returns what it counted. These are equalities and request counts, so they are fine as
assertions. Requests per recipient is asserted at 2,000 subjects (440 eligible), not at 400: the
planner reads every audience partition (3 languages × 16 shards) and each non-empty one costs a
few fixed requests (page, progress, send job), which 88 eligible recipients cannot amortise.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import campaigns as bench


@pytest.fixture(scope="module")
def small() -> Any:
    return bench.run(["--population", "400", "--real-sample", "10"], quiet=True)


def test_the_sends_are_exactly_the_eligible_set(small: Any) -> None:
    n = small.numbers
    assert n["eligible"] == 88
    assert n["sent"] == n["eligible"]
    assert (n["missing"], n["unexpected"], n["duplicates"]) == (0, 0, 0)
    assert n["results"]["sent"] == n["sent"]
    assert n["results"]["skipped_blocked"] == 1  # blocked while active (1 in 10): read, refused by the claim


def test_nothing_breaks_the_rate_or_the_request_format(small: Any) -> None:
    n = small.numbers
    assert n["rejected"] == 0  # no 130429 from the simulated provider
    assert n["placeholder_errors"] == []  # every request as DynamoDB would accept it
    assert n["shape_ok"]  # the fast path writes what the product's own transitions write


def test_the_moto_speedups_change_no_count() -> None:
    """The bench's moto speed-ups (partition-only queries, per-item rollback) answer as plain moto does."""
    common = ["--population", "100", "--real-sample", "5"]
    fast = bench.run(common, quiet=True).numbers
    plain = bench.run([*common, "--plain-moto"], quiet=True).numbers  # plain moto: slow even at 100 subjects
    for name in ("sent", "requests", "requests_by_operation", "index_items_read", "kms_calls", "results", "preview"):
        assert plain[name] == fast[name], name


def test_requests_per_recipient_at_2000_subjects() -> None:
    n = bench.run(["--population", "2000", "--real-sample", "10"], quiet=True).numbers
    assert n["sent"] == n["eligible"] == 440
    assert (n["missing"], n["unexpected"], n["duplicates"], n["rejected"]) == (0, 0, 0, 0)
    assert n["requests_per_recipient"] <= bench.TARGET_REQUESTS
