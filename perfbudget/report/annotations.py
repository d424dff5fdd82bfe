"""GitHub workflow commands that annotate the diff: at each changed query's call site, and each test or URL that broke.

A query that is new or repeats more (``compare/causes.py``) is annotated
where it is issued, when that file is in the project: that is the line the
pull request changed, or called differently. Each test or URL that broke is
annotated at the test's file and line too. Paths are made relative to the
repository root (``prefix``: the working directory's path in it), or GitHub
would not attach them when the action runs in a subdirectory.

Over budget is an ``::error`` (a limit the project set itself); a regression
is a ``::warning`` (a change against the baseline, which a reviewer may
accept). A subject's verdicts of one level become one annotation, so the
slots go further. GitHub shows at most 10 errors and 10 warnings per step:
we emit at most that many of each and a ``::notice`` (its own quota) saying
how many more there are. Values are escaped as actions/toolkit's
``command.ts`` does, so a hostile test id cannot end a command or start one,
and their control characters are shown as escapes (the log prints each line
raw, ESC included); a line break inside a test id or a reason is shown as
``\n``, not made a line of the annotation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report.causes import cause_line
from perfbudget.report.escape import command_data, command_property, terminal_line

MAX_PER_LEVEL = 10  # GitHub: "10 error annotations and 10 warning annotations per step"
TITLE_WIDTH = 200  # characters of an annotation's title
PATH_WIDTH = 1000  # of its file: a longer path is no file of the diff, and would only make the log line huge
_LEVEL = {Status.OVER_BUDGET: "error", Status.REGRESSED: "warning"}
_TITLE = {Status.OVER_BUDGET: "over budget", Status.REGRESSED: "regressed"}


def render_annotations(comparison: Comparison, max_per_level: int = MAX_PER_LEVEL, root: Path | None = None, prefix: str = "") -> list[str]:
    """Workflow command lines: call sites first, then errors, then warnings, in the Comparison's (sorted) order.

    ``root`` is the directory call sites are relative to (the pytest rootdir);
    without it, call sites are not annotated, as nothing says they are the
    project's files. ``prefix`` is prepended to every path.
    """
    lines, used = _call_sites(comparison, max_per_level, root, prefix)
    grouped: dict[tuple[Status, str, str], list[Verdict]] = {}
    for verdict in comparison.failing:
        if verdict.file:
            grouped.setdefault((verdict.status, verdict.subject_kind, verdict.subject), []).append(verdict)
    left_out = {"error": 0, "warning": 0}
    for status in (Status.OVER_BUDGET, Status.REGRESSED):
        level = _LEVEL[status]
        emitted = used if level == "warning" else 0
        for (group_status, kind, subject), verdicts in grouped.items():
            if group_status is not status:
                continue
            if emitted >= max_per_level:
                left_out[level] += 1
                continue
            lines.append(_command(level, status, kind, subject, verdicts, prefix))
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


def _call_sites(comparison: Comparison, limit: int, root: Path | None, prefix: str) -> tuple[list[str], int]:
    """Warnings at the call sites of queries that are new or repeat more, for files under ``root``; and how many."""
    if root is None:
        return [], 0
    broke = {(v.subject_kind, v.subject) for v in comparison.failing}
    lines: list[str] = []
    for cause in comparison.causes:
        path, _, line = (cause.group.location or "").rpartition(":")
        if not cause.grew or broke.isdisjoint(cause.subjects) or not path or not line.isdigit() or not _in_project(root, path):
            continue  # a call site outside the project (a library) has no line in the diff
        if len(lines) >= limit:
            break
        properties = [
            f"file={command_property(_join(prefix, path), PATH_WIDTH)}",
            f"line={line}",
            f"title={command_property('perfbudget: query changed here')}",
        ]
        lines.append(f"::warning {','.join(properties)}::{command_data(terminal_line(cause_line(cause).replace('**', '')))}")
    return lines, len(lines)


def _in_project(root: Path, path: str) -> bool:
    """A relative path to a file under ``root`` (call sites outside the rootdir are recorded absolute)."""
    try:
        if Path(path).is_absolute():
            return False
        file = (root / path).resolve()
        return file.is_file() and file.is_relative_to(root.resolve())
    except (OSError, ValueError):  # a name too long, or with a NUL byte: no file of the project
        return False


def _join(prefix: str, path: str) -> str:
    return f"{prefix.strip('/')}/{path}" if prefix.strip("/.") else path


def _command(level: str, status: Status, kind: str, subject: str, verdicts: list[Verdict], prefix: str = "") -> str:
    first = verdicts[0]
    metrics = ", ".join(v.metric or "" for v in verdicts)
    what = "URL " if kind == "url" else ""
    title = f"perfbudget: {metrics} {_TITLE[status]} in {what}{subject}"
    properties = [f"file={command_property(_join(prefix, first.file or ''), PATH_WIDTH)}"]
    if first.line:
        properties.append(f"line={first.line}")
    properties.append(f"title={command_property(title, TITLE_WIDTH)}")
    message = "\n".join(terminal_line(v.reason or f"{v.metric} {_TITLE[status]}") for v in verdicts)  # one line each
    return f"::{level} {','.join(properties)}::{command_data(message)}"


def report(comparison: Comparison, outfile: TextIO) -> None:
    """The reporter protocol; in a workflow, print this file (or pass ``-o -``) to annotate."""
    for line in render_annotations(comparison):
        outfile.write(line + "\n")
