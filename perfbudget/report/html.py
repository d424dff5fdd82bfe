"""The HTML report: one self-contained file (inline CSS, JS and SVG; no network) to explore a run.

This module builds the view model (rows for the tests and URLs tables, the
details behind the rows that changed, the charts) and renders
``templates/report.html.j2`` with autoescape on. The banner, the charts and
what broke are plain HTML; the tests and URLs tables are compact JSON arrays
that the inline script sorts, filters and draws a page at a time, because a
50,000-row table as HTML is hundreds of megabytes and freezes the browser
(issue 8). The JSON is encoded so that no string in it can end the
``<script>`` element, and the script sets text only with ``textContent``.

Details (SQL groups, requests, cache calls...) are embedded only for the
subjects whose status is not OK, most severe first, within ``DETAILS_BUDGET``:
an unchanged test's row keeps its figures, and its panel says where the rest
is kept. A panel marks the query groups a cause names (new, grown, fewer,
rewritten) and lists those gone, and folds away the metrics that are zero in
both runs. The page leads with the causes (``html_findings.py``); the
subjects of each cause are embedded as row ids, so ``#cause=N`` filters the
tables to them, within the same budget as the details.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

from perfbudget.collect.sql_shape import statement_label
from perfbudget.compare.causes import Cause
from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report import charts
from perfbudget.report.causes import MAX_CAUSES, fix_text, where_text
from perfbudget.report.html_findings import CAUSES_LISTED, FINDINGS_SHOWN, Findings, Marks, build_findings, cause_row_ids, group_marks
from perfbudget.report.origin import compared_with
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
# Characters of embedded details. With the rows of 50,000 tests (about 7 MB) the page stays under
# 20 MB even when every subject regressed; the subjects past the budget show their figures only.
DETAILS_BUDGET = 10_000_000
# Characters of the causes' subjects (row ids), taken from the details' budget: a cause past it gets no table filter.
CAUSE_ROWS_BUDGET = 1_000_000
LIST_LIMIT = 100  # entries of one list in one subject's details (SQL groups, requesting tests...)
SEVERITY = {status: status.severity for status in Status}  # Status.severity builds a list per call; every row asks
_SCRIPT_UNSAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))

Cell = list[Any]  # [sort value, text] or [sort value, text, "+9", 1 if worse else 0]
Row = list[Any]  # [id, name, status severity (its index in Status), note (outcome or view name), cell or None per column...]


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``</script>``, ``<!--`` or ``&``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for unsafe, escaped in _SCRIPT_UNSAFE:  # str.replace, not translate: 20x faster on megabytes
        text = text.replace(unsafe, escaped)
    return text


def _cells(columns: list[tuple[str, str, str]], metrics: dict[str, float], base: dict[str, float] | None) -> list[Cell | None]:
    cells: list[Cell | None] = []
    for key, _, metric in columns:
        value = metrics.get(key)
        if value is None:
            cells.append(None)
            continue
        cell: Cell = [value, format_value(metric, value)]
        before = base.get(key) if base is not None else None
        if before is not None and before != value:
            difference = value - before
            cell += [f"{'+' if difference > 0 else '−'}{format_value(metric, abs(difference))}", int(difference > 0)]
        cells.append(cell)
    return cells


def _put(data: dict[str, Any], key: str, entries: list[Any]) -> None:
    """``data[key]``: the first LIST_LIMIT entries; ``data["more"][key]`` counts the rest."""
    if not entries:
        return
    data[key] = entries[:LIST_LIMIT]
    if len(entries) > LIST_LIMIT:
        data.setdefault("more", {})[key] = len(entries) - LIST_LIMIT


def _by_count(groups: list[SqlGroup]) -> list[SqlGroup]:
    """A test's groups in the order ``url_sql_groups`` gives a URL's: count, SQL, call site."""
    return sorted(groups, key=lambda g: (-g.count, g.sql, g.location or ""))


def _sql_row(g: SqlGroup, marks: Marks) -> list[Any]:
    """One group as the page's script reads it, by position: flags for warm-up and N+1 in test code, the cause's mark,
    then, when they say more than the rest, what ran (COUNT...), where (a template's line beside its view) and an N+1's fix.
    """
    time = format_value("query_time", g.time_ms)
    mark, before = marks.get(g.key, ("", 0))
    row = [g.sql, g.kind, g.database, g.count, time, g.duplicates, g.location or "", g.n_plus_one, g.warmup, g.n_plus_one_in_tests]
    label = statement_label(g.sql)
    extra = [
        label if label != g.kind.upper() else "",
        where_text(g).removeprefix(" at ") if g.template else "",
        fix_text(g) if g.n_plus_one else "",
    ]
    while extra and not extra[-1]:
        extra.pop()  # the page's size grows with every row: what the script can tell from the rest is left out
    return [*row, mark, before, *extra]


def _details(data: dict[str, Any], details: Details, sql_groups: list[SqlGroup], causes: list[Cause] | None = None) -> dict[str, Any]:
    marks, gone = group_marks((data["kind"], data["name"]), causes or [])
    # One row per group, so every call site of a shape shows; those a cause names first, so the cap never hides them.
    _put(data, "sql", [_sql_row(g, marks) for g in sorted(sql_groups, key=lambda g: g.key not in marks)])
    _put(data, "gone", gone)
    _put(data, "network", [[c.method or "", c.url or f"{c.host}:{c.port}", c.count, c.loopback] for c in details.network_calls])
    _put(
        data, "cache", [[c.cache, c.operation, c.calls, c.hits, c.misses, format_value("cache_time", c.time_ms)] for c in details.cache_ops]
    )
    _put(data, "templates", [[t.name, t.count, format_value("template_time", t.time_ms)] for t in details.templates])
    _put(data, "signals", [[name, count] for name, count in sorted(details.signals.items()) if count])
    return data


def _verdict_lines(verdicts: list[Verdict]) -> list[list[str]]:
    return [[v.status.value, v.status.label, v.reason] for v in verdicts if v.reason]


def _metric_lines(metrics: dict[str, float], base: dict[str, float] | None) -> list[list[Any]]:
    """[name, this run, baseline, zero] per metric; the baseline column is "–" where it lacks one.

    ``zero`` (1) marks a metric that is 0 in this run and 0 or missing in the
    baseline: the panel folds those away behind a toggle, so the few that say
    something are not lost among two dozen zeros.
    """
    return [
        [
            name,
            format_value(name, value),
            format_value(name, base.get(name)) if base is not None else "–",
            int(value == 0 and not (base or {}).get(name)),
        ]
        for name, value in sorted(metrics.items())
    ]


def _test_detail(test: TestRecord, verdicts: list[Verdict], base: TestRecord | None, causes: list[Cause]) -> dict[str, Any]:
    data = {
        "kind": "test",
        "name": test.node_id,
        "where": f"{test.file}:{test.line}" if test.line else test.file,
        "outcome": test.outcome,
        "verdicts": _verdict_lines(verdicts),
        "metrics": _metric_lines(test.metrics, base.metrics if base else None),
    }
    _details(data, test.details, _by_count(test.details.sql_groups), causes)
    _put(
        data,
        "requests",
        [
            [
                r.method,
                r.path,
                r.status,
                format_value("queries", r.metrics.get("queries")),
                format_value("duration", r.metrics.get("duration")),
            ]
            for r in test.requests
        ],
    )
    return data


def _url_detail(
    url: UrlSummary, verdicts: list[Verdict], tests: dict[str, TestRecord], base: UrlSummary | None, causes: list[Cause]
) -> dict[str, Any]:
    data = {
        "kind": "url",
        "name": url.key,
        "where": url.view_name or "",
        "verdicts": _verdict_lines(verdicts),
        "metrics": _metric_lines(url.metrics, base.metrics if base else None),
        "status_codes": [[code, count] for code, count in sorted(url.status_codes.items())],
    }
    _put(data, "tests", url.tests)
    return _details(data, Details(), url_sql_groups(url, tests), causes)


def _removed_detail(verdict: Verdict) -> dict[str, Any]:
    return {"kind": verdict.subject_kind, "name": verdict.subject, "where": "", "verdicts": _verdict_lines([verdict]), "metrics": []}


@dataclass
class Pending:
    """The details of one subject that is not OK, built only if they fit in the page."""

    severity: int
    row_id: str
    build: Callable[[], dict[str, Any]]


@dataclass
class View:
    """Everything the template shows."""

    comparison: Comparison
    tests: list[Row]
    urls: list[Row]
    pending: list[Pending]  # most severe first
    failing: list[Verdict]
    charts: dict[str, Any]
    findings: Findings  # "What changed" and "What broke"
    cause_rows: list[list[str] | None]  # per listed cause, its subjects' row ids (None: past CAUSE_ROWS_BUDGET)
    unconfirmed: int  # time verdicts slower but not confirmed: their chart is collapsed

    def filterable(self, cause: int) -> bool:
        """Whether ``#cause=N`` can filter the tables to that cause's subjects (their row ids are embedded)."""
        return cause < len(self.cause_rows) and self.cause_rows[cause] is not None


class _ViewBuilder:
    """The rows of both tables and the pending details, from one pass over the run."""

    def __init__(self, comparison: Comparison) -> None:
        run, baseline = comparison.run, comparison.baseline
        self.statuses = comparison.subject_statuses()
        self.verdicts: dict[tuple[str, str], list[Verdict]] = {}
        for verdict in comparison.verdicts:
            if self.statuses[(verdict.subject_kind, verdict.subject)] is not Status.OK:
                self.verdicts.setdefault((verdict.subject_kind, verdict.subject), []).append(verdict)
        self.base_tests = {t.node_id: t for t in baseline.tests} if baseline else {}
        self.base_urls = {u.key: u for u in baseline.urls} if baseline else {}
        self.tests = {t.node_id: t for t in run.tests}
        self.causes: dict[tuple[str, str], list[Cause]] = {}
        for cause in comparison.causes:
            for subject in cause.subjects:
                self.causes.setdefault(subject, []).append(cause)
        self.pending: list[Pending] = []
        self.row_ids: dict[tuple[str, str], str] = {}

    def _row(self, row_id: str, kind: str, name: str, note: str, cells: list[Cell | None], build: Callable[[], dict[str, Any]]) -> Row:
        self.row_ids[(kind, name)] = row_id
        status = self.statuses.get((kind, name), Status.OK)
        if status is not Status.OK:
            self.pending.append(Pending(SEVERITY[status], row_id, build))
        return [row_id, name, SEVERITY[status], note, *cells]

    def test_row(self, index: int, test: TestRecord) -> Row:
        base = self.base_tests.get(test.node_id)
        cells = _cells(TEST_COLUMNS, test.metrics, base.metrics if base else None)
        key = ("test", test.node_id)
        build = partial(_test_detail, test, self.verdicts.get(key, []), base, self.causes.get(key, []))
        return self._row(f"t{index}", "test", test.node_id, test.outcome, cells, build)

    def url_row(self, index: int, url: UrlSummary) -> Row:
        base = self.base_urls.get(url.key)
        cells = _cells(URL_COLUMNS, {**url.metrics, "hits": float(url.hits)}, base.metrics if base else None)
        key = ("url", url.key)
        build = partial(_url_detail, url, self.verdicts.get(key, []), self.tests, base, self.causes.get(key, []))
        return self._row(f"u{index}", "url", url.key, url.view_name or "", cells, build)

    def removed_row(self, index: int, verdict: Verdict) -> Row:
        columns = TEST_COLUMNS if verdict.subject_kind == "test" else URL_COLUMNS
        row_id = f"r{index}"
        self.row_ids.setdefault((verdict.subject_kind, verdict.subject), row_id)
        self.pending.append(Pending(Status.REMOVED.severity, row_id, partial(_removed_detail, verdict)))
        return [row_id, verdict.subject, Status.REMOVED.severity, "removed", *([None] * len(columns))]


def build_view(comparison: Comparison) -> View:
    run = comparison.run
    builder = _ViewBuilder(comparison)
    tests = [builder.test_row(index, test) for index, test in enumerate(sorted(run.tests, key=lambda t: t.node_id))]
    urls = [builder.url_row(index, url) for index, url in enumerate(sorted(run.urls, key=lambda u: u.key))]
    for index, verdict in enumerate(comparison.by_status(Status.REMOVED)):
        (tests if verdict.subject_kind == "test" else urls).append(builder.removed_row(index, verdict))
    builder.pending.sort(key=lambda p: p.severity)  # stable: table order within a status
    unconfirmed = comparison.by_status(Status.UNCONFIRMED, Status.FASTER_UNCONFIRMED)
    return View(
        comparison=comparison,
        tests=tests,
        urls=urls,
        pending=builder.pending,
        failing=comparison.failing,
        findings=build_findings(comparison, builder.row_ids),
        cause_rows=cause_row_ids(comparison.causes[: MAX_CAUSES + CAUSES_LISTED], builder.row_ids, CAUSE_ROWS_BUDGET),
        unconfirmed=len(unconfirmed),
        charts={
            # Confirmed changes, counts first; slower times that reruns did not confirm have a collapsed chart of their own.
            "changes": charts.change_bars(
                charts.top_changes([v for v in comparison.verdicts if v.status not in (Status.UNCONFIRMED, Status.FASTER_UNCONFIRMED)])
            ),
            "unconfirmed": charts.change_bars(charts.top_changes(unconfirmed), label="Not confirmed"),
            "durations": charts.histogram(
                [t.metrics["duration"] for t in run.tests if "duration" in t.metrics], "duration", "tests by wall time"
            ),
            "queries": charts.histogram(
                [t.metrics["queries"] for t in run.tests if "queries" in t.metrics], "queries", "tests by SQL queries"
            ),
        },
    )


def embedded_details(pending: list[Pending], budget: int) -> tuple[str, int]:
    """The details JSON object (as script-safe text) and how many subjects it left out.

    Subjects come most severe first; once one does not fit in ``budget``
    characters, it and the rest are left out, so what is missing is always
    the least important.
    """
    parts: list[str] = []
    used = 0
    for index, subject in enumerate(pending):
        part = f"{json_for_script(subject.row_id)}:{json_for_script(subject.build())}"
        used += len(part) + 1
        if used > budget:
            return "{" + ",".join(parts) + "}", len(pending) - index
        parts.append(part)
    return "{" + ",".join(parts) + "}", 0


def page_data(view: View, details: str) -> str:
    """The one JSON object the script reads: statuses, both tables' rows, the causes' subjects and the details."""
    statuses = json_for_script([[status.value, status.label] for status in Status])  # in severity order
    tables = f'"tests":{json_for_script(view.tests)},"urls":{json_for_script(view.urls)}'
    return f'{{"statuses":{statuses},{tables},"causes":{json_for_script(view.cause_rows)},"details":{details}}}'


def render_html(comparison: Comparison) -> str:
    """The whole report as one HTML document."""
    from jinja2 import Environment, PackageLoader

    environment = Environment(loader=PackageLoader("perfbudget.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["fmt"] = format_value
    with _gc_paused():
        view = build_view(comparison)
        # The causes' row ids come out of the details' budget, so the page stays within its size.
        cause_rows = sum(len(row_id) + 3 for ids in view.cause_rows for row_id in ids or ())
        details, left_out = embedded_details(view.pending, DETAILS_BUDGET - cause_rows)
        return environment.get_template("report.html.j2").render(
            view=view,
            run=comparison.run,
            baseline=comparison.baseline,
            summary=comparison.summary_line(),
            compared_with=compared_with(comparison),
            not_compared=bool(comparison.not_compared),
            counts=comparison.counts(),
            not_judged=comparison.not_judged,
            Status=Status,
            test_columns=TEST_COLUMNS,
            url_columns=URL_COLUMNS,
            findings_shown=FINDINGS_SHOWN,
            max_causes=MAX_CAUSES,
            detailed=len(view.pending) - left_out,
            left_out=left_out,
            data=page_data(view, details),
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building the page: a big run allocates hundreds of thousands of
    row lists but no cycles, and full collections over them cost as much as the building itself
    (50,000 tests: 1.4 s instead of 2.8 s, see scripts/bench_report.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def report(comparison: Comparison, outfile: TextIO) -> None:
    outfile.write(render_html(comparison))
