"""The JSON form of a Comparison, shared by ``perfbudget compare --format json`` and report/json.py.

Its shape is a contract with every consumer of the JSON report, so it only
grows (new keys), never renames. Order is stable: verdicts as compare/ sorted
them, counts in Status order.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.run.model import Run

# Version of this document's shape; bump when a key changes meaning.
# 2: a time faster than a baseline of fewer than 3 runs is "faster_unconfirmed", no longer "improved" (issue 20),
#    and "counts" gains that status.
COMPARISON_FORMAT = 2


def _run_info(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "project": run.project,
        "commit": run.commit,
        "branch": run.branch,
        "build_id": run.build_id,
        "started": run.started,
        "finished": run.finished,
        "tests": len(run.tests),
        "urls": len(run.urls),
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "subject": verdict.subject,
        "subject_kind": verdict.subject_kind,
        "metric": verdict.metric,
        "status": verdict.status.value,
        "value": verdict.value,
        "baseline": verdict.baseline,
        "limit": verdict.limit,
        "delta": verdict.delta,
        "delta_ratio": verdict.delta_ratio,
        "reason": verdict.reason,
        "file": verdict.file,
        "line": verdict.line,
        "judged": verdict.judged,
    }


def comparison_to_dict(comparison: Comparison, fail_on: tuple[Status, ...] | None = None) -> dict[str, Any]:
    """Everything a reader of the JSON needs, without the raw runs' per-test records."""
    counts = comparison.counts()
    failing = comparison.should_fail(fail_on)  # None: the comparison's own fail_on
    return {
        "format": COMPARISON_FORMAT,
        "summary": comparison.summary_line(),
        "failed": failing,
        "counts": {**{status.value: counts[status] for status in Status}, "not_judged": comparison.not_judged},
        "verdicts": [verdict_to_dict(v) for v in comparison.verdicts],
        "warnings": list(comparison.warnings),
        "budgets_source": comparison.budgets_source,
        "run": _run_info(comparison.run),
        "baseline": _run_info(comparison.baseline),
        "compared": comparison.baseline is not None,
        "not_compared": comparison.not_compared or None,
        "baseline_origin": asdict(comparison.origin) if comparison.origin is not None else None,
        "baseline_runs": comparison.baseline_runs,
    }
