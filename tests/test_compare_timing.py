"""compare/timing.py on its own: drift, scatter, noise band and the reruns' verdict, from injected samples.

Every figure here is made up to sit well clear of the rule's edges, so no
assertion depends on how fast this machine is.
"""

from __future__ import annotations

import math

import pytest

from perfbudget.compare.evidence import TimingEvidence
from perfbudget.compare.timing import (
    MIN_DRIFT_TESTS,
    Drift,
    TimingContext,
    drift_notes,
    noise_band,
    run_drift,
    scatter_note,
)
from perfbudget.run.model import Confirmation, Reruns, Run, TestRecord


def _run(durations: list[float]) -> Run:
    tests = [TestRecord(f"tests/test_t.py::test_{i}", "tests/test_t.py", i, "passed", {"duration": d}) for i, d in enumerate(durations)]
    return Run(project="demo", tests=tests)


def _reference(durations: list[float]) -> dict[str, dict[str, float]]:
    return {f"tests/test_t.py::test_{i}": {"duration": d} for i, d in enumerate(durations)}


def test_a_runner_slower_across_most_tests_is_a_reported_drift() -> None:
    base = [10.0] * 30
    drifts = run_drift(_run([15.0] * 30), _reference(base))
    drift = drifts["duration"]
    assert drift.factor == pytest.approx(1.5) and drift.tests == 30 and drift.reported
    assert drift.applied == pytest.approx(1.5)
    assert drift_notes(drifts) == [
        "run-level drift: this runner was x1.50 slower than the baseline's across 30 tests (duration x1.50); "
        "each test's time is judged relative to it"
    ]


def test_a_faster_runner_is_reported_but_never_divided_out() -> None:
    """Time that does not scale with the CPU (a sleep) would fail on a faster runner if limits tightened."""
    drift = run_drift(_run([5.0] * 30), _reference([10.0] * 30))["duration"]
    assert drift.reported and drift.factor == pytest.approx(0.5)
    assert drift.applied == 1.0
    assert "x2.00 faster" in drift_notes({"duration": drift})[0]


def test_too_few_tests_or_tests_too_quick_give_no_drift() -> None:
    assert run_drift(_run([20.0] * (MIN_DRIFT_TESTS - 1)), _reference([10.0] * (MIN_DRIFT_TESTS - 1))) == {}
    # Under a millisecond in the baseline, a test says little about the runner's speed.
    assert run_drift(_run([0.9] * 40), _reference([0.5] * 40)) == {}


def test_a_minority_moving_is_no_reported_drift() -> None:
    """Half the tests slower, half unchanged: the median moves, but most tests did not agree."""
    drift = run_drift(_run([13.0] * 15 + [10.0] * 15), _reference([10.0] * 30))["duration"]
    assert not drift.reported and drift.applied == 1.0
    assert drift_notes({"duration": drift}) == []


def test_the_scatter_is_the_robust_spread_of_the_tests_ratios_at_their_size() -> None:
    ratios = [1.1, 1 / 1.1] * 15  # log ratios of +/-log(1.1): a robust SD of 1.4826 * log(1.1)
    drift = run_drift(_run([10.0 * r for r in ratios]), _reference([10.0] * 30))["duration"]
    assert drift.tests_by_size == {3: 30}  # 10 ms lies in 8-16 ms: log2 size 3
    assert drift.scatter(10.0) == pytest.approx(1.4826 * math.log(1.1))
    assert drift.band(10.0) == pytest.approx(math.exp(3.0 * 1.4826 * math.log(1.1)) - 1)
    assert drift.scatter(1000.0) == drift.scatter(10.0)  # an unknown size takes the nearest known one
    assert drift.scatter(0.0) == 0.0


def test_the_scatter_note_says_what_one_baseline_run_cannot_tell() -> None:
    ratios = [1.1, 1 / 1.1] * 15
    drifts = run_drift(_run([10.0 * r for r in ratios]), _reference([10.0] * 30))
    [note] = scatter_note(drifts, baseline_runs=1)
    assert note.startswith("timing noise: tests of 8 ms-16 ms scatter +/-15% between runs here, so a slowdown under x1.53")
    assert note.endswith("against 1 baseline run; a history of 3 or more judges each test by its own spread")
    assert scatter_note(drifts, baseline_runs=3) == []  # a history judges each test by its own spread


def test_the_noise_band_is_the_widest_calibration_spread() -> None:
    assert noise_band(Confirmation(calibration_noise=0.05), None, Confirmation(calibration_noise=0.12)) == 0.12
    assert noise_band(None, Confirmation()) == 0.0


