"""The run summary: where a run spent its queries, time and network calls, as plain text.

Shown at the end of ``pytest --perf-budget`` and by ``perfbudget show``, from
the same ``Run``, so both print the same thing. It describes one run on its
own; judging it against budgets and a baseline is ``compare/``'s job. Each
line is an ``escape.terminal_line``: test ids, SQL, call sites and URLs may
hold escape codes or line breaks.
"""

from __future__ import annotations

from perfbudget.report.causes import fix_text, where_text
from perfbudget.report.escape import shorten, terminal_line
from perfbudget.run.metrics import format_value
from perfbudget.run.model import Run, SqlGroup, TestRecord, UrlSummary

TOP = 5  # entries in each section of the summary, by default
SQL_WIDTH = 160  # characters of SQL shown per N+1 candidate


def _top_tests(tests: list[TestRecord], metric: str, top: int | None) -> list[TestRecord]:
    ranked = [t for t in tests if t.metrics.get(metric, 0) > 0]
    return sorted(ranked, key=lambda t: (-t.metrics[metric], t.node_id))[:top]


def _top_urls(urls: list[UrlSummary], metric: str, top: int | None) -> list[UrlSummary]:
    ranked = [u for u in urls if u.metrics.get(metric, 0) > 0]
    return sorted(ranked, key=lambda u: (-u.metrics[metric], u.key))[:top]


def _table(title: str, rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return []
    width = max(len(value) for value, _ in rows)
    return [title, *(f"  {value:>{width}}  {label}" for value, label in rows)]


def _n_plus_one_lines(tests: list[TestRecord], top: int | None) -> list[str]:
    """The largest N+1 groups first: how many times one SELECT repeated is its impact.

    Every call site is its own entry. Those in test code follow, apart and
    shorter: they are the test's own doing and never judged.
    """
    found = [(test, group) for test in tests for group in test.details.n_plus_one_groups]
    in_tests = [(test, group) for test in tests for group in test.details.sql_groups if group.n_plus_one_in_tests]
    lines = _group_lines(found, top, with_sql=True)
    test_lines = _group_lines(in_tests, top, with_sql=False)
    return [
        *(["N+1 candidates (the same SELECT repeated):", *lines, *_more(len(found), top)] if lines else []),
        *(["N+1 in test code (not judged):", *test_lines, *_more(len(in_tests), top)] if test_lines else []),
    ]


def _group_lines(found: list[tuple[TestRecord, SqlGroup]], top: int | None, with_sql: bool) -> list[str]:
    found.sort(key=lambda pair: (-pair[1].count, pair[0].node_id, pair[1].sql, pair[1].location or ""))
    lines: list[str] = []
    for test, group in found[:top]:
        lines.append(f"  {test.node_id}: {group.count} x on {group.database!r}{where_text(group)}")
        if with_sql:
            lines.append(f"    {shorten(' '.join(group.sql.split()), SQL_WIDTH)}")
            if group.relation:
                lines.append(f"    {fix_text(group)}")
    return lines


def _warmup_lines(tests: list[TestRecord]) -> list[str]:
    """One line: how many queries filled per-process caches, which no count compares."""
    warm = [t.metrics["warmup_queries"] for t in tests if t.metrics.get("warmup_queries")]
    if not warm:
        return []
    total = format_value("warmup_queries", sum(warm))
    return [f"Cache warm-up (ContentType, Site...): {total} queries in {len(warm)} tests, kept out of the compared counts"]


def _external_lines(tests: list[TestRecord], top: int | None) -> list[str]:
    """The most frequent outside calls first."""
    found = [(test, call) for test in tests for call in test.details.external_calls]
    found.sort(key=lambda pair: (-pair[1].count, pair[0].node_id))
    lines = []
    for test, call in found[:top]:
        target = f"{call.method} {call.url}" if call.method and call.url else f"{call.host}:{call.port}"
        lines.append(f"  {test.node_id}: {target} ({call.count}x)")
    return ["Tests calling outside hosts:", *lines, *_more(len(found), top)] if lines else []


def _more(found: int, top: int | None) -> list[str]:
    return [f"  ... and {found - top} more"] if top is not None and found > top else []


def tests_shown_in_detail(run: Run) -> set[str]:
    """The tests whose details the summary prints: N+1 candidates (test code's too) and calls to outside hosts.

    Their metrics say so, so a run read without details (as at the end of
    a long run) fetches the details of these alone.
    """
    return {
        t.node_id
        for t in run.tests
        if t.metrics.get("n_plus_one") or t.metrics.get("n_plus_one_in_tests") or t.metrics.get("external_network_calls")
    }


def render_run_summary(run: Run, top: int | None = TOP, more: str | None = None) -> str:
    """The summary of ``run``; sections with nothing to show are left out.

    Each section shows its ``top`` entries, largest first (None: all of
    them); ``more`` is the last line when anything was left out, saying
    where the rest is.
    """
    tests, urls = run.tests, run.urls
    counts = {outcome: sum(1 for t in tests if t.outcome == outcome) for outcome in sorted({t.outcome for t in tests})}
    head = ", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "no tests"
    note = " (interrupted: partial results)" if run.interrupted else ""
    # URLs are Django test-client requests: a run that never set Django up (no database recorded) has none to count.
    url_count = f"; {len(urls)} URLs" if urls or "database" in run.environment else ""
    sections: list[list[str]] = [[f"{len(tests)} tests recorded: {head}{url_count}{note}"]]
    sections.append(
        _table(
            "Most queries (tests):",
            [(format_value("queries", t.metrics["queries"]), t.node_id) for t in _top_tests(tests, "queries", top)],
        )
    )
    sections.append(
        _table(
            "Most queries (URLs, worst request):",
            [(format_value("queries", u.metrics["queries"]), f"{u.key} ({u.hits} hits)") for u in _top_urls(urls, "queries", top)],
        )
    )
    sections.append(
        _table(
            "Slowest tests:",
            [(format_value("duration", t.metrics["duration"]), t.node_id) for t in _top_tests(tests, "duration", top)],
        )
    )
    sections.append(
        _table(
            "Slowest URLs (median; p95):",
            [
                (
                    format_value("duration", u.metrics["duration"]),
                    f"{u.key} (p95 {format_value('duration', u.metrics.get('duration_p95'))}, {u.hits} hits)",
                )
                for u in _top_urls(urls, "duration", top)
            ],
        )
    )
    sections.append(_n_plus_one_lines(tests, top))
    sections.append(_external_lines(tests, top))
    sections.append(_warmup_lines(tests))
    if more and any(line.startswith("  ... and ") for section in sections for line in section):
        sections.append([more])
    return "\n".join(terminal_line(line) for section in sections for line in section) + "\n"
