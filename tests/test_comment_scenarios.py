"""The PR comment for the changes reviewers meet, as golden files, and each one within GitHub's 800 px comment.

Scenarios: one new N+1 across several tests and a URL; one added query; a
removed query (an improvement); a timing-only change; accepted changes (an
``accept:`` entry, an expired one, the PR's label); and a matrix's merged
comment. Each is compared with its golden file (``PERFBUDGET_REGEN_GOLDEN=1``
regenerates them) and, where Chromium is installed, rendered with cmark-gfm
and measured at 800 px: no table may be wider than the comment.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest

from perfbudget.budgets import parse_budgets
from perfbudget.compare import compare
from perfbudget.compare.baseline import Baseline
from perfbudget.compare.verdicts import Comparison
from perfbudget.report.markdown import render_legs, render_markdown
from perfbudget.run.model import Details, RequestRecord, Run, SqlGroup, TestRecord, UrlSummary
from tests.support.comment import CHROMIUM, overflowing_tables
from tests.test_report_golden import check_golden

LIST = "blog/tests/test_pages.py::test_post_list_shows_newest_posts_with_authors_and_tags"
COUNT = "blog/tests/test_testcase.py::PostPagesTests::test_post_list_queries_do_not_depend_on_post_count"
TOKEN = "tests/test_auth.py::TokenTests::test_obtain_token_for_active_user[json-renderer]"
TOKEN2 = "tests/test_auth.py::TokenTests::test_obtain_token_twice_returns_the_same_token"
POSTS = (
    'SELECT "blog_post"."id", "blog_post"."title", "blog_post"."author_id" FROM "blog_post" ORDER BY "blog_post"."published" DESC LIMIT %s'
)
AUTHOR = 'SELECT "blog_author"."id", "blog_author"."name" FROM "blog_author" WHERE "blog_author"."id" = %s LIMIT %s'
USER = 'SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."username" FROM "auth_user" WHERE "auth_user"."username" = %s LIMIT %s'
TAGS = 'SELECT "blog_tag"."id", "blog_tag"."name" FROM "blog_tag" INNER JOIN "blog_post_tags" ON ("blog_tag"."id" = "blog_post_tags"."tag_id") WHERE "blog_post_tags"."post_id" IN (%s)'
TODAY = datetime.date(2026, 12, 6)


def sql(statement: str, count: int, location: str, *, n_plus_one: bool = False) -> SqlGroup:
    return SqlGroup(statement, "select", "default", count, 0.05 * count, location=location, n_plus_one=n_plus_one)


def make_test(node_id: str, groups: list[SqlGroup], route: str = "", duration: float = 40.0) -> TestRecord:
    queries = float(sum(group.count for group in groups))
    record = TestRecord(
        node_id, node_id.split("::")[0], 12, "passed", {"queries": queries, "queries.select": queries, "duration": duration}
    )
    record.details = Details(sql_groups=groups)
    if route:
        method, path = route.split(" ", 1)
        record.requests = [RequestRecord(method, path, path, None, 200, {"queries": queries}, Details(sql_groups=groups))]
    return record


def run(tests: list[TestRecord], commit: str) -> Run:
    result = Run(project="blog", commit=commit, branch="main" if commit.startswith("9") else "feature/feed", tests=tests)
    routes: dict[str, UrlSummary] = {}
    for test in tests:
        for request in test.requests:
            url = routes.setdefault(request.url_key, UrlSummary(request.method, request.route or request.path, None, 0))
            url.hits += 1
            url.tests.append(test.node_id)
            url.metrics = dict(request.metrics)
    result.urls = list(routes.values())
    return result


def judged(before: list[TestRecord], after: list[TestRecord], budgets: str = "", label: str = "") -> Comparison:
    base, head = run(before, "9a8b7c6d5e4f3a2b"), run(after, "4f2c9e1a7b3d5c6e")
    rules = parse_budgets(budgets, "perfbudget.yaml") if budgets else None
    return compare(head, rules, Baseline([base], "baseline"), accepted_by=label, today=TODAY)


def n_plus_one() -> Comparison:
    """A dropped select_related: the author is read once per post, in two tests and the page they request."""
    before = [make_test(LIST, [sql(POSTS, 1, "blog/views.py:20")], "GET /"), make_test(COUNT, [sql(POSTS, 1, "blog/views.py:20")])]
    grown = [sql(POSTS, 1, "blog/views.py:20"), sql(AUTHOR, 4, "blog/templates/blog/post_list.html:8", n_plus_one=True)]
    return judged(before, [make_test(LIST, grown, "GET /"), make_test(COUNT, grown)])


def added_query() -> Comparison:
    """One more SELECT auth_user, from a library's view, in two tests and the endpoint."""
    base_groups = [sql(USER, 1, "rest_framework/authtoken/serializers.py:25")]
    grown = [*base_groups, sql(USER.replace("username", "email", 1), 1, "rest_framework/authtoken/views.py:30")]
    before = [make_test(TOKEN, base_groups, "POST /auth-token/"), make_test(TOKEN2, base_groups)]
    return judged(before, [make_test(TOKEN, grown, "POST /auth-token/"), make_test(TOKEN2, grown)])


