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
        covering = [w for w in waivers if w.covers(verdict.subject, verdict.metric) and _within(w, verdict)]
        used.update(id(w) for w in covering)
        waiver = next((w for w in covering if not _expired(w, today)), None)
        if waiver is not None:
            _accept(verdict, _words(waiver))
        elif accepted_by and verdict.status is Status.REGRESSED:
            _accept(verdict, f"for this pull request by the label {accepted_by!r}")
        elif covering:  # only expired entries covered it: it fails, and says which entry to renew or fix
            gone = covering[0]
            verdict.expired_entry = (
                f"the accept entry at {gone.where} expired on {gone.expires.isoformat() if gone.expires else '?'} ({gone.reason})"
            )
            verdict.reason += f"; {verdict.expired_entry}"
    return [
        f"the accept entry at {w.where} ({w.match} {w.metric}) expired on {w.expires.isoformat()}: remove it"
        for w in waivers
        if w.expires is not None and _expired(w, today) and id(w) not in used
    ]


def _accept(verdict: Verdict, because: str) -> None:
    verdict.status = Status.ACCEPTED
    verdict.accepted_because = because
    verdict.reason += f"; accepted ({because})"


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
