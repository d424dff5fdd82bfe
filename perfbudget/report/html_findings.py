"""The HTML report's "What changed" and "What broke": the comparison's causes first, the subjects grouped by them, capped.

"What changed" lists ``comparison.causes`` in their order, each worded by
``report/causes.py`` ``cause_line`` like the PR comment: the first
``MAX_CAUSES`` in full, up to ``CAUSES_LISTED`` more behind a ``<details>``,
the rest counted. A line is handed to the template as segments (text, bold,
code, link), so that Jinja2's autoescape escapes every character of it and
only the line's own ``**`` markers become ``<strong>``: the names and SQL in
it are kept out of band while the line is split, and cannot forge a marker.

"What broke" gives each cause that grew one entry, its failing subjects
under it (``CAUSE_SUBJECTS_SHOWN``, then "… and 990 more", which filters the
tables to the cause); a failing verdict no cause explains keeps its row,
up to ``FINDINGS_SHOWN``. One query added to a view that 1,000 tests hit
is one entry of a dozen rows, not 2,002 rows (issue 20).

For the page's script: each cause's subjects as row ids (``#cause=N``
keeps their rows in the tables), and, for a subject's panel, what its causes
say of each of its query groups (new, more, fewer, rewritten) and the groups
gone from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from perfbudget.compare.causes import Cause
from perfbudget.compare.verdicts import Comparison, Verdict
from perfbudget.report.causes import MAX_CAUSES, cause_line, explained_by_queries, short_test_names, subjects_text
from perfbudget.report.escape import shorten, visible_controls
from perfbudget.run.metrics import is_time
from perfbudget.run.model import SqlGroup

CAUSES_LISTED = 200  # causes behind "… and K more" (a few kB each); the rest are counted
CAUSE_SUBJECTS_SHOWN = 10  # failing subjects listed under one cause in "What broke"
FINDINGS_SHOWN = 500  # rows of verdicts no cause explains; the tests table filters by status for all
NAME_WIDTH = 120  # characters of a name inside a cause's line; its link opens the panel with the whole name
SQL_WIDTH = 1_500  # characters of one statement under a cause
# The count metrics a query cause explains: a test's time, network or cache findings keep their own rows.
_HEADLINE = ("queries", "n_plus_one")  # within one subject, the metric its row shows first
# Glyphs any font has (the comment's emoji are boxes where no emoji font is installed); the CSS colours them.
_ICON = {"added": "▲", "more": "▲", "rewritten": "✎", "removed": "▼", "fewer": "▼"}
# Out-of-band marks while a line is split: control characters, which visible_controls() takes out of every name.
_STAR, _CODE = "\x01", re.compile("\x02(\\d+)\x03")

Part = tuple[str, bool, bool, str]  # (text, bold, in <code>, link or ""): one run of a cause's line
Marks = dict[tuple[str, str, str, str], tuple[str, int]]  # a group's key -> (what a cause says of it, its count before)


@dataclass
class CauseEntry:
    """One cause as "What changed" shows it."""

    index: int  # its place in comparison.causes: ``#cause=N`` filters the tables to its subjects
    icon: str
    grew: bool  # added, more or rewritten: red; fewer or removed: green
    parts: list[Part]
    sql: str
    replaced_sql: str  # "rewritten": the statement it took the place of
    subjects: str  # counted, as its line counts them: "12 tests and 1 URL"


@dataclass
class Finding:
    """One row of "What broke": a subject's headline verdict (grouped) or one verdict (unexplained)."""

    row_id: str  # its row in the tests or URLs table, "" when it has none
    verdict: Verdict
    baseline: float | None  # over budget and regressed on one metric: the regression gives the baseline
    limit: str
    related: int = 0  # other metrics of the subject that moved with it


@dataclass
class BrokeEntry:
    """A cause that grew and the failing subjects it explains, the first few listed."""

    cause: CauseEntry
    head: list[Part]  # the cause's line with its subjects counted, not named: the rows name them
    rows: list[Finding]
    more: int  # failing subjects of the cause not listed


