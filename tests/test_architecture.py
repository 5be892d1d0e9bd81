"""Architecture rules that keep the code's shape: static checks on the source (AST only, no imports, no AWS).

Target: ``store/keys.py`` alone knows the DynamoDB key layout; ``api/`` (HTTP helpers), ``wiring.py`` (clients and
services) and ``settings.py`` (environment) sit around the domain, which knows nothing of Lambda or HTTP."""

from __future__ import annotations

import ast
from collections import Counter, deque
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "layers" / "chatconsent" / "chatconsent"
FUNCTIONS = ROOT / "functions"
KEYS_MODULE = PACKAGE / "store" / "keys.py"
NON_DOMAIN = ({"api"}, {"wiring.py", "settings.py"})  # (packages, modules) directly under chatconsent/
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
MAX_SHOWN = 15
PACKAGE_FILES = sorted(PACKAGE.rglob("*.py"))
HANDLER_FILES = sorted(FUNCTIONS.glob("*/handler.py"))

KEY_PREFIXES = (
    "SUBJ#", "S#", "M#", "M#IN#", "M#OUT#", "OPTIN#", "LEDGER#", "E#",
    "DEDUPE#", "RATE#", "SUPPRESS#", "RECEIPT#", "AUDIT#", "ACT#", "ACCESS#",
)  # fmt: skip
KEY_NAMES = frozenset({"PK", "SK", "by_expiry", "by_activity", "expiry_shard", "activity_day"})
HTTP_LITERALS = frozenset({"statusCode", "isBase64Encoded"})
TYPE_CHECKING = frozenset({"TYPE_CHECKING", "typing.TYPE_CHECKING"})
ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})
DECORATOR_RANK = {"logger.inject_lambda_context": 0, "metrics.log_metrics": 1}  # anything else (parsers) ranks 2


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def domain_files() -> list[Path]:
    packages, modules = NON_DOMAIN
    return [
        path
        for path in PACKAGE_FILES
        if path.relative_to(PACKAGE).parts[0] not in packages and path.relative_to(PACKAGE).as_posix() not in modules
    ]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def location(offender: str) -> tuple[str, int]:
    file, _, rest = offender.partition(":")
    line = rest.split(":", 1)[0]
    return file, int(line) if line.isdigit() else 0


def check(title: str, offenders: list[str]) -> None:
    """Fail listing the first offenders by file and line, the rest only counted per file (never a giant dump)."""
    if offenders:
        offenders = sorted(offenders, key=location)
        rest = Counter(location(offender)[0] for offender in offenders[MAX_SHOWN:])
        more = "".join(f"\n  ... and {count} more in {file}" for file, count in rest.items())
        pytest.fail(f"{title} ({len(offenders)}):\n  " + "\n  ".join(offenders[:MAX_SHOWN]) + more, pytrace=False)


def test_the_code_is_where_the_rules_look() -> None:
    assert PACKAGE_FILES, f"no modules under {rel(PACKAGE)}: has the package moved?"
    assert HANDLER_FILES, f"no {rel(FUNCTIONS)}/*/handler.py: have the functions moved?"


