"""Find the budget file: an explicit path, ``[tool.perfbudget] budget_file``, or ``perfbudget.yaml``."""

from __future__ import annotations

import os
from pathlib import Path

from perfbudget.budgets.loader import load_budgets
from perfbudget.budgets.model import BudgetError, Budgets

DEFAULT_NAMES = ("perfbudget.yaml", "perfbudget.yml")


def find_budget_file(rootdir: Path, explicit: str | None = None) -> Path | None:
    """The budget file to use, or None when the project has none (no limits).

    An explicit path (``--perf-budget-file``, ini, ``--budgets``) or one named in
    pyproject.toml must exist: a typo there must not silently drop every limit.
    Whatever is there under the name is returned, a directory or a FIFO
    included, for reading to refuse by name: a perfbudget.yaml that is no
    file must not silently mean no budgets either.
    """
    if explicit:
        if "\x00" in explicit:  # possible from an ini file; the message would carry the raw NUL
            raise BudgetError(f"{explicit!r}: not a file name, it contains a NUL byte (given with --perf-budget-file or perf_budget_file)")
        path = Path(explicit)
        path = path if path.is_absolute() else rootdir / path
        if not os.path.lexists(path):
            raise BudgetError(f"{path}: budget file not found (given with --perf-budget-file or perf_budget_file)")
        return path
    configured = _from_pyproject(rootdir / "pyproject.toml")
    if configured is not None:
        return configured
    for name in DEFAULT_NAMES:
        if os.path.lexists(rootdir / name):
            return rootdir / name
    return None


def _from_pyproject(pyproject: Path) -> Path | None:
    if not pyproject.is_file():
        return None
    from perfbudget.run.toml import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BudgetError(f"{pyproject}: cannot read [tool.perfbudget] ({exc})") from exc
    except RecursionError as exc:  # tomllib has no nesting limit of its own
        raise BudgetError(f"{pyproject}: cannot read [tool.perfbudget] (nested too deeply)") from exc
    tool = data.get("tool")
    section = tool.get("perfbudget") if isinstance(tool, dict) else None  # ``tool = 1`` is valid TOML
    value = section.get("budget_file") if isinstance(section, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise BudgetError(f"{pyproject}: [tool.perfbudget] budget_file must be a path, got {value!r}")
    path = pyproject.parent / value
    if not os.path.lexists(path):
        raise BudgetError(f"{pyproject}: [tool.perfbudget] budget_file = {value!r}: {path} not found")
    return path


def load_project_budgets(rootdir: Path, explicit: str | None = None) -> Budgets:
    """The project's budgets (none: no limits), with messages naming the file as users know it."""
    path = find_budget_file(rootdir, explicit)
    if path is None:
        return Budgets()
    try:
        name = str(path.resolve().relative_to(rootdir.resolve()))
    except ValueError:
        name = str(path)
    return load_budgets(path, name)
