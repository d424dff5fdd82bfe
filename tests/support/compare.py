"""Builders for synthetic runs and budget files, shared by the budgets/compare/baseline tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfbudget.run.model import Run, TestRecord, UrlSummary


def record(node_id: str = "tests/test_app.py::test_one", line: int = 10, outcome: str = "passed", **metrics: float) -> TestRecord:
    """A test record; metric names use underscores for dots (queries_select)."""
    return TestRecord(
        node_id=node_id,
        file=node_id.split("::", 1)[0],
        line=line,
        outcome=outcome,
        metrics={name.replace("queries_", "queries.").replace("benchmark_", "benchmark."): float(v) for name, v in metrics.items()},
    )


def url(route: str = "/api/posts/", method: str = "GET", tests: list[str] | None = None, **metrics: float) -> UrlSummary:
    return UrlSummary(
        method=method,
        route=route,
        view_name=None,
        hits=1,
        metrics={name: float(v) for name, v in metrics.items()},
        tests=tests or [],
    )


def run_of(*tests: TestRecord, urls: list[UrlSummary] | None = None, project: str = "demo", **extra: Any) -> Run:
    return Run(project=project, tests=list(tests), urls=list(urls or []), **extra)


def write_budgets(directory: Path, text: str, name: str = "perfbudget.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
