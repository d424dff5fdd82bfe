"""Loading perfbudget.yaml: every key, and every bad input named by file:line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from perfbudget.budgets import BudgetError, find_budget_file, load_budgets, parse_budgets
from perfbudget.compare.verdicts import Status
from tests.support.compare import write_budgets

FULL = """\
version: 1
defaults:
  tests:
    queries: 20
    duration: 1.5s
  urls:
    queries: 10
tests:
  - match: "tests/api/*"
    queries: 5
    peak_memory: 24MB
urls:
  - match: "/api/*"
    method: post
    queries.insert: 2
regression:
  time: {relative: 30%, floor: 20ms}
  queries: {max_increase: 1}
  cpu_time: false
fail_on: [over_budget]
ignore: ["tests/slow/*"]
"""


def test_every_key_is_read_in_storage_units() -> None:
    budgets = parse_budgets(FULL, "perfbudget.yaml")
    assert budgets.test_defaults["queries"].value == 20
    assert budgets.test_defaults["duration"].value == 1500.0
    assert budgets.test_defaults["duration"].source == "defaults.tests in perfbudget.yaml:3"
    assert budgets.url_defaults["queries"].value == 10
    rule = budgets.test_rules[0]
    assert (rule.match, rule.index, rule.line) == ("tests/api/*", 1, 9)
    assert rule.limits["peak_memory"].value == 24_000_000
    assert budgets.url_rules[0].method == "POST"
    assert budgets.url_rules[0].limits["queries.insert"].value == 2
    assert budgets.regression["time"].relative == pytest.approx(0.30)
    assert budgets.regression["time"].floor == 20.0
    assert budgets.regression["queries"].floor == 1.0
    assert budgets.regression["cpu_time"].enabled is False
    assert budgets.fail_on == (Status.OVER_BUDGET,)
    assert budgets.ignore == ["tests/slow/*"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tests:\n  - match: a\n    querys: 2\n", "perfbudget.yaml:3: tests[1]: unknown key 'querys'; did you mean 'queries'?"),
        ("defaults:\n  tests:\n    duration: 12kg\n", "perfbudget.yaml:3: defaults.tests: duration: bad unit 'kg'"),
        ("defaults:\n  tests:\n    queries: 2ms\n", "perfbudget.yaml:3: defaults.tests: queries: bad unit 'ms'"),
        ("tests:\n  - match: a\n    queries: -1\n", "perfbudget.yaml:3: tests[1]: queries: limits cannot be negative"),
        ("tests:\n  - match: a\n    queries: [1]\n", "perfbudget.yaml:3: tests[1].queries: expected a single value, got a list"),
        ("tests:\n  - match: a\n    queries: lots\n", "perfbudget.yaml:3: tests[1]: queries: expected a number"),
        ("tests:\n  - queries: 2\n", "perfbudget.yaml:2: tests[1]: missing 'match'"),
        ("tests: 3\n", "perfbudget.yaml:1: tests: expected a list, got a value"),
        ("defaults: [1]\n", "perfbudget.yaml:1: defaults: expected a mapping"),
        ("defualts: {}\n", "perfbudget.yaml:1: top level: unknown key 'defualts'; did you mean 'defaults'?"),
        ("queries: 3\n", "perfbudget.yaml:1: top level: 'queries' is a metric; put limits under 'defaults: tests:'"),
        ("version: 2\n", "perfbudget.yaml:1: version: 2 is not supported"),
        ("fail_on: [regresed]\n", "perfbudget.yaml:1: fail_on: unknown value 'regresed'"),
        ("regression:\n  tiem: {relative: 10%}\n", "perfbudget.yaml:2: regression: unknown key 'tiem'"),
        ("regression:\n  time: {relative: lots}\n", "perfbudget.yaml:2: regression.time.relative: expected a percentage"),
        ("regression:\n  time: {floor: 1, max_increase: 2}\n", "'floor' and 'max_increase' mean the same"),
        ("regression:\n  time: {confirm: maybe}\n", "perfbudget.yaml:2: regression.time.confirm: expected true or false"),
        ("urls:\n  - match: /a\n    method: 'GET /'\n", "perfbudget.yaml:3: urls[1].method: expected an HTTP method"),
        ("tests:\n  - match: a\n    queries: 1\n    queries: 2\n", "perfbudget.yaml:4: tests[1]: key 'queries' appears twice"),
        ("ignore: [1]\n", "perfbudget.yaml:1: ignore: expected a glob"),
    ],
)
def test_bad_input_names_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(BudgetError) as info:
        parse_budgets(text, "perfbudget.yaml")
    assert expected in str(info.value)
    assert info.value.exit_code == 2


def test_malformed_yaml_gives_line_column_and_problem() -> None:
    """The problem in libyaml's words, or in PyYAML's where it was built without it."""
    with pytest.raises(BudgetError, match=r"^perfbudget.yaml:2:16: malformed YAML: mapping values are not allowed (here|in this context)$"):
        parse_budgets("version: 1\ndefaults: tests: 3\n", "perfbudget.yaml")
    with pytest.raises(BudgetError) as info:
        parse_budgets("defaults:\n  tests:\n    queries: [1, 2\n", "perfbudget.yaml")
    assert re.match(r"perfbudget.yaml:4:1: malformed YAML: (did not find )?expected ',' or ']'", str(info.value))
    assert "(while parsing a flow sequence at line 3)" in str(info.value)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_libyaml_parses_and_errors_still_name_the_line() -> None:
    """libyaml's nodes carry marks too; its own composer is not used (it overflows the C stack on deep nesting)."""
    from perfbudget.budgets.loader import _Loader

    assert issubclass(_Loader, yaml.CSafeLoader)
    with pytest.raises(BudgetError, match=r"^perfbudget.yaml:4: tests\[1\]: queries: expected a finite number, got nan$"):
        parse_budgets("version: 1\ntests:\n  - match: a\n    queries: .nan\n", "perfbudget.yaml")


