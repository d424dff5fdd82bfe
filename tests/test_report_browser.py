"""The HTML report in real headless Chromium: it loads without console errors, sorts, filters, opens details.

Method (no DevTools client, no downloads): the report's script honours the
URL hash (``#sort=queries&dir=desc&q=views&status=regressed&open=t3``) and
marks ``<html data-ready="true">`` when it finished, so ``chromium --dump-dom``
shows the DOM after the script ran. ``--enable-logging=stderr`` prints every
console message and uncaught error as an ``INFO:CONSOLE`` line; the report
logs nothing, so any such line is a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from perfbudget.report import html
from perfbudget.report.html import render_html
from tests.support.report import HOSTILE_NAMES, added_query_comparison, fixed_comparison, hostile_comparison, large_comparison

PAGE = 250  # rows report.js draws before "Show more"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, url: str, *extra: str) -> tuple[str, list[str]]:
    """(dumped DOM or "", console lines) for one page load."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=90,
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


class Dom(HTMLParser):
    """Rows of each data table in document order, with their hidden flag, and the panel's state."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = False
        self.rows: dict[str, list[tuple[str, bool]]] = {}
        self.panel_hidden: bool | None = None
        self.panel_text: list[str] = []
        self.tables: dict[str, dict[str, str | None]] = {}
        self.codes: list[str] = []  # text of each <code> in a data table's row
        self.more: dict[str, bool] = {}  # "Show more" shown, per table
        self._table: str | None = None
        self._in_panel = False
        self._code: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.ready = attributes.get("data-ready") == "true"
        elif tag == "table" and attributes.get("data-kind"):
            self._table = attributes["data-kind"]
            self.tables[self._table] = attributes
            self.rows[self._table] = []
        elif tag == "tr" and self._table and "data-id" in attributes:
            self.rows[self._table].append((attributes["data-name"] or "", "hidden" in attributes))
        elif tag == "code" and self._table:
            self._code = []
        elif tag == "div" and "more" in (attributes.get("class") or "").split():
            self.more[(attributes.get("id") or "").removesuffix("-more")] = "hidden" not in attributes
        elif tag == "aside" and attributes.get("id") == "panel":
            self.panel_hidden = "hidden" in attributes
            self._in_panel = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None
        elif tag == "aside":
            self._in_panel = False

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)
        if self._in_panel:
            self.panel_text.append(data)


def load(tmp_path: Path, report: Path, fragment: str = "") -> Dom:
    dom_text, console = chromium(tmp_path, report.as_uri() + fragment, "--dump-dom")
    assert console == []
    dom = Dom()
    dom.feed(dom_text)
    assert dom.ready, "the report's script did not finish"
    return dom


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(fixed_comparison()), encoding="utf-8")
    return path


def test_loads_without_console_errors_and_writes_a_screenshot(tmp_path: Path, report: Path) -> None:
    shot = tmp_path / "report.png"
    _, console = chromium(tmp_path, report.as_uri(), f"--screenshot={shot}", "--window-size=1400,900")
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    dom = load(tmp_path, report)
    assert len(dom.rows["tests"]) == 7 and dom.panel_hidden is True


def test_sorts_by_queries_descending_with_missing_values_last(tmp_path: Path, report: Path) -> None:
    dom = load(tmp_path, report, "#sort=queries&dir=desc")
    assert [name for name, _ in dom.rows["tests"]] == [
        "tests/test_views.py::test_archive",  # 13
        "tests/test_api.py::test_create_post",  # 4
        "tests/test_views.py::test_post_detail",  # 3
        "tests/test_api.py::test_list_posts[page-2]",  # 2, ties by name
        "tests/test_feeds.py::test_rss",  # 2
        "tests/test_views.py::test_search",  # 1
        "tests/test_views.py::test_sitemap",  # removed: no value
    ]
    ascending = load(tmp_path, report, "#sort=duration&dir=asc")
    assert ascending.rows["tests"][0][0] == "tests/test_views.py::test_search"  # 12 ms


def test_filters_by_text_and_status(tmp_path: Path, report: Path) -> None:
    dom = load(tmp_path, report, "#q=views&status=regressed")
    visible = [name for name, hidden in dom.rows["tests"] if not hidden]
    assert visible == ["tests/test_views.py::test_post_detail"]
    assert dom.tables["tests"]["data-shown"] == "1"
    assert [name for name, hidden in dom.rows["urls"] if not hidden] == []
    by_text = load(tmp_path, report, "#q=ARCHIVE")
    assert [name for name, hidden in by_text.rows["urls"] if not hidden] == ["get /archive/<int:year>/"]


def test_detail_panel_shows_queries_cache_and_templates(tmp_path: Path, report: Path) -> None:
    dom = load(tmp_path, report, "#open=t3")
    text = " ".join(dom.panel_text)
    assert dom.panel_hidden is False
    assert "tests/test_views.py::test_archive" in text
    assert 'SELECT "blog_author"."id"' in text and "N+1" in text
    assert "blog/archive.html" in text and "request_started" in text


def test_hostile_report_runs_no_injected_script(tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    path.write_text(render_html(hostile_comparison()), encoding="utf-8")
    dom = load(tmp_path, path, "#open=t0")  # console == []: no alert(1), no broken JSON
    assert len(dom.rows["tests"]) == len(HOSTILE_NAMES)
    assert "</script>" in " ".join(dom.panel_text)  # the hostile SQL, shown as text
    for name in HOSTILE_NAMES:
        assert name in dom.codes  # drawn whole, as text, in its table cell


def test_an_ok_row_shows_its_figures_and_where_its_details_are_kept(tmp_path: Path, report: Path) -> None:
    dom = load(tmp_path, report, "#open=t5")  # tests/test_views.py::test_search: ok, so no details embedded
    text = " ".join(dom.panel_text)
    assert dom.panel_hidden is False and "tests/test_views.py::test_search" in text
    assert "Queries" in text and "12 ms" in text
    assert "kept in this page only for the tests and URLs whose status is not ok" in text and "perfbudget show" in text


def test_a_subject_left_out_past_the_details_budget_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "DETAILS_BUDGET", 2_000)  # room for the most severe subject or two
    path = tmp_path / "report.html"
    path.write_text(html.render_html(fixed_comparison()), encoding="utf-8")
    dom = load(tmp_path, path, "#open=t1")  # test_list_posts: improved, the least severe
    text = " ".join(dom.panel_text)
    assert "test_list_posts[page-2]" in text and "this one's left out" in text
    kept = load(tmp_path, path, "#open=t3")  # test_archive: over budget, the most severe
    assert 'SELECT "blog_author"."id"' in " ".join(kept.panel_text)


def test_a_50000_test_page_opens_draws_a_page_of_rows_and_sorts(tmp_path: Path) -> None:
    path = tmp_path / "large.html"
    path.write_text(render_html(large_comparison()), encoding="utf-8")
    dom = load(tmp_path, path, "#sort=queries&dir=desc&status=ok&open=t3")  # within chromium()'s 90 s timeout
    rows = dom.rows["tests"]
    assert len(rows) == PAGE and dom.more == {"tests": True, "urls": True}
    assert dom.tables["tests"]["data-shown"] == str(40_000)  # the 50,000 tests but the regressed and the improved tenths
    names = [name for name, _ in rows]  # the most queries (39) are those of 250 tests or more: ties go by name
    assert names[0] == "tests/module_039/test_generated.py::test_case_00039[param-4]" and names == sorted(names)
    assert "regressed" in " ".join(dom.panel_text)


class CauseDom(Dom):
    """Also: the cause filter's notice, the links of "What changed", the panel's metric rows and query marks."""

    def __init__(self) -> None:
        super().__init__()
        self.notice_hidden: bool | None = None
        self.notice = ""  # its text
        self._in_notice = False
        self.cause_links: list[str] = []
        self.metric_rows: list[tuple[str, bool]] = []  # (class, hidden) of each row of the panel's tables
        self.marks: list[str] = []
        self._in_causes = False
        self._mark: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "p" and attributes.get("id") == "cause-filter":
            self.notice_hidden = "hidden" in attributes
            self._in_notice = True
        elif tag == "section" and attributes.get("id") == "what-changed":
            self._in_causes = True
        elif tag == "a" and self._in_causes:
            self.cause_links.append(attributes.get("href") or "")
        elif tag == "tr" and self._in_panel:
            self.metric_rows.append((attributes.get("class") or "", "hidden" in attributes))
        elif tag == "span" and self._in_panel and "mark" in classes:
            self._mark = []

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        if tag == "section":
            self._in_causes = False
        elif tag == "p":
            self._in_notice = False
        elif tag == "span" and self._mark is not None:
            self.marks.append("".join(self._mark).strip())
            self._mark = None

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        if self._in_notice:
            self.notice += data
        if self._mark is not None:
            self._mark.append(data)


def load_causes(tmp_path: Path, report: Path, fragment: str = "") -> CauseDom:
    dom_text, console = chromium(tmp_path, report.as_uri() + fragment, "--dump-dom")
    assert console == []
    dom = CauseDom()
    dom.feed(dom_text)
    assert dom.ready, "the report's script did not finish"
    return dom


def test_a_causes_link_filters_both_tables_to_its_subjects(tmp_path: Path, report: Path) -> None:
    dom = load_causes(tmp_path, report)
    assert "#cause=2" in dom.cause_links and "#open=t4" in dom.cause_links and dom.notice_hidden is True
    third = load_causes(tmp_path, report, "#cause=2")  # SELECT blog_tag, new in test_post_detail
    assert [name for name, _ in third.rows["tests"]] == ["tests/test_views.py::test_post_detail"] and third.rows["urls"] == []
    assert third.notice_hidden is False and "Showing the 1 test of: ▲ +1 SELECT blog_tag at blog/views.py:52" in third.notice
    first = load_causes(tmp_path, report, "#cause=0")  # SELECT blog_author: the archive's test and URL
    assert [name for name, _ in first.rows["tests"]] == ["tests/test_views.py::test_archive"]
    assert [name for name, _ in first.rows["urls"]] == ["get /archive/<int:year>/"]
    for bogus in ("#cause=99", "#cause=__proto__", "#cause=-1"):  # the hash is untrusted: no filter, no error
        assert len(load_causes(tmp_path, report, bogus).rows["tests"]) == 7


def test_the_panel_folds_zero_metrics_away_and_marks_the_new_query(tmp_path: Path) -> None:
    path = tmp_path / "shop.html"
    path.write_text(render_html(added_query_comparison()), encoding="utf-8")
    dom = load_causes(tmp_path, path, "#open=t0")
    text = " ".join(dom.panel_text)
    assert dom.panel_hidden is False and "test_page_0000" in text
    zeros = [hidden for kind, hidden in dom.metric_rows if kind == "zero"]
    assert zeros == [True, True] and "Show the 2 metrics at zero" in text  # cache_calls, network_calls
    assert not any(hidden for kind, hidden in dom.metric_rows if kind != "zero")
    assert dom.marks == ["new"] and "shop_category" in text
