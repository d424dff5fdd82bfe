"""The HTML report, parsed with html.parser: tables, escaped content, embedded data, charts."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from perfbudget.compare.verdicts import Status
from perfbudget.report.charts import Change, _edges, change_bars, histogram
from perfbudget.report.html import (
    DETAILS_BUDGET,
    FINDINGS_SHOWN,
    LIST_LIMIT,
    build_view,
    embedded_details,
    json_for_script,
    render_html,
)
from tests.support.report import HOSTILE_NAMES, fixed_comparison, hostile_comparison, large_comparison


class Page(HTMLParser):
    """Every start tag with its attributes, the text of each <code> in a table cell, and script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.tables: dict[str, list[dict[str, str | None]]] = {}
        self.cell_codes: list[str] = []
        self._in_script = False
        self._in_code = False
        self._table: str | None = None
        self._code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        elif tag == "table":
            self._table = attributes.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table and "data-id" in attributes:
            self.tables[self._table].append(attributes)
        elif tag == "code":
            self._in_code, self._code = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        elif tag == "table":
            self._table = None
        elif tag == "code" and self._in_code:
            self._in_code = False
            if self._table:
                self.cell_codes.append("".join(self._code))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        elif self._in_code:
            self._code.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def page_data(html: str) -> dict[str, Any]:
    """The page's one JSON object: statuses, the rows of both tables, the details by row id."""
    return json.loads(parse(html).scripts[0])  # type: ignore[no-any-return]


def test_rows_of_tests_and_urls_carry_status_and_sort_values() -> None:
    data = page_data(render_html(fixed_comparison()))
    statuses = [value for value, _ in data["statuses"]]
    tests = {row[1]: row for row in data["tests"]}
    assert len(data["tests"]) == 7  # six tests of the run plus the removed one
    archive = tests["tests/test_views.py::test_archive"]
    assert statuses[archive[2]] == "over_budget"
    queries, n_plus_one = archive[4], archive[5]  # TEST_COLUMNS order: queries, n_plus_one, ...
    assert queries == [13.0, "13", "+9", 1] and n_plus_one == [12.0, "12"]
    removed = next(row for row in data["tests"] if statuses[row[2]] == "removed")
    assert removed[1] == "tests/test_views.py::test_sitemap" and removed[4:] == [None] * 7
    assert [row[1] for row in data["urls"]] == ["GET /archive/<int:year>/", "GET /posts/<int:pk>/", "POST /api/posts/", "GET /sitemap.xml"]
    assert "<tr data-id" not in render_html(fixed_comparison())  # drawn by the script, a page at a time


def test_self_contained_no_external_resources() -> None:
    page = parse(render_html(fixed_comparison()))
    for tag, attributes in page.tags:
        assert "src" not in attributes, tag
        if tag == "link":
            pytest.fail("a <link> element would load something")
    assert not re.search(r"https?://", page.scripts[1])  # the code fetches nothing
    assert sum(1 for tag, _ in page.tags if tag == "svg") == 3


def test_embedded_details_round_trip() -> None:
    data = page_data(render_html(fixed_comparison()))["details"]
    archive = next(d for d in data.values() if d["name"] == "tests/test_views.py::test_archive")
    assert archive["where"] == "tests/test_views.py:21"
    n_plus_one = [g for g in archive["sql"] if g[7]]
    assert n_plus_one[0][3] == 12 and n_plus_one[0][6] == "blog/templates/blog/archive.html:12"
    assert ["default", "get", 2, 1, 1, "0.3 ms"] in archive["cache"]
    url = next(d for d in data.values() if d["name"] == "GET /archive/<int:year>/")
    assert url["tests"] == ["tests/test_views.py::test_archive"] and any(g[7] for g in url["sql"])


def test_details_are_kept_only_for_subjects_that_are_not_ok() -> None:
    html = render_html(fixed_comparison())
    details = page_data(html)["details"]
    assert sorted(d["name"] for d in details.values()) == sorted(
        [
            "tests/test_api.py::test_list_posts[page-2]",
            "tests/test_feeds.py::test_rss",
            "tests/test_views.py::test_archive",
            "tests/test_views.py::test_post_detail",
            "tests/test_views.py::test_sitemap",
            "GET /archive/<int:year>/",
            "POST /api/posts/",
            "GET /sitemap.xml",
        ]
    )  # not the OK ones: test_create_post, test_search, GET /posts/<int:pk>/
    assert "kept for the 8 tests and URLs that are not ok." in html