@pytest.mark.parametrize("text", ["", "\n", "# nothing yet\n"])
def test_empty_file_means_no_limits_and_says_so(text: str) -> None:
    budgets = parse_budgets(text, "perfbudget.yaml")
    assert budgets.test_defaults == {} and budgets.test_rules == []
    assert budgets.warnings == ["perfbudget.yaml: the budget file is empty: no limits, built-in regression rules"]


def test_fail_on_none_never_fails() -> None:
    assert parse_budgets("fail_on: none\n").fail_on == ()
    assert parse_budgets("fail_on: []\n").fail_on == ()


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BudgetError, match="budget file not found"):
        load_budgets(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(BudgetError, match=r"bin\.yaml: the budget file is UTF-16 .*; save it as UTF-8"):
        load_budgets(tmp_path / "bin.yaml")


def test_discovery_order(tmp_path: Path) -> None:
    assert find_budget_file(tmp_path) is None
    default = write_budgets(tmp_path, "version: 1\n")
    assert find_budget_file(tmp_path) == default
    (tmp_path / "ci").mkdir()
    custom = write_budgets(tmp_path, "version: 1\n", "ci/budgets.yaml")
    (tmp_path / "pyproject.toml").write_text('[tool.perfbudget]\nbudget_file = "ci/budgets.yaml"\n')
    assert find_budget_file(tmp_path) == custom
    explicit = write_budgets(tmp_path, "version: 1\n", "other.yaml")
    assert find_budget_file(tmp_path, "other.yaml") == explicit


def test_discovery_refuses_named_files_that_do_not_exist(tmp_path: Path) -> None:
    with pytest.raises(BudgetError, match=r"missing\.yaml: budget file not found"):
        find_budget_file(tmp_path, "missing.yaml")
    (tmp_path / "pyproject.toml").write_text('[tool.perfbudget]\nbudget_file = "gone.yaml"\n')
    with pytest.raises(BudgetError, match=r"budget_file = 'gone.yaml'.* not found"):
        find_budget_file(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.perfbudget\n")
    with pytest.raises(BudgetError, match=r"pyproject.toml: cannot read \[tool.perfbudget\]"):
        find_budget_file(tmp_path)
