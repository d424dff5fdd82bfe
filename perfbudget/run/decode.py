"""Records from decoded JSON, every value checked: the format's reading half (``run/encode.py`` is its writing half).

``run/lines.py`` splits a file into lines and decodes them; this module
turns each decoded object into model records, refusing a wrong type, NaN or
Infinity, a number out of range, a NUL byte or a lone surrogate with one
``ResultsError`` naming the file, line and field.

It runs for every field of every test of every file read (a 50,000-test
run and its baseline are a few million values), so the common case is kept
cheap: a field's name is put together only when it is wrong, and strings
are searched for NUL bytes and surrogates only on a line that has a ``\\u``
escape (a raw NUL is invalid JSON and a raw surrogate invalid UTF-8, so a
line without escapes cannot hold either).
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from perfbudget.errors import PerfBudgetError
from perfbudget.run.model import (
    CacheOp,
    Confirmation,
    Details,
    NetworkCall,
    RequestRecord,
    Reruns,
    Run,
    SqlGroup,
    TemplateStat,
    TestRecord,
    UrlSummary,
)

# The bound of every number read, either sign: no count, time (ms), size (bytes) or line number
# comes near it (1e15 ms is 31,000 years), every sum of them stays exact and finite, and none
# converted to float overflows (a 310-digit integer does). Documented in the README ("The results file").
MAX_NUMBER = 10**15


class ResultsError(PerfBudgetError):
    """A results file is missing, unreadable, corrupt or of an unknown schema."""


class Where:
    """Where a value was read, for error messages: ``file:line: field`` (``file: field`` in a schema-1 document).

    ``escaped``: the text has a ``\\u`` escape, so its strings may hide a NUL
    byte or a lone surrogate and are searched for them.
    """

    __slots__ = ("escaped", "line", "source")

    def __init__(self, source: str, line: int | None, escaped: bool = True) -> None:
        self.source, self.line, self.escaped = source, line, escaped

    @property
    def at(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def error(self, field: str, problem: str) -> ResultsError:
        return ResultsError(f"{self.at}: malformed results file: {field}: {problem}")


# Bounded in length and depth: the value may be a huge list or nested hundreds deep.
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = 40


def describe(value: Any) -> str:
    return _repr.repr(value)


def _join(field: str, name: str | None) -> str:
    """A field's full name, put together only for an error message."""
    return field if name is None else f"{field}.{name}"


def _str(where: Where, value: Any, field: str, name: str | None = None) -> str:
    if type(value) is str and not where.escaped:
        return value
    return _checked_str(where, value, _join(field, name))


def _checked_str(where: Where, value: Any, field: str) -> str:
    if type(value) is not str:
        raise where.error(field, f"expected a string, got {describe(value)}")
    if "\x00" in value:
        raise where.error(field, "contains a NUL byte")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate (\ud800): no file or terminal could print it
            raise where.error(field, f"not valid Unicode ({exc.reason})") from exc
    return value


def opt_str(where: Where, value: Any, field: str, name: str | None = None) -> str | None:
    return None if value is None else _str(where, value, field, name)


def _int(where: Where, value: Any, field: str, name: str | None = None) -> int:
    if type(value) is not int:
        raise where.error(_join(field, name), f"expected a whole number, got {describe(value)}")
    if not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise where.error(_join(field, name), out_of_range(value))
    return value


def out_of_range(value: float) -> str:
    """Why a number is refused: NaN or Infinity, or past ``MAX_NUMBER``."""
    if type(value) is float and not math.isfinite(value):
        return f"{value} is not a number perfbudget accepts"
    return f"{describe(value)} is out of range (perfbudget reads numbers up to 1e15 either way)"


def _opt_int(where: Where, value: Any, field: str, name: str | None = None) -> int | None:
    return None if value is None else _int(where, value, field, name)


def flag(where: Where, value: Any, field: str, name: str | None = None) -> bool:
    """A true/false field; absent is false, anything else than a boolean is refused rather than read as false."""
    if value is None or type(value) is bool:
        return value is True
    raise where.error(_join(field, name), f"expected true or false, got {describe(value)}")