@dataclass
class Findings:
    causes: list[CauseEntry] = field(default_factory=list)  # the first MAX_CAUSES shown, the rest collapsed
    causes_left_out: int = 0  # past CAUSES_LISTED: counted only
    broke: list[BrokeEntry] = field(default_factory=list)
    broke_left_out: int = 0  # causes that grew past MAX_CAUSES, whose subjects "What changed" lists
    unexplained: list[Finding] = field(default_factory=list)
    unexplained_total: int = 0  # verdicts
    failing_subjects: int = 0


def cause_parts(cause: Cause, row_ids: dict[tuple[str, str], str], shown: int = 3) -> list[Part]:
    """``cause_line`` as segments, each subject it names linked to its row's panel (``#open=t12``)."""
    return _parts(cause, row_ids, shown, counted_only=False)


def cause_head(cause: Cause, row_ids: dict[tuple[str, str], str]) -> list[Part]:
    """The line with its subjects counted ("in 12 tests and 1 URL"), or named as in ``cause_parts`` if worded otherwise."""
    return _parts(cause, row_ids, 3, counted_only=True)


def _parts(cause: Cause, row_ids: dict[tuple[str, str], str], shown: int, counted_only: bool) -> list[Part]:
    codes: list[str] = []

    def code(text: str) -> str:
        codes.append(text)
        return f"\x02{len(codes) - 1}\x03"

    def plain(text: str) -> str:
        return visible_controls(text).replace("*", _STAR)

    line = cause_line(cause, code, plain, shown)
    if counted_only:
        # With no name shown, the subjects' part is "1,000 tests and 1 URL: , and 1001 more": keep its counts.
        unnamed = cause_line(cause, code, plain, 0)
        tail = subjects_text(list(cause.subjects), str, 0)
        if unnamed.endswith(tail):
            line = unnamed[: len(unnamed) - len(tail)] + tail.split(": ", 1)[0]
    links = _name_links(cause, row_ids, shown)
    parts: list[Part] = []
    for index, piece in enumerate(line.split("**")):
        bold = index % 2 == 1
        for position, chunk in enumerate(_CODE.split(piece)):
            if position % 2:
                name = codes[int(chunk)]
                parts.append((shorten(visible_controls(name), NAME_WIDTH), bold, True, links.get(name, "")))
            elif chunk:
                parts.append((chunk.replace(_STAR, "*"), bold, False, ""))
    return parts


def _name_links(cause: Cause, row_ids: dict[tuple[str, str], str], shown: int) -> dict[str, str]:
    """The names ``cause_line`` shows for its first subjects (short test names) -> their panel's link."""
    first = list(cause.subjects)[:shown]
    short = short_test_names([name for kind, name in first if kind == "test"])
    links = {}
    for kind, name in first:
        row_id = row_ids.get((kind, name))
        if row_id:
            links[short[name] if kind == "test" else name] = f"#open={row_id}"
    return links


def _entry(index: int, cause: Cause, row_ids: dict[tuple[str, str], str]) -> CauseEntry:
    return CauseEntry(
        index=index,
        icon=_ICON.get(cause.change, "▲" if cause.grew else "▼"),
        grew=cause.grew or cause.replaced is not None,
        parts=cause_parts(cause, row_ids),
        sql=shorten(cause.group.sql, SQL_WIDTH),
        replaced_sql=shorten(cause.replaced.sql, SQL_WIDTH) if cause.replaced is not None else "",
        subjects=subjects_text(list(cause.subjects), str, 0).split(": ", 1)[0],
    )


def _headline(verdicts: list[Verdict], row_id: str) -> Finding:
    """A subject's row: its most severe verdict, the headline metric first; the other metrics that moved are counted."""

    def order(verdict: Verdict) -> tuple[int, int, str]:
        metric = verdict.metric or ""
        rank = _HEADLINE.index(metric) if metric in _HEADLINE else len(_HEADLINE)
        return verdict.status.severity, rank, metric

    ranked = sorted(verdicts, key=order)
    head = ranked[0]
    with_baseline = next((v for v in ranked if v.metric == head.metric and v.baseline is not None), head)
    related = len({v.metric for v in verdicts}) - 1
    return Finding(row_id, head, with_baseline.baseline, head.limit_words, related)


