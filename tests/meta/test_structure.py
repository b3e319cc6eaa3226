"""The shape of the code: imports go one way (no cycle among crmctl's modules, imports inside
functions included), no module grows past 1 000 lines, services never touch the terminal, and every
report has a view."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "crmctl"
MAX_LINES = 1000


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@functools.lru_cache(maxsize=None)
def _graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(deps) for name, deps in import_graph().items()}


def import_graph() -> dict[str, set[str]]:
    """module -> the crmctl modules it imports, anywhere in its body (functions and TYPE_CHECKING too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node)
                # `from pkg import mod` imports the submodule when there is one, else a name of pkg
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:  # `import crmctl.x.y` of a name inside a module
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("crmctl"):
                    deps.add(t)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle():
    """Edges are the imports written in the code (a package's ``__init__`` re-exporting its modules
    included; Python's own loading of a module's parent packages is not an edge)."""
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_imports_inside_functions():
    graph = import_graph()
    # crmctl.services.customers.reading imports crmctl.services.stability inside a function only
    assert "crmctl.services.stability" in graph["crmctl.services.customers.reading"]


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_size(name):
    n = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines (at most {MAX_LINES}): split it by business area"


def test_services_never_touch_the_terminal():
    """Services return data: no Typer, no rich, no progress bars, no views, no output module."""
    graph = _graph()
    forbidden = ("crmctl.commands", "crmctl.output", "crmctl.views", "crmctl.cli")
    for name, deps in graph.items():
        if name.startswith("crmctl.services") or name.startswith("crmctl.rules"):
            bad = sorted(d for d in deps if d.startswith(forbidden))
            assert not bad, f"{name} imports {bad}"
        if name.startswith("crmctl.services") or name.startswith("crmctl.rules"):
            text = _modules()[name].read_text(encoding="utf-8")
            for lib in ("import typer", "from typer", "import rich", "from rich", "import click"):
                assert lib not in text, f"{name}: {lib}"


def test_rules_do_no_io():
    """The rules layer: no database, no environment, no files (the clock only in rules.times)."""
    for name, path in _modules().items():
        if not name.startswith("crmctl.rules"):
            continue
        text = path.read_text(encoding="utf-8")
        for bad in ("os.environ", "getenv", "open(", "crmctl.models", "from ..models", "sqlite3", "Session"):
            assert bad not in text, f"{name}: {bad}"
        deps = _graph()[name]
        assert all(d == "crmctl" or d.startswith(("crmctl.rules", "crmctl.errors")) for d in deps), (name, deps)


def test_every_report_has_a_view():
    from crmctl.services.reports import REPORTS
    from crmctl.views.reports import VIEWS

    assert list(REPORTS) and set(REPORTS) == set(VIEWS)


@pytest.mark.parametrize("policy", ["petrochem", "manufacturer", "gas-tiered", "fuel-retail", "gas-service"])
def test_every_report_with_customer_rows_asks_the_visibility_rule(policy):
    """A report whose rows can be about one customer declares which key holds its code, so the one
    visibility rule leaves out the rows a person may not read (``services.visibility``)."""
    from types import SimpleNamespace

    from crmctl.policies import load_policy
    from crmctl.services.reports import REPORTS, Params

    app = SimpleNamespace(policy=load_policy(policy)[0])
    for rep in REPORTS.values():
        keys = {f.key for f in rep.columns(app, Params())}
        if rep.name == "customers":  # the directory: the customer list's own rule (code and name only)
            continue
        if keys & {"customer", "code"}:
            assert rep.customer_key in keys, f"report {rep.name} shows customers but declares no customer_key"


def test_version_is_the_changelog_s_newest():
    import re

    try:
        import tomllib  # novermin (tomli below on Python 3.10)
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    import crmctl

    root = ROOT.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    newest = re.search(r"^### (\S+) — \d{4}-\d{2}-\d{2}", (root / "README.md").read_text(encoding="utf-8"), re.M)
    assert crmctl.__version__ == declared == newest.group(1)
