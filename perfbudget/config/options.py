"""The recording and judging options, declared once and added to each front end's parser.

pytest's ``group.addoption`` and argparse's ``add_argument`` take the same
arguments, so one ``add_options(add, OPTIONS)`` serves the pytest plugin,
``PerfBudgetRunner.add_arguments`` and, through ``add_cli_options``, the
CLI's sub-commands and the action's judging step (pytest-benchmark's habit:
options defined once for the plugin and its CLI). Each front end then reads
its values into one ``PerfOptions`` with ``read_options``, the only place
that knows the defaults and the checks, and hands that object around.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfbudget.config.paths import DEFAULT_RESULTS
from perfbudget.errors import PerfBudgetError

REPORT_FORMATS = ("markdown", "html", "json")
DEFAULT_CONFIRM_ROUNDS = 5
DEFAULT_CONFIRM_BUDGET = 0.75
# Upper bounds: no confirmation needs more rounds, nor a sample more repeats, and a count beyond
# 2**63 would make the whole results file unreadable (the reader refuses it as no count it wrote).
MAX_CONFIRM_ROUNDS = 100
MAX_CONFIRM_BUDGET = 10.0
MAX_REPEAT = 1000
PREFIX = "--perf-"  # the pytest plugin's and Django's runner's options; the CLI's have none


class OptionError(PerfBudgetError):
    """An option's value is wrong: the front end turns it into its own usage error."""

    exit_code = 2


@dataclass(frozen=True)
class Option:
    """One option, as every front end that takes it spells it."""

    name: str  # after the prefix: "baseline" is --perf-baseline
    help: str
    metavar: str | None = None
    flag: bool = False  # store_true
    type: Callable[[str], Any] | None = None
    env: str | None = None  # the variable the action sets for any test command (Django's runner reads it)
    cli: tuple[str, ...] = ()  # the CLI's own spellings, kept from before ``--budget-file`` was shared

    @property
    def dest(self) -> str:
        return "perf_" + self.name.replace("-", "_")

    @property
    def cli_dest(self) -> str:
        """The CLI's ``args`` attribute: from its first spelling (``--budgets``: ``args.budgets``)."""
        return (self.cli[0] if self.cli else self.name).lstrip("-").replace("-", "_")


SWITCH = Option("budget", "record performance facts (queries, time, network...) per test and URL", flag=True, env="PERFBUDGET")
OUTPUT = Option("output", f"results file (default: {DEFAULT_RESULTS})", metavar="PATH", env="PERFBUDGET_OUTPUT")
BUDGET_FILE = Option(
    "budget-file",
    "budget file (default: perfbudget.yaml or [tool.perfbudget])",
    metavar="FILE",
    env="PERFBUDGET_BUDGET_FILE",
    cli=("--budgets", "--budget-file"),
)
BASELINE = Option("baseline", "results file, or directory of past results, to compare with", metavar="PATH", env="PERFBUDGET_BASELINE")
REPORT_ONLY = Option(
    "budget-report-only",
    "report budget violations and regressions without failing the run",
    flag=True,
    env="PERFBUDGET_REPORT_ONLY",
    cli=("--report-only",),
)
REPORT = Option(
    "report",
    f"also write reports next to the results: comma list of {', '.join(REPORT_FORMATS)}",
    metavar="FORMATS",
    env="PERFBUDGET_REPORT",
)
MEMORY = Option(
    "memory",
    "record peak Python memory per test with tracemalloc (slows allocation-heavy tests)",
    flag=True,
)
SQL_PARAMS = Option("sql-params", "store SQL parameter values in the results (they may hold personal data)", flag=True)
CONFIRM = Option(
    "confirm",
    f"rerun each timing suspect this many rounds after the tests, to confirm it before it fails "
    f"(default {DEFAULT_CONFIRM_ROUNDS}; 0: never rerun, slower times then never fail)",
    metavar="ROUNDS",
    type=int,
)
CONFIRM_BUDGET = Option(
    "confirm-budget",
    f"time the reruns may take, as a fraction of the run's so far (default {DEFAULT_CONFIRM_BUDGET})",
    metavar="FRACTION",
    type=float,
)
REPEAT = Option(
    "repeat", "record every test N times and keep every sample (the outcome reported is the first run's)", metavar="N", type=int
)
REPEAT_MATCH = Option("repeat-match", "with --perf-repeat: only tests whose node id contains TEXT", metavar="TEXT")
NO_WARMUP = Option(
    "no-warmup",
    "do not warm up each process (URLconf, template engines, a garbage collection) before its first test",
    flag=True,
)

JUDGING = (BUDGET_FILE, BASELINE, REPORT_ONLY)  # every front end, the CLI and the action
RECORDING = (SWITCH, OUTPUT, *JUDGING, REPORT, MEMORY, SQL_PARAMS, CONFIRM, CONFIRM_BUDGET, NO_WARMUP)  # both test runners
PYTEST_ONLY = (REPEAT, REPEAT_MATCH)  # --perf-repeat reruns inside pytest's own protocol


