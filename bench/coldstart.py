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
  wall time of the whole process (interpreter start and exit included), seen from here. On a
  shared machine other work stretches wall times unevenly, so each sample also records CPU time
  (``time.process_time()`` in the child; the child's user + system time from ``getrusage``),
  which such load barely moves: the second table.
- ``BENCH_COLDSTART_FUNCTIONS=InboundFunction,OptInFunction`` measures only those (while iterating).
- ``BENCH_COLDSTART_BASELINE=<a checkout of another commit>`` measures that checkout's functions too,
  interleaved in the same rounds (rows marked ``@ baseline``): before and after a change in one run.
- Each child is told it runs in Lambda (``AWS_LAMBDA_FUNCTION_NAME``, as the runtime sets it), so
  what the package does only there (``chatconsent.startup``) is measured.
- For the slowest function, ``python -X importtime`` shows where the import time goes.
"""

from __future__ import annotations

import os
import re
import resource as rusage
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
MIN_ROUNDS = 11  # the issue asks for medians of at least 11 interleaved runs
BASELINE = os.environ.get("BENCH_COLDSTART_BASELINE", "")  # another checkout, measured alongside
BASELINE_MARK = " @ baseline"
ONLY = {
    n for n in os.environ.get("BENCH_COLDSTART_FUNCTIONS", "").split(",") if n
}  # e.g. InboundFunction,OptInFunction
BUDGET_SECONDS = float(os.environ.get("BENCH_COLDSTART_BUDGET", "90"))  # the rounds stop early past this
TARGET = 1.25  # the webhook and the opt-in answer
TARGET_EVERY = 1.5  # every function
IMPORTTIME_RUNS = 3
IMPORTTIME_TOP = 12

FLOOR = "import boto3; boto3.client('dynamodb')"
MARK = "BENCH-INIT-SECONDS"
CHILD = """{setup}
import time
_bench_t0, _bench_c0 = time.perf_counter(), time.process_time()
{body}
_bench_t1, _bench_c1 = time.perf_counter(), time.process_time()
print({mark!r}, repr(_bench_t1 - _bench_t0), repr(_bench_c1 - _bench_c0))
"""
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")


@dataclass(frozen=True)
class Target:
    name: str
    body: str  # the statement timed inside the child
    code_dir: Path | None  # the function's directory; None for the floor
    setup: str = ""  # run in the child before the timer starts
    layer: Path = LAYER  # the chatconsent package's directory (another checkout's for a baseline)


class ChildFailed(RuntimeError):
    pass


def functions(root: Path = ROOT, mark: str = "") -> list[Target]:
    """Every ``AWS::Serverless::Function`` of template.yaml, with the module its ``Handler`` names
    (in ``root``: this checkout, or a baseline's, where the function exists there)."""
    from localrun.template import resources

    found = []
    for name, resource in sorted(resources("AWS::Serverless::Function").items()):
        props = resource["Properties"]
        code_uri, handler = props.get("CodeUri"), props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            continue  # not a local Python package (image, S3 location, …)
        if ONLY and name not in ONLY:
            continue  # BENCH_COLDSTART_FUNCTIONS names the ones to measure (while iterating)
        module = handler.rsplit(".", 1)[0]
        if (root / code_uri).is_dir():
            found.append(
                Target(name + mark, f"import {module}", root / code_uri, layer=root / "layers" / "chatconsent")
            )
    return found


def child_environment(target: Target, home: str) -> dict[str, str]:
    """A clean, identical environment for every child (nothing inherited but PATH)."""
    from localrun.aws import LOCAL_ENVIRONMENT, REGION

    paths = [str(target.layer)] + ([str(target.code_dir)] if target.code_dir else [])
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
        "AWS_LAMBDA_FUNCTION_NAME": target.name.removesuffix(BASELINE_MARK),  # as Lambda's runtime sets it
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


@dataclass(frozen=True)
class Sample:
    init: float  # wall time of import + init inside the child
    process: float  # wall time of the whole child process, seen from here
    init_cpu: float  # CPU time of import + init inside the child
    process_cpu: float  # the whole child's user + system time


def _children_cpu() -> float:
    usage = rusage.getrusage(rusage.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample(target: Target, home: str) -> Sample:
    """One fresh process importing the target, in seconds."""
    child = CHILD.format(setup=target.setup, body=target.body, mark=MARK)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = _run_child(["-c", child], target, home)
    process = time.perf_counter() - started
    process_cpu = _children_cpu() - cpu_before
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            _, init, init_cpu = line.split()
            return Sample(float(init), process, float(init_cpu), process_cpu)
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
    costs = sorted(sample(runtime_only, home).init for _ in range(IMPORTTIME_RUNS + 2))
    lines.append(
        f"`Wiring()` alone, its modules already imported (botocore session + DynamoDB client from the"
        f" service model): {_ms(statistics.median(costs))} (median of {len(costs)})"
    )
    return lines


LAYERS = (  # what the webhook function's init is made of, each a fresh process (name, statement, function dir)
    ("floor: `import boto3; boto3.client('dynamodb')`", FLOOR, None),
    ("the floor with the collector paused as `chatconsent.startup` pauses it", "import gc; gc.disable(); " + FLOOR, None),
    ("the DynamoDB client through botocore alone", "import botocore.session as b; b.get_session().create_client('dynamodb')", None),
    ("`import chatconsent.wiring` (the package: settings, configuration, store; no client)", "import chatconsent.wiring", None),
    ("`Wiring()` (the package and the client)", "import chatconsent.wiring as w; w.Wiring()", None),
    ("`Wiring()` + Powertools Logger and Metrics (imported and built; no handler module)",
     "import chatconsent.wiring as w; w.Wiring(); import aws_lambda_powertools as p; p.Logger(service='x'); p.Metrics(service='x')", None),
    ("InboundFunction (`import handler`: + Powertools Logger and Metrics, the module)", "import handler", "inbound"),
    ("InboundFunction + what its first request imports (channels.whatsapp, inbound)",
     "import handler, chatconsent.channels.whatsapp, chatconsent.inbound", "inbound"),
)  # fmt: skip


def layers(home: str, rounds: int = MIN_ROUNDS) -> list[str]:
    """The webhook function's init, layer by layer: CPU and wall medians of interleaved fresh processes."""
    targets = [Target(name, body, ROOT / "functions" / d if d else None) for name, body, d in LAYERS]
    if BASELINE:  # the handler rows again in the baseline's checkout, in the same rounds
        base = Path(BASELINE).resolve()
        targets += [
            Target(name + BASELINE_MARK, body, base / "functions" / d, layer=base / "layers" / "chatconsent")
            for name, body, d in LAYERS
            if d and (base / "functions" / d).is_dir()
        ]
    for target in targets:
        sample(target, home)
    samples: dict[str, list[Sample]] = {t.name: [] for t in targets}
    for _ in range(rounds):
        for target in targets:
            samples[target.name].append(sample(target, home))
    floor_cpu = statistics.median(s.init_cpu for s in samples[targets[0].name])
    floor_wall = statistics.median(s.init for s in samples[targets[0].name])
    lines = [
        f"### What the webhook function's init is made of (fresh processes, medians of {rounds} interleaved rounds)",
        "",
        "| what is imported and built | import+init (CPU) | ratio to floor | import+init (wall) | ratio to floor |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for target in targets:
        cpu = statistics.median(s.init_cpu for s in samples[target.name])
        wall = statistics.median(s.init for s in samples[target.name])
        lines.append(f"| {target.name} | {_ms(cpu)} | {cpu / floor_cpu:.2f} | {_ms(wall)} | {wall / floor_wall:.2f} |")
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _verdict(ratio: float) -> str:
    return "MEETS" if ratio <= TARGET else "MISSES"


def _table(measured: list[Target], samples: dict[str, list[Sample]], cpu: bool) -> list[str]:
    """One row per target: medians and ratios to the floor, of wall time or of CPU time."""

    def values(name: str, part: str) -> list[float]:
        return [getattr(s, f"{part}_cpu" if cpu else part) for s in samples[name]]

    floor = measured[0]
    floor_init = statistics.median(values(floor.name, "init"))
    floor_process = statistics.median(values(floor.name, "process"))
    kind = "CPU" if cpu else "wall"
    lines = [
        f"| name | median import+init ({kind}) | p25–p75 | ratio to floor | median process ({kind}) | ratio to floor"
        f" | target <= {TARGET}x (import+init) | target <= {TARGET}x (process) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for target in measured:
        inits = values(target.name, "init")
        init, process = statistics.median(inits), statistics.median(values(target.name, "process"))
        quartiles = statistics.quantiles(inits, n=4) if len(inits) >= 2 else [init, init, init]
        init_ratio, process_ratio = init / floor_init, process / floor_process
        is_floor = target is floor
        lines.append(
            f"| {target.name} | {_ms(init)} | {quartiles[0] * 1000:.0f}–{quartiles[2] * 1000:.0f} ms"
            f" | {init_ratio:.2f} | {_ms(process)} | {process_ratio:.2f}"
            f" | {'(floor)' if is_floor else _verdict(init_ratio)} | {'(floor)' if is_floor else _verdict(process_ratio)} |"
        )
    return lines


def run() -> list[str]:
    floor = Target("floor", FLOOR, None)
    baseline = functions(Path(BASELINE).resolve(), BASELINE_MARK) if BASELINE else []
    targets = [floor, *functions(), *baseline]
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
        samples: dict[str, list[Sample]] = {t.name: [] for t in measured}
        started = time.perf_counter()
        rounds = 0
        while rounds < ROUNDS:
            if rounds >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_SECONDS:
                break
            for target in measured:
                samples[target.name].append(sample(target, home))
            rounds += 1
        elapsed = time.perf_counter() - started

        lines += [
            f"floor: `{FLOOR}`; functions: every AWS::Serverless::Function in template.yaml (`import <handler module>`)"
            + (f"; `{BASELINE_MARK.strip()}`: the same functions in {BASELINE}" if BASELINE else ""),
            f"{rounds} interleaved rounds in {elapsed:.0f} s after one warm-up run each; interpreter {sys.executable}"
            f" (Python {sys.version.split()[0]}); load average {os.getloadavg()[0]:.1f} at the end",
            "",
            *_table(measured, samples, cpu=False),
        ]
        for name, reason in failed.items():
            lines.append(f"| {name} | FAILED to import | | | | | MISSES | MISSES |")
            lines.append(f"  {reason}")
        lines += ["", "The same samples in CPU time (what other work on a shared machine barely moves):", ""]
        lines += _table(measured, samples, cpu=True)

        def median_init(name: str, cpu: bool = False) -> float:
            return statistics.median(s.init_cpu if cpu else s.init for s in samples[name])

        functions_measured = [t for t in measured if t is not floor and not t.name.endswith(BASELINE_MARK)]
        for cpu in (False, True):
            floor_init = median_init(floor.name, cpu)
            meets = [t.name for t in functions_measured if median_init(t.name, cpu) / floor_init <= TARGET]
            lines += [
                "",
                f"target: import+init <= {TARGET}x the floor ({'CPU' if cpu else 'wall'},"
                f" {_ms(floor_init * TARGET)} on this run): {len(meets)} of {len(functions_measured) + len(failed)}"
                " functions MEET it" + (f" ({', '.join(meets)})" if meets else ""),
            ]
            over = [t.name for t in functions_measured if median_init(t.name, cpu) / floor_init > TARGET_EVERY]
            lines.append(
                f"target: every function <= {TARGET_EVERY}x ({'CPU' if cpu else 'wall'}): "
                + (f"MISSED by {', '.join(over)}" if over else "MET")
            )
        if not functions_measured:
            return lines

        slowest = max(functions_measured, key=lambda t: median_init(t.name))
        lines += ["", *explain(slowest, floor, home)]
        if os.environ.get("BENCH_COLDSTART_LAYERS", "1") != "0":
            lines += ["", *layers(home)]
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
