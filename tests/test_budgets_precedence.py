"""Which limits apply: defaults < matching rules in file order < the perf_budget marker."""

from __future__ import annotations

import pytest

from perfbudget.budgets import BudgetError, parse_budgets, parse_marker
from tests.support.compare import record, run_of, url

BUDGETS = """\
defaults:
  tests: {queries: 20, duration: 1s}
  urls: {queries: 10}
tests:
  - match: "tests/api/*"
    queries: 8
  - match: "tests/api/test_posts.py::test_list*"
    queries: 4
  - match: "*::test_nothing_here"
    queries: 1
urls:
  - match: "/api/*"
    queries: 6
  - match: "/api/posts/"
    method: POST
    queries: 3
"""


def limits(node_id: str, marker: dict | None = None) -> dict[str, tuple[float, str]]:
    test = record(node_id)
    test.budget_marker = marker
    found = parse_budgets(BUDGETS, "pb.yaml").limits_for_test(test)
    return {name: (limit.value, limit.source) for name, limit in found.items()}


def test_defaults_apply_when_no_rule_matches() -> None:
    assert limits("tests/test_models.py::test_save") == {
        "queries": (20, "defaults.tests in pb.yaml:2"),
        "duration": (1000.0, "defaults.tests in pb.yaml:2"),
    }


def test_a_matching_rule_overrides_defaults_by_file_glob() -> None:
    found = limits("tests/api/test_users.py::test_create")
    assert found["queries"] == (8, "tests rule #1 'tests/api/*' in pb.yaml:5")
    assert found["duration"][0] == 1000.0  # untouched keys keep the default


def test_a_later_rule_overrides_an_earlier_one() -> None:
    found = limits("tests/api/test_posts.py::test_list_posts")
    assert found["queries"] == (4, "tests rule #2 'tests/api/test_posts.py::test_list*' in pb.yaml:7")


def test_the_marker_overrides_every_rule() -> None:
    found = limits("tests/api/test_posts.py::test_list_posts", {"queries": 2, "duration": "200ms", "queries_select": 1})
    assert found["queries"] == (2, "@perf_budget marker")
    assert found["duration"] == (200.0, "@perf_budget marker")
    assert found["queries.select"] == (1, "@perf_budget marker")


def test_a_bare_file_path_matches_its_tests() -> None:
    budgets = parse_budgets("tests:\n  - match: tests/test_models.py\n    queries: 2\n")
    assert budgets.limits_for_test(record("tests/test_models.py::test_save[x]"))["queries"].value == 2
    assert budgets.limits_for_test(record("tests/test_views.py::test_x")) == {}


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ({"querys": 2}, "tests/test_app.py:10: @pytest.mark.perf_budget: unknown key 'querys'; did you mean 'queries'?"),
        ({"duration": "fast"}, "tests/test_app.py:10: @pytest.mark.perf_budget: duration: expected a number"),
        ({"queries": -2}, "limits cannot be negative"),
    ],
)
def test_bad_marker_raises_naming_the_test(marker: dict, message: str) -> None:
    with pytest.raises(BudgetError) as info:
        parse_marker(marker, "tests/test_app.py:10")
    assert message in str(info.value)


def test_url_rules_match_route_glob_and_method() -> None:
    budgets = parse_budgets(BUDGETS, "pb.yaml")
    get = budgets.limits_for_url(url("/api/posts/", "GET"))
    post = budgets.limits_for_url(url("/api/posts/", "POST"))
    other = budgets.limits_for_url(url("/about/", "GET"))
    assert get["queries"].value == 6
    assert post["queries"].value == 3 and post["queries"].source == "urls rule #2 '/api/posts/' in pb.yaml:14"
    assert other["queries"].value == 10


def test_rules_matching_nothing_are_warned_about_not_errors() -> None:
    budgets = parse_budgets(BUDGETS, "pb.yaml")
    run = run_of(record("tests/api/test_posts.py::test_list"), urls=[url("/api/posts/", "GET")])
    assert budgets.unused_rule_warnings(run) == [
        "pb.yaml: 2 rules match no test or URL in this run: "
        "pb.yaml:9 tests rule #3 '*::test_nothing_here', pb.yaml:14 urls rule #2 POST '/api/posts/'"
    ]
    run.urls[0].method = "POST"
    assert budgets.unused_rule_warnings(run) == ["pb.yaml:9: tests rule #3 '*::test_nothing_here' matches no test in this run"]


def test_regression_rules_resolve_metric_then_kind_then_builtin() -> None:
    budgets = parse_budgets("regression:\n  time: {relative: 50%}\n  duration: {floor: 30ms}\n")
    assert (budgets.regression_rule("duration").floor, budgets.regression_rule("duration").relative) == (30.0, 0.20)
    assert budgets.regression_rule("cpu_time").relative == 0.5
    assert budgets.regression_rule("peak_memory").floor == 1_000_000
    assert budgets.regression_rule("queries").floor == 0
