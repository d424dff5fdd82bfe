"""The terminal report as a file: engineer C's ``render_comparison`` behind the reporter protocol."""

from __future__ import annotations

from typing import TextIO

from perfbudget.compare.verdicts import Comparison
from perfbudget.report.terminal import render_comparison


def report(comparison: Comparison, outfile: TextIO) -> None:
    """Every finding, improvements included: a file is read at leisure, unlike a CI log."""
    outfile.write("\n".join(render_comparison(comparison, show_improved=True)) + "\n")
