"""Confirm timing suspects by rerunning them after the test loop: the plugin's half of the timing rule.

``compare/timing.py`` says when a slower time fails the run: when reruns
confirm it. This module gathers that evidence in the process that ran the
tests (the serial run, or each xdist worker for its own tests):

1. While the tests run, ``Calibrator`` times a fixed loop about four times
   a second: the machine's speed and its noise band.
2. After the loop, ``plan`` judges this process's tests (their times only,
   kept light while they ran) against the budgets and the baseline; every
   time the comparison calls UNCONFIRMED is a suspect, and the tests behind
   a suspect URL are rerun for it. Suspects are taken largest first, as many
   as fit the time budget (a fraction of the loop's own time).
3. ``Confirmer`` reruns them round by round, each run just after a pass of
   the calibration loop and after its control: a near neighbour in run
   order like the suspect (typical against its baseline, of about its
   size) that did not look slower. A test rerun on its own, away from
   the neighbours that warmed its caches, can be slower than in the loop;
   the control's reruns against its time in the loop measure that, so it is not
   taken for a regression. Per round it keeps the time metrics of each
   test, of its control, and of each suspect URL. A rerun that does not
   pass is not evidence.
"""

from __future__ import annotations

import bisect
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perfbudget.budgets import Budgets
from perfbudget.collect.calibration import calibrate
from perfbudget.compare.baseline import Baseline
from perfbudget.compare.engine import compare
from perfbudget.compare.verdicts import Status
from perfbudget.run.aggregate import aggregate_urls
from perfbudget.run.metrics import is_time
from perfbudget.run.model import Confirmation, Reruns, Run, TestRecord, UrlSummary

CALIBRATE_EVERY_S = 0.25  # while the tests run: about 1 % of the run's time
NOISE_SIGMAS = 1.0  # the noise band: this many robust standard deviations of the calibration timings
WARM_UP_PASSES = 5
MIN_NOISE_SAMPLES = 5
TESTS_PER_URL = 3  # a suspect URL is rerun through at most this many of its tests, the quickest
CONTROL_TYPICAL = 1.5  # a control's ratio to its baseline is within this factor of the run's median, its baseline of the suspect's
CONTROL_WALK = 200  # how far each way a control like the suspect is looked for
GIVE_UP_AFTER = 3  # reruns that fail before any passes: the reruns stop there
ROUND_OVERHEAD_MS = 5.0  # set-up and teardown of one rerun, beyond the test's own duration, when estimating


