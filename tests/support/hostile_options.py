"""Bad ``--perf-*`` values, results paths and ``PERFBUDGET_*`` variables, as one table for both test runners (issue 19).

``tests/test_hostile_plugin.py`` runs each case under ``pytest --perf-budget``
and ``tests/test_hostile_django_runner.py`` under ``manage.py test`` with
``PerfBudgetRunner``: both front ends must say the same one line and follow
the same policy. A usage mistake stops the run before any test, with the
front end's usage-error code (pytest 4, ``manage.py test`` 2, as argparse
exits for its own options); a results file that cannot be written is one
warning, and the tests run unrecorded with their own exit code (0 here).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PYTEST_USAGE = int(pytest.ExitCode.USAGE_ERROR)  # 4
DJANGO_USAGE = 2  # argparse's, as manage.py test exits for a bad option of its own

# What a terminal or log viewer acts on, or cannot print; a line break is allowed only between lines.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


@dataclass(frozen=True)
class Case:
    """One hostile input; ``setup(directory)`` makes what it needs there and returns the option's value."""

    fragment: str  # the one line saying what was wrong holds this
    usage: bool = True  # a usage error; False: one warning, the tests run and pass
    args: tuple[str, ...] = ()  # with {path} filled in from setup
    env: dict[str, str] = field(default_factory=dict)
    ini: str = ""  # the pytest plugin's ini line ([pytest] section)
    setup: Callable[[Path], str] | None = None
    mentions: int = 1  # lines that say it: a baseline's problem is on the verdict line too, never a silent green
    pytest_only: bool = False  # --perf-repeat, ini keys: the runner has neither
    django_only: bool = False  # PERFBUDGET_OUTPUT & co.: the plugin takes them from its command line


def _number(option: str, value: str, fragment: str, **extra: bool) -> Case:
    return Case(fragment, args=(f"--perf-{option}={value}",), **extra)


def _digits(count: int) -> str:
    return "1" + "0" * (count - 1)


# --- numbers ----------------------------------------------------------------------------------