def add_options(add: Callable[..., object], options: Sequence[Option]) -> None:
    """Add ``options`` with ``add`` (pytest's ``group.addoption`` or argparse's ``add_argument``), as ``--perf-NAME``."""
    for option in options:
        add(PREFIX + option.name, **_arguments(option, option.dest))


def add_cli_options(add: Callable[..., object], options: Sequence[Option]) -> None:
    """The same options for the CLI: its own spellings where it has them, no prefix, ``args.<cli_dest>``."""
    for option in options:
        add(*(option.cli or ("--" + option.name,)), **_arguments(option, option.cli_dest))


def _arguments(option: Option, dest: str) -> dict[str, Any]:
    if option.flag:
        return {"action": "store_true", "default": False, "dest": dest, "help": option.help}
    arguments: dict[str, Any] = {"default": None, "dest": dest, "help": option.help, "metavar": option.metavar}
    if option.type is not None:
        arguments["type"] = option.type
    return arguments


@dataclass(frozen=True)
class PerfOptions:
    """The options of one recording run, resolved: paths absolute, formats and numbers checked."""

    output: Path = DEFAULT_RESULTS
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


def read_options(values: Mapping[str, Any], *, base: Path) -> PerfOptions:
    """One ``PerfOptions`` from a front end's values (by ``Option.dest``; None or missing: the default).

    A relative path is taken from ``base`` (the front end makes its own
    relative to where the user meant first: pytest's ini values to the
    rootdir). Raises ``OptionError`` naming the option.
    """

    def value(option: Option) -> Any:
        return values.get(option.dest)

    def path(option: Option) -> str | None:
        text = value(option)
        return str(base / text) if text else None

    rounds = DEFAULT_CONFIRM_ROUNDS if value(CONFIRM) is None else _number(CONFIRM, value(CONFIRM), int)
    budget = DEFAULT_CONFIRM_BUDGET if value(CONFIRM_BUDGET) is None else _number(CONFIRM_BUDGET, value(CONFIRM_BUDGET), float)
    repeat = 1 if value(REPEAT) is None else _number(REPEAT, value(REPEAT), int)
    _check(CONFIRM, rounds, 0 <= rounds <= MAX_CONFIRM_ROUNDS, f"0 to {MAX_CONFIRM_ROUNDS}")
    _check(REPEAT, repeat, 1 <= repeat <= MAX_REPEAT, f"1 to {MAX_REPEAT}")
    _check(CONFIRM_BUDGET, budget, 0 < budget <= MAX_CONFIRM_BUDGET, f"more than 0 and at most {MAX_CONFIRM_BUDGET:g}")  # NaN is neither
    output = value(OUTPUT)
    return PerfOptions(
        output=base / (output or DEFAULT_RESULTS),
        budget_file=path(BUDGET_FILE),
        baseline=path(BASELINE),
        report_only=bool(value(REPORT_ONLY)),
        report_formats=report_formats(value(REPORT) or ""),
        memory=bool(value(MEMORY)),
        sql_params=bool(value(SQL_PARAMS)),
        confirm_rounds=rounds,
        confirm_budget=budget,
        repeat=repeat,
        repeat_match=value(REPEAT_MATCH) or None,
        warm_up=not value(NO_WARMUP),
    )


def from_environment(environ: Mapping[str, str], options: Sequence[Option] = RECORDING) -> dict[str, Any]:
    """The values the environment sets (``PERFBUDGET_OUTPUT``...), by dest: for a runner whose command line the action cannot reach."""
    found: dict[str, Any] = {}
    for option in options:
        text = environ.get(option.env) if option.env else None
        if text is None or not text.strip():
            continue
        found[option.dest] = is_on(text) if option.flag else text
    return found


def is_unset(value: Any) -> bool:
    """Not given on a command line: None, an unset flag (False) or an empty text; 0 is a value (``--perf-confirm 0``)."""
    return value is None or value is False or value == ""


def is_on(text: str | None) -> bool:
    """An environment switch: anything but empty, 0, false, no or off."""
    return (text or "").strip().lower() not in ("", "0", "false", "no", "off")


def report_formats(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown:
        raise OptionError(f"--perf-report: unknown format {unknown[0]!r}; choose from {', '.join(REPORT_FORMATS)}")
    return formats


def _number(option: Option, value: Any, kind: Callable[[Any], Any]) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):  # int() refuses more than 4300 digits with a ValueError too
        raise OptionError(
            f"perfbudget: {PREFIX}{option.name} = {reprlib.repr(value)}: expected a {'whole ' if kind is int else ''}number"
        ) from None


def _check(option: Option, number: float, valid: bool, expected: str) -> None:
    """One line naming the option and its value (a 4000-digit one shortened)."""
    if not valid:
        raise OptionError(f"perfbudget: {PREFIX}{option.name} = {reprlib.repr(number)}: expected {expected}")
