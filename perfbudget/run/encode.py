"""Records to results-file lines: the format's writing half, beside ``run/decode.py`` (its reading half).

Together the two modules are the results format: this one says what a record
looks like on disk, ``decode.py`` checks and rebuilds it. The version
constant and its history live here, with the code that stamps it on every
header (STYLE.md #10). A results file is NDJSON (gzip-compressed when its
name ends in ``.gz``):

    {"type": "run", "schema_version": 2, "project": ..., "environment": {...}}   the header
    {"type": "test", "node_id": ..., "metrics": {...}, ...}                      one line per test
    {"type": "rerun", "subject_kind": "test", "subject": ..., "samples": {...}}  a timing suspect measured again
    {"type": "url", "method": "GET", "route": "/", ...}                          per-URL rollups
    {"type": "end", "finished": ..., "interrupted": false}                       the trailer

Values that say nothing (None, empty lists, default counts) are left out and
whole numbers are written without ``.0``; that keeps a test near 1 KB. What
opens, streams and closes a file is ``run/write.py``'s job.
"""

from __future__ import annotations

import json
from typing import Any

from perfbudget.run.model import (
    Confirmation,
    Details,
    RequestRecord,
    Reruns,
    Run,
    SqlGroup,
    TestRecord,
    UrlSummary,
)

# Schema history (a newer version is refused rather than guessed at):
#   1: one JSON document, ``results.json`` (perfbudget 0.1); still read, for one release.
#   2: NDJSON: header, one test a line, URL rollups, trailer; optionally gzip.
#      Later, without a new version (readers ignore what they do not know, and read files
#      without them): an SQL group's "function", "template", "relation" and "fix" (issue 20).
SCHEMA_VERSION = 2
OLDEST_READABLE = 1


def _compact(value: float) -> float | int:
    """``3.0`` as ``3``: most metrics are counts, and the ``.0`` is a fifth of their bytes."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _metrics_out(metrics: dict[str, float]) -> dict[str, float | int]:
    return {name: _compact(metrics[name]) for name in sorted(metrics)}


def _details_out(details: Details) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if details.sql_groups:
        out["sql_groups"] = [_sql_out(group) for group in details.sql_groups]
    if details.network_calls:
        out["network_calls"] = [_drop_none(_fields(call)) for call in details.network_calls]
    if details.cache_ops:
        out["cache_ops"] = [_fields(op) for op in details.cache_ops]
    if details.templates:
        out["templates"] = [_fields(template) for template in details.templates]
    if details.signals:
        out["signals"] = dict(sorted(details.signals.items()))
    return out


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _sql_out(group: SqlGroup) -> dict[str, Any]:
    out: dict[str, Any] = {"sql": group.sql, "kind": group.kind, "database": group.database, "count": group.count, "time_ms": group.time_ms}
    if group.duplicates:
        out["duplicates"] = group.duplicates
    if group.location is not None:
        out["location"] = group.location
    for name in ("function", "template", "relation", "fix"):  # optional: older files lack them
        value = getattr(group, name)
        if value is not None:
            out[name] = value
    if group.n_plus_one:
        out["n_plus_one"] = True
    if group.n_plus_one_in_tests:
        out["n_plus_one_in_tests"] = True
    if group.warmup:
        out["warmup"] = True
    if group.params is not None:
        out["params"] = group.params
    return out


def test_to_dict(test: TestRecord) -> dict[str, Any]:
    """One test's line, without the values that say nothing."""
    out: dict[str, Any] = {
        "type": "test",
        "node_id": test.node_id,
        "file": test.file,
        "line": test.line,
        "outcome": test.outcome,
        "metrics": _metrics_out(test.metrics),
    }
    if test.samples:
        out["samples"] = dict(sorted(test.samples.items()))
    if test.budget_marker is not None:
        out["budget_marker"] = test.budget_marker
    # The call phase's metrics, details and requests last: a light read (a baseline, compare)
    # cuts the line at the first of them, keys no metric is named after; "details" is
    # written, if only empty, whenever requests follow.
    if test.call_metrics:
        out["call_metrics"] = _metrics_out(test.call_metrics)
    details = _details_out(test.details)
    if details or test.requests:
        out["details"] = details
    if test.requests:
        out["requests"] = [_request_out(request) for request in test.requests]
    return out


def _request_out(request: RequestRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "route": request.route,
        "view_name": request.view_name,
        "status": request.status,
        "metrics": _metrics_out(request.metrics),
    }
    details = _details_out(request.details)
    if details:
        out["details"] = details
    return _drop_none(out)


def url_to_dict(url: UrlSummary) -> dict[str, Any]:
    return _drop_none(
        {
            "type": "url",
            "method": url.method,
            "route": url.route,
            "view_name": url.view_name,
            "hits": url.hits,
            "metrics": _metrics_out(url.metrics),
            "status_codes": url.status_codes,
            "tests": url.tests,
            "samples": url.samples,
        }
    )


def header_to_dict(run: Run) -> dict[str, Any]:
    return {
        "type": "run",
        "schema_version": SCHEMA_VERSION,
        "project": run.project,
        "commit": run.commit,
        "branch": run.branch,
        "base_commit": run.base_commit,
        "build_id": run.build_id,
        "shard": run.shard,
        "started": run.started,
        "environment": dict(sorted(run.environment.items())),
    }


def trailer_to_dict(run: Run) -> dict[str, Any]:
    """The end line: what is known only once the run is over."""
    out = {"type": "end", "finished": run.finished, "interrupted": run.interrupted, "environment": dict(sorted(run.environment.items()))}
    if run.confirmation is not None:
        out["confirmation"] = confirmation_to_dict(run.confirmation)
    return out


def confirmation_to_dict(confirmation: Confirmation) -> dict[str, Any]:
    return _drop_none(_fields(confirmation))


def rerun_to_dict(kind: str, name: str, reruns: Reruns) -> dict[str, Any]:
    """A ``rerun`` line: written after the tests, by the process that reran the suspect."""
    out: dict[str, Any] = {
        "type": "rerun",
        "subject_kind": kind,
        "subject": name,
        "samples": dict(sorted(reruns.samples.items())),
        "calibration": reruns.calibration,
    }
    if reruns.control is not None:
        out["control"], out["control_samples"] = reruns.control, dict(sorted(reruns.control_samples.items()))
    if reruns.loop_calibration_ms is not None:
        out["loop_calibration_ms"] = reruns.loop_calibration_ms
    return out


# One encoder, built once (``json.dumps`` with options builds one per call);
# ensure_ascii=False keeps non-ASCII test names readable, allow_nan=False
# refuses to write what no reader would accept.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_line(data: dict[str, Any]) -> bytes:
    return (_encode(data) + "\n").encode("utf-8")
