"""The PR comment and the job summary: a Comparison as GitHub-flavoured Markdown that always fits.

Layout: the hidden marker (how the GitHub layer finds its comment again), the
verdict in words and counts, what the run was compared with, what changed
(each query added, removed or repeating more, at its call site, with every
subject it moved: ``compare/causes.py``), a table of what broke with one row
per subject (counts before times), the N+1 groups of new subjects, collapsed sections for improvements, new and removed subjects and
warnings, and a footer with the commits and the full report's link. When the
whole would exceed the size limit, each section keeps as many rows as fit and
says how many it left out, and a note under the verdict says so too. Rows are
in the Comparison's order (sorted by compare/), so an updated comment only
changes where results changed. Every user-controlled string goes through
``escape.py``.

Rows are written lazily: a 50,000-test run has thousands of findings, but
65,536 characters hold a few hundred rows, so a section knows how many rows
it has and formats only those that fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import quote, urlsplit

from perfbudget.collect.sql_shape import statement_label
from perfbudget.compare.causes import Cause
from perfbudget.compare.verdicts import FAILING, Comparison, Status, Verdict
from perfbudget.report.causes import (
    MAX_CAUSES,
    SUBJECTS_SHOWN,
    cause_headline,
    cause_line,
    count_subjects,
    explained_by_queries,
    fix_text,
    shared_causes,
    short_test_names,
    where_text,
)
from perfbudget.report.escape import code_fence, code_span, html_comment, md_text, shorten
from perfbudget.report.origin import compared_with
from perfbudget.run.aggregate import url_sql_groups
from perfbudget.run.metrics import format_value, is_time
from perfbudget.run.model import Run, SqlGroup, TestRecord, UrlSummary

COMMENT_LIMIT = 65_536  # GitHub: "Body is too long (maximum is 65536 characters)"
SUMMARY_LIMIT_BYTES = 1024 * 1024  # GitHub: $GITHUB_STEP_SUMMARY takes at most 1 MiB per step
NAME_WIDTH = 150  # characters of a test id or URL shown outside tables
CELL_WIDTH = 60  # characters of code in a table cell: four columns within GitHub's 800 px comment
SQL_WIDTH = 1_500  # characters of one normalized SQL statement
MAX_N_PLUS_ONE = 10  # N+1 groups shown; the HTML report has all of them
MAX_BROKEN_ROWS = 30  # rows of "What broke"; subjects that one cause moved are one row, however many
# Within one subject, the metrics a reviewer reads first; the rest follow by name.
_HEADLINE_METRICS = ("queries", "n_plus_one", "duration", "external_network_calls", "network_calls", "peak_memory")
_NOTE_ROOM = 400  # kept free for the "shortened" note under the verdict
_RUN_URL = re.compile(r"https?://[^\s()<>]+/actions/runs/\d+")  # a baseline run's page, as the fetch step recorded it

_ICON = {
    Status.OVER_BUDGET: "🔴",
    Status.REGRESSED: "🔺",
    Status.IMPROVED: "🟢",
    Status.NEW: "🆕",
    Status.REMOVED: "➖",
    Status.UNCONFIRMED: "⏱️",
    Status.FASTER_UNCONFIRMED: "⏱️",
    Status.ACCEPTED: "☑️",
    Status.OK: "✅",
}


@dataclass
class _Section:
    """A heading, a fixed header (a table head) and rows that may be left out from the end.

    ``rows`` is consumed by ``render`` only as far as the rows fit, so it
    may be a generator; ``total`` is how many it would yield.
    """

    opening: list[str]
    rows: Iterable[str]
    total: int
    noun: str  # what a row is, for "… and 12 more <noun>"
    closing: list[str] = field(default_factory=list)
    max_rows: int | None = None  # a cap for readability, whatever the room
    omitted: int = 0

    def render(self, budget: int) -> str:
        """As many rows as fit in ``budget`` characters, then a line saying how many were left out."""
        skeleton = "\n".join(self.opening + self.closing)
        note_room = 80 + len(self.noun)
        if len(skeleton) + note_room > budget:
            self.omitted = self.total
            return ""
        lines, used = list(self.opening), len(skeleton) + note_room
        for index, row in enumerate(self.rows):
            if used + len(row) + 1 > budget or (self.max_rows is not None and index >= self.max_rows):
                self.omitted = self.total - index
                lines.append(f"\n*… and {self.omitted:,} more {self.noun}; see the full report.*\n")
                break
            lines.append(row)
            used += len(row) + 1
        return "\n".join(lines + self.closing)


def render_markdown(
    comparison: Comparison,
    *,
    marker: str = "",
    report_url: str | None = None,
    max_chars: int = COMMENT_LIMIT,
    title: str = "",
    tighten: str = "",
) -> str:
    """The PR comment: at most ``max_chars`` characters, the most important sections first.

    ``title`` names a leg or project when the comment has one section per key;
    ``tighten`` is the budget file's lines that could be lowered (YAML), shown
    when things improved.
    """
    report_url = report_url if report_url and urlsplit(report_url).scheme in ("http", "https") else None
    head = ([html_comment(marker)] if marker else []) + [_headline(comparison, title), "", _origin_line(comparison), ""]
    head_text = "\n".join(head) + "\n"
    footer = "\n\n---\n" + _footer(comparison.run, comparison.baseline, report_url) + "\n"
    sections = _sections(comparison) + ([_tighten_section(tighten)] if tighten else [])
    room = max_chars - len(head_text) - len(footer) - _NOTE_ROOM
    rendered = []
    for index, section in enumerate(sections):
        # Later sections keep room for at least their heading and their "left out" line.
        reserve = sum(len("\n".join(s.opening + s.closing)) + 100 for s in sections[index + 1 :])
        text = section.render(room - reserve if reserve < room else 0)
        if text:
            rendered.append(text)
            room -= len(text) + 2
    note = _shortened_note(sections, report_url)
    body = "\n\n".join(rendered) if rendered else "Nothing to report: no tests or URLs were recorded."
    text = head_text + (note + "\n\n" if note else "") + body + footer
    if len(text) > max_chars:  # only when max_chars is too small for the headline itself
        text = head_text[: max(max_chars - 2, 0)].rstrip() + "\n"
    return text


def render_job_summary(
    comparison: Comparison, *, report_url: str | None = None, max_bytes: int = SUMMARY_LIMIT_BYTES, tighten: str = ""
) -> str:
    """The same Markdown for ``$GITHUB_STEP_SUMMARY``, whose limit is in bytes, not characters."""
    limit = max_bytes
    while True:
        text = render_markdown(comparison, report_url=report_url, max_chars=limit, tighten=tighten)
        size = len(text.encode("utf-8"))
        if size <= max_bytes or limit < 1_000:
            return text
        limit = int(limit * max_bytes / size) - 64


def report(comparison: Comparison, outfile: TextIO) -> None:
    """The reporter protocol: the PR comment as ``report.md``."""
    outfile.write(render_markdown(comparison))


def configured(
    *, marker: str = "", report_url: str | None = None, max_chars: int = COMMENT_LIMIT, tighten: str = ""
) -> Callable[[Comparison, TextIO], None]:
    """A reporter with the comment's options, for the driver (``perfbudget report --marker ...``)."""

    def report_with_options(comparison: Comparison, outfile: TextIO) -> None:
        outfile.write(render_markdown(comparison, marker=marker, report_url=report_url, max_chars=max_chars, tighten=tighten))

    return report_with_options