NUMBERS: dict[str, Case] = {
    "confirm -1": _number("confirm", "-1", "--perf-confirm = -1: expected 0 to 100"),
    "confirm 101": _number("confirm", "101", "--perf-confirm = 101: expected 0 to 100"),
    "confirm 20 digits": _number("confirm", "9" * 20, f"--perf-confirm = {'9' * 20}: expected 0 to 100"),
    "confirm 309 digits": _number("confirm", _digits(309), "--perf-confirm = 100000000000000000...0000000000000000000: expected 0 to 100"),
    "confirm 310 digits": _number("confirm", _digits(310), "0000000000000000000: expected 0 to 100"),
    "confirm 4300 digits": _number("confirm", _digits(4300), "0000000000000000000: expected 0 to 100"),
    "confirm 4301 digits": _number("confirm", _digits(4301), "argument --perf-confirm: invalid int value"),  # int() refuses
    "confirm negative huge": _number(
        "confirm", "-" + _digits(309), "--perf-confirm = -10000000000000000...0000000000000000000: expected 0 to 100"
    ),
    "confirm not a number": _number("confirm", "many", "argument --perf-confirm: invalid int value: 'many'"),
    "confirm a fraction": _number("confirm", "1.5", "argument --perf-confirm: invalid int value: '1.5'"),
    "confirm 1e3": _number("confirm", "1e3", "argument --perf-confirm: invalid int value: '1e3'"),
    "confirm NaN": _number("confirm", "nan", "argument --perf-confirm: invalid int value: 'nan'"),
    "confirm empty": _number("confirm", "", "argument --perf-confirm: invalid int value: ''"),
    "confirm-budget NaN": _number("confirm-budget", "nan", "--perf-confirm-budget = nan: expected more than 0 and at most 10"),
    "confirm-budget inf": _number("confirm-budget", "inf", "--perf-confirm-budget = inf: expected more than 0 and at most 10"),
    "confirm-budget -inf": _number("confirm-budget", "-inf", "--perf-confirm-budget = -inf: expected"),
    "confirm-budget 1e309": _number("confirm-budget", "1e309", "--perf-confirm-budget = inf: expected"),  # float() makes it inf
    "confirm-budget 309 digits": _number("confirm-budget", _digits(309), "--perf-confirm-budget = 1e+308: expected"),
    "confirm-budget 310 digits": _number("confirm-budget", _digits(310), "--perf-confirm-budget = inf: expected"),
    "confirm-budget 0": _number("confirm-budget", "0", "--perf-confirm-budget = 0.0: expected more than 0"),
    "confirm-budget -1": _number("confirm-budget", "-1", "--perf-confirm-budget = -1.0: expected more than 0"),
    "confirm-budget 10.5": _number("confirm-budget", "10.5", "--perf-confirm-budget = 10.5: expected more than 0 and at most 10"),
    "confirm-budget not a number": _number("confirm-budget", "most", "argument --perf-confirm-budget: invalid float value: 'most'"),
    "repeat 0": _number("repeat", "0", "--perf-repeat = 0: expected 1 to 1000", pytest_only=True),
    "repeat -5": _number("repeat", "-5", "--perf-repeat = -5: expected 1 to 1000", pytest_only=True),
    "repeat 1001": _number("repeat", "1001", "--perf-repeat = 1001: expected 1 to 1000", pytest_only=True),
    "repeat 20 digits": _number("repeat", "9" * 20, f"--perf-repeat = {'9' * 20}: expected 1 to 1000", pytest_only=True),
    "repeat 4301 digits": _number("repeat", _digits(4301), "argument --perf-repeat: invalid int value", pytest_only=True),
    "repeat 1e9": _number("repeat", "1e9", "argument --perf-repeat: invalid int value: '1e9'", pytest_only=True),
    "ini confirm not a number": Case(
        "ini perf_budget_confirm = 'many': expected a whole number", ini="perf_budget_confirm = many", pytest_only=True
    ),
    "ini confirm 4301 digits": Case(
        "ini perf_budget_confirm = '100000000000...0000000000000': expected a whole number",
        ini=f"perf_budget_confirm = {_digits(4301)}",
        pytest_only=True,
    ),
    "ini confirm -1": Case("--perf-confirm = -1: expected 0 to 100", ini="perf_budget_confirm = -1", pytest_only=True),
    "report unknown": Case("--perf-report: unknown format 'pdf'; choose from markdown, html, json", args=("--perf-report=html,pdf",)),
    "report escape code": Case("--perf-report: unknown format '\\x1b[2j'", args=("--perf-report=\x1b[2J",)),
    "baseline missing": Case("no-such.ndjson: baseline not found", usage=False, args=("--perf-baseline=no-such.ndjson",)),
    "budget file missing": Case("budget file not found", args=("--perf-budget-file=no-such.yaml",)),
    "budget file name with escape codes": Case(
        "no\\x1b]0;pwned\\x07such.yaml: budget file not found", args=("--perf-budget-file=no\x1b]0;pwned\x07such.yaml",)
    ),
}


# --- results paths ------------------------------------------------------------------------------


def _symlink_elsewhere(directory: Path) -> str:
    target = directory / "elsewhere" / "precious.txt"
    target.parent.mkdir()
    target.write_text("keep me\n", encoding="utf-8")
    (directory / "results.ndjson").symlink_to(target)
    return str(directory / "results.ndjson")


def _dangling_symlink(directory: Path) -> str:
    (directory / "results.ndjson").symlink_to(directory / "not-yet.txt")
    return str(directory / "results.ndjson")


def _symlink_loop(directory: Path) -> str:
    (directory / "loop").symlink_to(directory / "loop")
    return str(directory / "loop")


def _directory(name: str) -> Callable[[Path], str]:
    def setup(directory: Path) -> str:
        (directory / name).mkdir()
        return str(directory / name)

    return setup


def _fifo(directory: Path) -> str:
    os.mkfifo(directory / "results.fifo")  # opening it for writing would block until a reader comes
    return str(directory / "results.fifo")


def _read_only(directory: Path) -> str:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory (the /sys case stands in)")
    (directory / "ro").mkdir()
    (directory / "ro").chmod(0o555)
    return str(directory / "ro" / "results.ndjson")


def _file_in_the_way(directory: Path) -> str:
    (directory / "blocker").write_text("a file, not a directory\n", encoding="utf-8")
    return str(directory / "blocker" / "results.ndjson")


def _existing(path: str) -> Callable[[Path], str]:
    def setup(directory: Path) -> str:
        if not os.path.exists(os.path.dirname(path) or path):
            pytest.skip(f"needs {path}")
        return path

    return setup


def _long(directory: Path) -> str:
    return str(directory / ("x" * 100_000))  # one argument may be 128 KiB long; no file name can be


REFUSED = "refusing to replace it with results: it is"


