"""The report driver: one reporter per format behind one protocol; the driver owns the file.

A reporter is a module with ``report(comparison, outfile)`` that writes text
to an open file. The driver picks the reporter, opens the target (``-`` is
stdout), and deletes a half-written file when the reporter fails, so a
broken report never looks like a finished one. Reporters are imported only
when used: ``report.json`` never pays for Jinja2.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeAlias

from perfbudget.compare.verdicts import Comparison
from perfbudget.errors import PerfBudgetError


class ReportError(PerfBudgetError):
    """An unknown format, or a report that could not be written."""


# A plain callable, so a format's ``report`` function and a configured one
# (``markdown.configured(...)``) both fit, whatever their parameters are named.
Reporter: TypeAlias = Callable[[Comparison, TextIO], None]


@dataclass(frozen=True)
class Format:
    module: str  # perfbudget.report.<module> defines report(comparison, outfile)
    filename: str  # default file name next to the results


FORMATS: dict[str, Format] = {
    "markdown": Format("markdown", "report.md"),
    "html": Format("html", "report.html"),
    "json": Format("json", "report.json"),
    "annotations": Format("annotations", "annotations.txt"),
    "terminal": Format("text", "report.txt"),
}


def reporter(format_name: str) -> Reporter:
    """The ``report`` function of a format; a clear error names the valid formats."""
    spec = FORMATS.get(format_name)
    if spec is None:
        raise ReportError(f"unknown report format {format_name!r}; choose from {', '.join(FORMATS)}")
    return importlib.import_module(f"perfbudget.report.{spec.module}").report


def write_report(comparison: Comparison, report: str | Reporter, target: str | os.PathLike[str]) -> Path | None:
    """Write one report (a format name, or a configured reporter) to ``target``.

    ``-`` is stdout (returns None); a file is complete or absent.
    """
    if isinstance(report, str):
        report = reporter(report)
    if str(target) == "-":
        report(comparison, sys.stdout)
        sys.stdout.flush()
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w", encoding="utf-8", newline="\n") as outfile:
            report(comparison, outfile)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def write_reports(comparison: Comparison, directory: str | os.PathLike[str], formats: tuple[str, ...] | list[str]) -> list[Path]:
    """Write each format under its default name in ``directory`` (the plugin's ``--perf-report``)."""
    for name in formats:
        reporter(name)  # refuse an unknown format before writing anything
    written = []
    for name in formats:
        path = write_report(comparison, name, Path(directory) / FORMATS[name].filename)
        if path is not None:
            written.append(path)
    return written
