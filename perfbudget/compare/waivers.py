"""Accepted changes: the budget file's ``accept:`` entries and a pull request's accept label.

A regression or an exceeded budget that the project decided to accept is
recorded in the repository with its reason (``accept:``), or accepted for one
pull request by a label. It then shows as "accepted (reason)", never as
failing. An entry for a metric covers its parts (``run/metrics.py``'s
``PARTS``); the other metrics still failing on the subjects it accepted
something of are a warning naming them, so a half-accepted change is seen.
An entry past its ``expires`` date accepts nothing: the verdict stays
failing and names the expired entry, so an accepted change is looked at
again rather than forgotten.
"""

from __future__ import annotations

import datetime

from perfbudget.budgets.index import GlobIndex
from perfbudget.budgets.model import Waiver
from perfbudget.compare.verdicts import FAILING, Status, Verdict
from perfbudget.run.metrics import PARTS


def apply_waivers(verdicts: list[Verdict], waivers: list[Waiver], today: datetime.date, accepted_by: str = "") -> list[str]:
    """Mark the failing verdicts the waivers (or the label ``accepted_by``) accept; returns warnings.

    The label accepts regressions against the baseline only: a budget is the
    project's own limit, which only an ``accept:`` entry in the file changes.
    An entry's glob is tried only on the subjects it may match (``GlobIndex``):
    thousands of entries meet thousands of failing verdicts in a big run.
    """
    used: set[int] = set()
    index = GlobIndex(waiver.match for waiver in waivers)
    accepted: dict[int, tuple[Waiver, set[tuple[str, str]]]] = {}  # entry -> the subjects it accepted something of
    for verdict in verdicts:
        if verdict.status not in FAILING or verdict.metric is None:
            continue
        matching = (waivers[i] for i in index.matching((verdict.subject,)))
        covering = [w for w in matching if w.covers_metric(verdict.metric) and _within(w, verdict)]
        used.update(id(w) for w in covering)
        waiver = next((w for w in covering if not _expired(w, today)), None)
        if waiver is not None:
            _accept(verdict, _words(waiver))
            accepted.setdefault(id(waiver), (waiver, set()))[1].add((verdict.subject_kind, verdict.subject))
        elif accepted_by and verdict.status is Status.REGRESSED:
            _accept(verdict, f"for this pull request by the label {accepted_by!r}")
        elif covering:  # only expired entries covered it: it fails, and says which entry to renew or fix
            gone = covering[0]
            verdict.expired_entry = (
                f"the accept entry at {gone.where} expired on {gone.expires.isoformat() if gone.expires else '?'} ({gone.reason})"
            )
    expired = [
        f"the accept entry at {w.where} ({w.match} {w.metric}) expired on {w.expires.isoformat()}: remove it"
        for w in waivers
        if w.expires is not None and _expired(w, today) and id(w) not in used
    ]
    return expired + _still_failing(verdicts, list(accepted.values()))


def _still_failing(verdicts: list[Verdict], accepted: list[tuple[Waiver, set[tuple[str, str]]]]) -> list[str]:
    """Per entry that accepted a change: the metrics that still fail on the same subjects, so none is a surprise.

    An entry for ``queries`` covers ``queries.select`` and the other parts, but
    not ``n_plus_one`` or ``duration``, which the same change may have moved.
    """
    failing: dict[tuple[str, str], set[str]] = {}
    for verdict in verdicts:
        if verdict.status in FAILING and verdict.metric is not None:
            failing.setdefault((verdict.subject_kind, verdict.subject), set()).add(verdict.metric)
    notes = []
    for waiver, subjects in accepted:
        left = sorted({metric for subject in subjects for metric in failing.get(subject, ())})
        if not left:
            continue
        where = sorted(subject for kind, subject in subjects if failing.get((kind, subject)))
        still = [f"{metric} (beyond its limit or change)" if waiver.covers_metric(metric) else metric for metric in left]
        covered = f"{waiver.metric} and its parts" if waiver.metric in PARTS else waiver.metric
        uncovered = any(not waiver.covers_metric(metric) for metric in left)
        others = f": it covers {covered}; accept the others by name if the same change moved them" if uncovered else ""
        notes.append(
            f"the accept entry at {waiver.where} ({waiver.match} {waiver.metric}) accepted changes of {_counted(subjects)}, "
            f"where {', '.join(still)} still fail{'s' if len(left) == 1 else ''} ({where[0]}{', ...' if len(where) > 1 else ''}){others}"
        )
    return notes


def _counted(subjects: set[tuple[str, str]]) -> str:
    """``1 test``, ``2 URLs``, ``3 tests and 1 URL``."""
    tests = sum(1 for kind, _ in subjects if kind == "test")
    urls = len(subjects) - tests
    parts = ([f"{tests} test{'s' if tests != 1 else ''}"] if tests else []) + ([f"{urls} URL{'s' if urls != 1 else ''}"] if urls else [])
    return " and ".join(parts)


def _accept(verdict: Verdict, because: str) -> None:
    verdict.status = Status.ACCEPTED
    verdict.accepted_because = because


def _expired(waiver: Waiver, today: datetime.date) -> bool:
    """From its ``expires`` date on, an entry accepts nothing (the day itself included)."""
    return waiver.expires is not None and waiver.expires <= today


def _within(waiver: Waiver, verdict: Verdict) -> bool:
    """Whether the verdict's value is within what the waiver accepts (its limit, or its change above the baseline)."""
    value = verdict.value if verdict.value is not None else 0.0
    if waiver.limit is not None and value > waiver.limit:
        return False
    # A change can only be measured against a baseline (over-budget verdicts carry none).
    return waiver.change is None or (verdict.baseline is not None and value - verdict.baseline <= waiver.change)


def _words(waiver: Waiver) -> str:
    extra = [f"issue {waiver.issue}"] if waiver.issue else []
    extra += [f"expires {waiver.expires.isoformat()}"] if waiver.expires else []
    return "; ".join([waiver.reason, f"{waiver.where}", *extra])