def _output(fragment: str, setup: Callable[[Path], str], usage: bool = True) -> Case:
    return Case(fragment, usage=usage, args=("--perf-output={path}",), setup=setup)


OUTPUTS: dict[str, Case] = {
    "/dev/null": _output(f"--perf-output /dev/null: {REFUSED} not a regular file", _existing("/dev/null")),
    "/dev/full": _output(f"--perf-output /dev/full: {REFUSED} not a regular file", _existing("/dev/full")),
    "symlink to elsewhere": _output(f"results.ndjson: {REFUSED} a symbolic link", _symlink_elsewhere),
    "dangling symlink": _output(f"results.ndjson: {REFUSED} a symbolic link", _dangling_symlink),
    "symlink loop": _output(f"loop: {REFUSED} a symbolic link", _symlink_loop),
    "directory": _output(f"results: {REFUSED} a directory", _directory("results")),
    "directory named with escape codes": _output(f"out\\x1b[2J\\u202e: {REFUSED} a directory", _directory("out\x1b[2J\u202e")),
    "FIFO": _output(f"results.fifo: {REFUSED} not a regular file", _fifo),
    "read-only directory": _output("results.ndjson: cannot write the results file (Permission denied)", _read_only, usage=False),
    "read-only file system": _output(
        "/sys/perfbudget.ndjson: cannot write the results file (Permission denied)", _existing("/sys/perfbudget.ndjson"), usage=False
    ),
    "in /proc": _output(
        "/proc/perfbudget.ndjson: cannot write the results file (No such file or directory)",
        _existing("/proc/perfbudget.ndjson"),
        usage=False,
    ),
    "a file in the way": _output("cannot create its directory", _file_in_the_way, usage=False),
    "100,000 characters": _output("cannot write the results file (File name too long)", _long, usage=False),
    "ini path with a NUL byte": Case(
        "out\\x00put.ndjson': not a file name: it holds a NUL byte", ini="perf_budget_output = out\x00put.ndjson", pytest_only=True
    ),
}


# --- the environment ------------------------------------------------------------------------------

ENVIRONMENT: dict[str, Case] = {
    "PERFBUDGET_PROJECT with escape codes": Case(
        "is from project 'demo', not '\\x1b]0;pwned\\x07\\u202e'",
        usage=False,
        mentions=2,
        env={"PERFBUDGET_PROJECT": "\x1b]0;pwned\x07\u202e"},
        args=("--perf-baseline={baseline}",),
    ),
    "PERFBUDGET_OUTPUT a device": Case(
        f"--perf-output /dev/null: {REFUSED} not a regular file", env={"PERFBUDGET_OUTPUT": "/dev/null"}, django_only=True
    ),
    "PERFBUDGET_OUTPUT a directory": Case(f"--perf-output .: {REFUSED} a directory", env={"PERFBUDGET_OUTPUT": "."}, django_only=True),
    "PERFBUDGET_OUTPUT unwritable": Case(
        "/sys/perfbudget.ndjson: cannot write the results file",
        usage=False,
        env={"PERFBUDGET_OUTPUT": "/sys/perfbudget.ndjson"},
        django_only=True,
    ),
    "a device under --parallel": Case(
        f"--perf-output /dev/null: {REFUSED} not a regular file", args=("--perf-output=/dev/null", "--parallel=2"), django_only=True
    ),
    "unwritable under --parallel": Case(
        "/sys/perfbudget.ndjson: cannot write the results file",
        usage=False,
        args=("--perf-output=/sys/perfbudget.ndjson", "--parallel=2"),
        django_only=True,
    ),
    "PERFBUDGET_REPORT unknown": Case("--perf-report: unknown format 'pdf'", env={"PERFBUDGET_REPORT": "pdf"}, django_only=True),
    "PERFBUDGET_BUDGET_FILE missing": Case(
        "no-such.yaml: budget file not found", env={"PERFBUDGET_BUDGET_FILE": "no-such.yaml"}, django_only=True
    ),
    "PERFBUDGET_BASELINE missing": Case(
        "no-such.ndjson: baseline not found", usage=False, env={"PERFBUDGET_BASELINE": "no-such.ndjson"}, django_only=True
    ),
}

CASES: dict[str, Case] = {**NUMBERS, **OUTPUTS, **ENVIRONMENT}


def lines_saying(output: str, fragment: str) -> list[str]:
    return [line for line in output.splitlines() if fragment in line]