def test_the_noise_band_at_a_size_is_the_wider_of_calibration_and_scatter() -> None:
    drift = Drift(1.0, 30, False, scatter_by_size={3: 0.01}, tests_by_size={3: 30})
    quiet = TimingContext(drifts={"duration": drift}, noise=0.2)
    assert quiet.noise_for("duration", 10.0) == 0.2
    scattered = TimingContext(drifts={"duration": Drift(1.0, 30, False, {3: 0.2}, {3: 30})}, noise=0.01)
    assert scattered.noise_for("duration", 10.0) == pytest.approx(math.exp(0.6) - 1)
    # A metric too few tests have borrows wall time's scatter.
    assert scattered.noise_for("template_time", 10.0) == pytest.approx(math.exp(0.6) - 1)


def test_reruns_whose_quickest_round_clears_the_threshold_confirm() -> None:
    evidence = TimingContext().examine("duration", 48.0, Reruns(samples={"duration": [70.0, 59.0, 64.0, 61.0, 90.0]}))
    assert evidence == TimingEvidence("duration", True, 5, 59.0, 48.0)
    assert evidence.words == "confirmed by 5 reruns: quickest 59 ms > 48 ms"


def test_one_quick_round_clears_a_suspect() -> None:
    """Noise only ever adds time: a round under the threshold means the slowdown was not the code's."""
    evidence = TimingContext().examine("duration", 48.0, Reruns(samples={"duration": [70.0, 40.0, 64.0]}))
    assert not evidence.confirmed
    assert evidence.words == "not confirmed: 3 reruns, quickest 40 ms <= 48 ms"


def test_what_rerunning_alone_costs_the_control_is_taken_off_as_time() -> None:
    reruns = Reruns(samples={"duration": [60.0] * 3}, control="tests/test_t.py::test_0", control_samples={"duration": [25.0] * 3})
    evidence = TimingContext().examine("duration", 48.0, reruns, control_loop={"duration": 10.0})
    assert evidence.rerun_alone_cost == 15.0 and evidence.quickest == 45.0 and not evidence.confirmed
    assert evidence.words == "not confirmed: 3 reruns, quickest 45 ms <= 48 ms, rerunning alone cost its neighbour +15 ms, taken off"


def test_a_slower_machine_during_the_reruns_is_divided_out_and_raises_the_bar() -> None:
    reruns = Reruns(samples={"duration": [100.0] * 3}, calibration=[20.0, 20.0, 90.0], loop_calibration_ms=10.0)
    evidence = TimingContext(loop_reference=True).examine("duration", 40.0, reruns)
    # The median calibration pass is twice the loop's: rounds halved, the bar raised by half of x2.
    assert evidence.slowdown == 2.0 and evidence.quickest == 50.0 and evidence.bar == 60.0
    assert not evidence.confirmed
    assert evidence.words.endswith(", reruns x2.00 slower by drift or calibration, divided out (the bar raised by half of it)")


def test_the_drift_and_the_machines_slowdown_stack() -> None:
    drift = Drift(1.5, 30, True)
    reruns = Reruns(samples={"duration": [300.0] * 3}, calibration=[20.0] * 3, loop_calibration_ms=10.0)
    evidence = TimingContext(drifts={"duration": drift}, loop_reference=True).examine("duration", 40.0, reruns)
    assert evidence.slowdown == pytest.approx(3.0) and evidence.quickest == pytest.approx(100.0)
    assert evidence.bar == pytest.approx(80.0) and evidence.confirmed


def test_without_a_loop_of_its_own_the_reruns_are_held_against_the_context_calibration() -> None:
    reruns = Reruns(samples={"duration": [100.0] * 3}, calibration=[20.0] * 3, loop_calibration_ms=5.0)
    evidence = TimingContext(calibration_ms=10.0, loop_reference=False).examine("duration", 40.0, reruns)
    assert evidence.slowdown == 2.0  # 20 against the context's 10, not the loop's 5


@pytest.mark.parametrize(
    ("reruns", "confirmation", "why"),
    [
        (Reruns(samples={"duration": [90.0, 95.0]}), Confirmation(), "only 2 rerun rounds finished"),
        (None, None, "not rerun (recorded without --perf-baseline, or with --perf-confirm=0)"),
        (None, Confirmation(not_rerun=2), "not rerun: the rerun time budget (--perf-confirm-budget) was spent on larger suspects"),
        (None, Confirmation(), "not rerun (the test did not pass again, or was not a suspect while it ran)"),
    ],
)
def test_too_few_rounds_never_confirm_and_say_why(reruns: Reruns | None, confirmation: Confirmation | None, why: str) -> None:
    evidence = TimingContext(confirmation=confirmation).examine("duration", 48.0, reruns)
    assert not evidence.confirmed and evidence.quickest is None
    assert evidence.words == f"not confirmed: {why}"
