"""Render a Comparison for the terminal: the summary line first, then what changed (query causes), then what broke and why.

Used by the plugin (through ``pipeline.after_run``) and by ``perfbudget
compare --format terminal``. Plain text for a CI log: one header per subject
(the test or URL, and where to look), then one line per broken metric with
its reason in words; unconfirmed timings and improvements are listed only when asked for.
Each line is an ``escape.terminal_line`` (control characters shown as
escapes, the length bounded): test ids, SQL, paths and branch names come
from the user's code or an artifact, and may hold escape codes or line breaks.
"""

from __future__ import annotations

from itertools import groupby

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report.causes import MAX_CAUSES, cause_line, count_subjects, explained_by_queries, shared_causes
from perfbudget.report.escape import terminal_line
from perfbudget.report.origin import compared_with

MAX_SUBJECTS = 20  # tests and URLs given a block of their own; the rest are counted

_MARK = {
    Status.OVER_BUDGET: "OVER BUDGET",
    Status.REGRESSED: "REGRESSED",
    Status.UNCONFIRMED: "slower, not confirmed:",
    Status.IMPROVED: "improved",
    Status.FASTER_UNCONFIRMED: "faster, not confirmed:",
}


def render_comparison(comparison: Comparison, show_improved: bool = False) -> list[str]:
    """Lines for the terminal; the first is ``perfbudget: <summary>``."""
    origin = compared_with(comparison)
    if comparison.not_compared:  # on the verdict line itself: never a silent green
        lines = [f"perfbudget: {comparison.summary_line()} -- {origin}"]
    else:
        lines = [f"perfbudget: {comparison.summary_line()}", f"perfbudget: {origin}"]
    shown = (Status.OVER_BUDGET, Status.REGRESSED) + (
        (Status.UNCONFIRMED, Status.IMPROVED, Status.FASTER_UNCONFIRMED) if show_improved else ()
    )
    causes = comparison.causes
    if causes:  # what changed first, as in the comment; the subjects and their metrics follow
        lines.append("perfbudget: what changed:")
        lines.extend(f"  {cause_line(cause).replace('**', '')}" for cause in causes[:MAX_CAUSES])
        if len(causes) > MAX_CAUSES:
            lines.append(f"  ... and {len(causes) - MAX_CAUSES} more (the HTML report's panels have each test's queries)")
    blocks = [
        (key, sorted(group, key=lambda v: (v.status.severity, v.metric or "")))
        for key, group in groupby(comparison.by_status(*shown), key=lambda v: (v.subject_kind, v.subject))
    ]
    # Subjects whose counts only moved with a cause that moved many are that cause's line above, not a block each.
    explained = [key for key, verdicts in blocks if all(explained_by_queries(v.metric) for v in verdicts)]
    shared = shared_causes(causes[:MAX_CAUSES], explained)  # only the causes printed above
    if shared:
        lines.append(f"  ({count_subjects(list(shared))} moved only by the causes above: not listed one by one)")
    listed = [(key, verdicts) for key, verdicts in blocks if key not in shared]
    for (kind, subject), verdicts in listed[:MAX_SUBJECTS]:
        lines.append(f"  {'URL ' if kind == 'url' else ''}{subject}{_where(verdicts[0])}")
        lines.extend(f"    {_MARK[v.status]} {v.reason}" for v in verdicts)
    if len(listed) > MAX_SUBJECTS:
        rest = count_subjects([key for key, _ in listed[MAX_SUBJECTS:]])
        lines.append(f"  ... not listed: {rest} (perfbudget compare --format json, or the HTML report, lists every one)")
    lines.extend(f"perfbudget warning: {warning}" for warning in comparison.warnings)
    return [terminal_line(line) for line in lines]


def _where(verdict: Verdict) -> str:
    """The test's file:line; for a URL, the first test that requested it."""
    if not verdict.file:
        return ""
    prefix = "first requested at " if verdict.subject_kind == "url" else ""
    return f" ({prefix}{verdict.file}:{verdict.line})" if verdict.line else f" ({prefix}{verdict.file})"