def _num(where: Where, value: Any, field: str, name: str | None = None) -> float:
    kind = type(value)
    if kind is float or kind is int:
        if -MAX_NUMBER <= value <= MAX_NUMBER:  # NaN is not: it compares false
            return float(value)
        raise where.error(_join(field, name), out_of_range(value))
    raise where.error(_join(field, name), f"expected a number, got {describe(value)}")


def _dict(where: Where, value: Any, field: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise where.error(field, f"expected an object, got {describe(value)}")
    return value


def checked_list(where: Where, value: Any, field: str) -> list[Any]:
    if type(value) is not list:
        raise where.error(field, f"expected a list, got {describe(value)}")
    return value


# A number's type -> the float it stands for; bool (a subclass of int) is left out on purpose.
_AS_FLOAT = {float: float, int: float}


def _metrics(where: Where, value: Any, field: str) -> dict[str, float]:
    """Metric name -> number, checked in bulk: the precise, per-value check runs only when the bulk one fails."""
    data = _dict(where, value, field)
    if where.escaped:
        for name in data:
            _checked_str(where, name, field)
    try:
        out = {name: _AS_FLOAT[type(number)](number) for name, number in data.items()}
    except (KeyError, OverflowError):  # a value that is not a number, or an integer too large for a float
        out = None
    if (
        out is not None
        and math.isfinite(sum(out.values()))
        and min(out.values(), default=0.0) >= 0.0
        and max(out.values(), default=0.0) <= MAX_NUMBER
    ):
        return out
    return {name: _measure(where, number, field, name) for name, number in data.items()}


def _measure(where: Where, value: Any, field: str, name: str) -> float:
    """A metric's value: a number, and never negative (no count, time or size is)."""
    number = _num(where, value, field, name)
    if number < 0:
        raise where.error(_join(field, name), f"{describe(value)} is negative; no metric is")
    return number


def _samples(where: Where, value: Any, field: str) -> dict[str, list[float]]:
    data = _dict(where, value, field)
    return {
        _str(where, name, field): [_num(where, x, field, name) for x in checked_list(where, series, f"{field}.{name}")]
        for name, series in data.items()
    }


def _counts(where: Where, value: Any, field: str) -> dict[str, int]:
    data = _dict(where, value, field)
    return {_str(where, name, field): _int(where, count, field, name) for name, count in data.items()}


def _marker(where: Where, value: Any, field: str) -> dict[str, Any] | None:
    """A perf_budget marker's keywords: flat, with plain values (budgets/ checks them further)."""
    if value is None:
        return None
    data = _dict(where, value, field)
    for name, item in data.items():
        _str(where, name, field)
        kind = type(item)
        if kind is str:
            _str(where, item, f"{field}.{name}")
        elif kind in (int, float):
            _num(where, item, f"{field}.{name}")
        elif item is not None and kind is not bool:
            raise where.error(f"{field}.{name}", f"expected a limit such as 5 or '200ms', got {describe(item)}")
    return data


def _sql_group(where: Where, data: Any, field: str) -> SqlGroup:
    data = _dict(where, data, field)
    params = data.get("params")
    return SqlGroup(
        sql=_str(where, data.get("sql"), field, "sql"),
        kind=_str(where, data.get("kind", "other"), field, "kind"),
        database=_str(where, data.get("database", "default"), field, "database"),
        count=_int(where, data.get("count"), field, "count"),
        time_ms=_num(where, data.get("time_ms", 0.0), field, "time_ms"),
        duplicates=_int(where, data.get("duplicates", 0), field, "duplicates"),
        location=opt_str(where, data.get("location"), field, "location"),
        n_plus_one=flag(where, data.get("n_plus_one"), field, "n_plus_one"),
        params=None if params is None else [_str(where, p, field, "params") for p in checked_list(where, params, f"{field}.params")],
        warmup=flag(where, data.get("warmup"), field, "warmup"),
        n_plus_one_in_tests=flag(where, data.get("n_plus_one_in_tests"), field, "n_plus_one_in_tests"),
        # Absent from files written before issue 20: None, and compare/causes.py matches by line.
        function=opt_str(where, data.get("function"), field, "function"),
        template=opt_str(where, data.get("template"), field, "template"),
        relation=opt_str(where, data.get("relation"), field, "relation"),
        fix=opt_str(where, data.get("fix"), field, "fix"),
    )


def _network_call(where: Where, data: Any, field: str) -> NetworkCall:
    data = _dict(where, data, field)
    return NetworkCall(
        host=_str(where, data.get("host"), field, "host"),
        port=_opt_int(where, data.get("port"), field, "port"),
        loopback=flag(where, data.get("loopback"), field, "loopback"),
        method=opt_str(where, data.get("method"), field, "method"),
        url=opt_str(where, data.get("url"), field, "url"),
        count=_int(where, data.get("count", 1), field, "count"),
    )


def _cache_op(where: Where, data: Any, field: str) -> CacheOp:
    data = _dict(where, data, field)
    return CacheOp(
        operation=_str(where, data.get("operation"), field, "operation"),
        cache=_str(where, data.get("cache", "default"), field, "cache"),
        calls=_int(where, data.get("calls", 0), field, "calls"),
        hits=_int(where, data.get("hits", 0), field, "hits"),
        misses=_int(where, data.get("misses", 0), field, "misses"),
        time_ms=_num(where, data.get("time_ms", 0.0), field, "time_ms"),
    )


def _template(where: Where, data: Any, field: str) -> TemplateStat:
    data = _dict(where, data, field)
    return TemplateStat(
        name=_str(where, data.get("name"), field, "name"),
        count=_int(where, data.get("count"), field, "count"),
        time_ms=_num(where, data.get("time_ms", 0.0), field, "time_ms"),
    )


def _details(where: Where, value: Any, field: str) -> Details:
    if value is None:
        return Details()
    data = _dict(where, value, field)

    def each(key: str, read: Any) -> list[Any]:
        items = checked_list(where, data.get(key, []), f"{field}.{key}")
        return [read(where, item, f"{field}.{key}[{index}]") for index, item in enumerate(items)]

    return Details(
        sql_groups=each("sql_groups", _sql_group),
        network_calls=each("network_calls", _network_call),
        cache_ops=each("cache_ops", _cache_op),
        templates=each("templates", _template),
        signals=_counts(where, data.get("signals", {}), f"{field}.signals"),
    )


def _request(where: Where, data: Any, field: str) -> RequestRecord:
    data = _dict(where, data, field)
    return RequestRecord(
        method=_str(where, data.get("method"), field, "method"),
        path=_str(where, data.get("path"), field, "path"),
        route=opt_str(where, data.get("route"), field, "route"),
        view_name=opt_str(where, data.get("view_name"), field, "view_name"),
        status=_int(where, data.get("status", 0), field, "status"),
        metrics=_metrics(where, data.get("metrics", {}), f"{field}.metrics"),
        details=_details(where, data.get("details"), f"{field}.details"),
    )


# What ``test_from_dict(details=False)`` reads: a light read (``run/lines.py``) must keep every one of them.
LIGHT_FIELDS = ("node_id", "file", "line", "outcome", "metrics", "samples", "budget_marker")

# What pytest's summary counts a test as (plugin/records.py outcome_of).
OUTCOMES = frozenset({"passed", "failed", "error", "skipped", "xfailed", "xpassed"})


def _outcome(where: Where, value: Any, field: str) -> str:
    if type(value) is str and value in OUTCOMES:
        return value
    raise where.error(_join(field, "outcome"), f"expected one of {', '.join(sorted(OUTCOMES))}, got {describe(value)}")


def test_from_dict(where: Where, data: Any, field: str = "test", details: bool = True) -> TestRecord:
    """One test's record; with ``details=False`` its call-phase metrics, details and requests are skipped unread.

    A baseline is compared by its metrics and URL rollups alone, and its
    details are most of each line: skipping them halves the cost of loading one.
    """
    data = _dict(where, data, field)
    node_id = _str(where, data.get("node_id"), field, "node_id")
    requests = checked_list(where, data.get("requests", []), f"{field}.requests") if details else []
    return TestRecord(
        node_id=node_id,
        file=_str(where, data.get("file", ""), field, "file"),
        line=_opt_int(where, data.get("line"), field, "line"),
        outcome=_outcome(where, data.get("outcome", "passed"), field),
        metrics=_metrics(where, data.get("metrics", {}), f"{field}.metrics"),
        call_metrics=_metrics(where, data.get("call_metrics", {}), f"{field}.call_metrics") if details else {},
        details=_details(where, data.get("details"), f"{field}.details") if details else Details(),
        requests=[_request(where, r, f"{field}.requests[{i}]") for i, r in enumerate(requests)],
        samples=_samples(where, data.get("samples", {}), f"{field}.samples"),
        budget_marker=_marker(where, data.get("budget_marker"), f"{field}.budget_marker"),
    )


def url_from_dict(where: Where, data: Any, field: str = "url") -> UrlSummary:
    data = _dict(where, data, field)
    return UrlSummary(
        method=_str(where, data.get("method"), field, "method"),
        route=_str(where, data.get("route"), field, "route"),
        view_name=opt_str(where, data.get("view_name"), field, "view_name"),
        hits=_int(where, data.get("hits", 0), field, "hits"),
        metrics=_metrics(where, data.get("metrics", {}), f"{field}.metrics"),
        status_codes=_counts(where, data.get("status_codes", {}), f"{field}.status_codes"),
        tests=[_str(where, t, field, "tests") for t in checked_list(where, data.get("tests", []), f"{field}.tests")],
        samples=_samples(where, data.get("samples", {}), f"{field}.samples"),
    )


def apply_header(where: Where, run: Run, data: dict[str, Any]) -> None:
    """The run's identity and environment from a header (or a schema-1 document), its version already checked."""
    run.project = _str(where, data.get("project", ""), "project")
    for key in ("commit", "branch", "base_commit", "build_id", "shard", "started", "finished"):
        setattr(run, key, opt_str(where, data.get(key), key))
    run.environment.update(environment(where, data.get("environment", {})))


def environment(where: Where, value: Any) -> dict[str, str]:
    data = _dict(where, value, "environment")
    return {_str(where, key, "environment"): _str(where, item, f"environment.{key}") for key, item in data.items()}


RERUN_KINDS = ("test", "url")


def rerun_from_dict(where: Where, data: dict[str, Any]) -> tuple[str, str, Reruns]:
    """A ``rerun`` line: which subject (kind, name) and its rounds' samples and calibrations."""
    kind = data.get("subject_kind")
    if kind not in RERUN_KINDS:
        raise where.error("subject_kind", f"{describe(kind)} is not one of {', '.join(RERUN_KINDS)}")
    name = _str(where, data.get("subject"), "subject")
    samples = _samples(where, data.get("samples", {}), "samples")
    for metric, series in samples.items():
        if any(value < 0 for value in series):
            raise where.error(f"samples.{metric}", "a negative time; no metric is")
    calibration = [_num(where, x, "calibration") for x in checked_list(where, data.get("calibration", []), "calibration")]
    if any(value <= 0 for value in calibration):
        raise where.error("calibration", "a calibration time must be positive")
    control = opt_str(where, data.get("control"), "control")
    control_samples = _samples(where, data.get("control_samples", {}), "control_samples")
    if any(value < 0 for series in control_samples.values() for value in series):
        raise where.error("control_samples", "a negative time; no metric is")
    loop = data.get("loop_calibration_ms")  # absent before it was written: the run's calibration stands in
    loop_ms = None if loop is None else _num(where, loop, "loop_calibration_ms")
    if loop_ms is not None and loop_ms <= 0:
        raise where.error("loop_calibration_ms", "a calibration time must be positive")
    return kind, name, Reruns(samples, calibration, control, control_samples, loop_ms)


def confirmation_from_dict(where: Where, value: Any) -> Confirmation | None:
    """The trailer's ``confirmation``: what rerunning timing suspects cost, and the run's calibration."""
    if value is None:
        return None
    data = _dict(where, value, "confirmation")
    calibration, noise = data.get("calibration_ms"), data.get("calibration_noise")
    return Confirmation(
        calibration_ms=None if calibration is None else _measure(where, calibration, "confirmation", "calibration_ms"),
        calibration_noise=None if noise is None else _measure(where, noise, "confirmation", "calibration_noise"),
        tests=_int(where, data.get("tests", 0), "confirmation", "tests"),
        rounds=_int(where, data.get("rounds", 0), "confirmation", "rounds"),
        seconds=_measure(where, data.get("seconds", 0), "confirmation", "seconds"),
        loop_seconds=_measure(where, data.get("loop_seconds", 0), "confirmation", "loop_seconds"),
        not_rerun=_int(where, data.get("not_rerun", 0), "confirmation", "not_rerun"),
    )
