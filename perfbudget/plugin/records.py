"""What makes a pytest item's record: its node id and location, its outcome from the phase reports, its marker.

The recording itself is ``collect.session``'s; this is the pytest half.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from perfbudget.collect.session import RecordingSession, TestRecording
from perfbudget.run.model import TestRecord


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


def build_record(item: pytest.Item, unit: TestRecording, phases: dict[str, tuple[str, bool]], session: RecordingSession) -> TestRecord:
    """The test's record from its finished recordings, named and judged the pytest way."""
    path, line, _ = item.location
    marker = item.get_closest_marker("perf_budget")
    return session.record(
        unit,
        node_id=item.nodeid,
        file=path,
        line=None if line is None else line + 1,
        outcome=outcome_of(phases),
        budget_marker=_marker_kwargs(marker) if marker is not None else None,
    )
