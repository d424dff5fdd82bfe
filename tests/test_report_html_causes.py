"""The HTML report leads with causes (issue 20): "What changed", "What broke" grouped by cause, confirmed charts first,
limits in words, panels that mark the queries a cause names and fold away zeros."""

from __future__ import annotations

import copy
import re

import pytest

from perfbudget.compare.causes import Cause
from perfbudget.compare.verdicts import Status, Verdict
from perfbudget.report.causes import MAX_CAUSES, cause_line
from perfbudget.report.charts import top_changes
from perfbudget.report.html import build_view, render_html
from perfbudget.report.html_findings import CAUSE_SUBJECTS_SHOWN, CAUSES_LISTED, FINDINGS_SHOWN, cause_parts
from perfbudget.run.model import SqlGroup
from tests.support.report import added_query_comparison, fixed_comparison
from tests.test_comment_scenarios import AUTHOR, POSTS, judged, make_test, removed_query, sql
from tests.test_report_html import page_data, parse


def section(html: str, section_id: str) -> str:
    start = html.index(f'<section class="card" id="{section_id}">')
    return html[start : html.index("</section>", start)]


def findings_rows(html: str) -> list[str]:
    """The rows of the "What broke" table's bodies: cause headings, subjects, "… and N more"."""
    table = section(html, "what-broke")
    return re.findall(r"<tr[ >]", table.split("</thead>", 1)[1])


@pytest.fixture(scope="module")
def shop_html() -> str:
    """Issue 20's page: one SELECT added to a view that 1,000 tests request, and six unconfirmed template times."""
    return render_html(added_query_comparison())


# --- What changed ---------------------------------------------------------------


def test_what_changed_shows_the_comparisons_causes_in_order_worded_like_the_comment() -> None:
    comparison = fixed_comparison()
    view = build_view(comparison)
    assert [entry.index for entry in view.findings.causes] == list(range(len(comparison.causes))) and len(comparison.causes) == 3
    for entry, cause in zip(view.findings.causes, comparison.causes, strict=True):
        line = cause_line(cause)
        assert "".join(text for text, *_ in entry.parts) == line.replace("**", "")
        assert "".join(text for text, bold, *_ in entry.parts if bold) == line.split("**")[1]
    changed = section(render_html(comparison), "what-changed")
    assert "<strong>+9 to +12 SELECT <code>blog_author</code></strong> (N+1) at <code>blog/templates/blog/archive.html:12</code>" in changed
    # Each subject it names opens its panel; all of them filter the tables.
    assert (
        '<a href="#open=t3"><code>test_archive</code></a>' in changed
        and '<a href="#open=u0"><code>GET /archive/&lt;int:year&gt;/</code></a>' in changed
    )
    assert '<a class="filter-link" href="#cause=0">Show the 1 test and 1 URL in the tables</a>' in changed
    data = page_data(render_html(comparison))
    assert data["causes"] == [["t3", "u0"], ["u0"], ["t4"]]  # each cause's subjects, as row ids


def test_a_causes_line_is_escaped_and_only_its_own_markers_are_bold() -> None:
    comparison = fixed_comparison()
    hostile = "tests/test_views.py::test_archive"
    group = SqlGroup("SELECT 1 FROM t_x WHERE a = '**</code><b>x</b>**'", "select", "default", 2, 1.0, location="app/**<i>v</i>**.py:1")
    comparison.causes = [Cause("added", group, {("test", hostile): (0, 2)})]
    parts = cause_parts(comparison.causes[0], {("test", hostile): "t3"})
    assert [text for text, bold, *_ in parts if bold] == ["+2 SELECT ", "t_x"]
    assert ("app/**<i>v</i>**.py:1", False, True, "") in parts  # a name keeps its stars, as text
    changed = section(render_html(comparison), "what-changed")
    line = changed.split('<div class="line">', 1)[1].split("</div>", 1)[0]
    assert line.count("<strong>") == 1 and "<i>" not in line and "<code>app/**&lt;i&gt;v&lt;/i&gt;**.py:1</code>" in line
    assert "<b>x</b>" not in changed and "&lt;b&gt;x&lt;/b&gt;" in changed  # the SQL under it


def test_causes_past_the_first_ten_are_collapsed_and_those_past_the_listed_counted() -> None:
    comparison = fixed_comparison()
    first = comparison.causes[0]
    comparison.causes = []
    for index in range(MAX_CAUSES + CAUSES_LISTED + 5):
        cause = copy.copy(first)
        cause.group = copy.copy(first.group)
        cause.group.location = f"blog/views_{index}.py:1"
        comparison.causes.append(cause)
    changed = section(render_html(comparison), "what-changed")
    shown, collapsed = changed.split('<details class="more-causes">', 1)
    assert shown.count('<li class="cause"') == MAX_CAUSES and collapsed.count('<li class="cause"') == CAUSES_LISTED
    assert f"… and {CAUSES_LISTED + 5:,} more</summary>" in collapsed and "5 more not listed, to keep this page small" in collapsed