def import_nodes(node: ast.AST, *, skip_type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement at any depth (functions, classes, try blocks), optionally not under TYPE_CHECKING."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    children: list[ast.AST] = list(ast.iter_child_nodes(node))
    if skip_type_checking and isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING:
        children = list(node.orelse)
    for child in children:
        yield from import_nodes(child, skip_type_checking=skip_type_checking)


def candidates(node: ast.Import | ast.ImportFrom, path: Path) -> list[list[str]]:
    """Per imported name, the absolute dotted names it may load, the most specific first."""
    if isinstance(node, ast.Import):
        return [[alias.name] for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    return [[f"{base}.{alias.name}", base] for alias in node.names]


def import_graph() -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    """Module → {imported module: first line}; importing ``a.b`` runs ``a`` too, unless ``a`` encloses the importer."""
    files = {module_name(path): path for path in PACKAGE_FILES}
    known = set(files)
    graph: dict[str, dict[str, int]] = {}
    for source, path in files.items():
        edges = graph.setdefault(source, {})
        enclosing = {source, *ancestors(source)}
        for node in import_nodes(parse(path), skip_type_checking=True):
            for names in candidates(node, path):
                target = next((name for name in [*names, *reversed(ancestors(names[-1]))] if name in known), None)
                if target is None:
                    continue
                implied = [name for name in ancestors(target) if name not in enclosing]
                for name in [target, *implied]:
                    if name != source:
                        edges.setdefault(name, node.lineno)
    return graph, files


def shortest_cycle(graph: dict[str, dict[str, int]], start: str) -> list[str] | None:
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for following in sorted(graph.get(node, {})):
            if following == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if following not in parent:
                parent[following] = node
                queue.append(following)
    return None


def test_no_import_cycles() -> None:
    graph, files = import_graph()
    cycles: list[str] = []
    covered: set[str] = set()
    for module in sorted(graph):
        cycle = None if module in covered else shortest_cycle(graph, module)
        if cycle:
            covered.update(cycle)
            via = ", ".join(f"{files[a].relative_to(PACKAGE).as_posix()}:{graph[a][b]}" for a, b in pairwise(cycle))
            cycles.append(f"{' → '.join(cycle)}  (imports at {via})")
    check("import cycles in chatconsent (function-level imports included)", cycles)


def docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def string_literals(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, value) of every str constant, f-string constant parts included, docstrings excluded."""
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def test_key_layout_only_in_store_keys() -> None:
    offenders = [
        f"{rel(path)}:{line}: {value[:40]!r}"
        for path in [*PACKAGE_FILES, *sorted(FUNCTIONS.rglob("*.py"))]
        if path != KEYS_MODULE
        for line, value in string_literals(parse(path))
        if value in KEY_NAMES or value.startswith(KEY_PREFIXES)
    ]
    check(f"DynamoDB key layout outside {rel(KEYS_MODULE)}", offenders)


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("files", [PACKAGE_FILES, HANDLER_FILES], ids=["chatconsent", "handlers"])
def test_modules_are_small(files: list[Path]) -> None:
    offenders = [f"{rel(p)}: {line_count(p)} lines" for p in files if line_count(p) > MAX_MODULE_LINES]
    check(f"modules over {MAX_MODULE_LINES} lines", offenders)


def test_classes_are_small() -> None:
    offenders = [
        f"{rel(path)}:{node.lineno}: class {node.name} is {length} lines"
        for path in PACKAGE_FILES
        for node in ast.walk(parse(path))
        if isinstance(node, ast.ClassDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_CLASS_LINES
    ]
    check(f"chatconsent classes over {MAX_CLASS_LINES} lines", offenders)


def int_value(*nodes: ast.expr | None) -> int:
    """The int literal of the first node; 0 when there is none or it is not one."""
    node = nodes[0] if nodes else None
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else 0


def http_status_attributes(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """`status = 404` (or `status: int = 404`) in a class body."""
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for stmt in cls.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign) and int_value(stmt.value):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == "status" for t in targets):
                    yield stmt.lineno, f"class {cls.name} sets an HTTP status ({int_value(stmt.value)})"


def test_domain_is_free_of_lambda_and_http() -> None:
    offenders: list[str] = []
    for path in domain_files():
        tree = parse(path)
        for node in import_nodes(tree, skip_type_checking=False):
            names = [name for names in candidates(node, path) for name in names]
            if any(name.split(".")[0] == "aws_lambda_powertools" for name in names):
                offenders.append(f"{rel(path)}:{node.lineno}: imports aws_lambda_powertools")
            if any(name == "chatconsent.api" or name.startswith("chatconsent.api.") for name in names):
                offenders.append(f"{rel(path)}:{node.lineno}: imports chatconsent.api")
        offenders += [f"{rel(path)}:{line}: {what}" for line, what in http_status_attributes(tree)]
        offenders += [
            f"{rel(path)}:{line}: literal {value!r}" for line, value in string_literals(tree) if value in HTTP_LITERALS
        ]
    check("Lambda/HTTP concerns in the domain (move them to chatconsent/api/)", offenders)


def decorator_name(node: ast.expr) -> str:
    return ast.unparse(node.func if isinstance(node, ast.Call) else node)


def test_handlers_share_one_decorator_order() -> None:
    offenders: list[str] = []
    for path in HANDLER_FILES:
        handler = next(
            (n for n in parse(path).body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler"), None
        )
        if handler is None:
            offenders.append(f"{rel(path)}: no module-level lambda_handler")
            continue
        names = [decorator_name(d) for d in handler.decorator_list]
        ranks = [DECORATOR_RANK.get(name, len(DECORATOR_RANK)) for name in names]
        if ranks != sorted(ranks):
            offenders.append(f"{rel(path)}:{handler.lineno}: decorators {names}")
    expected = " then ".join(DECORATOR_RANK) + " then any event parser (outermost first)"
    check(f"lambda_handler decorators out of order; expected {expected}", offenders)


def test_handlers_map_errors_with_exception_handlers() -> None:
    offenders = [
        f"{rel(path)}:{node.lineno}: Response({status}, ...) inside an except clause"
        for path in HANDLER_FILES
        for handler in ast.walk(parse(path))
        if isinstance(handler, ast.ExceptHandler)
        for stmt in handler.body
        for node in ast.walk(stmt)
        if isinstance(node, ast.Call)
        and decorator_name(node).rsplit(".", 1)[-1] == "Response"
        and 400 <= (status := int_value(*node.args, *(k.value for k in node.keywords if k.arg == "status_code"))) <= 499
    ]
    check("4xx answers built in except clauses (use @app.exception_handler)", offenders)


def environment_reads(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in ENV_NAMES:
                yield node.lineno, f"os.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            yield from ((node.lineno, f"from os import {a.name}") for a in node.names if a.name in ENV_NAMES)


def test_environment_is_read_only_in_settings() -> None:
    allowed = PACKAGE / "settings.py"
    offenders = [
        f"{rel(path)}:{line}: reads {what}"
        for path in [*PACKAGE_FILES, *HANDLER_FILES]
        if path != allowed
        for line, what in environment_reads(parse(path))
    ]
    check(f"environment read outside {rel(allowed)}", offenders)
