"""Accepted changes: the budget file's ``accept:`` entries and a pull request's accept label.

A regression or an exceeded budget that the project decided to accept is
recorded in the repository with its reason (``accept:``), or accepted for one
pull request by a label. It then shows as "accepted (reason)", never as
failing. An entry past its ``expires`` date accepts nothing: the verdict
stays failing and names the expired entry, so an accepted change is looked
at again rather than forgotten.
"""

from __future__ import annotations

import datetime

from perfbudget.budgets.model import Waiver
from perfbudget.compare.verdicts import FAILING, Status, Verdict


def apply_waivers(verdicts: list[Verdict], waivers: list[Waiver], today: datetime.date, accepted_by: str = "") -> list[str]:
    """Mark the failing verdicts the waivers (or the label ``accepted_by``) accept; returns warnings.

    The label accepts regressions against the baseline only: a budget is the
    project's own limit, which only an ``accept:`` entry in the file changes.
    """
    used: set[int] = set()
    for verdict in verdicts:
        if verdict.status not in FAILING or verdict.metric is None:
            continue
        waiver = next((w for w in waivers if w.covers(verdict.subject, verdict.metric) and _within(w, verdict)), None)
        if waiver is not None:
            used.add(id(waiver))
            if waiver.expires is not None and waiver.expires < today:
                verdict.reason += f"; the accept entry at {waiver.where} expired on {waiver.expires.isoformat()} ({waiver.reason})"
                continue
            verdict.status = Status.ACCEPTED
            verdict.reason += f"; accepted ({_words(waiver)})"
        elif accepted_by and verdict.status is Status.REGRESSED:
            verdict.status = Status.ACCEPTED
            verdict.reason += f"; accepted for this pull request by the label {accepted_by!r}"
    return [
        f"the accept entry at {w.where} ({w.match} {w.metric}) expired on {w.expires.isoformat()}: remove it"
        for w in waivers
        if w.expires is not None and w.expires < today and id(w) not in used
    ]


def _within(waiver: Waiver, verdict: Verdict) -> bool:
    """Whether the verdict's value is within what the waiver accepts (its limit, or its change above the baseline)."""
    value = verdict.value if verdict.value is not None else 0.0
    if waiver.limit is not None and value > waiver.limit:
        return False
    if waiver.change is not None and verdict.baseline is not None and value - verdict.baseline > waiver.change:
        return False
    return True


def _words(waiver: Waiver) -> str:
    extra = [f"issue {waiver.issue}"] if waiver.issue else []
    extra += [f"until {waiver.expires.isoformat()}"] if waiver.expires else []
    return "; ".join([waiver.reason, f"{waiver.where}", *extra])
