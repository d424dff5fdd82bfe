"""Human units in budget files: ``200ms``, ``1.5s``, ``24MB``, ``512kB``.

Values are converted to the storage units of ``results.py``: milliseconds for
times, bytes for memory, plain numbers for counts.
"""

from __future__ import annotations

import re

_TIME_UNITS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0}
_BYTE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}
_QUANTITY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$")


class UnitError(ValueError):
    """A value whose unit does not fit its metric, or that is not a quantity."""


def parse_quantity(value: object, kind: str) -> float:
    """Convert ``value`` for a metric of ``kind`` ("count", "time" or "bytes").

    Bare numbers are taken in storage units (ms for times, bytes for memory).
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _QUANTITY.match(value)):
        number, unit = float(match.group(1)), match.group(2)
    else:
        raise UnitError(f"expected a number or a quantity such as '200ms' or '24MB', got {value!r}")
    if number < 0:
        raise UnitError(f"limits cannot be negative, got {value!r}")
    if not unit:
        return number
    if kind == "time" and unit in _TIME_UNITS:
        return number * _TIME_UNITS[unit]
    if kind == "bytes" and unit.lower() in _BYTE_UNITS:
        return number * _BYTE_UNITS[unit.lower()]
    expected = {
        "time": "a time unit (us, ms, s, min)",
        "bytes": "a size unit (B, kB, MB, GB, KiB, MiB, GiB)",
        "count": "a plain number",
    }[kind]
    raise UnitError(f"bad unit {unit!r} in {value!r}: this metric takes {expected}")
