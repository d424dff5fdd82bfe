"""Render a Comparison for the terminal: the summary line first, then what broke and why.

Used by the plugin (through ``pipeline.after_run``) and by ``perfbudget
compare --format terminal``. Plain text, one finding per line, so it reads
well in a CI log; improvements and new subjects are counted, not listed.
"""

from __future__ import annotations

from perfbudget.metrics import format_value
from perfbudget.verdicts import Comparison, Status, Verdict

_MARK = {Status.OVER_BUDGET: "OVER BUDGET", Status.REGRESSED: "REGRESSED", Status.IMPROVED: "improved"}


def render_comparison(comparison: Comparison, show_improved: bool = False) -> list[str]:
    """Lines for the terminal; the first is ``perfbudget: <summary>``."""
    lines = [f"perfbudget: {comparison.summary_line()}"]
    shown = [Status.OVER_BUDGET, Status.REGRESSED] + ([Status.IMPROVED] if show_improved else [])
    for verdict in comparison.verdicts:
        if verdict.status in shown:
            lines.extend(_finding(verdict))
    lines.extend(f"perfbudget warning: {warning}" for warning in comparison.warnings)
    return lines


def _finding(verdict: Verdict) -> list[str]:
    metric = verdict.metric or ""
    figures = []
    if verdict.baseline is not None:
        delta = verdict.delta or 0.0
        sign = "+" if delta >= 0 else "-"
        ratio = f", {verdict.delta_ratio:+.0%}" if verdict.delta_ratio is not None else ""
        figures.append(
            f"{format_value(metric, verdict.baseline)} -> {format_value(metric, verdict.value)} "
            f"({sign}{format_value(metric, abs(delta))}{ratio})"
        )
    else:
        figures.append(format_value(metric, verdict.value))
    if verdict.status is Status.OVER_BUDGET and verdict.limit is not None:
        figures.append(f"limit {format_value(metric, verdict.limit)}")
    kind = "URL " if verdict.subject_kind == "url" else ""
    where = f"{verdict.file}:{verdict.line}" if verdict.file and verdict.line else verdict.file
    lines = [f"  {_MARK[verdict.status]} {kind}{verdict.subject} {metric}: {', '.join(figures)}"]
    lines.append(f"    {verdict.reason}" + (f" at {where}" if where else ""))
    return lines
