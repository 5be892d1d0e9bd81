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
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

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


# -- the local server, for schemathesis (as tests/browser/conftest.py starts it) -------------------

START_TIMEOUT = 90.0


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """``python -m localrun.server --port <free port>`` on loopback; yields its base URL.

    Its output (request lines only, never bodies) goes to ``tests/artifacts/fuzz-server.log``.
    """
    env = {k: v for k, v in os.environ.items() if k != "CHATCONSENT_CONFIG"}  # the default configuration
    env["PYTHONPATH"] = os.pathsep.join(["layers/chatconsent", "."])
    env["PYTHONUNBUFFERED"] = "1"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "fuzz-server.log"
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localrun.server", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_until_serving(process, f"http://127.0.0.1:{port}", log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], base: str, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local server exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/notices/en", timeout=2) as response:
                if response.status == 200:
                    return base
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the local server did not answer GET /notices/en within {START_TIMEOUT:.0f} s; see {log_path}")
