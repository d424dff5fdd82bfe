"""What happens after a recorded run: judge it and write the requested reports.

The plugin (at session finish, on the controller) and the CLI call this one
function, so a run is judged the same way wherever it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perfbudget.results import Run


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

    Never raises for user mistakes: problems become lines of the outcome.
    """
    return PipelineOutcome()
