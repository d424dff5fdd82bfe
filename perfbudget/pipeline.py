"""What happens after a recorded run: judge it and write the requested reports.

The plugin (at session finish, on the controller) and the CLI call this one
function, so a run is judged the same way wherever it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from perfbudget.errors import PerfBudgetError
from perfbudget.results import Run

if TYPE_CHECKING:
    from perfbudget.verdicts import Comparison


@dataclass
class PipelineOptions:
    budget_file: str | None = None  # --perf-budget-file; None: perfbudget.yaml / [tool.perfbudget] if present
    baseline: str | None = None  # --perf-baseline: a results file or a directory of past results
    report_only: bool = False  # --perf-budget-report-only: never fail the run
    report_formats: tuple[str, ...] = ()  # --perf-report: e.g. ("markdown", "html")
    rootdir: Path = field(default_factory=Path.cwd)


@dataclass
class PipelineOutcome:
    lines: list[str] = field(default_factory=list)  # terminal output, shown above pytest's last line
    failed: bool = False  # True when the run must exit non-zero because of budgets/regressions
    written: list[Path] = field(default_factory=list)  # report files written


def after_run(run: Run, results_path: Path, options: PipelineOptions) -> PipelineOutcome:
    """Judge ``run`` against budgets and a baseline; write reports next to ``results_path``.

    Never raises for user mistakes: problems become lines of the outcome. A
    broken budget file fails the run (unless report-only): silently judging
    without the user's limits would pass what they meant to stop.
    """
    from perfbudget.baseline import load_baseline
    from perfbudget.budgets import BudgetError, Budgets, find_budget_file, load_budgets
    from perfbudget.compare import compare
    from perfbudget.report.terminal import render_comparison

    outcome = PipelineOutcome()
    budgets = Budgets()
    config_error = False
    try:
        path = find_budget_file(options.rootdir, options.budget_file)
        if path is not None:
            budgets = load_budgets(path, _display(path, options.rootdir))
    except BudgetError as exc:
        outcome.lines.append(f"perfbudget: budget file error: {exc}")
        outcome.lines.append("perfbudget: fix the budget file; judged against the baseline only")
        config_error = True
    baseline, warnings = None, []
    if options.baseline:
        loaded = load_baseline(options.baseline, project=run.project, exclude=results_path)
        baseline, warnings = loaded.baseline, loaded.warnings
    comparison = compare(run, budgets, baseline, warnings)
    outcome.lines.extend(render_comparison(comparison))
    failing = comparison.should_fail(budgets.fail_on) or config_error
    if failing and options.report_only:
        outcome.lines.append("perfbudget: report-only: not failing the run")
    outcome.failed = failing and not options.report_only
    if options.report_formats:
        outcome.written, problems = _write_reports(comparison, results_path.parent, options.report_formats)
        outcome.lines.extend(problems)
        outcome.lines.extend(f"perfbudget: wrote {path}" for path in outcome.written)
    return outcome


def _display(path: Path, rootdir: Path) -> str:
    """The budget file as users know it: relative to the rootdir when inside it."""
    try:
        return str(path.resolve().relative_to(rootdir.resolve()))
    except ValueError:
        return str(path)


def _write_reports(comparison: Comparison, directory: Path, formats: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Hand the Comparison to the report layer; a failure there is a line, not a crash."""
    try:
        from perfbudget.report import write_reports
    except ImportError:
        return [], [f"perfbudget: cannot write {', '.join(formats)} reports: this perfbudget has no report writers"]
    try:
        return list(write_reports(comparison, directory, formats)), []
    except (PerfBudgetError, OSError) as exc:
        return [], [f"perfbudget: writing reports failed: {exc}"]
