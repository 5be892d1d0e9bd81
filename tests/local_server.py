"""The README's run command as a test fixture: ``python -m localrun.server`` on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90.0  # the embedded backend and every function load first; shared CI machines are slow


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
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/notices/en", timeout=2) as response:
            if response.status == 200:
                return base
        time.sleep(0.2)
    pytest.fail(f"the local server did not answer GET /notices/en within {START_TIMEOUT:.0f} s; see {log_path}")


@contextlib.contextmanager
def running_server(log_path: Path) -> Iterator[str]:
    """Start the local run (default configuration, its output in ``log_path``); yields its base URL."""
    env = {k: v for k, v in os.environ.items() if k != "CHATCONSENT_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(["layers/chatconsent", "."])
    env["PYTHONUNBUFFERED"] = "1"
    log_path.parent.mkdir(parents=True, exist_ok=True)
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
