"""The regression rule: counts exact, times and memory above both a relative and an absolute step."""

from __future__ import annotations

import pytest

from perfbudget.budgets import DEFAULT_REGRESSION, RegressionRule
from perfbudget.compare.rules import judge_change, noise_margin
from perfbudget.compare.verdicts import Status

COUNT, TIME, BYTES = DEFAULT_REGRESSION["count"], DEFAULT_REGRESSION["time"], DEFAULT_REGRESSION["bytes"]


@pytest.mark.parametrize(
    ("value", "baseline", "rule", "status"),
    [
        (11, 10, COUNT, Status.REGRESSED),  # any increase
        (10, 10, COUNT, Status.OK),
        (9, 10, COUNT, Status.IMPROVED),  # any decrease
        (12, 10, RegressionRule(floor=2, relative=0), Status.OK),  # max_increase 2 allows +2
        (13, 10, RegressionRule(floor=2, relative=0), Status.REGRESSED),
    ],
)
def test_counts_compare_exactly(value: float, baseline: float, rule: RegressionRule, status: Status) -> None:
    change = judge_change("queries", value, None, baseline, [baseline], rule)
    assert change.status is status


def test_count_reason_reads_as_words() -> None:
    change = judge_change("queries", 12, None, 10, [10], COUNT)
    assert change.reason == "queries 10 -> 12 (+2; any increase regresses; default rule)"
    assert change.threshold == 10


@pytest.mark.parametrize(
    ("value", "baseline", "status"),
    [
        (96.0, 80.0, Status.OK),  # +16 ms is exactly +20 %: at the threshold is not beyond it
        (97.0, 80.0, Status.REGRESSED),
        (5.5, 4.0, Status.OK),  # +37 % but only +1.5 ms: under the 2 ms floor
        (7.5, 5.0, Status.REGRESSED),  # x1.5 of a 5 ms test: +2.5 ms and +50 %
        (215.0, 200.0, Status.OK),  # +15 ms but only +7.5 %
        (260.0, 200.0, Status.REGRESSED),  # +60 ms and +30 %
        (140.0, 200.0, Status.IMPROVED),  # -60 ms and -30 %
        (190.0, 200.0, Status.OK),
    ],
)
def test_times_need_both_the_relative_and_the_absolute_step(value: float, baseline: float, status: Status) -> None:
    assert judge_change("duration", value, None, baseline, [baseline], TIME).status is status


def test_time_reason_names_the_thresholds() -> None:
    change = judge_change("duration", 260.0, None, 200.0, [200.0], TIME)
    assert change.reason == "duration 200 ms -> 260 ms (+60 ms, +30%; threshold +20% and +2.0 ms; one run; default rule)"
    assert change.threshold == 240.0


def test_drift_is_divided_out_of_a_slowdown_and_the_noise_band_widens_the_margin() -> None:
    assert judge_change("duration", 300.0, None, 200.0, [200.0], TIME, drift=1.5).status is Status.OK  # 300 / 1.5 = 200
    change = judge_change("duration", 400.0, None, 200.0, [200.0], TIME, drift=1.5)
    assert change.status is Status.REGRESSED and "after dividing out the run's drift x1.50" in change.reason
    assert judge_change("duration", 260.0, None, 200.0, [200.0], TIME, noise=0.4).status is Status.OK  # band +80 ms
    assert "noise band +80 ms" in judge_change("duration", 290.0, None, 200.0, [200.0], TIME, noise=0.4).reason
    # A slow runner's drift makes no unchanged test look improved: improvements are judged as measured.
    assert judge_change("duration", 200.0, None, 200.0, [200.0], TIME, drift=2.0).status is Status.OK


def test_the_runs_median_is_used_and_its_min_must_clear_the_threshold() -> None:
    # Median 300 > 250, but one sample (240) sits inside the noise band: not a regression.
    assert judge_change("duration", 999.0, [240.0, 300.0, 310.0], 200.0, [200.0], TIME).status is Status.OK
    # Every sample clears it: a regression, judged on the median, not the stored single value.
    change = judge_change("duration", 999.0, [260.0, 300.0, 310.0], 200.0, [200.0], TIME)
    assert change.status is Status.REGRESSED and change.value == 300.0
    assert "median of 3 runs" in change.reason


def test_a_noisy_baseline_widens_the_margin() -> None:
    history = [100.0, 160.0, 200.0, 240.0, 300.0]  # median 200, MAD 40 -> margin 3 x 1.4826 x 40 = 178 ms
    assert noise_margin(history) == pytest.approx(3 * 1.4826 * 40)
    assert judge_change("duration", 300.0, None, 200.0, history, TIME).status is Status.OK
    assert judge_change("duration", 400.0, None, 200.0, history, TIME).status is Status.REGRESSED
    assert noise_margin([100.0, 300.0]) == 0.0  # too few samples to judge spread


def test_memory_uses_one_megabyte_and_ten_percent() -> None:
    assert judge_change("peak_memory", 10_900_000, None, 10_000_000, [], BYTES).status is Status.OK
    assert judge_change("peak_memory", 11_200_000, None, 10_000_000, [], BYTES).status is Status.REGRESSED
    assert judge_change("peak_memory", 1_500_000, None, 1_000_000, [], BYTES).status is Status.OK  # +50 % but < 1 MB


def test_configured_rule_replaces_defaults() -> None:
    strict = RegressionRule(floor=1.0, relative=0.05, source="regression.time in pb.yaml:3")
    change = judge_change("duration", 110.0, None, 100.0, [100.0], strict)
    assert change.status is Status.REGRESSED and "regression.time in pb.yaml:3" in change.reason
