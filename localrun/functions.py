"""Loads the functions the template wires, each ``functions/<dir>/handler.py`` as its own module."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from localrun.template import ROOT


def load_function(code_uri: str) -> ModuleType:
    """Import ``<code_uri>/handler.py`` once (every function's file has the same name)."""
    name = Path(code_uri).name
    module_name = f"chatconsent_fn_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / code_uri / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that Powertools reads."""

    function_name: str = "local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:local"
    aws_request_id: str = "local-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000
