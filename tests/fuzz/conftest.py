"""Fuzzing with Hypothesis: one profile, deterministic by default, and a scale for deeper local runs.

``ci`` (the default) derandomizes every property (the examples follow from the test's source, so
CI runs the same inputs every time), keeps no example database and has no deadline (moto-backed
examples take ~50 ms, the first one much longer). For a deeper search on a workstation:

    CHATCONSENT_FUZZ_PROFILE=deep CHATCONSENT_FUZZ_SCALE=20 .venv/bin/python -m pytest tests/fuzz

``deep`` draws new random examples on every run (and prints a blob that replays a failure); the scale
multiplies every test's example budget.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.local_server import running_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"

# Examples share the test's ``env`` (one warm container over many requests, as in Lambda), which
# is exactly what the function-scoped-fixture health check warns about; moto is slow on purpose.
_SUPPRESSED = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

settings.register_profile(
    "ci",
    derandomize=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain": it traces every line, and is slow
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "deep",
    derandomize=False,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.load_profile(os.environ.get("CHATCONSENT_FUZZ_PROFILE", "ci"))


def _restore_hypothesis_printer() -> None:
    """Print failing examples again.

    schemathesis's pytest plugin (loaded in every pytest run once schemathesis is installed)
    replaces Hypothesis' printer, process-wide, with one that prints nothing, to make its own
    runs faster: every "Failing test case" would show ``body=,``. Put Hypothesis' own back;
    schemathesis patches only once per process, so it stays.
    """
    from hypothesis import core
    from hypothesis.vendor import pretty

    if getattr(core, "RepresentationPrinter", pretty.RepresentationPrinter) is not pretty.RepresentationPrinter:
        core.RepresentationPrinter = pretty.RepresentationPrinter  # type: ignore[attr-defined]


_restore_hypothesis_printer()


# -- the local server, for schemathesis ----------------------------------------------------------


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """``python -m localrun.server`` on a free port (tests/local_server.py); yields its base URL."""
    with running_server(ARTIFACTS / "fuzz-server.log") as base:
        yield base
