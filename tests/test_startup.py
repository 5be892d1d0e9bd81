"""The collector is paused during a function's init in Lambda, and every function resumes it.

A handler module that never built a ``Wiring`` would leave its container without cyclic garbage
collection; each handler is imported here in a fresh interpreter told it runs in Lambda.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatconsent import startup
from localrun.aws import LOCAL_ENVIRONMENT, REGION

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = sorted(ROOT.glob("functions/*/handler.py"))
PROBE = "import gc, handler; print(gc.isenabled(), gc.get_freeze_count() > 0)"


def _import_in_lambda(function_dir: Path, lambda_name: str | None) -> str:
    environment = {
        "PATH": os.environ.get("PATH", os.defpath),
        **LOCAL_ENVIRONMENT,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "chatconsent"), str(function_dir)]),
    }
    if lambda_name:
        environment["AWS_LAMBDA_FUNCTION_NAME"] = lambda_name
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=False, cwd=function_dir
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda p: p.parent.name)
def test_every_function_resumes_collection_after_its_init(handler: Path) -> None:
    assert _import_in_lambda(handler.parent, "chatconsent-test") == "True True"


def test_outside_lambda_the_collector_is_left_alone() -> None:
    assert _import_in_lambda(ROOT / "functions" / "inbound", None) == "True False"


def test_init_built_resumes_only_what_it_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "chatconsent-test")
    frozen = gc.get_freeze_count()
    try:
        startup.pause_collection()
        assert not gc.isenabled()
        startup.init_built()
        assert gc.isenabled() and gc.get_freeze_count() >= frozen
        startup.init_built()  # a second wiring: nothing more
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    startup.pause_collection()
    assert gc.isenabled()
