"""Cold start of every function the template wires, against the floor ``import boto3; boto3.client('dynamodb')``.

Each sample is a fresh interpreter that imports the function's handler module, which is what
Lambda's init phase does: the handler modules build ``Wiring()`` at import, and with it the
DynamoDB client. The floor is the least any Python function that talks to DynamoDB pays.

- Same interpreter and the same environment for every sample: the template's variables with the
  local values, dummy credentials, no AWS profile files (as in Lambda), ``PYTHONPATH`` = the
  layer (+ the function's directory), bytecode caches written and used (as in a Lambda package).
- One warm-up run of each first (``.pyc`` caches, page cache), then interleaved rounds
  (floor, fn1, fn2, …, floor, fn1, fn2, …) so that the machine's noise hits all alike.
- Two figures per sample: ``time.perf_counter()`` around the import inside the child, and the
  wall time of the whole process (interpreter start and exit included), seen from here.
- For the slowest function, ``python -X importtime`` shows where the import time goes.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "chatconsent"
ROUNDS = int(os.environ.get("BENCH_COLDSTART_ROUNDS", "20"))
MIN_ROUNDS = 5
BUDGET_SECONDS = float(os.environ.get("BENCH_COLDSTART_BUDGET", "90"))  # the rounds stop early past this
TARGET = 1.25
IMPORTTIME_RUNS = 3
IMPORTTIME_TOP = 12

FLOOR = "import boto3; boto3.client('dynamodb')"
MARK = "BENCH-INIT-SECONDS"
CHILD = """{setup}
import time
_bench_t0 = time.perf_counter()
{body}
_bench_t1 = time.perf_counter()
print({mark!r}, repr(_bench_t1 - _bench_t0))
"""
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")


@dataclass(frozen=True)
class Target:
    name: str
    body: str  # the statement timed inside the child
    code_dir: Path | None  # the function's directory; None for the floor
    setup: str = ""  # run in the child before the timer starts


class ChildFailed(RuntimeError):
    pass


def functions() -> list[Target]:
    """Every ``AWS::Serverless::Function`` of template.yaml, with the module its ``Handler`` names."""
    from localrun.template import resources

    found = []
    for name, resource in sorted(resources("AWS::Serverless::Function").items()):
        props = resource["Properties"]
        code_uri, handler = props.get("CodeUri"), props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            continue  # not a local Python package (image, S3 location, …)
        module = handler.rsplit(".", 1)[0]
        found.append(Target(name, f"import {module}", ROOT / code_uri))
    return found


def child_environment(target: Target, home: str) -> dict[str, str]:
    """A clean, identical environment for every child (nothing inherited but PATH)."""
    from localrun.aws import LOCAL_ENVIRONMENT, REGION

    paths = [str(LAYER)] + ([str(target.code_dir)] if target.code_dir else [])
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": home,
        **LOCAL_ENVIRONMENT,  # TABLE_NAME, SECRETS_PATH, CHANNEL_SENDER=outbox, region, dummy credentials, …
        "AWS_REGION": REGION,
        "POWERTOOLS_LOG_LEVEL": "INFO",  # as the template sets it
        "AWS_CONFIG_FILE": os.path.join(home, "absent-config"),  # no profile files, as in Lambda
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "absent-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(paths),
        # PYTHONDONTWRITEBYTECODE deliberately absent: .pyc caches exist, as in a Lambda package.
    }


def _run_child(args: list[str], target: Target, home: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        check=False,
        env=child_environment(target, home),
        cwd=home,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ChildFailed(f"{target.name}: exit {done.returncode}: {lines[-1] if lines else 'no output'}")
    return done


def sample(target: Target, home: str) -> tuple[float, float]:
    """(import + init inside the child, whole process seen from here), in seconds."""
    child = CHILD.format(setup=target.setup, body=target.body, mark=MARK)
    started = time.perf_counter()
    done = _run_child(["-c", child], target, home)
    process = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            return float(line.split()[1]), process
    raise ChildFailed(f"{target.name}: the child printed no timing")


@dataclass(frozen=True)
class ImportRow:
    module: str
    level: int
    self_us: float
    cumulative_us: float


def import_profile(target: Target, home: str, runs: int = IMPORTTIME_RUNS) -> list[ImportRow]:
    """``-X importtime`` of the target, medians per module over ``runs`` runs."""
    selfs: dict[str, list[int]] = defaultdict(list)
    cumulatives: dict[str, list[int]] = defaultdict(list)
    levels: dict[str, int] = {}
    for _ in range(runs):
        done = _run_child(["-X", "importtime", "-c", target.body], target, home)
        for line in done.stderr.splitlines():
            match = IMPORTTIME_LINE.match(line)
            if not match:
                continue
            self_us, cumulative_us, indent, module = match.groups()
            selfs[module].append(int(self_us))
            cumulatives[module].append(int(cumulative_us))
            levels[module] = (len(indent) - 1) // 2
    rows = [
        ImportRow(module, levels[module], statistics.median(selfs[module]), statistics.median(cumulatives[module]))
        for module in cumulatives
    ]
    return sorted(rows, key=lambda r: r.cumulative_us, reverse=True)


def explain(slowest: Target, floor: Target, home: str) -> list[str]:
    """Where the slowest function's init time goes, and what it pays beyond the floor."""
    profile = import_profile(slowest, home)
    total = profile[0].cumulative_us if profile else 0.0
    lines = [
        f"### Where {slowest.name}'s import time goes (`python -X importtime`, medians of {IMPORTTIME_RUNS} runs)",
        "importtime adds overhead of its own; cumulative includes a module's imports, self excludes them. The"
        " handler's self time is its module-level code: `Wiring()` (botocore session, DynamoDB client), models, routes.",
        "",
        "| cumulative | self | share | level | module |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for row in profile[:IMPORTTIME_TOP]:
        share = row.cumulative_us / total if total else 0.0
        lines.append(
            f"| {row.cumulative_us / 1000:.1f} ms | {row.self_us / 1000:.1f} ms | {share:.0%} | {row.level}"
            f" | {row.module} |"
        )
    by_self = sorted(profile, key=lambda r: r.self_us, reverse=True)[:IMPORTTIME_TOP]
    lines += [
        "",
        "largest self times: " + ", ".join(f"{r.module} {r.self_us / 1000:.1f} ms" for r in by_self),
    ]

    # What the function imports that the floor does not: the part the code can trim.
    floor_modules = {row.module for row in import_profile(floor, home)}
    handler_module = slowest.body.removeprefix("import ")  # its self time is mostly the client the floor builds too
    extra = [row for row in profile if row.module not in floor_modules and row.module != handler_module]
    packages: dict[str, float] = defaultdict(float)
    for row in extra:
        packages[row.module.split(".", 1)[0]] += row.self_us
    ranked = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)
    lines.append(
        f"imported by {slowest.name} and not by the floor (handler module itself left out): {len(extra)} modules,"
        f" {sum(packages.values()) / 1000:.0f} ms self time in all; by package: "
        + ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in ranked[:IMPORTTIME_TOP])
    )

    # Wiring() alone, its modules already imported: what building the client costs.
    runtime_only = Target(
        "Wiring()", "chatconsent.wiring.Wiring()", None, setup="import botocore.session, chatconsent.wiring"
    )
    costs = sorted(sample(runtime_only, home)[0] for _ in range(IMPORTTIME_RUNS + 2))
    lines.append(
        f"`Wiring()` alone, its modules already imported (botocore session + DynamoDB client from the"
        f" service model): {_ms(statistics.median(costs))} (median of {len(costs)})"
    )
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _verdict(ratio: float) -> str:
    return "MEETS" if ratio <= TARGET else "MISSES"


