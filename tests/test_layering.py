"""Import directions between the packages: models -> measurement -> records -> reports / challenge -> CLI.

Every module of ``bench/``, ``models/``, ``reports/`` and ``challenge/`` is parsed with ``ast`` (nothing is
imported), and every ``import`` in it counts, lazy ones inside functions included. The rules:

- the CLI layer (``bench/cli.py``, ``bench/__main__.py``, ``bench/commands/``) is imported by nothing else;
- the rest of ``bench/`` (measurement and records) imports neither ``reports`` nor ``challenge``;
- ``models/`` imports none of ``bench``, ``reports``, ``challenge``, except the edges listed in
  :data:`MODELS_KNOWN_EDGES`, which must stay exactly that list (a new one fails, so does a fixed one
  still listed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "models", "reports", "challenge")
CLI_LAYER = ("bench.cli", "bench.__main__", "bench.commands")

#: Imports from models/ into the other packages that exist today; each is a known debt, not a permission.
MODELS_KNOWN_EDGES = {
    ("models.bicubic", "bench.imresize"),  # the bicubic baseline upscales with the MATLAB imresize port
    ("models.refs", "challenge.manifest"),  # refusing a submission reference reads its manifest
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved, lazy ones included)."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            # "from pkg import mod" imports the sub-module pkg.mod; "from mod import name" imports mod
            subs = {f"{base}.{alias.name}" for alias in node.names}
            modules = {m for m in subs if _is_module(m)}
            found.update(modules if modules == subs else modules | {base})
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            graph[_module_name(path)] = {m for m in _imports(path) if m.split(".")[0] in PACKAGES}
    return graph


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _graph()


def test_the_scan_sees_the_packages(graph: dict[str, set[str]]) -> None:
    assert {"bench.cli", "bench.commands.bench", "bench.runtime.measure", "models.registry",
            "reports.loader", "challenge.runner"} <= set(graph)
    assert "bench.runtime.measure" in graph["bench.runtime"]  # relative imports resolve to absolute names


def test_nothing_imports_the_cli_layer(graph: dict[str, set[str]]) -> None:
    bad = sorted(f"{mod} imports {dep}" for mod, deps in graph.items() if not _within(mod, CLI_LAYER)
                 for dep in deps if _within(dep, CLI_LAYER))
    assert not bad, "only the CLI layer may import the CLI layer:\n" + "\n".join(bad)


def test_bench_core_imports_no_reports_or_challenge(graph: dict[str, set[str]]) -> None:
    bad = sorted(f"{mod} imports {dep}" for mod, deps in graph.items()
                 if _within(mod, ("bench",)) and not _within(mod, CLI_LAYER)
                 for dep in deps if _within(dep, ("reports", "challenge")))
    assert not bad, ("measurement and records come before reports and challenge; move the code that needs them "
                     "into the CLI layer (bench/commands/):\n" + "\n".join(bad))


def test_models_import_nothing_of_the_other_packages(graph: dict[str, set[str]]) -> None:
    edges = {(mod, dep) for mod, deps in graph.items() if _within(mod, ("models",))
             for dep in deps if not _within(dep, ("models",))}
    assert edges == MODELS_KNOWN_EDGES, (
        f"new: {sorted(edges - MODELS_KNOWN_EDGES)}; no longer there (remove from the list): "
        f"{sorted(MODELS_KNOWN_EDGES - edges)}")
