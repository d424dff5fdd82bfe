"""The timing rule: what it takes for a slower time to fail the run.

Counts are facts; times are samples, and a shared CI runner's noise is
larger than most regressions. So a time metric that looks slower (over its
budget, or past the regression threshold) is only a *suspect*. It fails the
run once it is confirmed, and otherwise it is reported as "slower, not
confirmed", which never fails. Three pieces of evidence decide:

* **Run-level drift.** When most tests of the run moved the same way
  against the baseline (the runner as a whole is slower), the median ratio
  is that drift. It is reported as a fact about the environment, and each
  test's time is judged after dividing it out. Only a slowdown is divided
  out, never a speed-up: time that does not scale with the CPU (sleeps,
  I/O) would otherwise fail on a faster runner.
* **Noise band.** Two measures of the run's own noise widen the threshold,
  whichever is wider. The plugin times a fixed calibration loop four times a
  second while the tests run: the spread of those timings is the machine's
  noise (the baseline's too). And the run's tests scatter around the drift:
  two processes running the same code time each test differently (memory
  layout, hash seeds, a neighbour's load), by tens of percent for tests of a
  few milliseconds, and reruns in the same process cannot see it, since
  they share the process. The robust spread of the tests' ratios to the
  baseline, among tests of about the same size, is that scatter; a time
  must move ``SCATTER_SIGMAS`` times it beyond the drift to be a suspect.
  A subject with a history of at least 3 baseline runs is judged by the
  spread of its own history instead (``compare/rules.py``): that measures
  the same thing for the subject itself, so smaller changes can be told.
* **Reruns.** The plugin reruns each suspect in the same session, several
  rounds, each just after a pass of the calibration loop and a rerun of a
  control (a neighbouring test like it that did not look slower). What rerunning
  alone cost the control (its reruns against its time in this run's loop:
  cold caches, set-up) is taken off each round, as time, not as a ratio.
  Rounds are then divided by the drift (the run's loop against the
  baseline) times how much slower the machine was during the reruns than
  during the rerunning process's own loop (the median of the rounds'
  calibration passes against that loop's; under xdist, each worker's), each
  never below 1: the two stack. The calibration loop's speed differs by up
  to x2 between two processes, and between the cores of one, with no
  bearing on the tests': hence the median and the process's own loop; the
  baseline's calibration stands in only for a run too small to measure a
  drift. The suspect is confirmed when the quickest round still clears the
  threshold: noise only ever adds time, so a real slowdown lifts even the
  quickest round, and a hiccup, or a loaded machine preempting some
  rounds, does not. Dividing is approximate (the calibration loop slows
  down by about as much as the suspect, not exactly as much), so reruns
  divided by x2 must clear a bar raised by half of that: x1.5 the
  threshold.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from perfbudget.compare.evidence import TimingEvidence
from perfbudget.compare.rules import MIN_SAMPLES_FOR_SPREAD
from perfbudget.run.metrics import is_time
from perfbudget.run.model import Confirmation, Reruns, Run

MIN_DRIFT_TESTS = 20  # fewer tests with a baseline than this: no drift is worked out
DRIFT_FLOOR_MS = 1.0  # tests faster than this in the baseline say little about the runner's speed
DRIFT_REPORTED = 0.10  # a median ratio at least 10 % away from 1 is reported...
DRIFT_MAJORITY = 0.60  # ...when at least 60 % of the tests moved that way
MIN_RERUNS = 3  # rounds a suspect needs before its reruns can confirm it
DIVISION_UNCERTAINTY = 0.5  # dividing out a slowdown is approximate: a round's bar rises by this share of what was divided
SCATTER_SIGMAS = 3.0  # a time must sit this many robust standard deviations of the tests' scatter beyond the drift
SCATTER_MIN_TESTS = 20  # the scatter of a size is worked out over at least this many tests of about that size


@dataclass(frozen=True)
class Drift:
    """How much slower (factor > 1) or faster the run's tests were than the baseline's, per metric, and how they scattered."""

    factor: float
    tests: int  # tests that had the metric on both sides
    reported: bool  # most tests moved that way: an environment fact
    scatter_by_size: dict[int, float] = field(default_factory=dict)  # log2 of the baseline value -> robust SD of log ratios
    tests_by_size: dict[int, int] = field(default_factory=dict)  # log2 of the baseline value -> tests of that size

    @property
    def applied(self) -> float:
        """What times are divided by before they are judged: a reported slowdown only."""
        return max(1.0, self.factor) if self.reported else 1.0

    def scatter(self, baseline: float) -> float:
        """The robust standard deviation of log(run / baseline) among the run's tests of about ``baseline``'s size."""
        if not self.scatter_by_size or baseline <= 0:
            return 0.0
        size = _size_of(baseline)
        sizes = self.scatter_by_size
        if size not in sizes:
            size = min(sizes, key=lambda known: (abs(known - size), known))
        return sizes[size]

    @property
    def common_size(self) -> int:
        """The size (log2 of the baseline value) most tests have."""
        return max(self.tests_by_size, key=lambda size: (self.tests_by_size[size], -size))

    def band(self, baseline: float) -> float:
        """The relative slowdown the scatter alone explains at ``baseline``'s size (0.5 for +50 %)."""
        return math.exp(SCATTER_SIGMAS * self.scatter(baseline)) - 1.0


