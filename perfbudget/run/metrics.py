"""The catalogue of metric names: what each measures, its unit, and how to show it.

Budgets, comparison and reports all look metric names up here, so an unknown
name is caught in one place (with a suggestion) and every report formats a
value the same way.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "time", "bytes"]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind  # counts compare exactly; times are noisy samples; bytes are sizes
    description: str


_QUERY_KINDS = ("select", "insert", "update", "delete", "other")

# An N+1: the same SELECT shape from one call site at least this many times within one
# test-client request or one test phase (the budget file's ``sql.n_plus_one_threshold``).
N_PLUS_ONE_THRESHOLD = 3

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("queries", "count", "SQL queries, all databases, per-process cache warm-up apart"),
        *(Metric(f"queries.{kind}", "count", f"{kind.upper()} queries") for kind in _QUERY_KINDS),
        Metric("duplicate_queries", "count", "queries repeating an identical SQL and parameters"),
        Metric("n_plus_one", "count", "size of the largest N+1 group (same SELECT repeated from one line of application code)"),
        Metric("similar_queries", "count", "queries in groups of the same normalized SQL, beyond the first of each"),
        Metric("warmup_queries", "count", "queries filling a per-process cache (ContentType, Site...): not compared"),
        Metric("n_plus_one_in_tests", "count", "size of the largest N+1 group whose call site is test code: not compared"),
        Metric("query_time", "time", "total SQL time"),
        Metric("duration", "time", "wall time"),
        Metric("cpu_time", "time", "CPU time of the test process"),
        Metric("network_calls", "count", "outbound connections, loopback included"),
        Metric("external_network_calls", "count", "outbound connections to non-loopback hosts"),
        Metric("cache_calls", "count", "Django cache calls"),
        Metric("cache_hits", "count", "Django cache hits"),
        Metric("cache_misses", "count", "Django cache misses"),
        Metric("cache_time", "time", "time spent in the Django cache"),
        Metric("template_renders", "count", "Django templates rendered"),
        Metric("template_time", "time", "time spent rendering templates"),
        Metric("signals", "count", "Django signals sent"),
        Metric("peak_memory", "bytes", "peak Python memory allocated (tracemalloc)"),
        Metric("requests", "count", "requests made through Django's test client"),
        Metric("response_size", "bytes", "response body size"),
        Metric("duration_p95", "time", "95th percentile of request wall time"),
        Metric("duration_max", "time", "slowest request wall time"),
        *(
            Metric(f"benchmark.{stat}", "time", f"pytest-benchmark {stat} of one round")
            for stat in ("min", "max", "mean", "median", "stddev")
        ),
        Metric("benchmark.rounds", "count", "pytest-benchmark rounds"),
    ]
}


# Counts made of parts: each part counts some of the whole's events, so the whole rises with any of them.
# An ``accept:`` entry for the whole accepts its parts too (``queries`` moves ``queries.select`` with it).
PARTS: dict[str, tuple[str, ...]] = {
    "queries": tuple(f"queries.{kind}" for kind in _QUERY_KINDS),
    "network_calls": ("external_network_calls",),
}


def suggest(name: str, choices: list[str] | None = None) -> str | None:
    """The closest valid name, for "did you mean ...?" messages."""
    matches = difflib.get_close_matches(name, choices if choices is not None else list(METRICS), n=1)
    return matches[0] if matches else None


def did_you_mean(name: str, choices: list[str] | None = None) -> str:
    """``"; did you mean 'queries'?"`` to end a message, or "" when nothing is close."""
    hint = suggest(name, choices)
    return f"; did you mean {hint!r}?" if hint else ""


def metric_kind(name: str) -> Kind:
    """A metric's kind; a name outside the catalogue is a count (compared exactly, shown plain)."""
    metric = METRICS.get(name)
    return metric.kind if metric else "count"


def is_time(name: str) -> bool:
    """A time metric: URL rollups take its median, reports show it in ms. The only such rule."""
    return metric_kind(name) == "time"


def is_sampled(name: str) -> bool:
    """A metric measured rather than counted (times, sizes): reruns add samples of it."""
    return metric_kind(name) != "count"


def format_value(name: str, value: float | None) -> str:
    """Show a value in its metric's unit: ``12``, ``180 ms``, ``1.25 s``, ``24.0 MB``."""
    if value is None:
        return "–"
    kind = metric_kind(name)
    if kind == "time":
        return format_ms(value)
    if kind == "bytes":
        return format_bytes(value)
    return f"{value:g}" if value != int(value) else str(int(value))


def format_ms(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:.2f} s"
    if abs(value) >= 10:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms"


def format_bytes(value: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{int(value)} B"