def build_findings(comparison: Comparison, row_ids: dict[tuple[str, str], str]) -> Findings:
    """Both sections' entries, from the comparison's causes and failing verdicts."""
    causes = comparison.causes
    findings = Findings(
        causes=[_entry(index, cause, row_ids) for index, cause in enumerate(causes[: MAX_CAUSES + CAUSES_LISTED])],
        causes_left_out=max(len(causes) - MAX_CAUSES - CAUSES_LISTED, 0),
    )
    failing: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in comparison.failing:
        failing.setdefault((verdict.subject_kind, verdict.subject), []).append(verdict)
    findings.failing_subjects = len(failing)
    explained: set[tuple[str, str]] = set()
    grown = [(index, cause) for index, cause in enumerate(causes) if cause.grew or cause.replaced is not None]
    for index, cause in grown:
        broken = [subject for subject in cause.subjects if any(explained_by_queries(v.metric) for v in failing.get(subject, ()))]
        if not broken:
            continue
        explained.update(broken)
        if len(findings.broke) == MAX_CAUSES:
            findings.broke_left_out += 1
            continue
        rows = [
            _headline([v for v in failing[subject] if explained_by_queries(v.metric)], row_ids.get(subject, ""))
            for subject in broken[:CAUSE_SUBJECTS_SHOWN]
        ]
        rows.sort(key=lambda row: row.verdict.status.severity)  # stable: the cause's order within a status
        entry = findings.causes[index] if index < len(findings.causes) else _entry(index, cause, row_ids)
        findings.broke.append(BrokeEntry(entry, cause_head(cause, row_ids), rows, len(broken) - len(rows)))
    rest = [v for v in comparison.failing if not ((v.subject_kind, v.subject) in explained and explained_by_queries(v.metric))]
    rest.sort(key=lambda v: is_time(v.metric or ""))  # counts are facts: their rows first
    findings.unexplained_total = len(rest)
    findings.unexplained = [
        Finding(row_ids.get((v.subject_kind, v.subject), ""), v, v.baseline, v.limit_words) for v in rest[:FINDINGS_SHOWN]
    ]
    return findings


# --- the tables' filter and the panels ---------------------------------------------


def cause_row_ids(causes: list[Cause], row_ids: dict[tuple[str, str], str], budget: int) -> list[list[str] | None]:
    """Each cause's subjects as row ids, in the cause's order, while they fit in ``budget`` characters."""
    found: list[list[str] | None] = []
    for cause in causes:
        ids = [row_ids[subject] for subject in cause.subjects if subject in row_ids]
        cost = sum(len(row_id) + 3 for row_id in ids)
        found.append(ids if cost <= budget else None)
        budget -= cost if cost <= budget else 0
    return found


def group_marks(subject: tuple[str, str], causes: list[Cause]) -> tuple[Marks, list[list[Any]]]:
    """What the causes naming ``subject`` say of its groups: "new", "more", "fewer" or "rewritten" by key, and the groups gone.

    A group is matched by ``SqlGroup.key``, the one identity compare/causes.py
    diffs by; a gone group is the baseline's, as the cause holds it.
    """
    marks: Marks = {}
    gone: list[list[Any]] = []
    for cause in causes:
        before, after = cause.subjects[subject]
        if cause.replaced is not None:
            marks[cause.group.key] = ("rewritten", before)
            gone.append(_gone_row(cause.replaced, before, "replaced"))
        elif after == 0:
            gone.append(_gone_row(cause.group, before, "gone"))
        else:
            marks[cause.group.key] = ("new" if before == 0 else "more" if after > before else "fewer", before)
    return marks, gone


def _gone_row(g: SqlGroup, before: int, how: str) -> list[Any]:
    return [g.sql, g.kind, g.database, before, g.location or "", how]
