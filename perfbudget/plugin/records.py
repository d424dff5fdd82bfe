"""One test's recordings, turned into its ``TestRecord``.

The plugin opens a recording for the whole test (setup + call + teardown)
and one for its call phase, notes each phase's outcome, and at teardown
calls ``build_record``; the record is then streamed to the process's
results file and dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from perfbudget.collect import summary
from perfbudget.collect.recording import CollectSettings, Pause, Recording
from perfbudget.run.model import TestRecord


@dataclass
class TestState:
    """What is being recorded for one test, between its setup and its teardown report."""

    __test__ = False  # not a pytest test class, despite the name

    whole: Recording  # setup + call + teardown
    between: Pause  # suspends the recorder between phases
    call: Recording | None = None  # the call phase
    memory_baseline: int | None = None
    peak_memory: int | None = None
    benchmark: tuple[dict[str, float], dict[str, list[float]]] | None = None
    phases: dict[str, tuple[str, bool]] = field(default_factory=dict)  # when -> (outcome, was xfail)


def outcome_of(phases: dict[str, tuple[str, bool]]) -> str:
    """One word for a test from its phase reports, as pytest's summary would count it."""
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    if setup and setup[0] == "failed":
        return "error"
    if setup and setup[0] == "skipped":
        return "xfailed" if setup[1] else "skipped"
    if call:
        outcome, was_xfail = call
        if outcome == "skipped":
            return "xfailed" if was_xfail else "skipped"
        if outcome == "failed":
            return "failed"
        if was_xfail:
            return "xpassed"
    if teardown and teardown[0] == "failed":
        return "error"
    return "passed"


def _marker_kwargs(marker: pytest.Mark) -> dict[str, Any]:
    """The marker's keywords as plain JSON scalars, the only kind a limit can be.

    Anything else (a list, a dict, NaN, an object) is kept as its text, so the
    results file stays readable and budgets/ reports the bad limit as a
    warning naming the test, instead of one test breaking the whole file.
    """
    return {str(name): _scalar(value) for name, value in marker.kwargs.items()}


def _scalar(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool) or (type(value) is float and math.isfinite(value)):
        return value
    return str(value)


def build_record(item: pytest.Item, state: TestState, settings: CollectSettings) -> TestRecord:
    """The test's record from its finished recordings.

    ``settings.django`` says whether Django metrics are facts for this test
    (collectors installed and settings configured): then they are reported
    even when zero.
    """
    # Looked up on the module at call time, so a test can replace it.
    metrics, details = summary.summarise(state.whole, settings)
    call_metrics = summary.summarise(state.call, settings)[0] if state.call is not None else {}
    if settings.django:
        metrics["requests"] = float(len(state.whole.requests))
    if state.peak_memory is not None:
        metrics["peak_memory"] = float(state.peak_memory)
    samples: dict[str, list[float]] = {}
    if state.benchmark is not None:
        metrics.update(state.benchmark[0])
        samples.update(state.benchmark[1])
    path, line, _ = item.location
    marker = item.get_closest_marker("perf_budget")
    return TestRecord(
        node_id=item.nodeid,
        file=path,
        line=None if line is None else line + 1,
        outcome=outcome_of(state.phases),
        metrics=metrics,
        call_metrics=call_metrics,
        details=details,
        requests=list(state.whole.requests),
        samples=samples,
        budget_marker=_marker_kwargs(marker) if marker is not None else None,
    )
