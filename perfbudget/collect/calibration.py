"""How fast this machine runs Python right now: a fixed loop, timed.

A shared CI runner slows down when its neighbours get busy, and it slows
the test being measured and this loop alike. Timing the loop just before a
suspect test is rerun tells how much of a slowdown is the machine's: the
comparison divides it out (never the other way: a faster machine does not
tighten a limit, since waits do not speed up with the CPU).
"""

from __future__ import annotations

import time

LOOP_ITERATIONS = 20_000  # about 1 ms on a 2024 laptop core; long enough to time, short enough to repeat


def _spin(iterations: int) -> int:
    """Work the interpreter cannot skip: integer arithmetic and a branch per step."""
    total = 0
    for step in range(iterations):
        total = (total + step * step) % 1_000_003
    return total


def calibrate(iterations: int = LOOP_ITERATIONS) -> float:
    """Wall milliseconds of one pass of the loop."""
    started = time.perf_counter()
    _spin(iterations)
    return (time.perf_counter() - started) * 1000.0
