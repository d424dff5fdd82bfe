"""Judging a run: load budgets and baseline, compare, and write the requested reports.

The plugin (``after_run``, at session finish on the controller) and every
command that judges a stored results file (``judge_results``: compare, report,
comment, the action's judging step) go through here, so a run is judged the
same way wherever it comes from.
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
    from perfbudget.budgets import BudgetError, Budgets, load_project_budgets
    from perfbudget.compare import compare
    from perfbudget.report.terminal import render_comparison

    outcome = PipelineOutcome()
    budgets = Budgets()
    config_error = False
    try:
        budgets = load_project_budgets(options.rootdir, options.budget_file)
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
    failing = comparison.should_fail() or config_error
    if failing and options.report_only:
        outcome.lines.append("perfbudget: report-only: not failing the run")
    outcome.failed = failing and not options.report_only
    if options.report_formats:
        outcome.written, problems = _write_reports(comparison, results_path.parent, options.report_formats)
        outcome.lines.extend(problems)
        outcome.lines.extend(f"perfbudget: wrote {path}" for path in outcome.written)
    return outcome


def judge_results(
    results: str | Path,
    *,
    rootdir: Path,
    budget_file: str | None,
    baseline: str | None,
    no_baseline_note: str,
    force_baseline: bool = False,
) -> tuple[Comparison, Path | None]:
    """Judge a stored results file; returns the Comparison and the budget file used.

    Errors are the package's own (ResultsError, BudgetError): the CLI prints
    them with their exit code. ``no_baseline_note`` is the warning carried
    into the reports when no baseline is given.
    """
    from perfbudget.baseline import load_baseline
    from perfbudget.budgets import Budgets, find_budget_file, load_budgets
    from perfbudget.compare import compare
    from perfbudget.results import load_run

    run = load_run(results)
    path = find_budget_file(rootdir, budget_file)
    budgets = load_budgets(path) if path else Budgets()
    base, warnings = None, []
    if baseline:
        loaded = load_baseline(baseline, project=run.project, force=force_baseline)
        base, warnings = loaded.baseline, loaded.warnings
    else:
        warnings.append(no_baseline_note)
    return compare(run, budgets, base, warnings), path


def _write_reports(comparison: Comparison, directory: Path, formats: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Hand the Comparison to the report layer; a failure there is a line, not a crash."""
    from perfbudget.report import write_reports

    try:
        return list(write_reports(comparison, directory, formats)), []
    except (PerfBudgetError, OSError) as exc:
        return [], [f"perfbudget: writing reports failed: {exc}"]
