"""The package's layers (../shared/DESIGN.md): nothing imports from a layer above it, and nothing imports in a loop.

Read from the source with ``ast``, lazy imports inside functions included:
a lazy import up a layer is still a dependency up a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "perfbudget"

# Bottom to top. A layer may import its own modules and those of the layers
# below it; packages that share a rank know nothing of each other.
RANKS = {
    "errors": 0,
    "config": 0.5,  # the option declarations and default paths: plain data every front end reads
    "run": 1,
    "collect": 2,
    "budgets": 2,
    "compare": 3,
    "report": 4,
    "github": 5,
    "frontend": 5,  # what every front end shares above the recording: confirming suspects, finishing the run
    "plugin": 6,
    "django": 6,  # Django's test runner: the plugin's counterpart for manage.py test
    "commands": 6,
    "cli": 7,
    "__main__": 8,
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every ``perfbudget.*`` module the file imports, at any depth (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("perfbudget"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("perfbudget"):
                found.update(f"{base}.{alias.name}" for alias in node.names)
                found.add(base)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


MODULES = _modules()


def _resolved(module: str) -> str | None:
    """The module a name belongs to (``perfbudget.run.model.Run`` -> ``perfbudget.run.model``)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def test_every_module_belongs_to_a_layer() -> None:
    """The package root holds only the CLI (and ``python -m``'s entry) and the base exception; everything else sits in its layer."""
    assert {_layer(m) for m in MODULES if _layer(m)} <= set(RANKS)
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py", "cli.py", "errors.py"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_a_layer(module: str) -> None:
    layer = _layer(module)
    if layer is None:
        return  # perfbudget/__init__.py: the version only
    upward = []
    for target in sorted(_imports(module, MODULES[module])):
        resolved = _resolved(target)
        other = _layer(resolved) if resolved else None
        if other is None or other == layer:
            continue
        if RANKS[other] >= RANKS[layer]:
            upward.append(f"{module} imports {resolved} ({other} is not below {layer})")
    assert not upward


def test_no_import_loops_between_layers() -> None:
    """Between packages the graph is acyclic (a loop inside one package would show here as well)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        graph[module] = {r for t in _imports(module, path) if (r := _resolved(t)) and r != module}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for target in sorted(graph[node]):
            if target.startswith(node + ".") or node.startswith(target + "."):
                continue  # a package and its own modules (an __init__ re-exporting)
            if seen.get(target) == 1:
                raise AssertionError(" -> ".join([*path, node, target]))
            if target not in seen:
                visit(target, [*path, node])
        seen[node] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [])


def test_collectors_and_the_data_model_are_free_of_pytest() -> None:
    """collect/ is shared with Django's test runner and the crawler; run/ is read by every command."""
    for module, path in MODULES.items():
        if _layer(module) in ("collect", "run", "budgets", "compare", "report"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names} | {
                node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            }
            assert "pytest" not in names, module


def test_the_pytest11_module_imports_almost_nothing() -> None:
    """``pytest`` loads perfbudget.plugin in every run of every project that has it installed."""
    tree = ast.parse((PACKAGE / "plugin" / "__init__.py").read_text(encoding="utf-8"))
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    modules = {node.module for node in top if isinstance(node, ast.ImportFrom)} | {
        a.name for n in top if isinstance(n, ast.Import) for a in n.names
    }
    assert modules <= {"__future__", "typing", "pytest", "perfbudget.plugin.options"}
    options = ast.parse((PACKAGE / "plugin" / "options.py").read_text(encoding="utf-8"))
    top = {node.module for node in options.body if isinstance(node, ast.ImportFrom)}
    assert {m for m in top if m and m.startswith("perfbudget")} <= {"perfbudget.config", "perfbudget.config.options"}
    for declarations in (PACKAGE / "config").glob("*.py"):  # plain declarations: nothing of the package above them
        tree = ast.parse(declarations.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert {m for m in imported if m and m.startswith("perfbudget")} <= {"perfbudget.config.paths", "perfbudget.errors"}
