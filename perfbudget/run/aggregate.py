"""Aggregation over the data model: per-URL rollups, merged shards and reruns, a URL's SQL groups.

Reports and commands call these instead of re-deriving them, so the comment,
the HTML page and ``perfbudget merge`` agree. Storage-agnostic: nothing here
reads or writes a file. Which rule applies to a metric (median for times,
maximum for counts) is the catalogue's word (``run/metrics.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping

from perfbudget.run.metrics import is_sampled, is_time
from perfbudget.run.model import RequestRecord, Reruns, Run, SqlGroup, TestRecord, UrlSummary


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; ``fraction`` in [0, 1]."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


class UrlRollup:
    """Per-URL rollups built one test at a time, keeping only what they need of each request.

    The plugin streams tests to disk as they finish; this is all it keeps of
    them: per request its metrics and status, not its SQL or other details.
    """

    def __init__(self) -> None:
        self._hits: dict[str, list[tuple[str, RequestRecord]]] = {}

    def add(self, test: TestRecord) -> None:
        for request in test.requests:
            light = RequestRecord(request.method, request.path, request.route, request.view_name, request.status, request.metrics)
            self._hits.setdefault(request.url_key, []).append((test.node_id, light))

    def summaries(self) -> list[UrlSummary]:
        """Count metrics keep their maximum over the hits (the worst request is what a budget
        cares about); time metrics keep their median, with ``duration_p95`` and ``duration_max``
        alongside and every duration kept as a sample."""
        return [_summarise_url(self._hits[key]) for key in sorted(self._hits)]


def aggregate_urls(tests: Iterable[TestRecord]) -> list[UrlSummary]:
    """Group every test's requests by method and route (see ``UrlRollup.summaries``)."""
    rollup = UrlRollup()
    for test in tests:
        rollup.add(test)
    return rollup.summaries()


def _summarise_url(entries: list[tuple[str, RequestRecord]]) -> UrlSummary:
    requests = [request for _, request in entries]
    first = requests[0]
    values: dict[str, list[float]] = {}
    for request in requests:
        for name, value in request.metrics.items():
            values.setdefault(name, []).append(value)
    metrics = {name: statistics.median(values[name]) if is_time(name) else max(values[name]) for name in sorted(values)}
    durations = [request.metrics.get("duration", 0.0) for request in requests]
    metrics["duration_p95"] = percentile(durations, 0.95)
    metrics["duration_max"] = max(durations)
    statuses: dict[str, int] = {}
    for request in requests:
        statuses[str(request.status)] = statuses.get(str(request.status), 0) + 1
    return UrlSummary(
        method=first.method.upper(),
        route=first.route or first.path,
        view_name=first.view_name,
        hits=len(requests),
        metrics=metrics,
        status_codes=dict(sorted(statuses.items())),
        tests=sorted({node_id for node_id, _ in entries}),
        samples={"duration": durations},
    )


def merge_runs(runs: list[Run]) -> Run:
    """Merge shards (xdist workers, CI matrix jobs) and reruns into one run.

    Tests are unique by node id; a test present in several runs (a rerun)
    keeps its last record and gathers every run's values of each sampled
    metric (times and sizes, per the catalogue) as samples.
    """
    if not runs:
        raise ValueError("nothing to merge: no runs given")
    first = runs[0]
    merged = Run(
        project=first.project,
        commit=first.commit,
        branch=first.branch,
        build_id=first.build_id,
        base_commit=first.base_commit,
        started=min((r.started for r in runs if r.started), default=None),
        finished=max((r.finished for r in runs if r.finished), default=None),
        interrupted=any(r.interrupted for r in runs),
        environment=dict(first.environment),
    )
    merged.tests = sorted(last_attempts([test for run in runs for test in run.tests]), key=lambda t: t.node_id)
    merged.urls = aggregate_urls(merged.tests)
    return merged


def last_attempts(tests: list[TestRecord]) -> list[TestRecord]:
    """One record per node id: the last attempt, with the samples of the earlier ones.

    A test that pytest-rerunfailures (or a flaky-test plugin) runs again is
    streamed once per attempt; the attempt that counts is the last, as in
    pytest's own report, and the earlier ones' times are kept as samples.
    """
    if len({test.node_id for test in tests}) == len(tests):
        return tests
    by_id: dict[str, TestRecord] = {}
    for test in tests:
        previous = by_id.get(test.node_id)
        if previous is not None:
            _carry_samples(previous, test)
        by_id[test.node_id] = test
    return list(by_id.values())


def _carry_samples(previous: TestRecord, test: TestRecord) -> None:
    """Give ``test`` the samples of its earlier record, followed by its own (its value when it has none)."""
    for name in set(previous.metrics) | set(previous.samples):
        if not is_sampled(name) or (name not in test.metrics and name not in test.samples):
            continue
        test.samples[name] = _samples_of(previous, name) + _samples_of(test, name)


def _samples_of(test: TestRecord, name: str) -> list[float]:
    """A record's samples of one metric: its sample list, else its single value."""
    return test.samples.get(name) or ([test.metrics[name]] if name in test.metrics else [])


def url_sql_groups(url: UrlSummary, tests: Mapping[str, TestRecord]) -> list[SqlGroup]:
    """The SQL groups behind a URL: per group (shape and call site), the worst request's figures.

    Sorted by count, largest first, then by SQL: the order the comment and
    the HTML page both show.
    """
    found: dict[tuple[str, str, str, str], SqlGroup] = {}
    for node_id in url.tests:
        test = tests.get(node_id)
        for request in test.requests if test is not None else ():
            if request.url_key != url.key:
                continue
            for group in request.details.sql_groups:
                current = found.get(group.key)
                if current is None or group.count > current.count:
                    found[group.key] = group
    return sorted(found.values(), key=lambda g: (-g.count, g.sql, g.location or ""))


def attach_reruns(run: Run, reruns: list[tuple[str, str, Reruns]]) -> None:
    """Give each rerun subject its evidence; rounds of one URL from several processes (xdist) are pooled."""
    if not reruns:
        return
    subjects: dict[tuple[str, str], TestRecord | UrlSummary] = {("test", t.node_id): t for t in run.tests}
    subjects.update((("url", u.key), u) for u in run.urls)
    for kind, name, evidence in reruns:
        subject = subjects.get((kind, name))
        if subject is None:
            continue  # rerun, then lost with its test's line: nothing to attach to
        if subject.reruns is None:
            subject.reruns = evidence
            continue
        for metric, series in evidence.samples.items():
            subject.reruns.samples.setdefault(metric, []).extend(series)
        subject.reruns.calibration.extend(evidence.calibration)
        if subject.reruns.control is None:
            subject.reruns.control, subject.reruns.control_samples = evidence.control, evidence.control_samples
        if subject.reruns.loop_calibration_ms is None:
            subject.reruns.loop_calibration_ms = evidence.loop_calibration_ms