# --- What broke -----------------------------------------------------------------


def test_what_broke_groups_subjects_by_cause_and_keeps_rows_for_the_rest() -> None:
    view = build_view(fixed_comparison())
    findings = view.findings
    assert findings.failing_subjects == 4
    assert [(entry.cause.index, [row.verdict.subject for row in entry.rows]) for entry in findings.broke] == [
        (0, ["tests/test_views.py::test_archive", "GET /archive/<int:year>/"]),  # over budget first
        (1, ["GET /archive/<int:year>/"]),
    ]
    archive = findings.broke[0].rows[0]
    assert archive.verdict.status is Status.OVER_BUDGET and archive.baseline == 4.0 and archive.limit == "budget 10"
    # No cause explains a network call or a time: their verdicts keep their rows, counts first.
    assert [(row.verdict.subject, row.verdict.metric, row.limit) for row in findings.unexplained] == [
        ("tests/test_feeds.py::test_rss", "external_network_calls", "budget 0"),
        ("tests/test_views.py::test_post_detail", "duration", "allowed 1.18 s"),
    ]
    head = "".join(text for text, *_ in findings.broke[0].head)
    assert head == "+9 to +12 SELECT blog_author (N+1) at blog/templates/blog/archive.html:12, repeats more, in 1 test and 1 URL"


def test_limit_says_baseline_for_a_baseline_rule_and_budget_for_a_budget() -> None:
    def verdict(status: Status, value: float, baseline: float | None, limit: float | None, metric: str = "queries") -> Verdict:
        return Verdict("t.py::test", "test", metric, status, value, baseline, limit)

    assert verdict(Status.REGRESSED, 2, 1, 1).limit_words == "baseline"  # issue 20: not "1"
    assert verdict(Status.OVER_BUDGET, 13, None, 10).limit_words == "budget 10"
    assert verdict(Status.OVER_BUDGET, 13, 13, 10).limit_words == "budget 10"
    assert verdict(Status.REGRESSED, 1250, 980, 1176, "duration").limit_words == "allowed 1.18 s"
    assert verdict(Status.REGRESSED, 2, 1, None).limit_words == "–"
    broke = section(render_html(fixed_comparison()), "what-broke")
    assert '<td class="num">baseline</td>' in broke and '<td class="num">budget 10</td>' in broke


def test_one_query_added_to_a_view_that_1000_tests_hit_is_one_cause_and_one_entry(shop_html: str) -> None:
    """Issue 20: 2,002 failing verdicts, one cause. What changed names it once; What broke is one entry of a dozen rows."""
    changed = section(shop_html, "what-changed")
    assert changed.count('<li class="cause"') == 1
    assert "<strong>+1 SELECT <code>shop_category</code></strong> at <code>shop/views.py:8</code>, new, in 1,000 tests and 1 URL" in changed
    rows = findings_rows(shop_html)
    assert len(rows) == 1 + CAUSE_SUBJECTS_SHOWN + 1  # the cause, its first subjects, "… and 991 more"
    broke = section(shop_html, "what-broke")
    assert '<h2>What broke <span class="count">1,001</span></h2>' in broke and "… and 991 more</a>" in broke
    assert len(broke.encode()) < 10_000  # whatever the number of tests
    assert len(shop_html.encode()) < 1_200_000  # about 1.15 MB, two thirds of it the panels' details; 1.3 MB before
    data = page_data(shop_html)
    assert len(data["tests"]) == 1_000 and len(data["urls"]) == 1  # the tables stay complete
    assert len(data["causes"][0]) == 1_001


def test_the_rows_no_cause_explains_are_capped() -> None:
    comparison = added_query_comparison(n_tests=FINDINGS_SHOWN + 20)
    comparison.causes = []  # a run read light: no query groups to diff
    html = render_html(comparison)
    assert len(findings_rows(html)) == FINDINGS_SHOWN
    assert f"The first {FINDINGS_SHOWN} of {2 * (FINDINGS_SHOWN + 20) + 2:,} findings no cause explains" in html


# --- charts ---------------------------------------------------------------------


def test_the_changes_chart_shows_confirmed_changes_and_unconfirmed_times_are_collapsed_apart(shop_html: str) -> None:
    view = build_view(added_query_comparison())
    assert "template_time" not in view.charts["changes"] and "shop" in view.charts["changes"]
    assert "template_time" in view.charts["unconfirmed"] and "562 ms" in view.charts["unconfirmed"]
    collapsed = re.search(r'<details class="card unconfirmed" id="unconfirmed">.*?</details>', shop_html, re.DOTALL)
    assert collapsed and "6 timings not confirmed (not failing)" in collapsed.group() and "template_time" in collapsed.group()
    assert "template_time" not in shop_html.split('<details class="card unconfirmed"', 1)[0]


