"""The PR comment and job summary, rendered with GitHub's own Markdown engine (cmark-gfm)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from perfbudget.report.escape import ZWSP, code_span, md_text
from perfbudget.report.markdown import COMMENT_LIMIT, render_job_summary, render_markdown
from perfbudget.run.metrics import is_time
from tests.support.report import HOSTILE_NAMES, fixed_comparison, hostile_comparison, large_comparison

cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (GitHub's Markdown engine) is in the test extra")


def to_html(markdown: str) -> str:
    """Render as GitHub does, raw HTML kept (GitHub allows <details>, so a test must see what would pass)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm.Options.CMARK_OPT_UNSAFE)


class Tables(HTMLParser):
    """Cells of every table row, tags seen, and link targets."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(markdown: str) -> Tables:
    parser = Tables()
    parser.feed(to_html(markdown))
    return parser


def test_first_visible_line_is_the_verdict_in_words_and_counts() -> None:
    comparison = fixed_comparison()
    text = render_markdown(comparison, marker="perfbudget-report:main")
    lines = text.splitlines()
    assert lines[0] == "<!-- perfbudget-report:main -->"
    assert lines[1] == f"### ❌ perfbudget: {comparison.summary_line()}"
    assert "2 regressions, 2 over budget, 1 improved, 1 new, 2 removed, 3 unchanged" in lines[1]


def test_what_broke_has_one_row_per_subject_with_its_headline_change_counts_first() -> None:
    tables = parse(render_markdown(fixed_comparison()))
    header, *rows = tables.rows[:5]
    assert header == ["", "Test or URL", "Change", "Limit"]  # four columns: readable at GitHub's 800 px
    # Over budget and regressed on one metric: one row, the budget's icon and limit, the baseline's change.
    archive = ["🔴", "tests/test_views.py::test_archive", "queries 4 → 13 (+9, +225%)", "budget 10"]
    url = ["🔺", "URL GET /archive/<int:year>/", "queries 4 → 13 (+9, +225%)", "baseline"]  # the limit is the baseline itself
    slower = ["🔺", "tests/test_views.py::test_post_detail", "duration 980 ms → 1.25 s (+270 ms, +28%)", "allowed 1.18 s"]
    assert archive in rows and url in rows and slower in rows
    assert rows.index(slower) == len(rows) - 1  # counts are facts, times estimates: counts first


def test_what_changed_names_the_query_its_call_site_and_every_subject_it_moved() -> None:
    text = render_markdown(fixed_comparison())
    html = to_html(text)
    assert html.count("SELECT &quot;blog_author&quot;") == 1  # the URL's group is the test's group: one cause
    assert "🔺 **+9 to +12 SELECT `blog_author`** (N+1) at `blog/templates/blog/archive.html:12`, repeats more, in 1 test and 1 URL" in text
    assert "<code>blog/templates/blog/archive.html:12</code>" in html
    assert '<pre lang="sql">' in html
    assert text.index("#### What changed") < text.index("#### What broke")


def test_other_sections_are_collapsed_and_footer_names_commits_and_link() -> None:
    text = render_markdown(fixed_comparison(), report_url="https://example.com/run/1/report.html")
    html = to_html(text)
    assert html.count("<details>") == 3 + 4  # each cause's SQL, then the four sections below
    for summary in ("🟢 1 test improved", "🆕 2 new", "➖ 2 removed", "⚠️ 1 warning"):
        assert f"<summary>{summary}</summary>" in html
    assert "<code>tests/test_views.py::test_sitemap</code>" in html
    assert "<code>4f2c9e1a7b3d</code> (feature/archive)" in html
    assert "baseline <code>9a8b7c6d5e4f</code> (main)" in html
    assert parse(text).links == ["https://example.com/run/1/report.html"]


def test_output_is_stable() -> None:
    assert render_markdown(fixed_comparison()) == render_markdown(fixed_comparison())


def test_all_green_has_a_green_headline_and_no_broken_table() -> None:
    comparison = fixed_comparison()
    comparison.verdicts = [v for v in comparison.verdicts if v.status.value in ("ok", "improved")]
    text = render_markdown(comparison)
    assert text.splitlines()[0].startswith("### ✅ perfbudget: 0 regressions, 0 over budget, 1 improved")
    assert "What broke" not in text


def test_a_non_http_report_url_is_not_linked() -> None:
    text = render_markdown(fixed_comparison(), report_url="javascript:alert(1)")
    assert "javascript" not in text
    assert parse(text).links == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_test_name_stays_text_in_its_own_cell(name: str) -> None:
    text = render_markdown(hostile_comparison())
    tables = parse(text)
    rows = tables.rows[1:]
    assert len(rows) == len(HOSTILE_NAMES)  # no row broken in two, none merged
    assert all(len(row) == 4 for row in rows)
    # A long id is its test over its file: a code span does not wrap, and the table must fit 800 px.
    shown = name.replace("\n", "\\n").replace("<!--", "<!\u200b--")  # an HTML comment's opener is split, even in code
    if len(shown) > 60:
        file, _, test = shown.partition("::")
        shown = (test if len(test) <= 60 else test[:59] + "…") + file
    assert shown in [row[1] for row in rows]


def test_hostile_names_open_no_tag_link_image_mention_or_reference() -> None:
    text = render_markdown(hostile_comparison(), report_url="https://example.com/r.html")
    tables = parse(text)
    allowed = {
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
        "p",
        "strong",
        "pre",
        "details",
        "summary",
        "ul",
        "li",
        "hr",
        "sub",
        "a",
        "em",
        "br",
    }
    assert set(tables.tags) <= allowed, set(tables.tags) - allowed
    assert tables.links == ["https://example.com/r.html"]
    html = to_html(text)
    # Outside code, GitHub would link @mentions and #refs: each is broken by a zero-width space.
    prose = re.sub(r"<code>.*?</code>|<pre.*?</pre>", "", html, flags=re.S)
    assert not re.search(r"@[A-Za-z0-9]", prose)
    assert not re.search(r"#\d", prose)
    assert f"@{ZWSP}octocat" in prose and f"#{ZWSP}7" in prose
    assert "<script>" not in html and "<i>" not in html and "<b>" not in html


def test_hostile_sql_cannot_close_its_code_block() -> None:
    html = to_html(render_markdown(hostile_comparison()))
    block = re.search(r'<pre lang="sql"><code>(.*?)</code></pre>', html, re.S)
    assert block is not None
    assert "```\n# heading" in block.group(1)
    assert "<h1>" not in html


def test_code_span_and_text_escapes_render_literally() -> None:
    for raw in ["a|b", "``x``", " ` ", "<img src=x>", "[a](b)", "*em* _u_ ~~s~~"]:
        html = to_html(f"| h |\n|---|\n| {code_span(raw)} |")
        assert Tables.__name__ and raw.replace("<", "&lt;").replace(">", "&gt;") in html
    html = to_html(md_text("see http://evil.example, www.evil.example and a@b.example [x](y) GH-12"))
    assert "<a " not in html
    assert f"GH{ZWSP}-12" in html


def test_large_run_stays_under_the_comment_limit_and_says_what_it_left_out() -> None:
    comparison = large_comparison()
    text = render_markdown(comparison, marker="m", report_url="https://example.com/r.html")
    assert len(text) <= COMMENT_LIMIT
    note = next(line for line in text.splitlines() if line.startswith("> **Shortened"))
    left = int(re.search(r"left out ([\d,]+) rows", note).group(1).replace(",", ""))  # type: ignore[union-attr]
    shown = text.count("| 🔺 |") + text.count("| 🔴 |")
    rows = {(v.subject_kind, v.subject, is_time(v.metric or "")) for v in comparison.failing}
    assert left + shown == len(rows)  # every subject's row is either shown or counted
    assert re.search(r"\*… and [\d,]+ more rows; see the full report\.\*", text)
    assert text.rstrip().endswith("</sub>")  # the footer survives
    tables = parse(text)
    assert all(len(row) == 4 for row in tables.rows[1 : shown + 1])


def test_tiny_limit_still_fits() -> None:
    for limit in (200, 1_000, 3_000):
        assert len(render_markdown(fixed_comparison(), marker="m", max_chars=limit)) <= limit


def test_job_summary_limit_is_in_bytes() -> None:
    text = render_job_summary(large_comparison(5_000, 500), max_bytes=40_000)
    assert len(text.encode("utf-8")) <= 40_000
    assert not text.startswith("<!--")  # no comment marker in the summary


def test_a_subject_with_several_broken_metrics_is_named_once() -> None:
    comparison = fixed_comparison()
    url = next(v for v in comparison.verdicts if v.status.value == "regressed" and v.subject_kind == "url")
    extra = type(url)(**{**vars(url), "metric": "queries.select", "value": 10.0, "baseline": 1.0, "limit": 1.0})
    comparison.verdicts.insert(comparison.verdicts.index(url) + 1, extra)
    rows = parse(render_markdown(comparison)).rows
    assert ["🔺", "URL GET /archive/<int:year>/", "queries 4 → 13 (+9, +225%) · 1 related", "baseline"] in rows
    assert sum(1 for row in rows if row[1] == "URL GET /archive/<int:year>/") == 1


def test_one_query_added_to_a_view_a_thousand_tests_hit_is_one_row_naming_its_cause() -> None:
    """The comment's length does not grow with the tests one cause moved (issue 20)."""
    from perfbudget.compare import compare
    from perfbudget.compare.baseline import Baseline
    from perfbudget.run.model import Details, Run, SqlGroup, TestRecord

    listing = 'SELECT "shop_product"."id" FROM "shop_product"'
    count = 'SELECT COUNT(*) AS "__count" FROM "shop_category"'

    def run(*sqls: str) -> Run:
        tests = []
        for index in range(1000):
            groups = [SqlGroup(sql, "select", "default", 1, 0.1, location=f"shop/views.py:{8 + n}") for n, sql in enumerate(sqls)]
            test = TestRecord(f"tests/test_shop.py::test_{index:04d}", "tests/test_shop.py", index + 1, "passed", {"queries": len(sqls)})
            test.details = Details(sql_groups=groups)
            tests.append(test)
        return Run(project="shop", tests=tests)

    text = render_markdown(compare(run(listing, count), None, Baseline([run(listing)], "base.json")))
    broke = text[text.index("#### What broke") :]
    rows = [line for line in broke.splitlines() if line.startswith("| 🔺")]
    assert len(rows) == 1 and "**1,000 tests**" in rows[0] and "… and 990 more" in rows[0]
    assert "+1 COUNT `shop_category`, new" in rows[0]
    assert len(text) < 6_000