def removed_query() -> Comparison:
    """A prefetch_related: the per-post tags query is gone (an improvement)."""
    before = [
        make_test(
            LIST,
            [sql(POSTS, 1, "blog/views.py:20"), sql(TAGS.replace(" IN (%s)", " = %s"), 5, "blog/views.py:24", n_plus_one=True)],
            "GET /",
        )
    ]
    return judged(before, [make_test(LIST, [sql(POSTS, 1, "blog/views.py:20"), sql(TAGS, 1, "blog/views.py:24")], "GET /")])


def timing_only() -> Comparison:
    """Same queries, slower: one time confirmed (a dedicated runner, confirm: false), one not."""
    groups = [sql(POSTS, 1, "blog/views.py:20")]
    before = [make_test(LIST, groups, duration=40.0), make_test(COUNT, groups, duration=900.0)]
    after = [make_test(LIST, groups, duration=95.0), make_test(COUNT, groups, duration=1100.0)]
    return judged(before, after, "regression:\n  duration: {confirm: false}\n")


def waivers() -> Comparison:
    """An accept: entry; an expired one on a test also over budget (which no label accepts); the PR's label for the rest."""
    before = [
        make_test(LIST, [sql(POSTS, 1, "blog/views.py:20")]),
        make_test(COUNT, [sql(POSTS, 1, "blog/views.py:20")]),
        make_test(TOKEN, [sql(USER, 1, "a.py:1")]),
    ]
    after = [
        make_test(LIST, [sql(POSTS, 2, "blog/views.py:20")]),
        make_test(COUNT, [sql(POSTS, 2, "blog/views.py:20")]),
        make_test(TOKEN, [sql(USER, 2, "a.py:1")]),
    ]
    budgets = f"""tests:
  - match: "{COUNT}"
    queries: 1
accept:
  - match: "{LIST}"
    metric: queries
    limit: 2
    reason: "the list shows the newest post twice (design #88)"
    issue: "#88"
  - match: "{COUNT}"
    metric: queries
    reason: "temporary while the counter is rebuilt"
    expires: 2026-11-30
"""
    return judged(before, after, budgets, label="perfbudget: accept")


def legs() -> str:
    return render_legs(
        [("tests-3.11", n_plus_one()), ("tests-3.12", added_query()), ("api", removed_query())], marker="<!-- perfbudget:CI/all-legs -->"
    )


SCENARIOS: dict[str, Callable[[], str]] = {
    "n_plus_one": lambda: render_markdown(n_plus_one()),
    "added_query": lambda: render_markdown(added_query()),
    "removed_query": lambda: render_markdown(removed_query()),
    "timing_only": lambda: render_markdown(timing_only()),
    "waivers": lambda: render_markdown(waivers()),
    "legs": legs,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_comment_matches_its_golden_file(name: str) -> None:
    check_golden(f"comment-{name}.md", SCENARIOS[name]())


def test_the_scenarios_say_what_they_are_about() -> None:
    """The golden files are reviewed by eye; these are the lines each must have."""
    assert (
        "🔺 **+4 SELECT `blog_author`** (N+1) at `blog/templates/blog/post_list.html:8`, new, in 2 tests and 1 URL"
        in SCENARIOS["n_plus_one"]()
    )
    assert "**+1 SELECT `auth_user`** at `rest_framework/authtoken/views.py:30`, new, in 2 tests and 1 URL" in SCENARIOS["added_query"]()
    removed = SCENARIOS["removed_query"]()
    # 5 SELECTs (one per post) became 1 (all posts at once): a query gone and another new, not a rewrite.
    assert "🟢 **−5 SELECT `blog_tag`** at `blog/views.py:24`, gone" in removed and "🟢 1 test and 1 URL improved" in removed
    timing = SCENARIOS["timing_only"]()
    assert "What changed" not in timing and "duration 40 ms → 95 ms" in timing
    accepted = SCENARIOS["waivers"]()
    assert "the list shows the newest post twice" in accepted and "expired on 2026\\-11\\-30" in accepted
    assert "by the label" in accepted


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_table_is_wider_than_githubs_800px_comment(name: str, tmp_path: Path) -> None:
    assert overflowing_tables(SCENARIOS[name](), tmp_path) == []


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")
def test_the_measure_catches_a_table_that_overflows(tmp_path: Path) -> None:
    """Not a rubber stamp: a cell with a long unbreakable code span is found."""
    wide = "| a | b |\n|---|---|\n| `" + "x" * 200 + "` | y |\n"
    assert overflowing_tables(wide, tmp_path) != []
