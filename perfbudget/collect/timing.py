"""Wall and CPU time of a recording, as metrics.

The clocks themselves run in ``Recording`` (``time.perf_counter`` for wall
time, ``time.process_time`` for CPU time of the whole process, threads
included), so nested recordings each get their own span at no extra cost.
Time spent in session-, package-, module- and class-scoped fixtures is left
out (the plugin suspends the recorder around them), so a test's time does not
depend on whether it happened to run first.
"""

from __future__ import annotations

from perfbudget.collect.recording import Recording


def summarise(recording: Recording) -> dict[str, float]:
    """``duration`` and ``cpu_time`` in milliseconds, rounded to the microsecond."""
    return {"duration": round(recording.wall_ms, 3), "cpu_time": round(recording.cpu_ms, 3)}
