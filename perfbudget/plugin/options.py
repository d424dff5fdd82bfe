"""The plugin's options: the shared declarations (``perfbudget.config.options``) added to pytest, with pytest's ini fallback.

Imported by the ``pytest11`` module, so it imports only ``perfbudget.config``
(plain declarations) at module level.
"""

from __future__ import annotations

import itertools
import reprlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from perfbudget.config import options as shared
from perfbudget.config.options import PerfOptions

if TYPE_CHECKING:
    from perfbudget.budgets import Budgets

MARKER_HELP = (
    "perf_budget(**limits): performance budget of this test, overriding the budget file, "
    "e.g. @pytest.mark.perf_budget(queries=5, duration='200ms')"
)
# ini key -> the option it stands in for when the command line does not set it.
_INI: dict[str, tuple[shared.Option, str, Literal["string", "bool"]]] = {
    "perf_budget_confirm": (shared.CONFIRM, "perfbudget reruns per timing suspect (0: none)", "string"),
    "perf_budget_output": (shared.OUTPUT, "perfbudget results file, relative to the rootdir", "string"),
    "perf_budget_file": (shared.BUDGET_FILE, "perfbudget budget file, relative to the rootdir", "string"),
    "perf_budget_report": (shared.REPORT, "perfbudget report formats (markdown,html,json)", "string"),
    "perf_budget_memory": (shared.MEMORY, "record peak memory per test (tracemalloc)", "bool"),
}


def add_options(parser: pytest.Parser) -> None:
    """The ``--perf-*`` options and ``perf_budget_*`` ini keys."""
    group = parser.getgroup("perfbudget", "performance budgets (perfbudget)")
    shared.add_options(group.addoption, (*shared.RECORDING, *shared.PYTEST_ONLY))
    for name, (_, help_text, kind) in _INI.items():
        parser.addini(name, help_text, type=kind, default=False if kind == "bool" else "")


def read_options(config: pytest.Config) -> PerfOptions:
    """Options from the command line, falling back to the ini file; UsageError on a mistake.

    A command-line path is relative to the invocation directory, an ini path (and the default) to the rootdir.
    """
    values: dict[str, Any] = {option.dest: config.getoption(option.dest) for option in (*shared.RECORDING, *shared.PYTEST_ONLY)}
    for option in _PATHS:
        if values[option.dest]:
            values[option.dest] = str(config.invocation_params.dir / values[option.dest])
    for name, (option, _, _) in _INI.items():
        ini = config.getini(name)
        if shared.is_unset(values[option.dest]) and ini:
            values[option.dest] = ini if isinstance(ini, bool) else _ini_text(name, option, str(ini).strip())
    try:
        return shared.read_options(values, base=config.rootpath)
    except shared.OptionError as exc:
        raise usage_error(str(exc)) from None


def _ini_text(name: str, option: shared.Option, text: str) -> str:
    """An ini value, checked here where its key can be named (a number's mistake would name the option instead)."""
    if option.type is not None:
        try:
            option.type(text)
        except ValueError:
            raise usage_error(f"perfbudget: ini {name} = {reprlib.repr(text)}: expected a whole number") from None
    return text


def usage_error(message: str) -> pytest.UsageError:
    """pytest's one ``ERROR:`` line; it may quote a path, a value or a budget key, so control characters are shown as escapes."""
    from perfbudget.report.escape import terminal_line

    return pytest.UsageError(terminal_line(message))


_PATHS = (shared.OUTPUT, shared.BUDGET_FILE, shared.BASELINE)
PATH_OPTIONS = tuple(shared.PREFIX + option.name for option in _PATHS)


def rootdir_warnings(args: list[str] | tuple[str, ...], invocation_dir: Path, rootdir: Path) -> list[str]:
    """Path options written with a space whose value pytest may have taken for a test path.

    pytest picks the rootdir (and so the ini file and Django settings) from
    the command line before it loads plugins; it then reads the value of
    ``--perf-baseline /elsewhere/base.json`` as a test path if that path
    exists. One outside the invocation directory can move the rootdir; the
    ``=`` form cannot, and plugins get no earlier hook to fix it.
    """
    found = []
    for option, value in itertools.pairwise(args):
        if option in PATH_OPTIONS:
            path = (invocation_dir / value).resolve()
            if path.exists() and not path.is_relative_to(invocation_dir.resolve()):
                from perfbudget.report.escape import terminal_line

                found.append(
                    terminal_line(
                        f"perfbudget: write {option}={value} (with '='): pytest chose its rootdir ({rootdir}) "
                        f"before perfbudget was loaded, taking {value} for a test path"
                    )
                )
    return found


def check_output(output: Path) -> None:
    """``--perf-output`` must name a regular file or a missing path: checked before any test runs."""
    from perfbudget.run.decode import ResultsError
    from perfbudget.run.write import check_output_path

    try:
        check_output_path(output)
    except ResultsError as exc:
        raise usage_error(f"perfbudget: --perf-output {exc}") from exc


def load_budgets_once(config: pytest.Config, budget_file: str | None) -> Budgets:
    """The run's budgets, read once before any test runs; a broken file stops the run naming file, line and key.

    Finding out only after a long run, or judging without the user's limits,
    would both be worse. xdist workers do not judge, but read the file too
    (quietly: the controller already reported any mistake in it), for what
    their collectors need from it: the ``sql`` section.
    """
    from perfbudget.budgets import BudgetError, Budgets, load_project_budgets

    if hasattr(config, "workerinput"):
        try:
            return load_project_budgets(config.rootpath, budget_file)
        except BudgetError:
            return Budgets()
    try:
        return load_project_budgets(config.rootpath, budget_file)
    except BudgetError as exc:
        raise usage_error(f"perfbudget: {exc}") from exc
