"""The regression rule: when does a change against the baseline count, in words.

Counts are facts and compare exactly: the change must exceed ``max_increase``
(default 0, so any increase regresses and any decrease improves). Times and
memory are samples: the run's figure (the median of its samples when it has
several) must move away from the baseline's (the median over every baseline
sample, history included) by more than the margin, which is the largest of
the absolute floor, the relative threshold times the baseline, and, when the
baseline has at least 3 samples, 3 robust standard deviations of them
(1.4826 x MAD), and the run's noise band (``compare/timing.py``) times the
baseline. The run's figure is first divided by the run-level drift. With
several samples of its own, every one of them (the run's min for a
slowdown, max for a speed-up) must also clear the margin.

A time that clears it is a suspect, not yet a regression: ``compare/timing.py``
decides from the suspect's reruns whether it is confirmed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from perfbudget.budgets import RegressionRule
from perfbudget.compare.verdicts import Status
from perfbudget.run.metrics import format_value, metric_kind

# Metrics that describe the test rather than the code under test: a change in
# them is not a regression (more benchmark rounds, more cache hits, ...). Warm-up
# queries land on whichever test first fills a per-process cache: they move with
# test order and xdist distribution, so they are shown, never gated; an N+1 in
# test code is the test's own doing. A URL's p95 is its slowest few hits, made by whichever tests made them, in
# one run (no independent samples): reruns of a few of those tests cannot measure it again, so it is no
# regression check (a budget on it still holds).
NOT_GATED = frozenset(
    {
        "benchmark.rounds",
        "benchmark.stddev",
        "benchmark.max",
        "duration_max",
        "duration_p95",
        "cache_hits",
        "requests",
        "warmup_queries",
        "n_plus_one_in_tests",
    }
)
MIN_SAMPLES_FOR_SPREAD = 3
SPREAD_FACTOR = 3.0


@dataclass(frozen=True)
class Change:
    """The outcome of one metric's regression check."""

    status: Status  # REGRESSED, IMPROVED or OK
    value: float  # the run's figure (median of samples where there are several)
    baseline: float
    threshold: float  # the value beyond which the change counts (baseline +/- margin)
    reason: str  # in words; empty when OK


def head_figure(value: float, samples: list[float] | None) -> float:
    """A time metric's figure for budgets and regressions: median of samples when several."""
    return statistics.median(samples) if samples and len(samples) >= 2 else value


def noise_margin(values: list[float]) -> float:
    if len(values) < MIN_SAMPLES_FOR_SPREAD:
        return 0.0
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return SPREAD_FACTOR * 1.4826 * mad


def judge_change(
    metric: str,
    value: float,
    samples: list[float] | None,
    baseline: float,
    baseline_samples: list[float],
    rule: RegressionRule,
    drift: float = 1.0,
    noise: float = 0.0,
) -> Change:
    """Compare one metric of one subject with its baseline under ``rule``.

    The reason is put in words only for a change that counts (REGRESSED or
    IMPROVED): a 50,000-test run makes a million checks, nearly all OK, and
    formatting their words was most of compare's time. ``drift`` (>= 1) is
    divided out of the run's figures first; ``noise`` is the run's relative
    noise band, a floor for the margin.
    """
    if metric_kind(metric) == "count":
        return _judge_count(metric, value, baseline, rule)
    figure = head_figure(value, samples) / drift
    spread = max(noise_margin(baseline_samples), noise * abs(baseline))
    margin = max(rule.margin(baseline), spread)
    runs = [sample / drift for sample in samples] if samples and len(samples) >= 2 else []
    up, down = baseline + margin, baseline - margin
    if figure > up and (not runs or min(runs) > up):
        status, threshold = Status.REGRESSED, up
    elif figure * drift < down and (not runs or max(runs) * drift < down):
        # Faster than the baseline as measured, not merely faster than a slow runner's drift would predict.
        status, threshold, figure, runs = Status.IMPROVED, down, figure * drift, [sample * drift for sample in runs]
    else:
        return Change(Status.OK, figure, baseline, up, "")
    show: Callable[[float], str] = partial(format_value, metric)
    delta = figure - baseline
    ratio = f", {delta / baseline:+.0%}" if baseline else ""
    basis = f"median of {len(runs)} runs" if runs else "one run"
    if len(baseline_samples) >= 2:
        basis += f" vs median of {len(baseline_samples)} baseline runs"
    limits = f"threshold +{rule.relative:.0%} and +{show(rule.floor)}"
    if spread > rule.margin(baseline):
        limits += f", noise band +{show(spread)}"
    if drift > 1.0 and status is Status.REGRESSED:
        limits += f", after dividing out the run's drift x{drift:.2f}"
    words = f"{metric} {show(baseline)} -> {show(figure)} ({_signed(show, delta)}{ratio}; {limits}; {basis}; {rule.source})"
    return Change(status, figure, baseline, threshold, words)


def _judge_count(metric: str, value: float, baseline: float, rule: RegressionRule) -> Change:
    """Counts are facts: any change beyond ``max_increase`` counts, however small."""
    margin = rule.margin(baseline)
    delta = value - baseline
    if delta > margin:
        status, threshold = Status.REGRESSED, baseline + margin
    elif -delta > margin:
        status, threshold = Status.IMPROVED, baseline - margin
    else:
        return Change(Status.OK, value, baseline, baseline + margin, "")
    show: Callable[[float], str] = partial(format_value, metric)
    if margin:
        allowed = f"allowed +/-{show(margin)}"
    else:
        allowed = "any decrease improves" if delta < 0 else "any increase regresses"
    words = f"{metric} {show(baseline)} -> {show(value)} ({_signed(show, delta)}; {allowed}; {rule.source})"
    return Change(status, value, baseline, threshold, words)


def _signed(show: Callable[[float], str], delta: float) -> str:
    return f"+{show(delta)}" if delta >= 0 else f"-{show(-delta)}"
