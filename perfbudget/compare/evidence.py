"""What a time verdict rests on, as data: the reruns' figures, or why there were none.

A slower time fails only when its reruns confirm it (``compare/timing.py``);
a faster one is an improvement only against a history of the subject.
What the reruns showed is kept in numbers, so every report asks the same
question of it (was it confirmed? by how many rounds? against which bar?)
instead of reading it back out of a sentence. ``words`` is the one place
those numbers become the sentence the reports print.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfbudget.run.metrics import format_value


@dataclass(frozen=True)
class TimingEvidence:
    """What confirming one suspect time found."""

    metric: str
    confirmed: bool
    rounds: int  # rerun rounds that finished
    quickest: float | None = None  # the quickest round, after the control's cost is taken off and the slowdown divided out
    bar: float | None = None  # what the quickest round had to clear: the threshold, raised for what was divided out
    rerun_alone_cost: float = 0.0  # what rerunning alone cost the control, taken off each round
    slowdown: float = 1.0  # the drift and the machine's slowdown during the reruns, divided out
    why_not: str = ""  # why it could not be judged: too few rounds, or a faster time with no history ("" when judged)

    @property
    def words(self) -> str:
        """``confirmed by 5 reruns: quickest 59 ms > 48 ms``, or what stood in the way."""
        if self.quickest is None or self.bar is None:
            return f"not confirmed: {self.why_not}"
        show = lambda value: format_value(self.metric, value)  # noqa: E731
        how = f", rerunning alone cost its neighbour +{show(self.rerun_alone_cost)}, taken off" if self.rerun_alone_cost > 0 else ""
        if self.slowdown > 1.0:
            how += f", reruns x{self.slowdown:.2f} slower by drift or calibration, divided out (the bar raised by half of it)"
        if self.confirmed:
            return f"confirmed by {self.rounds} reruns: quickest {show(self.quickest)} > {show(self.bar)}{how}"
        return f"not confirmed: {self.rounds} reruns, quickest {show(self.quickest)} <= {show(self.bar)}{how}"
