"""After the run, on the process that wrote the results: judge, and write the requested reports.

Judging is ``compare.judge`` (the same call every command and the action
make); this module only adds what is the plugin's own: terminal lines, the
report-only switch, and reports written next to the results file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perfbudget.budgets import Budgets
from perfbudget.compare.judge import judge, read_change_details
from perfbudget.compare.verdicts import Comparison
from perfbudget.errors import PerfBudgetError
from perfbudget.plugin.options import PerfOptions
from perfbudget.report.summary import tests_shown_in_detail
from perfbudget.report.terminal import render_comparison
from perfbudget.run.model import Run


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
        outcome.lines.extend(problems)
        outcome.lines.extend(f"perfbudget: wrote {path}" for path in outcome.written)
    return outcome


def _write_reports(comparison: Comparison, directory: Path, formats: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Hand the Comparison to the report layer; a failure there is a line, not a crash."""
    from perfbudget import report  # looked up at call time, so a test can replace write_reports

    try:
        return list(report.write_reports(comparison, directory, formats)), []
    except (PerfBudgetError, OSError) as exc:
        return [], [f"perfbudget: writing reports failed: {exc}"]
