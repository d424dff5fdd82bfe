"""GitHub workflow commands that annotate the diff: one per test or URL that broke, at the test's file and line.

Over budget is an ``::error`` (a limit the project set itself); a regression
is a ``::warning`` (a change against the baseline, which a reviewer may
accept). A subject's verdicts of one level become one annotation, so the
slots go further. GitHub shows at most 10 errors and 10 warnings per step:
we emit at most that many of each and a ``::notice`` (its own quota) saying
how many more there are. Values are escaped as actions/toolkit's
``command.ts`` does, so a hostile test id cannot end a command or start one.
"""

from __future__ import annotations

from typing import TextIO

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report.escape import command_data, command_property

MAX_PER_LEVEL = 10  # GitHub: "10 error annotations and 10 warning annotations per step"
_LEVEL = {Status.OVER_BUDGET: "error", Status.REGRESSED: "warning"}
_TITLE = {Status.OVER_BUDGET: "over budget", Status.REGRESSED: "regressed"}


def render_annotations(comparison: Comparison, max_per_level: int = MAX_PER_LEVEL) -> list[str]:
    """Workflow command lines, errors first, in the Comparison's (sorted) order."""
    grouped: dict[tuple[Status, str, str], list[Verdict]] = {}
    for verdict in comparison.failing:
        if verdict.file:
            grouped.setdefault((verdict.status, verdict.subject_kind, verdict.subject), []).append(verdict)
    lines: list[str] = []
    left_out = {"error": 0, "warning": 0}
    for status in (Status.OVER_BUDGET, Status.REGRESSED):
        level = _LEVEL[status]
        emitted = 0
        for (group_status, kind, subject), verdicts in grouped.items():
            if group_status is not status:
                continue
            if emitted >= max_per_level:
                left_out[level] += 1
                continue
            lines.append(_command(level, status, kind, subject, verdicts))
            emitted += 1
    unplaced = sum(1 for verdict in comparison.failing if not verdict.file)
    extra = [f"{count} more {level}{'s' if count > 1 else ''}" for level, count in left_out.items() if count]
    if extra:
        message = f"perfbudget: {' and '.join(extra)} not annotated (GitHub shows {max_per_level} of each per step); see the report"
        lines.append(f"::notice title={command_property('perfbudget')}::{command_data(message)}")
    elif unplaced:
        message = f"perfbudget: {unplaced} finding(s) without a file to annotate; see the report"
        lines.append(f"::notice title={command_property('perfbudget')}::{command_data(message)}")
    return lines


def _command(level: str, status: Status, kind: str, subject: str, verdicts: list[Verdict]) -> str:
    first = verdicts[0]
    metrics = ", ".join(v.metric or "" for v in verdicts)
    what = "URL " if kind == "url" else ""
    title = f"perfbudget: {metrics} {_TITLE[status]} in {what}{subject}"
    properties = [f"file={command_property(first.file or '')}"]
    if first.line:
        properties.append(f"line={first.line}")
    properties.append(f"title={command_property(title[:200])}")
    message = "\n".join(v.reason or f"{v.metric} {_TITLE[status]}" for v in verdicts)
    return f"::{level} {','.join(properties)}::{command_data(message)}"


def report(comparison: Comparison, outfile: TextIO) -> None:
    """The reporter protocol; in a workflow, print this file (or pass ``-o -``) to annotate."""
    for line in render_annotations(comparison):
        outfile.write(line + "\n")
