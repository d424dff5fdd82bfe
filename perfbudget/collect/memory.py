"""Peak Python memory per test, with ``tracemalloc`` (behind ``--perf-memory``).

tracemalloc hooks every allocation, which slows allocation-heavy code down
noticeably, so it is off unless asked for. The figure is the peak of traced
memory during the test minus what was already allocated when it started:
what the test itself added at its worst moment.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


class MemoryTracker:
    """Starts tracemalloc for the session (unless someone else did) and reads per-test peaks."""

    def __init__(self) -> None:
        self._started_here = False

    def install(self) -> Callable[[], None]:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_here = True
        return self.uninstall

    def uninstall(self) -> None:
        if self._started_here and tracemalloc.is_tracing():
            tracemalloc.stop()
        self._started_here = False

    def begin(self) -> int:
        """Reset the peak; returns the baseline to hand back to ``peak_since``."""
        if not tracemalloc.is_tracing():  # stopped by the test itself
            return 0
        tracemalloc.reset_peak()
        return tracemalloc.get_traced_memory()[0]

    def peak_since(self, baseline: int) -> int | None:
        """Bytes allocated above ``baseline`` at the peak, or None if tracing stopped."""
        if not tracemalloc.is_tracing():
            return None
        return max(0, tracemalloc.get_traced_memory()[1] - baseline)
