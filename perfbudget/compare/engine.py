"""compare(): a pure function from (run, budgets, baseline) to a Comparison.

Every subject of the run (test or URL) gets at least one verdict: OK when
nothing is notable, NEW when the baseline lacks it (its budget verdicts still
apply), plus one verdict per metric over budget, regressed or improved.
Subjects only in the baseline get REMOVED. Verdicts are sorted by subject
kind, subject and metric, so every report lists them in the same order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from perfbudget.budgets import BudgetError, Budgets, Limit, RegressionRule
from perfbudget.compare.baseline import Baseline, baseline_value
from perfbudget.compare.rules import NOT_GATED, Change, head_figure, judge_change, needs_cpu_confirmation
from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.run.metrics import METRICS, format_value, is_sampled
from perfbudget.run.model import Run, TestRecord, UrlSummary

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


def compare(
    run: Run,
    budgets: Budgets | None = None,
    baseline: Baseline | None = None,
    warnings: list[str] | None = None,
) -> Comparison:
    """Judge ``run``; ``warnings`` (from loading the baseline, say) are carried into the Comparison."""
    budgets = budgets or Budgets()
    notes = list(warnings or []) + budgets.warnings + budgets.unused_rule_warnings(run)
    verdicts: list[Verdict] = []
    latest = baseline.latest if baseline else None
    judging = _Judging(budgets, latest is not None, _Gates(budgets))
    locations = {test.node_id: (test.file, test.line) for test in run.tests}

    for test in run.tests:
        subject = _Subject(test.node_id, "test", test.metrics, test.samples, test.file, test.line)
        if test.outcome in NOT_JUDGED_OUTCOMES:
            status = Status.NEW if baseline and baseline.latest_test(test.node_id) is None else Status.OK
            verdicts.append(_whole(subject, status, f"not judged: test {test.outcome}"))
            continue
        limits = _test_limits(budgets, test, notes)
        base = baseline.latest_test(test.node_id) if baseline else None
        history = (lambda metric, node_id=test.node_id: baseline.test_values(node_id, metric)) if baseline else None
        verdicts.extend(_judge(subject, limits, base, history, judging))

    for url in run.urls:
        first = next((node_id for node_id in url.tests if node_id in locations), None)
        file, line = locations[first] if first else (None, None)
        # A URL's hits in one run are no independent repeats (one machine state, one warm-up):
        # its figures are judged as single measurements, wall time confirmed by CPU time.
        subject = _Subject(url.key, "url", url.metrics, {}, file, line)
        base_url = baseline.latest_url(url.key) if baseline else None
        history = (lambda metric, key=url.key: baseline.url_values(key, metric)) if baseline else None
        verdicts.extend(_judge(subject, budgets.limits_for_url(url), base_url, history, judging))

    if latest is not None:
        removed = _removed(run, latest)
        if removed and run.interrupted:
            notes.append(f"the run was interrupted: {len(removed)} subjects of the baseline it did not reach show as removed")
        verdicts.extend(removed)
    unconfirmed = judging.unconfirmed
    for (kind, metric), count in sorted(judging.unchecked.items()):
        notes.append(
            f"budget on {metric!r} not checked for {count} {kind}{'s' if count > 1 else ''}: "
            "the metric was not recorded (is its collector on, e.g. Django configured or --perf-memory?)"
        )
    if unconfirmed:
        shown = "; ".join(unconfirmed[:3]) + (f"; and {len(unconfirmed) - 3} more" if len(unconfirmed) > 3 else "")
        notes.append(
            f"{len(unconfirmed)} wall-time change{'s' if len(unconfirmed) > 1 else ''} without a matching CPU-time "
            f"change, treated as machine noise ({shown}); several samples of the test "
            "(reruns merged with perfbudget merge, benchmark rounds) confirm real waits"
        )
    verdicts.sort(key=lambda v: (v.subject_kind, v.subject, v.metric or "", v.status.severity))
    return Comparison(
        run=run, baseline=latest, verdicts=verdicts, warnings=notes, budgets_source=budgets.source, fail_on=tuple(Status(value) for value in budgets.fail_on)
    )


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
        return [_whole(subject, Status.OK, f"ignored ('ignore' in {budgets.ignore_source})")]
    verdicts = []
    for metric, limit in sorted(limits.items()):
        if metric not in subject.metrics:
            judging.unchecked[(subject.kind, metric)] += 1
            continue
        value = _figure(subject, metric)
        if value > limit.value:
            verdicts.append(_over_budget(subject, metric, value, limit))
    if base is not None and history is not None:
        verdicts.extend(_regressions(subject, base, history, judging))
    if has_baseline and base is None:
        verdicts.append(_whole(subject, Status.NEW, "not in the baseline"))
    elif not verdicts:
        verdicts.append(_whole(subject, Status.OK, "within budget and baseline" if has_baseline else "within budget"))
    return verdicts


def _regressions(subject: _Subject, base: TestRecord | UrlSummary, history: History, judging: _Judging) -> list[Verdict]:
    """The subject's metrics that regressed or improved against its baseline record.

    A single wall-clock measurement counts only when CPU time moved the same
    way; CPU time is judged once, and only when such a change needs it.
    """
    verdicts = []
    cpu: list[Change | None] = []  # judged on first need
    for metric in sorted(subject.metrics.keys() & base.metrics.keys()):
        gate = judging.gates[metric]
        if gate is None:
            continue
        rule, sampled = gate
        if not sampled and subject.metrics[metric] == base.metrics[metric]:
            continue  # an unchanged count neither regressed nor improved, whatever the rule
        change = _change(subject, base, history, judging.budgets, metric)
        if change is None or change.status is Status.OK:
            continue
        if rule.confirm_with_cpu and needs_cpu_confirmation(metric, subject.samples.get(metric)):
            if not cpu:
                cpu.append(_change(subject, base, history, judging.budgets, "cpu_time"))
            if cpu[0] is not None and cpu[0].status is not change.status:
                judging.unconfirmed.append(f"{subject.name}: {change.reason.split(' (', 1)[0]}")
                continue
        verdicts.append(_verdict(subject, metric, change.status, change.value, change.baseline, change.threshold, change.reason))
    return verdicts


@dataclass
class _Judging:
    """What judging one run carries from subject to subject."""

    budgets: Budgets
    has_baseline: bool
    gates: _Gates
    unchecked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, metric) budgets not checked
    unconfirmed: list[str] = field(default_factory=list)  # wall-time changes CPU time did not confirm


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


def _change(
    subject: _Subject, base: TestRecord | UrlSummary, history: History, budgets: Budgets, metric: str
) -> Change | None:
    """The regression check of one metric, None when either side lacks it."""
    if metric not in subject.metrics or metric not in base.metrics:
        return None
    # A count's baseline is its latest value (counts are facts): its history is not looked up.
    samples = history(metric) if is_sampled(metric) else []
    reference = baseline_value(samples, base.metrics[metric], metric)
    # judge_change ignores ``enabled``: a metric disabled for verdicts is still a witness for wall-clock changes.
    rule = budgets.regression_rule(metric)
    return judge_change(metric, subject.metrics[metric], subject.samples.get(metric), reference, samples, rule)


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
        reason=reason,
        file=subject.file,
        line=subject.line,
    )


def _whole(subject: _Subject, status: Status, reason: str) -> Verdict:
    return Verdict(subject.name, subject.kind, None, status, reason=reason, file=subject.file, line=subject.line)


def _removed(run: Run, latest: Run) -> list[Verdict]:
    """Subjects of the baseline that this run no longer has (renamed, deleted or deselected)."""
    verdicts = []
    tests, urls = {test.node_id for test in run.tests}, {url.key for url in run.urls}
    for test in latest.tests:
        if test.node_id not in tests:
            verdicts.append(
                Verdict(test.node_id, "test", None, Status.REMOVED, reason="in the baseline only", file=test.file, line=test.line)
            )
    for url in latest.urls:
        if url.key not in urls:
            verdicts.append(Verdict(url.key, "url", None, Status.REMOVED, reason="in the baseline only"))
    return verdicts
