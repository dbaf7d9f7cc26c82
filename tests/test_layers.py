"""The package's layers: modules import downward only (no cycle, counting imports inside
functions), one vocabulary (no literal 52 weeks outside `sim.codes`), and the analysis layer
reads results without the JIT."""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

from helpers import run_python

SIM = Path(__file__).resolve().parent.parent / "sim"


def _module_name(path: Path, root: Path = SIM) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = SIM) -> set[str]:
    """The sim modules `path` imports anywhere (module level or in a function), except under
    `if TYPE_CHECKING:` (annotations only, never executed)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sim"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sim":
                continue
            for alias in node.names:  # `from . import kernels` imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate, root) else target)
    return {m for m in found if m != module}


def _exists(module: str, root: Path) -> bool:
    path = root.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph(root: Path = SIM) -> dict[str, set[str]]:
    return {_module_name(p, root): _imports(p, root) for p in root.rglob("*.py")}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt in edges and state.get(nxt) is None:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if state.get(node) is None:
            visit(node, [node])
    return found


def test_sim_modules_import_without_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_a_function_level_import_that_closes_a_loop_is_a_cycle(tmp_path):
    """The check above can fail: `report` imports `plots` at the top, and a `plots` that
    imported `report` inside a function would close a loop."""
    package = tmp_path / "sim"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "report.py").write_text("from . import plots\n")
    (package / "plots.py").write_text("from typing import TYPE_CHECKING\n"
                                      "if TYPE_CHECKING:\n    from .model import Model\n"
                                      "def forest():\n    from .report import paired\n")
    (package / "model.py").write_text("from .plots import forest\n")
    assert cycles(graph(package)) == [["sim.plots", "sim.report", "sim.plots"]]


def test_no_literal_weeks_per_year_outside_the_vocabulary():
    """WEEKS_PER_YEAR lives in sim.codes; no number 52 (or 52.0) in code elsewhere."""
    offenders = []
    for path in SIM.rglob("*.py"):
        if path.name == "codes.py":
            continue
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.NUMBER and re.fullmatch(r"52(\.0*)?", token.string):
                    offenders.append(f"{path.name}:{token.start[0]}: {token.line.strip()}")
    assert not offenders, offenders


def test_the_report_reads_results_without_loading_the_jit():
    out = run_python("import sys, sim.report, sim.stats, sim.io, sim.codes; "
                     "print('numba' in sys.modules, 'sim.kernels' in sys.modules)")
    assert out.split() == ["False", "False"]
