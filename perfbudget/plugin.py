"""pytest plugin: ``pytest --perf-budget`` records performance facts per test and URL.

This is the ``pytest11`` entry point, so it imports nothing heavy: the
module-level hooks add the options and the ``perf_budget`` marker and, only
when ``--perf-budget`` is on, register the recording session
(``recorder_plugin.PerfBudgetPlugin``) that does the work, and remove it
at unconfigure.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perfbudget.recorder_plugin import PerfBudgetPlugin

REPORT_FORMATS = ("markdown", "html", "json")
DEFAULT_OUTPUT = Path(".perfbudget") / "results.json"
MARKER_HELP = (
    "perf_budget(**limits): performance budget of this test, overriding the budget file, "
    "e.g. @pytest.mark.perf_budget(queries=5, duration='200ms')"
)

_PLUGIN_KEY: pytest.StashKey[PerfBudgetPlugin] = pytest.StashKey()


@dataclass(frozen=True)
class PerfOptions:
    """The plugin's options, resolved: paths absolute, formats validated."""

    output: Path
    budget_file: str | None
    baseline: str | None
    report_only: bool
    report_formats: tuple[str, ...]
    memory: bool
    sql_params: bool


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbudget", "performance budgets (perfbudget)")
    group.addoption(
        "--perf-budget",
        action="store_true",
        default=False,
        help="record performance facts (queries, time, network...) per test and URL",
    )
    group.addoption(
        "--perf-output",
        metavar="PATH",
        default=None,
        help=f"results file (default: {DEFAULT_OUTPUT} under the rootdir; ini: perf_budget_output)",
    )
    group.addoption(
        "--perf-budget-file",
        metavar="PATH",
        default=None,
        help="budget file (default: perfbudget.yaml or [tool.perfbudget]; ini: perf_budget_file)",
    )
    group.addoption(
        "--perf-baseline",
        metavar="PATH",
        default=None,
        help="results file or directory of past results to compare with",
    )
    group.addoption(
        "--perf-budget-report-only",
        action="store_true",
        default=False,
        help="report budget violations and regressions without failing the run",
    )
    group.addoption(
        "--perf-report",
        metavar="FORMATS",
        default=None,
        help=f"also write reports next to the results: comma list of {', '.join(REPORT_FORMATS)} "
        "(ini: perf_budget_report)",
    )
    group.addoption(
        "--perf-memory",
        action="store_true",
        default=False,
        help="record peak Python memory per test with tracemalloc (slows allocation-heavy tests; "
        "ini: perf_budget_memory)",
    )
    group.addoption(
        "--perf-sql-params",
        action="store_true",
        default=False,
        help="store SQL parameter values in the results (they may hold personal data)",
    )
    parser.addini("perf_budget_output", "perfbudget results file, relative to the rootdir", default="")
    parser.addini("perf_budget_file", "perfbudget budget file, relative to the rootdir", default="")
    parser.addini("perf_budget_report", "perfbudget report formats (markdown,html,json)", default="")
    parser.addini("perf_budget_memory", "record peak memory per test (tracemalloc)", type="bool", default=False)


def _resolve(config: pytest.Config, option: str | None, ini_value: str) -> Path | None:
    """A command-line path is relative to the invocation directory, an ini path to the rootdir."""
    if option:
        return config.invocation_params.dir / option
    if ini_value:
        return config.rootpath / ini_value
    return None


def _report_formats(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown:
        raise pytest.UsageError(
            f"--perf-report: unknown format {unknown[0]!r}; choose from {', '.join(REPORT_FORMATS)}"
        )
    return formats


def read_options(config: pytest.Config) -> PerfOptions:
    """Options from the command line, falling back to the ini file; UsageError on a mistake."""
    output = _resolve(config, config.getoption("perf_output"), str(config.getini("perf_budget_output")))
    budget_file = _resolve(config, config.getoption("perf_budget_file"), str(config.getini("perf_budget_file")))
    baseline = _resolve(config, config.getoption("perf_baseline"), "")  # no ini setting
    return PerfOptions(
        output=output or config.rootpath / DEFAULT_OUTPUT,
        budget_file=str(budget_file) if budget_file else None,
        baseline=str(baseline) if baseline else None,
        report_only=bool(config.getoption("perf_budget_report_only")),
        report_formats=_report_formats(config.getoption("perf_report") or str(config.getini("perf_budget_report"))),
        memory=bool(config.getoption("perf_memory") or config.getini("perf_budget_memory")),
        sql_params=bool(config.getoption("perf_sql_params")),
    )


PATH_OPTIONS = ("--perf-output", "--perf-budget-file", "--perf-baseline")


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
                found.append(
                    f"perfbudget: write {option}={value} (with '='): pytest chose its rootdir ({rootdir}) "
                    f"before perfbudget was loaded, taking {value} for a test path"
                )
    return found


def check_budget_file(config: pytest.Config, budget_file: str | None) -> None:
    """A broken budget file stops the run before any test runs, naming file, line and key.

    Finding out only after a long run, or judging without the user's limits,
    would both be worse. xdist workers skip it: the controller has checked.
    """
    if hasattr(config, "workerinput"):
        return
    from perfbudget.budgets import BudgetError, load_project_budgets

    try:
        load_project_budgets(config.rootpath, budget_file)
    except BudgetError as exc:
        raise pytest.UsageError(f"perfbudget: {exc}") from exc


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when recording is off, so the marker never warns.
    config.addinivalue_line("markers", MARKER_HELP)
    if not config.getoption("perf_budget"):
        return
    for message in rootdir_warnings(config.invocation_params.args, config.invocation_params.dir, config.rootpath):
        config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)
    from perfbudget.recorder_plugin import PerfBudgetPlugin

    options = read_options(config)
    check_budget_file(config, options.budget_file)
    plugin = PerfBudgetPlugin(config, options)
    config.stash[_PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "perfbudget-recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN_KEY, None)
    if plugin is not None:
        plugin.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[_PLUGIN_KEY]
