"""The plugin's options: one definition for the command line and the ini file, read once into ``PerfOptions``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perfbudget.budgets import Budgets

REPORT_FORMATS = ("markdown", "html", "json")
DEFAULT_OUTPUT = Path(".perfbudget") / "results.ndjson.gz"
DEFAULT_CONFIRM_ROUNDS = 5
DEFAULT_CONFIRM_BUDGET = 0.75
MARKER_HELP = (
    "perf_budget(**limits): performance budget of this test, overriding the budget file, "
    "e.g. @pytest.mark.perf_budget(queries=5, duration='200ms')"
)


@dataclass(frozen=True)
class PerfOptions:
    """The plugin's options, resolved: paths absolute, formats validated."""

    output: Path = DEFAULT_OUTPUT
    budget_file: str | None = None  # None: perfbudget.yaml / [tool.perfbudget] if present
    baseline: str | None = None  # a results file or a directory of past results
    report_only: bool = False  # never fail the run
    report_formats: tuple[str, ...] = ()  # e.g. ("markdown", "html")
    memory: bool = False
    sql_params: bool = False
    confirm_rounds: int = DEFAULT_CONFIRM_ROUNDS  # reruns of each timing suspect; 0: none
    confirm_budget: float = DEFAULT_CONFIRM_BUDGET  # their time, as a fraction of the run's until then
    repeat: int = 1  # --perf-repeat: record each (matching) test this many times
    repeat_match: str | None = None  # only tests whose node id contains this
    warm_up: bool = True  # warm up each process before its first test is measured


def add_options(parser: pytest.Parser) -> None:
    """The ``--perf-*`` options and ``perf_budget_*`` ini keys."""
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
        help=f"also write reports next to the results: comma list of {', '.join(REPORT_FORMATS)} (ini: perf_budget_report)",
    )
    group.addoption(
        "--perf-memory",
        action="store_true",
        default=False,
        help="record peak Python memory per test with tracemalloc (slows allocation-heavy tests; ini: perf_budget_memory)",
    )
    group.addoption(
        "--perf-sql-params",
        action="store_true",
        default=False,
        help="store SQL parameter values in the results (they may hold personal data)",
    )
    group.addoption(
        "--perf-confirm",
        metavar="ROUNDS",
        type=int,
        default=None,
        help=f"rerun each timing suspect this many rounds after the tests, to confirm it before it fails "
        f"(default {DEFAULT_CONFIRM_ROUNDS}; 0: never rerun, slower times then never fail; ini: perf_budget_confirm)",
    )
    group.addoption(
        "--perf-confirm-budget",
        metavar="FRACTION",
        type=float,
        default=None,
        help=f"time the reruns may take, as a fraction of the run's so far (default {DEFAULT_CONFIRM_BUDGET})",
    )
    group.addoption(
        "--perf-repeat",
        metavar="N",
        type=int,
        default=1,
        help="record every test N times and keep every sample (the outcome reported is the first run's)",
    )
    group.addoption(
        "--perf-repeat-match",
        metavar="TEXT",
        default=None,
        help="with --perf-repeat: only tests whose node id contains TEXT",
    )
    group.addoption(
        "--perf-no-warmup",
        action="store_true",
        default=False,
        help="do not warm up each process (URLconf, template engines, a garbage collection) before its first test",
    )
    parser.addini("perf_budget_confirm", "perfbudget reruns per timing suspect (0: none)", default="")
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
        raise pytest.UsageError(f"--perf-report: unknown format {unknown[0]!r}; choose from {', '.join(REPORT_FORMATS)}")
    return formats


def read_options(config: pytest.Config) -> PerfOptions:
    """Options from the command line, falling back to the ini file; UsageError on a mistake."""
    output = _resolve(config, config.getoption("perf_output"), str(config.getini("perf_budget_output")))
    budget_file = _resolve(config, config.getoption("perf_budget_file"), str(config.getini("perf_budget_file")))
    baseline = _resolve(config, config.getoption("perf_baseline"), "")  # no ini setting
    rounds = config.getoption("perf_confirm")
    if rounds is None:
        rounds = _ini_int(config, "perf_budget_confirm", DEFAULT_CONFIRM_ROUNDS)
    budget = config.getoption("perf_confirm_budget")
    budget = DEFAULT_CONFIRM_BUDGET if budget is None else budget
    repeat = int(config.getoption("perf_repeat"))
    if rounds < 0 or repeat < 1 or not 0 < budget <= 10:
        raise pytest.UsageError("perfbudget: --perf-confirm must be 0 or more, --perf-repeat 1 or more, --perf-confirm-budget in (0, 10]")
    return PerfOptions(
        confirm_rounds=rounds,
        confirm_budget=budget,
        repeat=repeat,
        repeat_match=config.getoption("perf_repeat_match") or None,
        warm_up=not config.getoption("perf_no_warmup"),
        output=output or config.rootpath / DEFAULT_OUTPUT,
        budget_file=str(budget_file) if budget_file else None,
        baseline=str(baseline) if baseline else None,
        report_only=bool(config.getoption("perf_budget_report_only")),
        report_formats=_report_formats(config.getoption("perf_report") or str(config.getini("perf_budget_report"))),
        memory=bool(config.getoption("perf_memory") or config.getini("perf_budget_memory")),
        sql_params=bool(config.getoption("perf_sql_params")),
    )


def _ini_int(config: pytest.Config, name: str, default: int) -> int:
    text = str(config.getini(name)).strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"perfbudget: ini {name} = {text!r}: expected a whole number") from None


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


def check_output(output: Path) -> None:
    """``--perf-output`` must name a regular file or a missing path: checked before any test runs."""
    from perfbudget.run.decode import ResultsError
    from perfbudget.run.write import check_output_path

    try:
        check_output_path(output)
    except ResultsError as exc:
        raise pytest.UsageError(f"perfbudget: --perf-output {exc}") from exc


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
        raise pytest.UsageError(f"perfbudget: {exc}") from exc