def run() -> list[str]:
    floor = Target("floor", FLOOR, None)
    targets = [floor, *functions()]
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatconsent-bench-") as home:
        failed: dict[str, str] = {}
        for target in targets:  # warm-up: .pyc caches, page cache; a function that cannot start is reported
            try:
                sample(target, home)
            except ChildFailed as error:
                failed[target.name] = str(error)
        if floor.name in failed:
            return [f"the floor does not run: {failed[floor.name]}"]
        measured = [t for t in targets if t.name not in failed]
        inits: dict[str, list[float]] = {t.name: [] for t in measured}
        processes: dict[str, list[float]] = {t.name: [] for t in measured}
        started = time.perf_counter()
        rounds = 0
        while rounds < ROUNDS:
            if rounds >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_SECONDS:
                break
            for target in measured:
                init, process = sample(target, home)
                inits[target.name].append(init)
                processes[target.name].append(process)
            rounds += 1
        elapsed = time.perf_counter() - started

        floor_init = statistics.median(inits[floor.name])
        floor_process = statistics.median(processes[floor.name])
        lines += [
            f"floor: `{FLOOR}`; functions: every AWS::Serverless::Function in template.yaml (`import <handler module>`)",
            f"{rounds} interleaved rounds in {elapsed:.0f} s after one warm-up run each; interpreter {sys.executable}"
            f" (Python {sys.version.split()[0]})",
            "",
            "| name | median import+init | p25–p75 | ratio to floor | median process | ratio to floor"
            f" | target <= {TARGET}x (import+init) | target <= {TARGET}x (process) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for target in measured:
            init = statistics.median(inits[target.name])
            process = statistics.median(processes[target.name])
            quartiles = statistics.quantiles(inits[target.name], n=4) if rounds >= 2 else [init, init, init]
            init_ratio, process_ratio = init / floor_init, process / floor_process
            is_floor = target is floor
            lines.append(
                f"| {target.name} | {_ms(init)} | {quartiles[0] * 1000:.0f}–{quartiles[2] * 1000:.0f} ms"
                f" | {init_ratio:.2f} | {_ms(process)} | {process_ratio:.2f}"
                f" | {'(floor)' if is_floor else _verdict(init_ratio)} | {'(floor)' if is_floor else _verdict(process_ratio)} |"
            )
        for name, reason in failed.items():
            lines.append(f"| {name} | FAILED to import | | | | | MISSES | MISSES |")
            lines.append(f"  {reason}")

        functions_measured = [t for t in measured if t is not floor]
        meets = [t.name for t in functions_measured if statistics.median(inits[t.name]) / floor_init <= TARGET]
        lines += [
            "",
            f"target: import+init <= {TARGET}x the floor ({_ms(floor_init * TARGET)} on this run):"
            f" {len(meets)} of {len(functions_measured) + len(failed)} functions MEET it"
            + (f" ({', '.join(meets)})" if meets else ""),
        ]
        if not functions_measured:
            return lines

        slowest = max(functions_measured, key=lambda t: statistics.median(inits[t.name]))
        lines += ["", *explain(slowest, floor, home)]
    return lines


def main() -> int:
    print("## Cold start: import + init in a fresh process, against the floor", flush=True)
    print()
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.path[:0] = [p for p in (str(ROOT), str(LAYER)) if p not in sys.path]
    raise SystemExit(main())
