"""pytest-benchmark statistics of a test, as metrics and samples.

pytest-benchmark already times many rounds of the benchmarked code; those
rounds are better evidence than perfbudget's single wall time, so they are
recorded as ``benchmark.*`` metrics (milliseconds per round) and the round
times as the samples of ``benchmark.median``: samples are keyed by the metric
they measure, which is where ``compare/`` looks them up, and the median of
the rounds is that metric's figure.
"""

from __future__ import annotations

from typing import Any

_STATS = ("min", "max", "mean", "median", "stddev")
SAMPLED_METRIC = "benchmark.median"  # the metric the rounds are samples of


def summarise(fixture: Any) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Metrics and samples of a used ``benchmark`` fixture; empty if it did not run.

    ``fixture.stats`` is None when the fixture was not called or benchmarks
    are disabled (``--benchmark-disable``); any other shape is ignored rather
    than trusted, since this reads pytest-benchmark's internals.
    """
    stats = getattr(getattr(fixture, "stats", None), "stats", None)
    data = getattr(stats, "data", None)
    if stats is None or not data:
        return {}, {}
    metrics = {f"benchmark.{name}": float(getattr(stats, name)) * 1000.0 for name in _STATS}
    metrics["benchmark.rounds"] = float(len(data))
    return metrics, {SAMPLED_METRIC: [float(value) * 1000.0 for value in data]}
