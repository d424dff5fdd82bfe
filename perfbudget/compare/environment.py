"""Times measured in another environment are not compared: they become warnings that name the change.

A run on Python 3.12 against a 3.11 baseline, or on another CPU model,
Django or database, is slower or faster for reasons the pull request did
not cause. Counts (queries, network calls, cache misses) do not depend on
the machine and are still judged; time regressions become "slower, not
confirmed" and time improvements plain OK, each saying why.
"""

from __future__ import annotations

from collections.abc import Mapping

from perfbudget.compare.verdicts import Status, Verdict
from perfbudget.run.metrics import is_time

# The fingerprint keys that move times, and how a reader calls them.
FINGERPRINT = {
    "cpu_model": "CPU",
    "implementation": "Python implementation",
    "python": "Python",
    "django": "Django",
    "database": "database",
}


def environment_changes(run: Mapping[str, str], baseline: Mapping[str, str]) -> list[str]:
    """``["Python 3.11.7 -> 3.12.1", ...]`` for each fingerprint key both runs recorded and that differs."""
    changes = []
    for key, label in FINGERPRINT.items():
        before, now = baseline.get(key), run.get(key)
        if before and now and before != now:
            changes.append(f"{label} {before} -> {now}")
    return changes


def demote_times(verdicts: list[Verdict], changes: list[str]) -> int:
    """Turn time regressions and improvements into warnings naming ``changes``; returns how many changed."""
    if not changes:
        return 0
    what = "; ".join(changes)
    demoted = 0
    for verdict in verdicts:
        if verdict.metric is None or not is_time(verdict.metric):
            continue
        if verdict.status is Status.REGRESSED:
            verdict.status = Status.UNCONFIRMED
        elif verdict.status in (Status.IMPROVED, Status.FASTER_UNCONFIRMED):
            verdict.status = Status.OK
        else:
            continue
        verdict.environment_changed = what
        demoted += 1
    return demoted


def environment_note(changes: list[str], demoted: int) -> list[str]:
    """The warning every report shows once, whether or not a time moved."""
    if not changes:
        return []
    moved = f"; {demoted} time change{'s' if demoted != 1 else ''} shown as warnings" if demoted else ""
    return [f"the baseline ran elsewhere ({'; '.join(changes)}): times are not compared, counts are{moved}"]
