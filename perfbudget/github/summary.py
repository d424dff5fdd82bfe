"""Write to the runner's files and log: job summary, step outputs, warning lines.

These are the fallbacks when the API cannot be used (fork PRs, outages): the
job summary always gets the report and the reason, so nothing is lost.
Outside Actions (no GITHUB_STEP_SUMMARY) they print to stderr instead.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from perfbudget.github.context import ActionsContext
from perfbudget.report.escape import command_data, terminal_line, terminal_lines


def warn(message: str, level: str = "warning") -> None:
    """A ``::warning::`` (or ``::error::``) line: an annotation in Actions, a plain line elsewhere.

    One line whatever ``message`` holds: its paths, branch names and reasons
    may come from an artifact or the API, so a line break is shown as ``\\n``.
    """
    print(f"::{level} title=perfbudget::{command_data(terminal_line(message))}", file=sys.stderr)


def append_summary(context: ActionsContext, markdown: str) -> bool:
    """Append to the job summary; False (and the text on stderr) when there is none or it is unwritable."""
    if context.step_summary is not None:
        try:
            with context.step_summary.open("a", encoding="utf-8") as handle:
                handle.write(markdown.rstrip("\n") + "\n\n")
            return True
        except OSError as exc:
            print(terminal_line(f"perfbudget: cannot write the job summary {context.step_summary}: {exc}"), file=sys.stderr)
    print(terminal_lines(markdown), file=sys.stderr)
    return False


def set_outputs(context: ActionsContext, outputs: Mapping[str, str]) -> None:
    """Step outputs in GITHUB_OUTPUT's heredoc form (safe for any value); ignored outside Actions."""
    if context.output is None:
        return
    lines = []
    for name, value in outputs.items():
        delimiter = f"perfbudget_{uuid.uuid4().hex}"
        lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with Path(context.output).open("a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def fall_back(context: ActionsContext, problem: str, *, strict: bool, exit_code: int, report: str = "") -> int:
    """Say what went wrong in the log and the job summary (with the report, so nothing is lost).

    Returns the exit status: 0 unless the user asked for ``--strict``.
    """
    warn(problem, "error" if strict else "warning")
    text = f"> **perfbudget:** {problem}"
    append_summary(context, f"{report.rstrip()}\n\n{text}" if report.strip() else text)
    return exit_code if strict else 0
