"""compare(): a pure function from (run, budgets, baseline) to a Comparison.

Every subject of the run (test or URL) gets at least one verdict: OK when
nothing is notable, NEW when the baseline lacks it (its budget verdicts still
apply), plus one verdict per metric over budget, regressed or improved.
Subjects only in the baseline get REMOVED. Verdicts are sorted by subject
kind, subject and metric, so every report lists them in the same order.

Counts are judged exactly. A time past its budget or regression threshold
is a suspect: it is REGRESSED (or OVER_BUDGET) only when its reruns confirm
it, and UNCONFIRMED otherwise (``compare/timing.py`` has the rule).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from perfbudget.budgets import BudgetError, Budgets, Limit, RegressionRule
from perfbudget.compare.baseline import Baseline, baseline_value
from perfbudget.compare.environment import demote_times, environment_changes, environment_note
from perfbudget.compare.rules import MIN_SAMPLES_FOR_SPREAD, NOT_GATED, Change, head_figure, judge_change
from perfbudget.compare.timing import TimingContext, drift_notes, faster_evidence, noise_band, run_drift, scatter_note
from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.compare.waivers import apply_waivers
from perfbudget.run.metrics import METRICS, format_value, is_sampled, is_time
from perfbudget.run.model import Reruns, Run, TestRecord, UrlSummary

NOT_JUDGED_OUTCOMES = ("skipped", "xfailed")
History = Callable[[str], list[float]]  # metric -> every baseline sample of one subject


@dataclass
class _Subject:
    """What compare needs of a test or a URL, whichever it is."""

    name: str
    kind: str  # "test" | "url"
    metrics: dict[str, float]
    samples: dict[str, list[float]]
    file: str | None
    line: int | None
    reruns: Reruns | None = None


def compare(
    run: Run,
    budgets: Budgets | None = None,
    baseline: Baseline | None = None,
    warnings: list[str] | None = None,
    *,
    accepted_by: str = "",
    today: datetime.date | None = None,
) -> Comparison:
    """Judge ``run``; ``warnings`` (from loading the baseline, say) are carried into the Comparison.

    ``accepted_by`` is the pull request's accept label when it carries it;
    ``today`` decides which ``accept:`` entries have expired (default: today, UTC).
    """
    budgets = budgets or Budgets()
    notes = list(warnings or []) + budgets.warnings + budgets.unused_rule_warnings(run)
    verdicts: list[Verdict] = []
    latest = baseline.latest if baseline else None
    timing = _timing_context(run, latest)
    notes.extend(drift_notes(timing.drifts))
    notes.extend(scatter_note(timing.drifts, len(baseline.runs)) if baseline else [])
    tests_by_id = {test.node_id: test for test in run.tests}
    judging = _Judging(budgets, latest is not None, _Gates(budgets), timing, tests_by_id)

    for test in run.tests:
        subject = _Subject(test.node_id, "test", test.metrics, test.samples, test.file, test.line, test.reruns)
        if test.outcome in NOT_JUDGED_OUTCOMES:
            status = Status.NEW if baseline and baseline.latest_test(test.node_id) is None else Status.OK
            verdicts.append(_whole(subject, status, f"not judged: test {test.outcome}", judged=status is not Status.OK))
            continue
        limits = _test_limits(budgets, test, notes)
        base = baseline.latest_test(test.node_id) if baseline else None
        history = (lambda metric, node_id=test.node_id: baseline.test_values(node_id, metric)) if baseline else None
        verdicts.extend(_judge(subject, limits, base, history, judging))

    for url in run.urls:
        first = next((tests_by_id[node_id] for node_id in url.tests if node_id in tests_by_id), None)
        file, line = (first.file, first.line) if first else (None, None)
        # A URL's hits in one run are no independent repeats (one machine state, one warm-up):
        # its figures are judged as single measurements, confirmed by the reruns of its tests.
        subject = _Subject(url.key, "url", url.metrics, {}, file, line, url.reruns)
        base_url = baseline.latest_url(url.key) if baseline else None
        history = (lambda metric, key=url.key: baseline.url_values(key, metric)) if baseline else None
        verdicts.extend(_judge(subject, budgets.limits_for_url(url), base_url, history, judging))

    if latest is not None:
        changes = environment_changes(run.environment, latest.environment)
        notes.extend(environment_note(changes, demote_times(verdicts, changes)))
        removed = _removed(run, latest)
        if removed and run.interrupted:
            notes.append(f"the run was interrupted: {len(removed)} subjects of the baseline it did not reach show as removed")
        verdicts.extend(removed)
    notes.extend(apply_waivers(verdicts, budgets.waivers, today or datetime.datetime.now(datetime.timezone.utc).date(), accepted_by))
    for (kind, metric), count in sorted(judging.unchecked.items()):
        notes.append(
            f"budget on {metric!r} not checked for {count} {kind}{'s' if count > 1 else ''}: "
            "the metric was not recorded (is its collector on, e.g. Django configured or --perf-memory?)"
        )
    notes.extend(_confirmation_notes(run, judging))
    verdicts.sort(key=lambda v: (v.subject_kind, v.subject, v.metric or "", v.status.severity))
    comparison = Comparison(
        run=run,
        baseline=latest,
        verdicts=verdicts,
        warnings=notes,
        budgets_source=budgets.source,
        fail_on=tuple(Status(value) for value in budgets.fail_on),
    )
    comparison.explain()
    return comparison


def _timing_context(run: Run, latest: Run | None) -> TimingContext:
    """Drift, noise band and the calibration the reruns are measured against."""
    if latest is None:
        own = run.confirmation
        calibration = own.calibration_ms if own else None
        return TimingContext(noise=noise_band(own), calibration_ms=calibration, loop_reference=True, confirmation=own)
    reference = {test.node_id: test.metrics for test in latest.tests}
    base, own = latest.confirmation, run.confirmation
    drifts = run_drift(run, reference)
    # The reruns' calibration is held against this run's own when the tests measured the drift from the
    # baseline: the loop's speed in two processes differs by up to x2 here with no bearing on the tests'.
    # Only a run too small for a drift falls back on the baseline's calibration.
    loop = "duration" in drifts
    first, second = (own, base) if loop else (base, own)
    calibration = (first.calibration_ms if first else None) or (second.calibration_ms if second else None)
    return TimingContext(drifts=drifts, noise=noise_band(own, base), calibration_ms=calibration, loop_reference=loop, confirmation=own)


def _confirmation_notes(run: Run, judging: _Judging) -> list[str]:
    """What confirming timing suspects found and cost, in one line."""
    suspects = judging.suspects
    cost = run.confirmation
    if not suspects and not (cost and cost.tests):
        return []
    confirmed = sum(1 for verdict in suspects if verdict.status is not Status.UNCONFIRMED)
    line = f"timing: {len(suspects)} slower time{'s' if len(suspects) != 1 else ''}, {confirmed} confirmed by reruns"
    if cost is not None and cost.tests:
        share = f", +{cost.seconds / cost.loop_seconds:.0%} of the test loop" if cost.loop_seconds else ""
        line += f"; {cost.tests} suspect{'s' if cost.tests != 1 else ''} rerun x{cost.rounds} in {cost.seconds:.1f} s{share}"
    if cost is not None and cost.not_rerun:
        line += f"; {cost.not_rerun} not rerun (budget spent)"
    if cost is not None and cost.calibration_noise is not None:
        line += f"; noise band +/-{cost.calibration_noise:.0%}"
    return [line]


def _test_limits(budgets: Budgets, test: TestRecord, notes: list[str]) -> dict[str, Limit]:
    """The test's limits; a bad marker is a warning and the file's limits still hold."""
    try:
        return budgets.limits_for_test(test)
    except BudgetError as exc:
        notes.append(f"{exc} (marker ignored)")
        return budgets.limits_for_test(test, marker=False)


def _judge(
    subject: _Subject, limits: dict[str, Limit], base: TestRecord | UrlSummary | None, history: History | None, judging: _Judging
) -> list[Verdict]:
    budgets, has_baseline = judging.budgets, judging.has_baseline
    if budgets.is_ignored(subject.name):
        return [_whole(subject, Status.OK, f"ignored ('ignore' in {budgets.ignore_source})", judged=False)]
    verdicts = []
    for metric, limit in sorted(limits.items()):
        if metric not in subject.metrics:
            judging.unchecked[(subject.kind, metric)] += 1
            continue
        value = _figure(subject, metric)
        if value > limit.value:
            verdict = _over_budget(subject, metric, value, limit)
            confirm = is_time(metric) and budgets.regression_rule(metric).confirm
            verdicts.append(judging.confirmed(subject, verdict, limit.value) if confirm else verdict)
    if base is not None and history is not None:
        verdicts.extend(_regressions(subject, base, history, judging))
    if has_baseline and base is None:
        verdicts.append(_whole(subject, Status.NEW, "not in the baseline"))
    elif not verdicts:
        verdicts.append(_whole(subject, Status.OK, "within budget and baseline" if has_baseline else "within budget"))
    return verdicts


def _regressions(subject: _Subject, base: TestRecord | UrlSummary, history: History, judging: _Judging) -> list[Verdict]:
    """The subject's metrics that regressed or improved against its baseline record; slower times need confirming."""
    verdicts = []
    for metric in sorted(subject.metrics.keys() & base.metrics.keys()):
        gate = judging.gates[metric]
        if gate is None:
            continue
        rule, sampled = gate
        if not sampled and subject.metrics[metric] == base.metrics[metric]:
            continue  # an unchanged count neither regressed nor improved, whatever the rule
        change = _change(subject, base, history, judging, metric)
        if change is None or change.status is Status.OK:
            continue
        verdict = _verdict(subject, metric, change.status, change.value, change.baseline, change.threshold, change.reason)
        if change.status is Status.REGRESSED and is_time(metric) and rule.confirm:
            verdict = judging.confirmed(subject, verdict, change.threshold)
        elif change.status is Status.IMPROVED and is_time(metric) and rule.confirm:
            verdict.timing = faster_evidence(metric, len(history(metric)))
            if verdict.timing is not None:
                verdict.status = Status.FASTER_UNCONFIRMED
        verdicts.append(verdict)
    return verdicts