# --- sections ----------------------------------------------------------------


def _verdict_icon(comparison: Comparison) -> str:
    """❌ failing; ⚠️ not compared with a baseline (never a silent green); ✅ compared and fine."""
    if comparison.failing:
        return "❌"
    return "⚠️" if comparison.not_compared else "✅"


def _headline(comparison: Comparison, title: str = "") -> str:
    not_compared = "not compared · " if comparison.not_compared else ""
    name = f" {code_span(title, in_table=False)}" if title else ""
    return f"### {_verdict_icon(comparison)} perfbudget{name}: {not_compared}{comparison.summary_line()}"


def render_legs(legs: list[tuple[str, Comparison | str]], *, marker: str = "", max_chars: int = COMMENT_LIMIT) -> str:
    """One comment for several legs or projects: a verdict line over all, then each key's report.

    A leg given as a string could not be judged; the string says why.
    Failing legs come first, then those not judged; each gets an equal
    share of the size limit, so one leg's long report cannot push the
    others out.
    """
    judged = [comparison for _, comparison in legs if not isinstance(comparison, str)]
    failing = sum(1 for comparison in judged if comparison.failing)
    broken = len(legs) - len(judged)
    not_compared = sum(1 for comparison in judged if comparison.not_compared)
    icon = "❌" if failing or broken else ("⚠️" if not_compared else "✅")
    counts = [f"{failing} failing", f"{len(judged) - failing} passing"]
    counts += ([f"{broken} not judged"] if broken else []) + ([f"{not_compared} not compared"] if not_compared else [])
    head = ([html_comment(marker)] if marker else []) + [f"## {icon} perfbudget: {len(legs)} legs, {', '.join(counts)}", ""]

    def order(leg: tuple[str, Comparison | str]) -> tuple[int, str]:
        outcome = leg[1]
        return (1 if isinstance(outcome, str) else 0 if outcome.failing else 2, leg[0])

    share = max((max_chars - len("\n".join(head)) - 10 * len(legs)) // max(len(legs), 1), 200)
    sections = [
        f"### ❌ perfbudget {code_span(key, in_table=False)}: not judged\n\n{md_text(outcome, width=share - 100)}"
        if isinstance(outcome, str)
        else render_markdown(outcome, max_chars=share, title=key).rstrip()
        for key, outcome in sorted(legs, key=order)
    ]
    return "\n".join(head) + "\n" + "\n\n".join(sections) + "\n"


def _origin_line(comparison: Comparison) -> str:
    origin = comparison.origin
    run_url = origin.run_url if origin is not None and _RUN_URL.fullmatch(origin.run_url) else ""

    def commit_code(commit: str) -> str:
        # The commit links to the repository's page of it, derived from the baseline run's URL.
        code = code_span(commit, in_table=False)
        return f"[{code}]({_safe_url(run_url.split('/actions/runs/')[0] + '/commit/' + origin.commit)})" if run_url and origin else code

    sentence = compared_with(comparison, commit_code, md_text)
    sentence = sentence[0].upper() + sentence[1:] + (f" ([baseline run]({_safe_url(run_url)}))." if run_url else ".")
    return f"> ⚠️ **{sentence.replace(': ', ':** ', 1)}" if comparison.not_compared else sentence


def _sections(comparison: Comparison) -> list[_Section]:
    failing = _by_subject(comparison.failing)
    improved = comparison.by_status(Status.IMPROVED)
    sections = []
    causes = comparison.causes
    if causes:
        sections.append(
            _Section(["#### What changed", ""], (_cause_entry(cause) for cause in causes), len(causes), "causes", max_rows=MAX_CAUSES)
        )
    if failing:
        broken = _broken_rows(failing, causes)
        sections.append(
            _Section(
                ["#### What broke", "", "| | Test or URL | Change | Limit |", "|---|---|---|---|"],
                broken,
                len(broken),
                "rows",
                max_rows=MAX_BROKEN_ROWS,
            )
        )
    explained = {subject for cause in causes for subject in cause.subjects}
    groups = _n_plus_one_groups(comparison, explained=explained)
    if groups:
        rows = (_n_plus_one_row(kind, subject, group) for kind, subject, group in groups)
        sections.append(_Section(["#### N+1 queries", ""], rows, len(groups), "N+1 groups", max_rows=MAX_N_PLUS_ONE))
    in_tests = _n_plus_one_groups(comparison, in_tests=True)
    if in_tests:
        sections.append(
            _collapsed(
                f"N+1 in test code (not judged): {len(in_tests):,}",
                [],
                (_test_code_row(kind, subject, group) for kind, subject, group in in_tests),
                len(in_tests),
                "N+1 groups in test code",
            )
        )
    unconfirmed = comparison.by_status(Status.UNCONFIRMED) + comparison.by_status(Status.FASTER_UNCONFIRMED)
    if unconfirmed:
        timings = f"{len(unconfirmed):,} timing{'s' if len(unconfirmed) != 1 else ''}"
        sections.append(
            _collapsed(
                f"{_ICON[Status.UNCONFIRMED]} {timings} not confirmed in {_count_subjects(unconfirmed)} "
                "(not failing; unchanged in the headline)",
                ["| Test or URL | Metric | Baseline → now | Evidence |", "|---|---|---|---|"],
                (_unconfirmed_row(v) for v in unconfirmed),
                len(unconfirmed),
                "unconfirmed timings",
            )
        )
    accepted = _by_subject(comparison.by_status(Status.ACCEPTED))
    if accepted:
        sections.append(
            _collapsed(
                f"{_ICON[Status.ACCEPTED]} {len(accepted):,} with accepted changes (not failing)",
                ["| Test or URL | Change | Why accepted |", "|---|---|---|"],
                (_accepted_row(verdicts) for verdicts in accepted.values()),
                len(accepted),
                "accepted changes",
            )
        )
    if improved:
        better = _by_subject(improved)
        sections.append(
            _collapsed(
                f"🟢 {_count_subjects(improved)} improved",
                ["| Test or URL | Change |", "|---|---|"],
                (f"| {_subject_cell(verdicts[0])} | {_headline_change(verdicts)} |" for verdicts in better.values()),
                len(better),
                "improvements",
            )
        )
    for status, title in ((Status.NEW, "new"), (Status.REMOVED, "removed")):
        subjects = [v for v in comparison.by_status(status) if v.metric is None]
        if subjects:
            sections.append(
                _collapsed(
                    f"{_ICON[status]} {len(subjects):,} {title}",
                    [],
                    (f"- {_kind(v)}{code_span(v.subject, width=NAME_WIDTH, in_table=False)}" for v in subjects),
                    len(subjects),
                    f"{title} tests and URLs",
                )
            )
    if comparison.warnings:
        sections.append(
            _collapsed(
                f"⚠️ {len(comparison.warnings)} warning{'s' if len(comparison.warnings) > 1 else ''}",
                [],
                (f"- {md_text(w, width=1_000)}" for w in comparison.warnings),
                len(comparison.warnings),
                "warnings",
            )
        )
    return sections


def _finding_order(verdict: Verdict) -> tuple[int, str, str, int, str]:
    """Status, then subject, then the headline metrics first: "queries 4 → 13" before "similar_queries"."""
    metric = verdict.metric or ""
    rank = _HEADLINE_METRICS.index(metric) if metric in _HEADLINE_METRICS else len(_HEADLINE_METRICS)
    return verdict.status.severity, verdict.subject_kind, verdict.subject, rank, metric


def _collapsed(summary: str, header: list[str], rows: Iterable[str], total: int, noun: str) -> _Section:
    # GitHub renders Markdown inside <details> only after a blank line.
    return _Section([f"<details><summary>{summary}</summary>", "", *header], rows, total, noun, ["", "</details>"])


def _kind(verdict: Verdict) -> str:
    return "URL " if verdict.subject_kind == "url" else ""


def _subject_cell(verdict: Verdict) -> str:
    """The test or URL in a table cell that fits GitHub's 800 px comment: a long node id is its name over its file.

    A code span does not wrap, and GitHub scrolls a table whose cell is wider
    than the comment; the file goes under the name in small type, which wraps.
    The HTML report has every full id.
    """
    name = verdict.subject
    if verdict.subject_kind == "url" or len(name) <= CELL_WIDTH or "::" not in name:
        return _kind(verdict) + code_span(name, width=CELL_WIDTH)
    file, _, test = name.partition("::")
    return f"{code_span(test, width=CELL_WIDTH)}<br><sub>{md_text(file, width=NAME_WIDTH)}</sub>"


def _figures(verdict: Verdict) -> tuple[str, str]:
    """("baseline → now", "change") for a metric verdict."""
    metric = verdict.metric or ""
    now = format_value(metric, verdict.value)
    if verdict.baseline is None:
        return now, "–"
    delta = verdict.delta or 0.0
    sign = "+" if delta >= 0 else "−"
    ratio = f" ({sign}{abs(verdict.delta_ratio):.0%})" if verdict.delta_ratio is not None else ""
    return f"{format_value(metric, verdict.baseline)} → {now}", f"{sign}{format_value(metric, abs(delta))}{ratio}"


def _by_subject(verdicts: list[Verdict]) -> dict[tuple[str, str, bool], list[Verdict]]:
    """Verdicts per subject and kind of metric, headline first; all count findings before any time finding.

    Counts are facts and times estimates, so a subject's count change and
    its time change are two rows, in two parts of the table. Within one row
    the headline is the most telling metric; the rest are counted.
    """
    grouped: dict[tuple[str, str, bool], list[Verdict]] = {}
    for verdict in sorted(verdicts, key=_finding_order):
        grouped.setdefault((verdict.subject_kind, verdict.subject, is_time(verdict.metric or "")), []).append(verdict)
    return dict(sorted(grouped.items(), key=lambda item: (item[0][2], _finding_order(item[1][0]))))


def _headline_change(verdicts: list[Verdict]) -> str:
    """ "queries 20 → 24 (+4, +20%) · 4 related": the first verdict's change; the other metrics that moved are counted.

    Over budget and regressed on one metric: the baseline's verdict gives the change.
    """
    head = verdicts[0]
    shown = next((v for v in verdicts if v.metric == head.metric and v.baseline is not None), head)
    figures, change = _figures(shown)
    moved = f"{md_text(head.metric or '')} {figures}" + (
        f" ({change.replace(' (', ', ').rstrip(')')})" if shown.baseline is not None else ""
    )
    related = len({v.metric for v in verdicts}) - 1
    return moved + (f" · {related} related" if related else "")


def _broken_rows(failing: dict[tuple[str, str, bool], list[Verdict]], causes: list[Cause]) -> list[str]:
    """The rows of "What broke": one per cause for the subjects whose counts it moved (``shared_causes``), then one per other subject.

    Only a row whose every finding a query explains can be shared: a time, a network call or a cache count keeps its own.
    """
    explained = [(kind, name) for (kind, name, _), verdicts in failing.items() if all(explained_by_queries(v.metric) for v in verdicts)]
    shared = shared_causes(causes, explained)
    members: dict[int, list[tuple[str, str, bool]]] = {}
    for key in failing:
        cause = shared.get((key[0], key[1])) if not key[2] else None
        if cause is not None:
            members.setdefault(id(cause), []).append(key)
    rows = []
    for cause in causes:
        keys = members.get(id(cause))
        if not keys:
            continue
        heads = [failing[key][0] for key in keys]
        limits = {head.limit_words for head in heads}
        status = min((head.status for head in heads), key=lambda s: s.severity)
        subjects = [(kind, name) for kind, name, _ in keys]
        shown = subjects[:SUBJECTS_SHOWN]
        short = short_test_names([name for kind, name in shown if kind == "test"])
        names = "<br>".join(
            [f"**{count_subjects(subjects)}**"]
            + [code_span(short[name] if kind == "test" else name, width=CELL_WIDTH) for kind, name in shown]
            + ([f"… and {len(subjects) - len(shown):,} more"] if len(subjects) > len(shown) else [])
        )
        # The cause's call site is in "What changed" above: here it would make the table wider than a comment.
        change = cause_headline(cause, lambda name: code_span(name, width=CELL_WIDTH), md_text, where=False).replace("**", "")
        rows.append(f"| {_ICON[status]} | {names} | {change} | {limits.pop() if len(limits) == 1 else 'several'} |")
    grouped = {key for keys in members.values() for key in keys}
    rows.extend(_subject_row(verdicts) for key, verdicts in failing.items() if key not in grouped)
    return rows


def _subject_row(verdicts: list[Verdict]) -> str:
    """One subject, its headline change; the metrics that moved with it are counted, not listed."""
    head = verdicts[0]
    moved = _headline_change(verdicts)
    limit = head.limit_words
    if head.timing is not None and head.timing.confirmed:
        limit += f" · {md_text(head.evidence, width=120)}"
    if head.expired_entry:  # an accepted change whose entry ran out: say which, so it is renewed or fixed
        limit += f" · {md_text(head.expired_entry, width=200)}"
    return f"| {_ICON[head.status]} | {_subject_cell(head)} | {moved} | {limit} |"


def _cause_entry(cause: Cause) -> str:
    """A cause's headline (``report/causes.py`` words it), its SQL collapsed under it: before and after when rewritten."""
    line = cause_line(cause, lambda name: code_span(name, width=80, in_table=False), md_text)
    if cause.replaced is not None:
        before = code_fence(shorten(cause.replaced.sql, SQL_WIDTH), "sql")
        after = code_fence(shorten(cause.group.sql, SQL_WIDTH), "sql")
        return f"✏️ {line}\n\n<details><summary>SQL before and after</summary>\n\n{before}\n\n{after}\n</details>\n"
    sql = code_fence(shorten(cause.group.sql, SQL_WIDTH), "sql")
    return f"{'🔺' if cause.grew else '🟢'} {line}\n\n<details><summary>SQL</summary>\n\n{sql}\n</details>\n"


def _tighten_section(tighten: str) -> _Section:
    lines = [
        "These limits have room to spare now; `perfbudget budgets tighten RESULTS` writes them into the budget file "
        "(comments kept). The tightened lines:",
        "",
        code_fence(tighten, "yaml"),
    ]
    count = tighten.count("\n# ") + 1
    return _collapsed(f"💡 {count} budget limit{'s' if count != 1 else ''} can be tightened", [], iter(lines), len(lines), "lines")


def _accepted_row(verdicts: list[Verdict]) -> str:
    """An accepted change and the reason the project gave (the entry's words, its place, its issue and expiry)."""
    head = verdicts[0]
    return f"| {_subject_cell(head)} | {_headline_change(verdicts)} | {md_text(head.accepted_because, width=300)} |"


def _count_subjects(verdicts: list[Verdict]) -> str:
    return count_subjects(list(dict.fromkeys((v.subject_kind, v.subject) for v in verdicts)))


def _unconfirmed_row(verdict: Verdict) -> str:
    figures, _ = _figures(verdict)
    return f"| {_subject_cell(verdict)} | {md_text(verdict.metric or '')} | {figures} | {md_text(verdict.evidence, width=200)} |"


def _n_plus_one_groups(
    comparison: Comparison, in_tests: bool = False, explained: set[tuple[str, str]] | None = None
) -> list[tuple[str, str, SqlGroup]]:
    """(kind, subject, group) for the N+1 groups of the subjects that broke or are new: the likely cause.

    ``explained``: the subjects "What changed" already names a cause for;
    their groups are not listed again here.

    Each group (SQL and call site) is listed once, under the first subject that
    has it; every call site of a shape is its own group. ``in_tests``: those
    whose call site is test code instead, which are never judged.
    Only the list is built here; the rows that fit are formatted by the section.
    """
    statuses = comparison.subject_statuses()
    wanted = [key for key, status in statuses.items() if status in FAILING or status is Status.NEW]
    wanted = [key for key in wanted if key not in (explained or set())]
    tests = {test.node_id: test for test in comparison.run.tests}
    urls = {url.key: url for url in comparison.run.urls}
    found, shown = [], set()
    # Tests before URLs: a URL's group is usually a test's group seen again; show it once.
    for kind, subject in sorted(wanted, key=lambda key: key[0] != "test"):
        for group in _subject_n_plus_one(tests, urls, kind, subject, in_tests):
            if (group.sql, group.location, group.template) not in shown:
                shown.add((group.sql, group.location, group.template))
                found.append((kind, subject, group))
    return found


def _subject_n_plus_one(
    tests: Mapping[str, TestRecord], urls: Mapping[str, UrlSummary], kind: str, subject: str, in_tests: bool = False
) -> list[SqlGroup]:
    """A test's or URL's N+1 groups (or those in test code), in the order of ``url_sql_groups`` (count, SQL, call site)."""

    def wanted(group: SqlGroup) -> bool:
        return group.n_plus_one_in_tests if in_tests else group.n_plus_one

    if kind == "test":
        test = tests.get(subject)
        found = [group for group in test.details.sql_groups if wanted(group)] if test else []
        return sorted(found, key=lambda g: (-g.count, g.sql, g.location or ""))
    url = urls.get(subject)
    return [group for group in url_sql_groups(url, tests) if wanted(group)] if url else []


def _n_plus_one_row(kind: str, subject: str, group: SqlGroup) -> str:
    where = where_text(group, _inline_code)
    prefix = "URL " if kind == "url" else ""
    fix = fix_text(group, _inline_code)
    title = (
        f"**{prefix}{code_span(subject, width=NAME_WIDTH, in_table=False)}**: "
        f"{group.count:,} × the same {md_text(statement_label(group.sql))} on {code_span(group.database, in_table=False)}"
        f" ({format_value('query_time', group.time_ms)}){where}"
    ) + (f". {fix}" if fix else "")
    return f"{title}\n\n{code_fence(shorten(group.sql, SQL_WIDTH), 'sql')}\n"


def _inline_code(text: str) -> str:
    return code_span(text, in_table=False)


def _test_code_row(kind: str, subject: str, group: SqlGroup) -> str:
    """One short line: the test's own repetition, named by its call site."""
    where = f" at {code_span(group.location, in_table=False)}" if group.location else ""
    prefix = "URL " if kind == "url" else ""
    return (
        f"- {prefix}{code_span(subject, width=NAME_WIDTH, in_table=False)}: {group.count:,} × {md_text(statement_label(group.sql))}{where}"
    )


def _shortened_note(sections: list[_Section], report_url: str | None) -> str:
    left_out = [f"{s.omitted:,} {s.noun}" for s in sections if s.omitted]
    if not left_out:
        return ""
    where = f"the [full report]({_safe_url(report_url)}) has everything" if report_url else "the full HTML report has everything"
    return f"> **Shortened to stay readable and within GitHub's size limit:** left out {', '.join(left_out)}; {where}."


def _footer(run: Run, baseline: Run | None, report_url: str | None) -> str:
    parts = [f"perfbudget: commit {_commit(run)}"]
    parts.append(f"baseline {_commit(baseline)}" if baseline is not None else "no baseline")
    if report_url:
        parts.append(f"[full report]({_safe_url(report_url)})")
    return "<sub>" + " · ".join(parts) + "</sub>"


def _commit(run: Run) -> str:
    commit = code_span(run.commit[:12], in_table=False) if run.commit else "(unknown commit)"
    return commit + (f" ({md_text(run.branch, width=80)})" if run.branch else "")


def add_footer_link(body: str, label: str, url: str) -> str:
    """``body`` with `` · [label](url)`` at the end of its footer; unchanged for a URL that is not http(s).

    The comment step learns the HTML report's artifact URL only after the
    report was rendered (the upload comes after judging), so it adds the link.
    """
    end = body.rfind("</sub>")
    if end < 0 or urlsplit(url).scheme not in ("http", "https"):
        return body
    return f"{body[:end]} · [{md_text(label)}]({_safe_url(url)}){body[end:]}"


def _safe_url(url: str) -> str:
    """A link destination that cannot end the link early (render_markdown admits http(s) only)."""
    return "<" + quote(url, safe=":/?#[]@!$&'*+,;=%~-._") + ">"
