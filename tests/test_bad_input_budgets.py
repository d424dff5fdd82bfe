"""Bad budget files, as a table: each is one BudgetError naming file:line and the key (issue 8).

Before, a NaN limit silently switched its budget off (``value > nan`` is
never true), an infinite regression threshold silently switched regression
checks off, and huge integers, deep nesting, NUL bytes and unknown tags
escaped as tracebacks (or, with libyaml, crashed the interpreter).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.budgets import BudgetError, find_budget_file, load_budgets, parse_marker
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of

NON_FINITE = [
    pytest.param("defaults:\n  tests:\n    queries: .nan\n", 3, "queries", id="NaN limit"),
    pytest.param("tests:\n  - match: a\n    duration: .NaN\n", 3, "duration", id="NaN limit in a rule"),
    pytest.param("urls:\n  - match: /a\n    queries: .inf\n", 3, "queries", id="inf limit"),
    pytest.param("defaults:\n  urls:\n    duration: -.inf\n", 3, "duration", id="-inf limit"),
    pytest.param("defaults:\n  tests:\n    peak_memory: 1.0e+999\n", 3, "peak_memory", id="1e999 limit"),
    pytest.param(f"defaults:\n  tests:\n    duration: {'9' * 400}ms\n", 3, "duration", id="inf as a quantity"),
    pytest.param("regression:\n  time: {relative: .nan}\n", 2, "regression.time.relative", id="NaN relative"),
    pytest.param("regression:\n  time:\n    relative: nan%\n", 3, "regression.time.relative", id="nan% relative"),
    pytest.param("regression:\n  queries:\n    relative: .inf\n", 3, "regression.queries.relative", id="inf relative"),
    pytest.param("regression:\n  time:\n    relative: inf%\n", 3, "regression.time.relative", id="inf% relative"),
    pytest.param("regression:\n  time:\n    relative: 1e999%\n", 3, "regression.time.relative", id="1e999% relative"),
    pytest.param("regression:\n  time:\n    max_increase: .nan\n", 3, "regression.time.max_increase", id="NaN max_increase"),
    pytest.param("regression:\n  bytes:\n    floor: .inf\n", 3, "regression.bytes.floor", id="inf floor"),
]
HUGE = [
    pytest.param(f"defaults:\n  tests:\n    queries: {'9' * 5000}\n", 3, "queries", id="5000-digit limit"),
    pytest.param(f"defaults:\n  tests:\n    queries: {'9' * 1000}\n", 3, "queries", id="1000-digit limit"),
    pytest.param(f"defaults:\n  tests:\n    queries: {2**63}\n", 3, "queries", id="limit of 2**63"),
    pytest.param(f"tests:\n  - match: a\n    duration: '{'9' * 5000}ms'\n", 3, "duration", id="5000-digit quantity"),
    pytest.param(f"version: {'9' * 5000}\n", 1, "version", id="5000-digit version"),
    pytest.param(f"regression:\n  time:\n    relative: {'9' * 1000}\n", 3, "regression.time.relative", id="1000-digit relative"),
    pytest.param(f"regression:\n  queries:\n    max_increase: {2**64}\n", 3, "regression.queries.max_increase", id="max_increase of 2**64"),
]
DEEP = [
    pytest.param("defaults:\n  tests:\n    queries: " + "[" * 100_000 + "]" * 100_000 + "\n", 3, "nest", id="100,000 nested lists"),
    pytest.param("tests: " + "{a: " * 100_000 + "}" * 100_000 + "\n", 1, "nested", id="100,000 nested mappings"),
    pytest.param("ignore:\n  " + "- " * 100_000 + "x\n", 2, "nested", id="100,000 nested block lists"),
]
NUL = [
    pytest.param("tests:\n  - match: a\x00b\n", 2, "NUL", id="raw NUL in a value"),
    pytest.param("version: 1\n# a comment\x00\n", 2, "NUL", id="raw NUL in a comment"),
    pytest.param('tests:\n  - match: "a\\0b"\n    queries: 1\n', 2, "tests[1].match", id="escaped NUL in a pattern"),
    pytest.param('ignore: ["a\\u0000"]\n', 1, "ignore", id="escaped NUL in a glob"),
    pytest.param('defaults:\n  tests:\n    "queries\\0": 1\n', 3, "defaults.tests", id="escaped NUL in a key"),
    pytest.param('urls:\n  - match: /a\n    method: "GET\\0"\n', 3, "urls[1].method", id="escaped NUL in a method"),
]
TAGS = [
    pytest.param("defaults:\n  tests:\n    queries: !!python/object:os.system 3\n", 3, "'!!python/object:os.system'", id="!!python/object"),
    pytest.param("tests:\n  - match: !!python/name:os.system a\n", 2, "'!!python/name:os.system'", id="!!python/name"),
    pytest.param("defaults:\n  tests:\n    queries: !custom 3\n", 3, "'!custom'", id="!custom on a value"),
    pytest.param("defaults: !custom\n  tests:\n    queries: 1\n", 1, "'!custom'", id="!custom on a mapping"),
    pytest.param("tests: !custom\n  - match: a\n", 1, "'!custom'", id="!custom on a list"),
    pytest.param("--- !custom\nversion: 1\n", 1, "'!custom'", id="!custom on the document"),
    pytest.param("defaults:\n  !custom tests:\n    queries: 1\n", 2, "'!custom'", id="!custom on a key"),
    pytest.param("tests:\n  - match: !!set {a}\n", 2, "'!!set'", id="!!set"),
    pytest.param("defaults:\n  tests:\n    queries: !!int lots\n", 3, "defaults.tests.queries", id="!!int on a word"),
    pytest.param("defaults:\n  tests:\n    queries: !!float lots\n", 3, "defaults.tests.queries", id="!!float on a word"),
    pytest.param("regression:\n  time:\n    confirm: !!bool maybe\n", 3, "regression.time.confirm", id="!!bool on a word"),
    pytest.param("tests:\n  - match: !!timestamp soon\n", 2, "tests[1].match", id="!!timestamp on a word"),
    pytest.param("tests:\n  - match: !!binary '%%'\n", 2, "tests[1].match", id="!!binary on a word"),
    pytest.param("defaults:\n  tests:\n    <<: {queries: 1}\n", 3, "'<<'", id="merge key"),
]
# Types the loader already refused with file:line and key: kept here so that the table covers every family.
WRONG_TYPES = [
    pytest.param("regression:\n  time: {relative: true}\n", 2, "regression.time.relative", id="bool relative"),
    pytest.param("tests:\n  - match: a\n    queries: 2024-01-01\n", 3, "queries", id="date limit"),
    pytest.param("version: {a: 1}\n", 1, "version", id="mapping version"),
    pytest.param("regression:\n  time: {confirm: 1}\n", 2, "regression.time.confirm", id="number for a flag"),
    pytest.param("fail_on: {over_budget: 1}\n", 1, "fail_on", id="mapping fail_on"),
]


@pytest.mark.parametrize(("text", "line", "names"), NON_FINITE + HUGE + DEEP + NUL + TAGS + WRONG_TYPES)
def test_a_bad_budget_file_is_one_error_naming_file_line_and_key(tmp_path: Path, text: str, line: int, names: str) -> None:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(BudgetError) as info:  # any other exception fails the test
        load_budgets(path)
    message = str(info.value)
    assert "\n" not in message and "\x00" not in message, message
    assert message.startswith(f"{path}:{line}:") and names in message, message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(math.nan, "expected a finite number", id="NaN"),
        pytest.param(math.inf, "expected a finite number", id="inf"),
        pytest.param(10**400, "out of range", id="10**400"),  # float() of it overflows
        pytest.param(10**5000, "out of range", id="10**5000"),  # str() of it raises
        pytest.param(2**63, "out of range", id="2**63"),
    ],
)
def test_a_bad_marker_limit_is_one_error_naming_the_test_and_key(value: float, problem: str) -> None:
    with pytest.raises(BudgetError) as info:
        parse_marker({"queries": value}, "tests/test_a.py:3")
    message = str(info.value)
    assert message.startswith("tests/test_a.py:3: @pytest.mark.perf_budget: queries: ") and problem in message, message


@pytest.mark.parametrize(
    ("pyproject", "names"),
    [
        pytest.param(
            '[tool.perfbudget]\nbudget_file = "a\\u0000b"\n', "budget_file must be a path, got 'a\\x00b'", id="NUL in budget_file"
        ),
        pytest.param("[tool.perfbudget]\nbudget_file = nan\n", "budget_file must be a path, got nan", id="NaN budget_file"),
        pytest.param("a = " + "[" * 100_000 + "]" * 100_000 + "\n", "[tool.perfbudget] (nested too deeply)", id="deep nesting"),
    ],
)
def test_a_bad_pyproject_is_one_error_naming_it(tmp_path: Path, pyproject: str, names: str) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    with pytest.raises(BudgetError) as info:
        find_budget_file(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: ") and names in message and "\x00" not in message, message


def test_a_pyproject_whose_tool_is_not_a_table_names_no_budget_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n", encoding="utf-8")  # valid TOML, nothing for perfbudget
    assert find_budget_file(tmp_path) is None


def test_a_nul_in_an_explicit_budget_file_name_is_named() -> None:
    with pytest.raises(BudgetError, match=r"^'a\\x00b': not a file name, it contains a NUL byte"):
        find_budget_file(Path("."), "a\x00b")


def test_the_cli_prints_the_message_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    budgets = tmp_path / "perfbudget.yaml"
    budgets.write_text("defaults:\n  tests:\n    queries: !!python/object:os.system 3\n", encoding="utf-8")
    results = write_run(run_of(record(queries=2)), tmp_path / "results.ndjson")
    assert cli.main(["compare", str(results), "--budgets", str(budgets)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"perfbudget compare: {budgets}:3: ") and err.count("\n") == 1 and "Traceback" not in err


def test_the_plugin_stops_before_any_test_naming_file_line_and_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", perfbudget="defaults:\n  tests:\n    queries: .nan\n")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*perfbudget.yaml:3: defaults.tests: queries: expected a finite number, got nan*"])
