"""judge(): the one way a run is judged, by the plugin, every command and the action.

Budgets are read once by the caller (the plugin at configure time, a command
at start) and handed in; the baseline is loaded here, since what it warns
about (missing, corrupt, another project) belongs in the Comparison.
"""

from __future__ import annotations

from pathlib import Path

from perfbudget.budgets import Budgets, find_budget_file, load_budgets
from perfbudget.compare.baseline import load_baseline
from perfbudget.compare.engine import compare
from perfbudget.compare.verdicts import Comparison, Status
from perfbudget.run.decode import ResultsError
from perfbudget.run.model import Run
from perfbudget.run.read import collector_paused, load_details, load_run


def judge(
    run: Run,
    budgets: Budgets,
    baseline: str | Path | None,
    *,
    exclude: Path | None = None,
    force_baseline: bool = False,
    no_baseline_note: str | None = None,
    accepted_by: str = "",
) -> Comparison:
    """Compare ``run`` with ``budgets`` and the baseline at ``baseline`` (a file or a history directory).

    ``exclude`` is the run's own results file, never its own baseline;
    ``no_baseline_note`` is the warning carried into the reports when no
    baseline is given at all; ``accepted_by`` is the pull request's accept
    label when it has it. Baseline problems are warnings, never errors.
    """
    warnings: list[str] = []
    base, reason = None, no_baseline_note or ""
    if baseline:
        loaded = load_baseline(baseline, project=run.project, force=force_baseline, exclude=exclude)
        base, warnings, reason = loaded.baseline, loaded.warnings, loaded.reason
    elif no_baseline_note:
        warnings.append(no_baseline_note)
    with collector_paused():
        comparison = compare(run, budgets, base, warnings, accepted_by=accepted_by)
    comparison.origin = base.origin if base is not None else None
    comparison.no_baseline_reason = reason
    comparison.baseline_runs = len(base.runs) if base is not None else 0
    comparison.baseline_path = base.latest_path if base is not None else None
    return comparison


def judge_results(
    results: str | Path,
    *,
    rootdir: Path,
    budget_file: str | None,
    baseline: str | None,
    no_baseline_note: str,
    force_baseline: bool = False,
    details: bool = True,
    accepted_by: str = "",
    discover: bool = True,
) -> tuple[Comparison, Path | None]:
    """Judge a stored results file; returns the Comparison and the budget file used.

    The run is read light (metrics only) and judged; with ``details``, the
    details of what is not OK are then read, which is all a report shows.
    At 50,000 tests that is a fraction of reading every test's SQL.
    ``discover=False`` takes ``budget_file`` or none, never looking in
    ``rootdir`` (an artifact's pyproject.toml must not name the file to read).
    Errors are the package's own (ResultsError, BudgetError): the CLI prints
    them with their exit code.
    """
    path = find_budget_file(rootdir, budget_file) if discover else (Path(budget_file) if budget_file else None)
    budgets = load_budgets(path) if path else Budgets()
    run = load_run(results, details=False)
    comparison = judge(run, budgets, baseline, force_baseline=force_baseline, no_baseline_note=no_baseline_note, accepted_by=accepted_by)
    if details:
        read_change_details(comparison, results)
    return comparison, path


def tests_behind_changes(comparison: Comparison) -> set[str]:
    """Node ids of the tests that are not OK, and of the tests that requested a URL that is not OK."""
    changed = {(verdict.subject_kind, verdict.subject) for verdict in comparison.verdicts if verdict.status is not Status.OK}
    tests = {name for kind, name in changed if kind == "test"}
    for url in comparison.run.urls:
        if ("url", url.key) in changed:
            tests.update(url.tests)
    return tests


def read_change_details(comparison: Comparison, results: str | Path, also: set[str] | None = None) -> None:
    """Read the details a report shows: the run's tests behind changes (and ``also``), and the baseline's same tests.

    The baseline's are what the run's query groups are diffed against to
    name the cause of a change (``compare/causes.py``).
    """
    changed = tests_behind_changes(comparison)
    read_details(comparison.run, results, changed | (also or set()))
    base = comparison.baseline
    if base is None or comparison.baseline_path is None:
        return
    urls = {verdict.subject for verdict in comparison.verdicts if verdict.subject_kind == "url" and verdict.status is not Status.OK}
    behind = set(changed)
    for url in base.urls:
        if url.key in urls:
            behind.update(url.tests)
    try:
        read_details(base, comparison.baseline_path, behind)
    except ResultsError as exc:  # read once already, light: only a file changed since could fail here
        comparison.warnings.append(f"baseline details not read, so no causes are named: {exc}")
        return
    comparison.explain()


def read_details(run: Run, results: str | Path, node_ids: set[str]) -> None:
    """Give the named tests of a run read light the details, requests and call metrics of their full records."""
    full = load_details(results, node_ids)
    for test in run.tests:
        record = full.get(test.node_id)
        if record is not None:
            test.details, test.requests, test.call_metrics = record.details, record.requests, record.call_metrics
