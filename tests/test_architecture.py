"""The house rules of ``model/``: layers run downward, no circles, no private names across modules.

The layers contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and is checked by ``lint-imports``;
the two rules import-linter does not express are checked here from the source with :mod:`ast`, counting the
imports inside functions too.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "model"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> list[tuple[str, str, list[str], int]]:
    """(importer, imported module, names, line) for every ``model`` import in the package."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        mod = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "model":
                out.append((mod, node.module, [a.name for a in node.names], node.lineno))
            elif isinstance(node, ast.Import):
                out += [(mod, a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "model"]
    return out


def test_layers_contract_is_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    r = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 kept, 0 broken" in r.stdout


def test_no_private_name_is_imported_across_modules():
    bad = [f"{imp}:{line} imports {name} from {mod}" for imp, mod, names, line in _imports()
           for name in names if name.startswith("_") and not name.startswith("__") and mod != imp]
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    g = nx.DiGraph()
    modules = {_module_name(p) for p in PKG.rglob("*.py")}
    for imp, mod, names, _line in _imports():
        targets = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in modules] or [mod]
        for t in targets:
            if t != imp and t in modules and not imp.startswith(t + ".") and t != "model":
                g.add_edge(imp, t)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:5]


def test_every_module_is_in_a_subpackage_named_after_the_data_flow():
    top = sorted(p.name for p in PKG.iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "__main__.py", "units.py", "version.py"], top
    subpackages = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())
    assert subpackages == ["cli", "exchange", "metrics", "network", "processes", "report", "results", "run",
                           "scenario", "sim", "static"]


def test_spawn_keys_are_made_only_by_the_stream_registry():
    # a hand-made spawn key can meet a chunk's or a named stream's (the old replay used chunk 0's): every
    # key comes from model/run/seeds.py, whose three doors cannot meet (tests/test_seeds.py)
    made = []
    for path in sorted(PKG.rglob("*.py")):
        if path == PKG / "run" / "seeds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and any(k.arg == "spawn_key" for k in node.keywords):
                made.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not made, made
