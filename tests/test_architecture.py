"""The structure docs/architecture.md promises, read from the source so that it holds for code no test loads.

Every import counts, lazy and TYPE_CHECKING ones included: a cycle through a function-level
import still makes two modules one unit that cannot be read, tested or moved apart. So do the
modules the backend record names (`catalog.MODULES`), which its users import by name.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from golf_rt.catalog import BACKENDS, MODULES, RECORDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("golf_rt", "training")
MAX_LINES = 400


def _modules(packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _named_in_catalog(node: ast.AST) -> set[str]:
    """The modules a `backend_record(...).loader` / `.runner` expression names: those of every record."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr in ("loader", "runner")
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "backend_record"
    ):
        return {getattr(record, node.attr) for record in RECORDS}
    return set()


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of PACKAGES it imports; `from a import b` counts `a.b` where that is a module.

    A module that reads a record's `loader` or `runner` (`backend_record(name).loader`), to import it
    by name, imports every module the catalog names in that field.
    """
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets.update(_named_in_catalog(node))
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
                targets.add(base)
        graph[name] = {t for t in map(owner, targets) if t and t != name and not name.startswith(f"{t}.")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles_lazy_imports_included():
    assert _cycles(_import_graph()) == []


def test_the_catalog_names_count_as_imports_of_the_modules_that_import_them_by_name():
    graph = _import_graph()
    assert set(MODULES) <= graph["golf_rt.backends"]
    assert {record.loader for record in RECORDS} <= graph["golf_rt.artifacts.precision_table"]


def test_every_module_the_catalog_names_exists():
    """A record names its loader and runner as dotted paths: each is a module file in the package."""
    modules = _modules(("golf_rt",))
    for record in RECORDS:
        for module in (record.loader, record.runner):
            assert module in modules and modules[module].name != "__init__.py", f"{record.name}: {module}"
            assert importlib.util.find_spec(module) is not None, f"{record.name}: {module} does not import"


def test_runner_modules_import_no_artifacts_and_no_checkpoint():
    """A runner runs what it is handed: where a file comes from is `create_runner`'s and `artifacts.supply`'s."""
    graph = _import_graph()
    knowing = {
        record.runner: sorted(t for t in graph[record.runner] if t.startswith("golf_rt.artifacts") or
                              t == "golf_rt.model.checkpoint")
        for record in RECORDS
    }  # fmt: skip
    assert knowing == {record.runner: [] for record in RECORDS}


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", [*PACKAGES, "benchmarks"])
def test_no_module_is_over_the_line_limit(package):
    long = {
        name: n for name, path in _modules((package,)).items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_one_module_in_training_runs_a_backward_pass():
    running = [path.name for path in (ROOT / "training").rglob("*.py") if ".backward(" in path.read_text()]
    assert running == ["step.py"]  # the one optimiser step; train.py runs the loop around it


def _backend_lists(path: Path) -> list[int]:
    """Lines of `path` holding a literal tuple, list or set that names two or more backends."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in BACKENDS}
            if len(names) >= 2:
                lines.append(node.lineno)
    return lines


PACKAGE_LISTS = {"golf_rt/artifacts/export.py": "the Python packages exporting needs (torch, onnx, onnxruntime...)"}
"""Literal lists that name packages which share a backend's name, not backends."""


def test_backends_are_listed_only_in_the_record():
    """`catalog.RECORDS` is the one list: every other list of backends is derived from it."""
    listed = {}
    for package in ("golf_rt", "benchmarks"):
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name not in PACKAGE_LISTS and (lines := _backend_lists(path)):
                listed[name] = lines
    assert listed == {}
    assert _backend_lists(ROOT / "golf_rt" / "artifacts" / "export.py"), (
        "the check sees a literal list naming two backends"
    )
