"""The local run for the campaigns tests: ``python -m localrun.server --no-quiet-hours`` on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from localrun.template import ROOT

LOG = ROOT / "tests" / "artifacts" / "localrun-campaigns-server.log"


@pytest.fixture(scope="module")
def campaign_server() -> Iterator[str]:
    """One local run per test module, quiet hours off (a test must not depend on the time of day). Its
    output, read all along so that the pipe never fills, goes to tests/artifacts, never to the test output."""
    env = {k: v for k, v in os.environ.items() if k != "CHATCONSENT_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "chatconsent"), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    LOG.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "localrun.server", "--port", "0", "--no-quiet-hours"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    with LOG.open("ab") as log:
        try:
            first = process.stdout.readline()
            log.write(first)
            assert b"local API on http://127.0.0.1:" in first, f"the local server did not start; see {LOG}"
            threading.Thread(target=shutil.copyfileobj, args=(process.stdout, log), daemon=True).start()
            yield first.decode().split(" on ", 1)[1].split(" ", 1)[0]
        finally:
            process.terminate()
            process.wait(timeout=10)
