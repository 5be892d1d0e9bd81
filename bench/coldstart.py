"""Cold start of each function against the floor ``import boto3; boto3.client('dynamodb')``.

Each sample is a fresh interpreter that imports the function's handler module, which is what
Lambda's init phase does (module-level clients included). Samples are interleaved (floor, fn1,
fn2, …) so that machine noise hits all alike; the table shows medians and ratios of medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 15
TARGET = 1.25

FLOOR = "import boto3; boto3.client('dynamodb')"
CHILD = """
import time, sys
t = time.perf_counter()
{body}
init = time.perf_counter() - t
{first}
print(init, time.perf_counter() - t)
"""


def functions() -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from localrun.template import resources

    found = {}
    for name, resource in sorted(resources("AWS::Serverless::Function").items()):
        found[name] = ROOT / resource["Properties"]["CodeUri"]
    return found


def environment(code_dir: Path | None) -> dict[str, str]:
    from localrun.aws import LOCAL_ENVIRONMENT

    paths = [str(ROOT / "layers" / "chatconsent")] + ([str(code_dir)] if code_dir else [])
    env = {**os.environ, **LOCAL_ENVIRONMENT, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def sample(body: str, code_dir: Path | None) -> tuple[float, float]:
    started = time.perf_counter()
    child = CHILD.format(body=body, first="")
    out = subprocess.run(
        [sys.executable, "-c", child], env=environment(code_dir), capture_output=True, text=True, check=True
    )
    process = time.perf_counter() - started
    init = float(out.stdout.split()[0])
    return init, process


def run() -> list[str]:
    targets: dict[str, tuple[str, Path | None]] = {"floor": (FLOOR, None)}
    for name, code_dir in functions().items():
        targets[name] = ("import handler", code_dir)
    for body, code_dir in targets.values():  # warm-up: .pyc caches, page cache
        sample(body, code_dir)
    inits: dict[str, list[float]] = {name: [] for name in targets}
    processes: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(ROUNDS):
        for name, (body, code_dir) in targets.items():
            init, process = sample(body, code_dir)
            inits[name].append(init)
            processes[name].append(process)
    floor_init = statistics.median(inits["floor"])
    floor_process = statistics.median(processes["floor"])
    lines = [
        f"| function | import + init (median of {ROUNDS}) | ratio | whole process | ratio | target <= {TARGET}x |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in targets:
        init, process = statistics.median(inits[name]), statistics.median(processes[name])
        ratio = init / floor_init
        verdict = "" if name == "floor" else ("MEETS" if ratio <= TARGET else "MISSES")
        lines.append(
            f"| {name} | {init * 1000:.0f} ms | {ratio:.2f} | {process * 1000:.0f} ms | {process / floor_process:.2f} | {verdict} |"
        )
    return lines


def main() -> int:
    print("## Cold start: import + init in a fresh process, against the floor")
    print(f"floor: `{FLOOR}`")
    print()
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