def test_details_past_the_budget_are_left_out_least_severe_first() -> None:
    view = build_view(fixed_comparison())
    severities = [pending.severity for pending in view.pending]
    assert severities == sorted(severities) and len(severities) == 8
    everything, none_left = embedded_details(view.pending, DETAILS_BUDGET)
    assert none_left == 0
    kept, left_out = embedded_details(view.pending, budget=len(everything) // 2)
    assert 0 < left_out < 8 and len(kept) <= len(everything) // 2
    assert list(json.loads(kept)) == [pending.row_id for pending in view.pending[: 8 - left_out]]


def test_lists_in_one_subjects_details_are_capped_and_counted() -> None:
    comparison = fixed_comparison()
    url = next(u for u in comparison.run.urls if u.key == "GET /archive/<int:year>/")
    url.tests = [f"tests/test_many.py::test_{index}" for index in range(LIST_LIMIT + 7)]
    details = page_data(render_html(comparison))["details"]
    shown = next(d for d in details.values() if d["name"] == url.key)
    assert len(shown["tests"]) == LIST_LIMIT and shown["more"] == {"tests": 7}


def test_a_50000_test_page_stays_under_20_mb_and_lists_only_the_first_findings() -> None:
    comparison = large_comparison()
    html = render_html(comparison)
    assert len(html.encode("utf-8")) < 20_000_000
    data = json.loads(html.split('<script type="application/json" id="perfbudget-data">', 1)[1].split("</script>", 1)[0])
    assert len(data["tests"]) == 50_000 and len(data["urls"]) == 5_000
    assert len(data["details"]) == sum(1 for status in comparison.subject_statuses().values() if status is not Status.OK)
    assert html.count('<td class="why">') == FINDINGS_SHOWN


def test_hostile_names_are_text_everywhere() -> None:
    html = render_html(hostile_comparison())
    page = parse(html)
    assert [tag for tag, _ in page.tags].count("script") == 2  # ours: the data and the code
    assert not [tag for tag, _ in page.tags if tag in ("img", "i", "iframe")]
    links = [attributes.get("href") or "" for tag, attributes in page.tags if tag == "a"]
    assert links and all(re.fullmatch(r"#((open=[tur]\d+)|(cause=\d+)|(status=unconfirmed))?", href) for href in links)  # ours only
    assert "&lt;b&gt;x&lt;/b&gt; | y" in html and "<b>views</b>" not in html  # a reason, a SQL location
    assert not any(name.startswith("on") for _, attributes in page.tags for name in attributes)
    assert "<script>console.error(" not in html and "</script><!--" not in html
    # Six causes moved two each: "What broke" lists every subject under its cause, each whole, as text, in its cell.
    listed = [code for code in page.cell_codes if code in HOSTILE_NAMES]
    assert sorted(listed) == sorted(HOSTILE_NAMES) and "more" not in html.split("What broke", 1)[1].split("</section>", 1)[0]
    data = json.loads(page.scripts[0])
    assert sorted(row[1] for row in data["tests"]) == sorted(HOSTILE_NAMES)  # the tests table's rows: text for textContent
    assert sorted(d["name"] for d in data["details"].values()) == sorted(HOSTILE_NAMES)
    assert any("</script>" in group[0] for d in data["details"].values() for group in d.get("sql", []))


def test_json_for_script_cannot_end_the_element() -> None:
    text = json_for_script({"a": "</script><!--<script>&amp;\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!--<script>&amp;\u2028"}


def test_verdict_banner_and_what_broke() -> None:
    comparison = fixed_comparison()
    html = render_html(comparison)
    assert f"✗ {comparison.summary_line()}" in html
    view = build_view(comparison)
    assert [v.status for v in view.failing].count(Status.REGRESSED) == 3
    assert re.search(r"<h2>What broke <span class=\"count\">4</span></h2>", html)  # tests and URLs, not verdicts


def test_histogram_bins_on_1_2_5_edges() -> None:
    assert _edges(0) == [0.0]
    assert _edges(7) == [0.0, 1, 2, 5, 10]
    svg = histogram([0, 1, 1, 3, 7, 7, 7], "queries", "tests by SQL queries")
    titles = re.findall(r"<title>(.*?)</title>", svg)
    assert titles == ["0: 1", "≤1: 2", "≤2: 0", "≤5: 1", "≤10: 3"]
    assert "No" in histogram([], "queries", "queries")


def test_chart_labels_are_escaped() -> None:
    svg = change_bars([Change("<script>x</script>", "queries", 1, 2)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_comment_and_page_list_a_urls_sql_groups_in_one_order() -> None:
    """Issue 8: both reporters take a URL's groups from run.aggregate.url_sql_groups (count, SQL, call site)."""
    from perfbudget.compare.verdicts import Comparison, Verdict
    from perfbudget.report.markdown import render_markdown
    from perfbudget.run.aggregate import aggregate_urls
    from perfbudget.run.model import Details, RequestRecord, Run, SqlGroup, TestRecord

    def request(*groups: SqlGroup) -> RequestRecord:
        return RequestRecord("GET", "/feed/", "/feed/", None, 200, {"queries": 20.0}, Details(sql_groups=list(groups)))

    sql = "SELECT * FROM tag WHERE id = %s"
    tests = [  # the same statement from two call sites, equal counts, seen by two tests in the "wrong" order
        TestRecord(
            "t.py::test_b",
            "t.py",
            1,
            "passed",
            {"queries": 20.0},
            requests=[request(SqlGroup(sql, "select", "default", 8, 1.0, location="b.py:2", n_plus_one=True))],
        ),
        TestRecord(
            "t.py::test_a",
            "t.py",
            2,
            "passed",
            {"queries": 20.0},
            requests=[
                request(
                    SqlGroup(sql, "select", "default", 8, 1.0, location="a.py:1", n_plus_one=True),
                    SqlGroup(sql, "select", "default", 5, 1.0, location="b.py:2", n_plus_one=True),
                )
            ],
        ),
    ]
    run = Run(project="p", tests=tests, urls=aggregate_urls(tests))
    verdicts = [Verdict(t.node_id, "test", None, Status.OK, basis="ok") for t in tests]
    verdicts.append(Verdict("GET /feed/", "url", "queries", Status.REGRESSED, 20.0, 2.0, 2.0, "queries 2 -> 20"))
    comparison = Comparison(run=run, baseline=None, verdicts=verdicts)
    comment = render_markdown(comparison)
    assert comment.index("at `a.py:1`") < comment.index("at `b.py:2`") and "8 × the same SELECT" in comment
    url = next(d for d in page_data(render_html(comparison))["details"].values() if d["kind"] == "url")
    assert [(g[3], g[6]) for g in url["sql"]] == [(8, "a.py:1"), (8, "b.py:2")]  # the worst request's count for b.py:2