def run_drift(run: Run, baseline_value: dict[str, dict[str, float]]) -> dict[str, Drift]:
    """Per time metric, the median ratio of this run's tests to the baseline's (``baseline_value[node_id][metric]``)."""
    ratios: dict[str, list[float]] = {}
    by_size: dict[str, dict[int, list[float]]] = {}
    for test in run.tests:
        base = baseline_value.get(test.node_id)
        if base is None:
            continue
        for metric, value in test.metrics.items():
            if not is_time(metric):
                continue
            reference = base.get(metric)
            # A time of 0, or one so small the ratio underflows to 0, is no test ever timed (a results
            # file may hold anything): it says nothing of the runner, and a factor of 0 has no inverse.
            if reference is not None and reference >= DRIFT_FLOOR_MS and (ratio := value / reference) > 0:
                ratios.setdefault(metric, []).append(ratio)
                sizes = by_size.setdefault(metric, {})
                sizes.setdefault(_size_of(reference), []).append(math.log(ratio))
    drifts = {}
    for metric, values in ratios.items():
        if len(values) < MIN_DRIFT_TESTS:
            continue
        factor = statistics.median(values)
        slower = factor > 1
        agreeing = sum(1 for ratio in values if (ratio > 1) == slower) / len(values)
        reported = abs(factor - 1) >= DRIFT_REPORTED and agreeing >= DRIFT_MAJORITY
        sizes = by_size.get(metric, {})
        drifts[metric] = Drift(factor, len(values), reported, _scatter_by_size(sizes), {size: len(logs) for size, logs in sizes.items()})
    return drifts


def _size_of(value: float) -> int:
    """A time's size class: log2 of it, rounded down (1-2 ms is 0, 2-4 ms is 1)."""
    return math.floor(math.log2(value))


def _scatter_by_size(log_ratios: dict[int, list[float]]) -> dict[int, float]:
    """Per size (log2 of the baseline), the robust SD of the log ratios of at least ``SCATTER_MIN_TESTS`` tests nearest in size.

    Small tests scatter more than large ones, so each size is judged by its
    own neighbours: its own tests, widened a size at a time each way until
    there are enough.
    """
    if sum(len(values) for values in log_ratios.values()) < SCATTER_MIN_TESTS:
        return {}
    lowest, highest = min(log_ratios), max(log_ratios)
    scatter = {}
    for size in log_ratios:
        pooled, reach = list(log_ratios[size]), 0
        while len(pooled) < SCATTER_MIN_TESTS and (size - reach > lowest or size + reach < highest):
            reach += 1
            pooled += log_ratios.get(size - reach, []) + log_ratios.get(size + reach, [])
        middle = statistics.median(pooled)
        scatter[size] = 1.4826 * statistics.median(abs(value - middle) for value in pooled)
    return scatter


def drift_notes(drifts: dict[str, Drift]) -> list[str]:
    """The reported drifts as one environment fact: wall time's first, the other metrics' factors beside it."""
    reported = {metric: drift for metric, drift in drifts.items() if drift.reported}
    if not reported:
        return []
    main = reported.get("duration") or next(iter(reported.values()))
    way = f"x{main.factor:.2f} slower" if main.factor > 1 else f"x{1 / main.factor:.2f} faster"
    judged = "each test's time is judged relative to it" if main.factor > 1 else "limits are not tightened for it"
    factors = ", ".join(f"{metric} x{drift.factor:.2f}" for metric, drift in sorted(reported.items()))
    return [f"run-level drift: this runner was {way} than the baseline's across {main.tests:,} tests ({factors}); {judged}"]


def scatter_note(drifts: dict[str, Drift], baseline_runs: int) -> list[str]:
    """With fewer than 3 baseline runs, what the tests' scatter hides: the wall-time band of the run's most common test size."""
    drift = drifts.get("duration")
    if drift is None or not drift.scatter_by_size or baseline_runs >= MIN_SAMPLES_FOR_SPREAD:
        return []
    low = 2.0**drift.common_size  # at least 1 ms: DRIFT_FLOOR_MS
    band = drift.band(low)
    return [
        f"timing noise: tests of {low:g} ms-{2 * low:g} ms scatter +/-{math.exp(drift.scatter(low)) - 1:.0%} between runs here, "
        f"so a slowdown under x{1 + band:.2f} cannot be told from noise against {baseline_runs} baseline run"
        f"{'s' if baseline_runs != 1 else ''}; a history of {MIN_SAMPLES_FOR_SPREAD} or more judges each test by its own spread"
    ]