class Calibrator:
    """Times the calibration loop now and then while the tests run."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._last = 0.0

    def warm(self) -> None:
        self.samples.extend(calibrate() for _ in range(WARM_UP_PASSES))
        self._last = time.perf_counter()

    def tick(self) -> None:
        """Between tests: one pass when the last is old enough (about 2 ms every quarter second)."""
        if time.perf_counter() - self._last >= CALIBRATE_EVERY_S:
            self.samples.append(calibrate())
            self._last = time.perf_counter()

    def speed(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def noise(self) -> float | None:
        """The timings' spread relative to their median, as ``NOISE_SIGMAS`` robust standard deviations (1.4826 x MAD).

        Robust, so that one hiccup among a short run's few passes does not
        set the band; a loaded machine spreads them all, and widens it.
        """
        if len(self.samples) < MIN_NOISE_SAMPLES:
            return None
        median = statistics.median(self.samples)
        mad = statistics.median(abs(sample - median) for sample in self.samples)
        return NOISE_SIGMAS * 1.4826 * mad / median


def process_age(fallback: float) -> float:
    """Seconds since this process started (Linux: /proc), else ``fallback``: what "the run took so far" means to its user.

    The reruns' budget is a share of the run, and a run is the whole command,
    interpreter start and collection included, not only its test loop.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(fallback, float(uptime.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return fallback


def light_copy(record: TestRecord) -> TestRecord:
    """What judging a test's times needs, and no more: kept for every test while the loop runs."""
    return TestRecord(
        node_id=record.node_id,
        file=record.file,
        line=record.line,
        outcome=record.outcome,
        metrics={name: value for name, value in record.metrics.items() if is_time(name)},
        samples={name: values for name, values in record.samples.items() if is_time(name)},
        budget_marker=record.budget_marker,
    )


@dataclass
class Plan:
    """Which tests to rerun, in order, and for which URLs."""

    tests: list[str] = field(default_factory=list)  # node ids, largest suspect first
    urls: dict[str, list[str]] = field(default_factory=dict)  # URL key -> the tests rerun for it
    controls: dict[str, str] = field(default_factory=dict)  # suspect test -> its control
    not_rerun: int = 0  # suspects that did not fit the budget


def plan(
    tests: list[TestRecord],
    urls: list[UrlSummary],
    budgets: Budgets,
    baseline: Baseline | None,
    confirmation: Confirmation,
    budget_ms: float,
    rounds: int,
) -> Plan:
    """Judge this process's tests and URLs; the suspects that fit ``budget_ms`` over ``rounds`` rounds."""
    run = Run(tests=tests, urls=urls, confirmation=confirmation)
    comparison = compare(run, budgets, baseline)
    suspects = sorted(comparison.by_status(Status.UNCONFIRMED), key=_excess, reverse=True)
    by_id = {test.node_id: test for test in tests if test.outcome == "passed"}
    by_url = {url.key: url for url in urls}
    suspected = {verdict.subject for verdict in suspects if verdict.subject_kind == "test"}
    for url in urls:
        if any(v.subject_kind == "url" and v.subject == url.key for v in suspects):
            suspected.update(url.tests)
    neighbours = _controls(tests, suspected, baseline)
    chosen: list[str] = []
    result = Plan()
    spent = 0.0
    seen: set[tuple[str, str]] = set()
    for verdict in suspects:
        if (verdict.subject_kind, verdict.subject) in seen:
            continue
        seen.add((verdict.subject_kind, verdict.subject))
        if verdict.subject_kind == "test":
            needed = [verdict.subject] if verdict.subject in by_id else []
        else:
            summary = by_url.get(verdict.subject)
            candidates = [by_id[node_id] for node_id in (summary.tests if summary else []) if node_id in by_id]
            # Tests already chosen cost nothing more; then the quickest.
            candidates.sort(key=lambda test: (test.node_id not in chosen, _duration(test)))
            needed = [test.node_id for test in candidates[:TESTS_PER_URL]]
        if not needed:
            continue
        new = [node_id for node_id in needed if node_id not in chosen]
        controls = {node_id: neighbours[node_id] for node_id in new if node_id in neighbours}
        cost = rounds * sum(
            _duration(by_id[node_id])
            + ROUND_OVERHEAD_MS
            + (_duration(by_id[controls[node_id]]) + ROUND_OVERHEAD_MS if node_id in controls else 0.0)
            for node_id in new
        )
        if spent + cost > budget_ms:
            result.not_rerun += 1
            continue
        spent += cost
        chosen.extend(new)
        result.controls.update(controls)
        if verdict.subject_kind == "url":
            result.urls[verdict.subject] = needed
    result.tests = chosen
    return result


def _controls(tests: list[TestRecord], suspected: set[str], baseline: Baseline | None) -> dict[str, str]:
    """For each suspect, the nearest test (before it on a tie) that passed, is no suspect, and is like it.

    Like it: its ratio to its baseline is within ``CONTROL_TYPICAL`` of the
    run's median ratio (a control whose baseline was a hiccup, or a lucky
    quick pass, would measure that, not what rerunning alone costs), and,
    among the ``CONTROL_WALK`` nearest each way, its baseline is within
    ``CONTROL_TYPICAL`` of the suspect's (a 20 ms sleep says nothing of what
    rerunning alone costs a 2 ms database test); else the nearest typical one.
    """
    if baseline is None:
        return {}
    references: dict[int, float] = {}  # index -> baseline duration, of possible controls
    ratios: dict[int, float] = {}  # index -> its duration in this run over that
    for index, test in enumerate(tests):
        base = baseline.latest_test(test.node_id) if test.outcome == "passed" and test.node_id not in suspected else None
        reference = base.metrics.get("duration") if base is not None else None
        if reference:
            references[index], ratios[index] = reference, _duration(test) / reference
    if not ratios:
        return {}
    middle = statistics.median(ratios.values())
    usable = {index: references[index] for index, ratio in ratios.items() if middle / CONTROL_TYPICAL <= ratio <= middle * CONTROL_TYPICAL}
    controls: dict[str, str] = {}
    in_order = sorted(usable)
    for index, test in enumerate(tests):
        if test.node_id in suspected and usable:
            own = baseline.latest_test(test.node_id)
            size = own.metrics.get("duration", _duration(test)) if own is not None else _duration(test)
            found = _nearest_like(index, size, usable, in_order)
            controls[test.node_id] = tests[found].node_id
    return controls


def _nearest_like(index: int, size: float, usable: dict[int, float], in_order: list[int]) -> int:
    """The nearest usable index whose baseline is within ``CONTROL_TYPICAL`` of ``size``, else the nearest usable one.

    Bounded: at most ``CONTROL_WALK`` places each way, then a binary search
    of ``in_order`` (the usable indices, sorted), so that thousands of
    suspects in a 50,000-test run cost no more than a walk each.
    """
    for distance in range(1, CONTROL_WALK + 1):
        for other in (index - distance, index + distance):
            reference = usable.get(other)
            if reference is not None and size / CONTROL_TYPICAL <= reference <= size * CONTROL_TYPICAL:
                return other
    at = bisect.bisect_left(in_order, index)
    nearby = in_order[max(0, at - 1) : at + 1]
    return min(nearby, key=lambda other: (abs(other - index), other > index))


def _excess(verdict: object) -> float:
    """How far past its threshold a suspect is: the largest are rerun first."""
    value, limit = getattr(verdict, "value", None), getattr(verdict, "limit", None)
    return value / limit if value is not None and limit else 0.0


def _duration(test: TestRecord) -> float:
    return test.metrics.get("duration", 0.0)


# Reruns one test (its whole setup, call and teardown, unreported) and returns its record, or None.
RunOnce = Callable[[str, str | None], TestRecord | None]


@dataclass
class Confirmer:
    """Reruns a plan round by round, interleaved with the calibration loop, within a time budget."""

    run_once: RunOnce
    rounds: int
    budget_s: float
    loop_calibration_ms: float | None = None  # this process's calibration while it ran its tests
    tests: dict[str, Reruns] = field(default_factory=dict)
    urls: dict[str, Reruns] = field(default_factory=dict)
    seconds: float = 0.0
    passed: int = 0  # reruns that passed: evidence
    failed: int = 0  # reruns that did not pass, or could not run: no evidence

    def confirm(self, work: Plan, position: Callable[[str], int]) -> None:
        """Rerun ``work`` round by round; within a round in the run's own order (``position``), so neighbours share fixtures.

        Each suspect's control runs just before it, the calibration loop just before both.
        """
        in_order = sorted(work.tests, key=position)
        order: list[tuple[int, str, str | None]] = []  # (round, test to run, the suspect it is the control of)
        for round_ in range(self.rounds):
            for node_id in in_order:
                if node_id in work.controls:
                    order.append((round_, work.controls[node_id], node_id))
                order.append((round_, node_id, None))
        started = time.perf_counter()
        round_records: dict[int, list[tuple[TestRecord, float]]] = {}
        calibration = 0.0
        for index, (round_, node_id, control_of) in enumerate(order):
            if time.perf_counter() - started > self.budget_s:
                break  # the estimate was short: what finished is the evidence, a rerun with too few rounds confirms nothing
            following = order[index + 1][1] if index + 1 < len(order) else None
            if control_of is not None or node_id not in work.controls:
                calibration = calibrate()  # before the pair (control, suspect), or before a suspect without one
            record = self.run_once(node_id, following)
            if record is None or record.outcome != "passed":
                self.failed += 1
                if self.failed >= GIVE_UP_AFTER and self.passed == 0:
                    break  # nothing reruns here (a session fixture that cannot be set up again): stop paying for it
                continue
            self.passed += 1
            if control_of is not None:
                evidence = self.tests.setdefault(control_of, self._evidence())
                evidence.control = node_id
                _add_times(evidence.control_samples, record.metrics)
                continue
            _add_round(self.tests.setdefault(node_id, self._evidence()), calibration, record.metrics)
            round_records.setdefault(round_, []).append((record, calibration))
        self.seconds = time.perf_counter() - started
        self._url_rounds(work, round_records)

    def _evidence(self) -> Reruns:
        return Reruns(loop_calibration_ms=self.loop_calibration_ms)

    def _url_rounds(self, work: Plan, round_records: dict[int, list[tuple[TestRecord, float]]]) -> None:
        """Per round, each suspect URL's figures over the requests its reruns made."""
        for _, entries in sorted(round_records.items()):
            calibration = statistics.median(calibration for _, calibration in entries)
            summaries = {url.key: url for url in aggregate_urls(record for record, _ in entries)}
            for key in work.urls:
                url = summaries.get(key)
                if url is None:
                    continue
                evidence = self.urls.setdefault(key, self._evidence())
                _add_round(evidence, calibration, url.metrics)
                first = self.tests.get(work.urls[key][0])
                if evidence.control is None and first is not None and first.control is not None:
                    evidence.control, evidence.control_samples = first.control, first.control_samples


def _add_round(evidence: Reruns, calibration: float, metrics: dict[str, float]) -> None:
    """One round of a subject: the machine's speed just before, and its time metrics."""
    evidence.calibration.append(calibration)
    _add_times(evidence.samples, metrics)


def _add_times(samples: dict[str, list[float]], metrics: dict[str, float]) -> None:
    for name, value in metrics.items():
        if is_time(name):
            samples.setdefault(name, []).append(value)


def combine(confirmations: list[Confirmation]) -> Confirmation:
    """One run's figures from its processes' (xdist workers run side by side: times are the longest, not the sum)."""
    speeds = [c.calibration_ms for c in confirmations if c.calibration_ms is not None]
    noises = [c.calibration_noise for c in confirmations if c.calibration_noise is not None]
    return Confirmation(
        calibration_ms=statistics.median(speeds) if speeds else None,
        calibration_noise=max(noises) if noises else None,
        tests=sum(c.tests for c in confirmations),
        rounds=max(c.rounds for c in confirmations),
        seconds=max(c.seconds for c in confirmations),
        loop_seconds=max(c.loop_seconds for c in confirmations),
        not_rerun=sum(c.not_rerun for c in confirmations),
    )