@dataclass
class _Judging:
    """What judging one run carries from subject to subject."""

    budgets: Budgets
    has_baseline: bool
    gates: _Gates
    timing: TimingContext
    tests_by_id: dict[str, TestRecord]  # the run's, for a control's metrics in this run's loop
    unchecked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, metric) budgets not checked
    suspects: list[Verdict] = field(default_factory=list)  # slower times, confirmed or not

    def confirmed(self, subject: _Subject, verdict: Verdict, threshold: float) -> Verdict:
        """The failing time verdict if the subject's reruns confirm it, else the same verdict UNCONFIRMED."""
        assert verdict.metric is not None
        control = subject.reruns.control if subject.reruns is not None else None
        # A URL's control is a whole test: what rerunning alone cost it is no measure of one request's cost.
        in_loop = self.tests_by_id.get(control) if control and subject.kind == "test" else None
        evidence = self.timing.examine(verdict.metric, threshold, subject.reruns, in_loop.metrics if in_loop else None)
        verdict.timing = evidence
        if not evidence.confirmed:
            verdict.status = Status.UNCONFIRMED
        self.suspects.append(verdict)
        return verdict


class _Gates(dict[str, "tuple[RegressionRule, bool] | None"]):
    """Per metric, its regression rule and whether it is sampled, or None when its changes are not judged.

    Worked out once per metric per comparison: asked for every metric of every subject.
    """

    def __init__(self, budgets: Budgets) -> None:
        super().__init__()
        self._budgets = budgets

    def __missing__(self, metric: str) -> tuple[RegressionRule, bool] | None:
        rule = self._budgets.regression_rule(metric)
        gate = None if metric not in METRICS or metric in NOT_GATED or not rule.enabled else (rule, is_sampled(metric))
        self[metric] = gate
        return gate


