"""Human units in budget files: ``200ms``, ``1.5s``, ``24MB``, ``512kB``.

Values are converted to the storage units of results files: milliseconds for
times, bytes for memory, plain numbers for counts. NaN, infinity and numbers
of 2**63 or more are refused: a limit of NaN is never exceeded (``x > nan`` is
always false), so it would switch its budget off without a word.
"""

from __future__ import annotations

import math
import re

_TIME_UNITS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0}
_BYTE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_QUANTITY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$")
_LARGEST = 2.0**63  # no count, duration or size reaches it (as in run/decode.py)


class UnitError(ValueError):
    """A value whose unit does not fit its metric, or that is not a quantity."""


def parse_quantity(value: object, kind: str) -> float:
    """Convert ``value`` for a metric of ``kind`` ("count", "time" or "bytes").

    Bare numbers are taken in storage units (ms for times, bytes for memory).
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number, got {value!r}")
    if isinstance(value, int) and abs(value) >= _LARGEST:  # before float(), which overflows from 10**309
        raise UnitError("out of range: limits stay below 2**63")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _QUANTITY.match(value)):
        number, unit = float(match.group(1)), match.group(2)
    else:
        raise UnitError(f"expected a number or a quantity such as '200ms' or '24MB', got {_shown(value)}")
    if not math.isfinite(number):
        raise UnitError(f"expected a finite number, got {_shown(value)}")
    if number < 0:
        raise UnitError(f"limits cannot be negative, got {_shown(value)}")
    limit = number * _factor(unit, kind, value)
    if limit >= _LARGEST:
        raise UnitError(f"out of range: limits stay below 2**63, got {_shown(value)}")
    return limit


def _factor(unit: str, kind: str, value: object) -> float:
    """What one ``unit`` is in the storage unit of ``kind``; UnitError for a unit the metric does not take."""
    if not unit:
        return 1.0
    if kind == "time" and unit in _TIME_UNITS:
        return _TIME_UNITS[unit]
    if kind == "bytes" and unit.lower() in _BYTE_UNITS:
        return _BYTE_UNITS[unit.lower()]
    expected = {
        "time": "a time unit (us, ms, s, min)",
        "bytes": "a size unit (B, kB, MB, GB, KiB, MiB, GiB)",
        "count": "a plain number",
    }[kind]
    raise UnitError(f"bad unit {unit!r} in {_shown(value)}: this metric takes {expected}")


def _shown(value: object) -> str:
    """``value`` as written, cut to fit a one-line message (a quantity may have hundreds of digits)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write_quantity(value: float, kind: str, like: str) -> str:
    """``value`` (storage units) written as ``like`` was: in its unit, up to 3 significant digits, rounded up.

    Rounded up so a limit written back is never below the value it was made from.
    """
    match = _QUANTITY.match(like)
    unit = match.group(2) if match else ""
    if kind == "count" or (not unit and kind != "time"):
        return str(math.ceil(value))
    shown = value / _factor(unit, kind, like) if unit else value
    digits = max(3 - len(str(int(shown))), 0) if shown >= 1 else 3
    scale = 10**digits
    rounded = math.ceil(shown * scale - 1e-9) / scale
    text = f"{rounded:.{digits}f}".rstrip("0").rstrip(".") if digits else str(int(rounded))
    return f"{text}{unit}"