def test_top_changes_lead_with_what_fails_counts_before_times_one_bar_per_subject() -> None:
    def verdict(subject: str, metric: str, status: Status, value: float, baseline: float) -> Verdict:
        return Verdict(subject, "test", metric, status, value, baseline, baseline)

    changes = top_changes(
        [
            verdict("t::improved", "queries", Status.IMPROVED, 1, 100),  # the largest change, but not a failure
            verdict("t::slow", "duration", Status.REGRESSED, 400, 100),
            verdict("t::query", "queries", Status.REGRESSED, 2, 1),
            verdict("t::query", "queries.select", Status.REGRESSED, 2, 1),  # same subject, same kind: one bar
            verdict("t::query", "duration", Status.REGRESSED, 30, 10),  # a time: a bar of its own
        ]
    )
    assert [(change.label, change.metric) for change in changes] == [
        ("query", "queries"),
        ("slow", "duration"),
        ("query", "duration"),
        ("improved", "queries"),
    ]


# --- the detail panel -----------------------------------------------------------


def test_panel_marks_the_groups_a_cause_names_and_lists_those_gone() -> None:
    details = page_data(render_html(fixed_comparison()))["details"]
    # The test read 3 authors, now 12; its URL's baseline recorded no queries, so both its groups are new there.
    assert [(group[6], group[10], group[11]) for group in details["t3"]["sql"]] == [
        ("blog/templates/blog/archive.html:12", "more", 3),
        ("blog/views.py:31", "", 0),
    ]
    assert [(group[6], group[10]) for group in details["u0"]["sql"]] == [
        ("blog/templates/blog/archive.html:12", "new"),
        ("blog/views.py:31", "new"),
    ]
    gone = page_data(render_html(removed_query()))["details"]["t0"]
    assert [(g[3], g[4], g[5]) for g in gone["gone"]] == [(5, "blog/views.py:24", "gone")]  # the baseline's group, its count
    assert [group[10] for group in gone["sql"]].count("new") == 1


def test_panel_lists_a_rewritten_statements_predecessor() -> None:
    """A dropped select_related: SELECT blog_post loses its JOIN (rewritten) and the authors are read one by one."""
    joined = POSTS.replace(' FROM "blog_post"', ', "blog_author"."name" FROM "blog_post" INNER JOIN "blog_author" ON (1)')
    test = "blog/tests/test_pages.py::test_list"
    before = [make_test(test, [sql(joined, 1, "blog/views.py:20")])]
    after = [make_test(test, [sql(POSTS, 1, "blog/views.py:20"), sql(AUTHOR, 4, "blog/post_list.html:8", n_plus_one=True)])]
    comparison = judged(before, after)
    assert sorted(cause.change for cause in comparison.causes) == ["added", "rewritten"]
    detail = page_data(render_html(comparison))["details"]["t0"]
    assert detail["gone"] == [[joined, "select", "default", 1, "blog/views.py:20", "replaced"]]
    assert sorted((group[6], group[10]) for group in detail["sql"]) == [("blog/post_list.html:8", "new"), ("blog/views.py:20", "rewritten")]


def test_panel_flags_the_metrics_that_are_zero_in_both_runs(shop_html: str) -> None:
    detail = page_data(shop_html)["details"]["t0"]
    zero = {line[0] for line in detail["metrics"] if line[3]}
    assert zero == {"cache_calls", "network_calls"}
    assert {line[0] for line in detail["metrics"] if not line[3]} >= {"queries", "queries.select", "duration", "template_time"}
    assert parse(shop_html).scripts  # the page still parses


def test_the_panel_names_what_ran_its_template_line_and_the_fix() -> None:
    """A template N+1 reads as the comment words it: COUNT or SELECT, the template line beside the view, the relation's fix."""
    comparison = copy.deepcopy(fixed_comparison())
    test = next(t for t in comparison.run.tests if t.node_id == "tests/test_views.py::test_archive")
    group = next(g for g in test.details.sql_groups if g.n_plus_one)
    group.template, group.relation, group.fix = "blog/templates/blog/archive.html:12", "Post.author", 'select_related("author")'
    data = page_data(render_html(comparison))
    [panel] = [d for d in data["details"].values() if d["name"] == "tests/test_views.py::test_archive"]
    [row] = [row for row in panel["sql"] if row[7]]
    assert row[12] == ""  # a SELECT: the kind says it
    assert row[13] == f"blog/templates/blog/archive.html:12 (view {group.location})"
    assert row[14] == 'N+1 on Post.author: add select_related("author") to the queryset the loop iterates'
