"""The HTML report: one self-contained file (inline CSS, JS and SVG; no network) to explore a run.

This module builds the view model (rows for the tests and URLs tables, the
details behind each row, the charts) and renders ``templates/report.html.j2``
with autoescape on. Tables are rendered server-side so the file reads without
JavaScript; the inline script sorts, filters and opens a detail panel from
data embedded as JSON, encoded so that no string in it can end the
``<script>`` element.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, TextIO

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report import charts
from perfbudget.run.aggregate import url_sql_groups
from perfbudget.run.metrics import format_value
from perfbudget.run.model import Details, SqlGroup, TestRecord, UrlSummary

# Columns of the tests and URLs tables: (key, heading, metric used to format it).
TEST_COLUMNS = [
    ("queries", "Queries", "queries"),
    ("n_plus_one", "N+1", "n_plus_one"),
    ("duration", "Time", "duration"),
    ("network_calls", "Network", "network_calls"),
    ("cache_calls", "Cache", "cache_calls"),
    ("template_renders", "Templates", "template_renders"),
    ("peak_memory", "Memory", "peak_memory"),
]
URL_COLUMNS = [
    ("hits", "Hits", "requests"),
    ("queries", "Queries", "queries"),
    ("duration", "Median", "duration"),
    ("duration_p95", "p95", "duration_p95"),
    ("template_renders", "Templates", "template_renders"),
]
_JSON_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``</script>``, ``<!--`` or ``&``."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_SCRIPT)


@dataclass
class Cell:
    attribute: str  # data-<attribute> holds the sort value: "n-plus-one"
    sort: float | None  # the raw number the table sorts by; None sorts last
    text: str
    delta: str = ""  # "+9" against the baseline
    worse: bool = False


@dataclass
class Row:
    id: str  # key into the embedded details
    name: str
    status: Status
    note: str  # outcome for a test, view name for a URL
    cells: list[Cell] = field(default_factory=list)


def _cells(columns: list[tuple[str, str, str]], metrics: dict[str, float], base: dict[str, float] | None) -> list[Cell]:
    cells = []
    for key, _, metric in columns:
        value = metrics.get(key)
        cell = Cell(key.replace("_", "-"), value, format_value(metric, value) if value is not None else "–")
        if value is not None and base is not None and key in base and base[key] != value:
            difference = value - base[key]
            sign = "+" if difference > 0 else "−"
            cell.delta, cell.worse = f"{sign}{format_value(metric, abs(difference))}", difference > 0
        cells.append(cell)
    return cells


def _sql_rows(groups: list[SqlGroup]) -> list[list[Any]]:
    return [[g.sql, g.kind, g.database, g.count, format_value("query_time", g.time_ms), g.duplicates, g.location or "", g.n_plus_one] for g in groups]


def _details(details: Details, sql_groups: list[SqlGroup]) -> dict[str, Any]:
    """The facts behind a subject; ``sql_groups`` already in the order shown (``url_sql_groups``'s)."""
    data: dict[str, Any] = {}
    if sql_groups:
        data["sql"] = _sql_rows(sql_groups)
    if details.network_calls:
        data["network"] = [[c.method or "", c.url or f"{c.host}:{c.port}", c.count, c.loopback] for c in details.network_calls]
    if details.cache_ops:
        data["cache"] = [[c.cache, c.operation, c.calls, c.hits, c.misses, format_value("cache_time", c.time_ms)] for c in details.cache_ops]
    if details.templates:
        data["templates"] = [[t.name, t.count, format_value("template_time", t.time_ms)] for t in details.templates]
    if any(details.signals.values()):
        data["signals"] = [[name, count] for name, count in sorted(details.signals.items()) if count]
    return data


def _verdict_lines(verdicts: list[Verdict]) -> list[list[str]]:
    return [[v.status.value, v.status.label, v.reason] for v in verdicts if v.reason]


def _metric_lines(metrics: dict[str, float], base: dict[str, float] | None) -> list[list[str]]:
    """[name, this run, baseline] per metric; the baseline column is "–" where it lacks one."""
    return [
        [name, format_value(name, value), format_value(name, base.get(name)) if base is not None else "–"]
        for name, value in sorted(metrics.items())
    ]


def _test_detail(test: TestRecord, verdicts: list[Verdict], base: TestRecord | None) -> dict[str, Any]:
    data = {
        "kind": "test",
        "name": test.node_id,
        "where": f"{test.file}:{test.line}" if test.line else test.file,
        "outcome": test.outcome,
        "verdicts": _verdict_lines(verdicts),
        "metrics": _metric_lines(test.metrics, base.metrics if base else None),
        **_details(test.details, sorted(test.details.sql_groups, key=lambda g: (-g.count, g.sql, g.location or ""))),
    }
    if test.requests:
        data["requests"] = [[r.method, r.path, r.status, format_value("queries", r.metrics.get("queries")), format_value("duration", r.metrics.get("duration"))] for r in test.requests]
    return data


def _url_detail(url: UrlSummary, verdicts: list[Verdict], tests: dict[str, TestRecord], base: UrlSummary | None) -> dict[str, Any]:
    return {
        "kind": "url",
        "name": url.key,
        "where": url.view_name or "",
        "verdicts": _verdict_lines(verdicts),
        "metrics": _metric_lines(url.metrics, base.metrics if base else None),
        "status_codes": [[code, count] for code, count in sorted(url.status_codes.items())],
        "tests": url.tests,
        **_details(Details(), url_sql_groups(url, tests)),
    }


@dataclass
class View:
    """Everything the template shows."""

    comparison: Comparison
    tests: list[Row]
    urls: list[Row]
    details: dict[str, Any]
    failing: list[Verdict]
    charts: dict[str, Any]


def build_view(comparison: Comparison) -> View:
    run, baseline = comparison.run, comparison.baseline
    statuses = comparison.subject_statuses()
    by_subject: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in comparison.verdicts:
        by_subject.setdefault((verdict.subject_kind, verdict.subject), []).append(verdict)
    base_tests = {t.node_id: t for t in baseline.tests} if baseline else {}
    base_urls = {u.key: u for u in baseline.urls} if baseline else {}
    tests = {t.node_id: t for t in run.tests}
    details: dict[str, Any] = {}
    test_rows, url_rows = [], []
    for index, test in enumerate(sorted(run.tests, key=lambda t: t.node_id)):
        row_id, verdicts = f"t{index}", by_subject.get(("test", test.node_id), [])
        base = base_tests.get(test.node_id)
        test_rows.append(Row(row_id, test.node_id, statuses.get(("test", test.node_id), Status.OK), test.outcome, _cells(TEST_COLUMNS, test.metrics, base.metrics if base else None)))
        details[row_id] = _test_detail(test, verdicts, base)
    for index, url in enumerate(sorted(run.urls, key=lambda u: u.key)):
        row_id = f"u{index}"
        base_url = base_urls.get(url.key)
        metrics = {**url.metrics, "hits": float(url.hits)}
        url_rows.append(Row(row_id, url.key, statuses.get(("url", url.key), Status.OK), url.view_name or "", _cells(URL_COLUMNS, metrics, base_url.metrics if base_url else None)))
        details[row_id] = _url_detail(url, by_subject.get(("url", url.key), []), tests, base_url)
    for index, verdict in enumerate(comparison.by_status(Status.REMOVED)):
        row_id, columns = f"r{index}", TEST_COLUMNS if verdict.subject_kind == "test" else URL_COLUMNS
        removed = Row(row_id, verdict.subject, Status.REMOVED, "removed", [Cell(key.replace("_", "-"), None, "–") for key, _, _ in columns])
        (test_rows if verdict.subject_kind == "test" else url_rows).append(removed)
        details[row_id] = {"kind": verdict.subject_kind, "name": verdict.subject, "where": "", "verdicts": _verdict_lines([verdict]), "metrics": []}
    return View(
        comparison=comparison,
        tests=test_rows,
        urls=url_rows,
        details=details,
        failing=comparison.failing,
        charts={
            "changes": charts.change_bars(charts.top_changes(comparison.verdicts)),
            "durations": charts.histogram([t.metrics["duration"] for t in run.tests if "duration" in t.metrics], "duration", "tests by wall time"),
            "queries": charts.histogram([t.metrics["queries"] for t in run.tests if "queries" in t.metrics], "queries", "tests by SQL queries"),
        },
    )


def render_html(comparison: Comparison) -> str:
    """The whole report as one HTML document."""
    from jinja2 import Environment, PackageLoader

    environment = Environment(loader=PackageLoader("perfbudget.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["fmt"] = format_value
    with _gc_paused():
        view = build_view(comparison)
        return environment.get_template("report.html.j2").render(
            view=view,
            run=comparison.run,
            baseline=comparison.baseline,
            counts=comparison.counts(),
            Status=Status,
            test_columns=TEST_COLUMNS,
            url_columns=URL_COLUMNS,
            data=json_for_script(view.details),
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while rendering: a big run allocates millions of short-lived strings and
    dicts but no cycles, and full collections over them cost more than the rendering itself
    (50,000 tests: about 3.5 s instead of 6-7 s, see scripts/bench_report.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def report(comparison: Comparison, outfile: TextIO) -> None:
    outfile.write(render_html(comparison))

