"""The end of a run, for every front end: read the results back, judge, write the reports, say it in lines.

Judging is ``compare.judge`` (the same call every command and the action
make); this module adds what a test run's end needs around it: the run
summary, the report-only switch, and reports written next to the results
file. The front end prints the lines its own way (pytest's terminal
summary, stderr under ``manage.py test``) and fails the run on ``failed``:
every line is a ``report.escape.terminal_line`` already, so a hostile test
id or path cannot write escape codes to the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perfbudget.budgets import Budgets
from perfbudget.compare.judge import judge, read_change_details
from perfbudget.compare.verdicts import Comparison
from perfbudget.config.options import PerfOptions
from perfbudget.errors import PerfBudgetError
from perfbudget.report.escape import terminal_line
from perfbudget.report.summary import tests_shown_in_detail
from perfbudget.report.terminal import render_comparison
from perfbudget.run.model import Run


@dataclass
class Finished:
    """What the end of a run says: the run as read back, its summary and its verdict."""

    run: Run | None = None  # None: the results could not be read back, so nothing was judged
    summary: list[str] = field(default_factory=list)  # the run summary and where the results are
    outcome: PipelineOutcome | None = None  # the verdict, once judged


def finish_run(
    results_path: Path, budgets: Budgets, options: PerfOptions, warn: Callable[[str], None], more: str | None = None
) -> Finished:
    """Read ``results_path`` back (light), judge it with ``after_run`` and summarise it; problems become ``warn`` lines."""
    from perfbudget.report.summary import render_run_summary
    from perfbudget.run.read import load_run

    finished = Finished()
    try:
        finished.run = load_run(results_path, details=False)  # after_run reads the details it shows
    except Exception as exc:
        warn(f"perfbudget: reading back {results_path} failed: {type(exc).__name__}: {exc}")
        warn(f"perfbudget: not judged: {results_path} could not be read back")
        return finished
    try:
        # Judged first: judging reads the details the summary shows. A module global, so a test can replace it.
        finished.outcome = after_run(finished.run, results_path, budgets, options)
    except Exception as exc:
        warn(f"perfbudget: the after-run pipeline failed: {type(exc).__name__}: {exc}")
    try:
        finished.summary = [
            *render_run_summary(finished.run, more=more).splitlines(),
            terminal_line(f"perfbudget: results written to {results_path}"),
        ]
    except Exception as exc:
        warn(f"perfbudget: printing the summary failed: {type(exc).__name__}: {exc}")
    return finished


@dataclass
class PipelineOutcome:
    lines: list[str] = field(default_factory=list)  # terminal output, shown above pytest's last line
    failed: bool = False  # True when the run must exit non-zero because of budgets/regressions
    written: list[Path] = field(default_factory=list)  # report files written


def after_run(run: Run, results_path: Path, budgets: Budgets, options: PerfOptions) -> PipelineOutcome:
    """Judge ``run`` against the budgets read at configure time and ``options.baseline``.

    ``run`` may have been read without details (a long run's are not held in
    memory): judging needs none, and the details that the reports and the
    run summary show are then read for the tests they concern only.
    Never raises for user mistakes: problems become lines of the outcome.
    """
    outcome = PipelineOutcome()
    comparison = judge(run, budgets, options.baseline, exclude=results_path)
    read_change_details(comparison, results_path, also=tests_shown_in_detail(run))
    outcome.lines.extend(render_comparison(comparison))
    failing = comparison.should_fail()
    if failing and options.report_only:
        outcome.lines.append("perfbudget: report-only: not failing the run")
    outcome.failed = failing and not options.report_only
    if options.report_formats:
        outcome.written, problems = _write_reports(comparison, results_path.parent, options.report_formats)
        outcome.lines.extend(terminal_line(problem) for problem in problems)
        outcome.lines.extend(terminal_line(f"perfbudget: wrote {path}") for path in outcome.written)
    return outcome


def _write_reports(comparison: Comparison, directory: Path, formats: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Hand the Comparison to the report layer; a failure there is a line, not a crash."""
    from perfbudget import report  # looked up at call time, so a test can replace write_reports

    try:
        return list(report.write_reports(comparison, directory, formats)), []
    except (PerfBudgetError, OSError) as exc:
        return [], [f"perfbudget: writing reports failed: {exc}"]