def _change(subject: _Subject, base: TestRecord | UrlSummary, history: History, judging: _Judging, metric: str) -> Change | None:
    """The regression check of one metric, None when either side lacks it."""
    if metric not in subject.metrics or metric not in base.metrics:
        return None
    # A count's baseline is its latest value (counts are facts): its history is not looked up.
    samples = history(metric) if is_sampled(metric) else []
    reference = baseline_value(samples, base.metrics[metric], metric)
    rule = judging.budgets.regression_rule(metric)
    if not is_time(metric):
        return judge_change(metric, subject.metrics[metric], subject.samples.get(metric), reference, samples, rule)
    timing = judging.timing
    figure, figure_samples, drift = subject.metrics[metric], subject.samples.get(metric), timing.drift(metric)
    change = judge_change(metric, figure, figure_samples, reference, samples, rule, drift, timing.noise)
    if change.status is Status.OK or len(samples) >= MIN_SAMPLES_FOR_SPREAD:
        return change  # a wider band cannot make an unchanged time change; a history is the subject's own spread
    # Without a history, the run's tests of its size stand in: worked out only here, for the few times that moved.
    return judge_change(metric, figure, figure_samples, reference, samples, rule, drift, timing.noise_for(metric, reference))


def _figure(subject: _Subject, metric: str) -> float:
    value = subject.metrics[metric]
    if metric in METRICS and METRICS[metric].kind != "count":
        return head_figure(value, subject.samples.get(metric))
    return value


def _over_budget(subject: _Subject, metric: str, value: float, limit: Limit) -> Verdict:
    samples = subject.samples.get(metric)
    basis = f", median of {len(samples)} samples" if samples and len(samples) >= 2 and METRICS[metric].kind != "count" else ""
    reason = f"{metric} {format_value(metric, value)} > budget {format_value(metric, limit.value)} ({limit.source}{basis})"
    return _verdict(subject, metric, Status.OVER_BUDGET, value, None, limit.value, reason)


def _verdict(
    subject: _Subject, metric: str, status: Status, value: float, baseline: float | None, limit: float | None, reason: str
) -> Verdict:
    return Verdict(
        subject=subject.name,
        subject_kind=subject.kind,
        metric=metric,
        status=status,
        value=value,
        baseline=baseline,
        limit=limit,
        basis=reason,
        file=subject.file,
        line=subject.line,
    )


def _whole(subject: _Subject, status: Status, reason: str, judged: bool = True) -> Verdict:
    return Verdict(subject.name, subject.kind, None, status, basis=reason, file=subject.file, line=subject.line, judged=judged)


def _removed(run: Run, latest: Run) -> list[Verdict]:
    """Subjects of the baseline that this run no longer has (renamed, deleted or deselected)."""
    verdicts = []
    tests, urls = {test.node_id for test in run.tests}, {url.key for url in run.urls}
    for test in latest.tests:
        if test.node_id not in tests:
            verdicts.append(
                Verdict(test.node_id, "test", None, Status.REMOVED, basis="in the baseline only", file=test.file, line=test.line)
            )
    for url in latest.urls:
        if url.key not in urls:
            verdicts.append(Verdict(url.key, "url", None, Status.REMOVED, basis="in the baseline only"))
    return verdicts
