"""Accepted changes: ``accept:`` entries in the budget file and a pull request's accept label."""

from __future__ import annotations

import datetime

import pytest

from perfbudget.budgets import BudgetError, parse_budgets
from perfbudget.compare import compare
from perfbudget.compare.baseline import Baseline
from perfbudget.report.markdown import render_markdown
from tests.support.compare import record, run_of

A, B = "tests/test_feed.py::test_feed", "tests/test_feed.py::test_other"
TODAY = datetime.date(2026, 12, 6)
ACCEPT = """accept:
  - match: "tests/test_feed.py::test_feed"
    metric: queries
    limit: 24
    reason: the feed now shows tags
    issue: "#412"
    expires: 2027-03-31
"""


def _compare(budget_text: str, head_queries: float = 24, label: str = "", today: datetime.date = TODAY):  # type: ignore[no-untyped-def]
    head = run_of(record(A, queries=head_queries), record(B, queries=5))
    base = run_of(record(A, queries=20), record(B, queries=4))
    return compare(head, parse_budgets(budget_text, "pb.yaml"), Baseline([base], "b"), accepted_by=label, today=today)


def statuses(comparison) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {v.subject: v.status.value for v in comparison.verdicts if v.metric == "queries"}


def test_an_accepted_regression_never_fails_and_says_why() -> None:
    comparison = _compare(ACCEPT)
    assert statuses(comparison) == {A: "accepted", B: "regressed"}
    accepted = next(v for v in comparison.verdicts if v.subject == A)
    assert accepted.reason.endswith("; accepted (the feed now shows tags; pb.yaml:2; issue #412; expires 2027-03-31)")
    assert "1 change accepted" in comparison.summary_line()
    text = render_markdown(comparison)
    assert "☑️ 1 with accepted changes (not failing)" in text and "the feed now shows tags" in text


def test_beyond_its_limit_or_change_an_entry_accepts_nothing() -> None:
    assert statuses(_compare(ACCEPT, head_queries=25))[A] == "regressed"
    by_change = ACCEPT.replace("limit: 24", "change: 3")
    assert statuses(_compare(by_change, head_queries=23))[A] == "accepted"
    assert statuses(_compare(by_change, head_queries=24))[A] == "regressed"


def test_an_expired_entry_fails_again_naming_itself_and_an_unused_one_is_a_warning() -> None:
    assert statuses(_compare(ACCEPT, today=datetime.date(2027, 3, 30)))[A] == "accepted"
    comparison = _compare(ACCEPT, today=datetime.date(2027, 3, 31))  # from its date on, it accepts nothing
    assert statuses(comparison)[A] == "regressed" and comparison.should_fail()
    failing = next(v for v in comparison.verdicts if v.subject == A)
    assert "the accept entry at pb.yaml:2 expired on 2027-03-31 (the feed now shows tags)" in failing.reason
    unused = _compare(ACCEPT.replace("test_feed.py::test_feed", "test_gone.py::*"), today=datetime.date(2027, 4, 1))
    assert "the accept entry at pb.yaml:2 (tests/test_gone.py::* queries) expired on 2027-03-31: remove it" in unused.warnings


def test_a_label_accepts_the_prs_regressions_but_not_its_budgets() -> None:
    comparison = _compare("defaults:\n  tests:\n    queries: 22\n", label="perfbudget: accept")
    found = {(v.subject, v.status.value) for v in comparison.verdicts if v.metric == "queries"}
    assert (A, "over_budget") in found and (A, "accepted") in found and (B, "accepted") in found
    assert "accepted (for this pull request by the label 'perfbudget: accept')" in next(
        v.reason for v in comparison.verdicts if v.subject == B
    )


def test_a_wildcard_metric_accepts_every_metric_of_the_subject() -> None:
    comparison = _compare('accept:\n  - {match: "tests/*", metric: "*", reason: one-off migration}\n')
    assert set(statuses(comparison).values()) == {"accepted"} and not comparison.should_fail()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{match: x, metric: queries}", "pb.yaml:2: accept[1]: missing 'reason'"),
        ("{match: x, metric: quries, reason: r}", "accept[1].metric: unknown metric 'quries'; did you mean 'queries'?"),
        ("{match: x, metric: queries, reason: r, expires: soon}", "accept[1].expires: expected a date such as 2027-01-31, got 'soon'"),
        ("{match: x, metric: duration, reason: r, limit: 3MB}", "accept[1].limit: bad unit 'MB'"),
        ("{match: x, metric: '*', reason: r, change: 2}", "accept[1].change: give one metric (not '*') to accept a change"),
        ("{match: x, metric: queries, reason: r, until: 2027-01-01}", "accept[1]: unknown key 'until'"),
    ],
)
def test_a_broken_entry_names_file_line_and_key(entry: str, message: str) -> None:
    with pytest.raises(BudgetError) as raised:
        parse_budgets(f"accept:\n  - {entry}\n", "pb.yaml")
    assert message in str(raised.value) and str(raised.value).startswith("pb.yaml:2: ")


def test_a_renewed_entry_or_the_label_still_accepts_beside_an_expired_one() -> None:
    renewed = ACCEPT + '  - {match: "tests/*", metric: queries, reason: renewed for the next release}\n'
    comparison = _compare(renewed, today=datetime.date(2027, 4, 1))
    assert statuses(comparison)[A] == "accepted" and "renewed for the next release" in next(
        v.reason for v in comparison.verdicts if v.subject == A
    )
    labelled = _compare(ACCEPT, label="perfbudget: accept", today=datetime.date(2027, 4, 1))
    assert statuses(labelled)[A] == "accepted"


def test_a_change_entry_cannot_accept_a_budget_it_has_no_baseline_for() -> None:
    """Over-budget verdicts carry no baseline: 'change: 1' must not accept 30 queries against a budget of 20."""
    comparison = _compare('defaults:\n  tests: {queries: 21}\naccept:\n  - {match: "tests/*", metric: queries, change: 10, reason: r}\n')
    found = {(v.subject, v.status.value) for v in comparison.verdicts if v.metric == "queries"}
    assert (A, "over_budget") in found and (A, "accepted") in found  # the regression (+4 <= 10) is accepted, the budget not


def test_an_expiry_given_as_a_moment_counts_by_its_day() -> None:
    comparison = _compare(ACCEPT.replace("expires: 2027-03-31", "expires: 2027-03-31 10:00:00"), today=datetime.date(2027, 3, 31))
    assert statuses(comparison)[A] == "regressed"