def faster_evidence(metric: str, baseline_runs: int) -> TimingEvidence | None:
    """Whether a faster time is an improvement: only against a history of the subject (None), else why not.

    Noise only ever adds time, so a time that looks faster is as likely to
    be the baseline's one slow run as the change's doing, and reruns of this
    run cannot tell which. A history of ``MIN_SAMPLES_FOR_SPREAD`` baseline
    runs is a median the noise did not make; short of it the time is
    "faster, not confirmed", which changes no headline.
    """
    if baseline_runs >= MIN_SAMPLES_FOR_SPREAD:
        return None
    runs = f"{baseline_runs} run{'s' if baseline_runs != 1 else ''}"
    return TimingEvidence(
        metric,
        False,
        0,
        why_not=f"faster than the baseline's {runs}, which noise may have slowed; a history of {MIN_SAMPLES_FOR_SPREAD} runs confirms it",
    )


def noise_band(*confirmations: Confirmation | None) -> float:
    """The widest relative noise of the runs involved (0.05 for +/-5 %), from their calibration spread."""
    return max((c.calibration_noise for c in confirmations if c is not None and c.calibration_noise is not None), default=0.0)


@dataclass
class TimingContext:
    """The run-level timing facts every suspect of one comparison is judged with."""

    drifts: dict[str, Drift] = field(default_factory=dict)
    noise: float = 0.0
    calibration_ms: float | None = None  # what the reruns' calibration is held against when they carry no loop's own
    loop_reference: bool = False  # hold reruns against their own process's loop: a drift (or no baseline) covers the rest
    confirmation: Confirmation | None = None  # the run's: were suspects rerun at all, and was the budget spent

    def drift(self, metric: str) -> float:
        drift = self.drifts.get(metric)
        return drift.applied if drift is not None else 1.0

    def noise_for(self, metric: str, baseline: float) -> float:
        """The relative noise band at ``baseline``'s size: the machine's (calibration) or the tests' scatter, the wider.

        A metric too few tests have (a URL's median, template time in a suite
        that renders little) takes the scatter of wall time: a part of a
        test's time, or one of its requests, scatters at least as much.
        """
        drift = self.drifts.get(metric)
        if drift is None or not drift.scatter_by_size:
            drift = self.drifts.get("duration")
        return max(self.noise, drift.band(baseline) if drift is not None else 0.0)

    def examine(self, metric: str, threshold: float, reruns: Reruns | None, control_loop: dict[str, float] | None = None) -> TimingEvidence:
        """Do the suspect's reruns confirm that ``metric`` is past ``threshold``? ``control_loop``: its control's metrics in this run's loop."""
        series = reruns.samples.get(metric, []) if reruns is not None else []
        if reruns is None or len(series) < MIN_RERUNS:
            return TimingEvidence(metric, False, len(series), why_not=self._why_not_rerun(len(series)))
        alone = _rerun_alone_cost(metric, reruns, control_loop)
        # The machine's slowdown during the reruns: the median of their calibration passes (one pass preempted,
        # or run on the other core, does not decide) against the rerunning process's own loop when a drift
        # measured the loop against the baseline; the two slowdowns stack.
        reference = reruns.loop_calibration_ms if self.loop_reference and reruns.loop_calibration_ms else self.calibration_ms
        machine = statistics.median(reruns.calibration) / reference if reference and reruns.calibration else 1.0
        factor = max(1.0, self.drift(metric)) * max(1.0, machine)
        bar = threshold * (1.0 + DIVISION_UNCERTAINTY * (factor - 1.0))
        quickest = max(0.0, min(series) - alone) / factor
        return TimingEvidence(metric, quickest > bar, len(series), quickest, bar, alone, factor)

    def _why_not_rerun(self, rounds: int) -> str:
        if rounds:
            return f"only {rounds} rerun round{'s' if rounds > 1 else ''} finished"
        if self.confirmation is None:
            return "not rerun (recorded without --perf-baseline, or with --perf-confirm=0)"
        if self.confirmation.not_rerun:
            return "not rerun: the rerun time budget (--perf-confirm-budget) was spent on larger suspects"
        return "not rerun (the test did not pass again, or was not a suspect while it ran)"


def _rerun_alone_cost(metric: str, reruns: Reruns, control_loop: dict[str, float] | None) -> float:
    """How much longer the control took rerun (median of its rounds) than in this run's loop, on ``metric`` (0 if it lacks it).

    Rerun alone, away from the neighbours that warmed its caches, a test
    pays a cost of its own: about the same time for the suspect beside it,
    whatever the suspect's size, so it is taken off, not divided out.
    """
    if control_loop is None:
        return 0.0
    rounds, loop = reruns.control_samples.get(metric), control_loop.get(metric)
    if not rounds or loop is None:
        return 0.0
    return max(0.0, statistics.median(rounds) - loop)
