"""Verdicts: what ``compare/`` decided, in a form every reporter reads.

A ``Verdict`` is one decision about one metric of one subject (a test or a
URL). A ``Comparison`` holds all of them for a run plus what the reports need
around them (the run, the baseline, warnings). The comment, the job summary,
the annotations, the HTML report and the terminal all render a Comparison, so
they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from perfbudget.compare.causes import Cause, query_causes
from perfbudget.compare.evidence import TimingEvidence
from perfbudget.compare.origin import BaselineOrigin
from perfbudget.run.metrics import format_value
from perfbudget.run.model import Run


class Status(str, Enum):
    # Order matters: a subject's status is the most severe of its verdicts.
    OVER_BUDGET = "over_budget"
    REGRESSED = "regressed"
    NEW = "new"
    REMOVED = "removed"
    UNCONFIRMED = "unconfirmed"  # a time looked slower, but the evidence did not confirm it: never fails
    ACCEPTED = "accepted"  # over budget or regressed, but an ``accept:`` entry or the PR's label accepts it: never fails
    IMPROVED = "improved"
    FASTER_UNCONFIRMED = "faster_unconfirmed"  # a time looked faster, against too short a history to tell: changes nothing
    OK = "ok"

    @property
    def severity(self) -> int:
        return list(Status).index(self)

    @property
    def label(self) -> str:
        if self is Status.UNCONFIRMED:
            return "slower, not confirmed"
        return "faster, not confirmed" if self is Status.FASTER_UNCONFIRMED else self.value.replace("_", " ")


FAILING = (Status.OVER_BUDGET, Status.REGRESSED)


class CiVerdict(str, Enum):
    """A whole run's verdict for CI: what the action outputs, ``pr.json`` carries and the comment modes decide on."""

    FAIL = "fail"  # the run fails its budgets
    ERROR = "error"  # the run could not be judged
    CHANGED = "changed"  # something moved, nothing fails
    OK = "ok"

    def __str__(self) -> str:
        return self.value  # the word itself wherever it is written: a step output, pr.json, a log line

    @classmethod
    def worst(cls, verdicts: Iterable[CiVerdict]) -> CiVerdict:
        """Several legs' verdict as one: a failure first, then an error, then a change (the members' order)."""
        found = set(verdicts)
        return next((verdict for verdict in cls if verdict in found), cls.OK)


@dataclass
class Verdict:
    subject: str  # test node id, or "GET /posts/<int:pk>/" for a URL
    subject_kind: str  # "test" | "url"
    metric: str | None  # None for whole-subject verdicts (new, removed)
    status: Status
    value: float | None = None  # this run
    baseline: float | None = None  # the baseline (a statistic when it has samples)
    limit: float | None = None  # the budget or the regression threshold crossed
    basis: str = ""  # what was found, in words: "12 queries > budget 10 (rule 'api' in perfbudget.yaml:14)"
    file: str | None = None  # where to annotate: the test's file and line
    line: int | None = None
    judged: bool = True  # False for a skipped or xfailed test, or an ignored subject: OK, but not compared
    accepted_because: str = ""  # ACCEPTED: the entry's or the label's words, as the reports show them
    expired_entry: str = ""  # still failing although an accept entry covered it until it expired: which
    timing: TimingEvidence | None = None  # a suspect time: what its reruns showed
    environment_changed: str = ""  # a time not judged because the baseline ran elsewhere: what changed

    @property
    def reason(self) -> str:
        """The whole verdict in words: what was found, then the evidence and what the budget file's entries made of it."""
        clauses = [self.basis]
        if self.timing is not None:
            clauses.append(self.timing.words)
        if self.environment_changed:
            clauses.append(f"not judged: the environment changed ({self.environment_changed})")
        if self.expired_entry:
            clauses.append(self.expired_entry)
        if self.accepted_because:
            clauses.append(f"accepted ({self.accepted_because})")
        return "; ".join(clause for clause in clauses if clause)

    @property
    def limit_words(self) -> str:
        """ "budget 10" for a budget, "baseline" when any increase regresses, "allowed 1.2 s" for a threshold, "–" for none."""
        metric = self.metric or ""
        if self.limit is None:
            return "–"
        if self.status is Status.OVER_BUDGET:
            return f"budget {format_value(metric, self.limit)}"
        if self.baseline is not None and self.limit == self.baseline:
            return "baseline"  # a baseline rule: the limit is the baseline itself
        return f"allowed {format_value(metric, self.limit)}"

    @property
    def evidence(self) -> str:
        """What a time verdict rests on, as the reports' evidence column shows it: why it was not judged, or its reruns."""
        if self.environment_changed:
            return f"not judged: the environment changed ({self.environment_changed})"
        return self.timing.words if self.timing is not None else self.basis

    @property
    def delta(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def delta_ratio(self) -> float | None:
        """Relative change against the baseline (0.25 for +25 %), None when undefined."""
        if self.delta is None or not self.baseline:
            return None
        return self.delta / self.baseline


@dataclass
class Comparison:
    run: Run
    baseline: Run | None
    verdicts: list[Verdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. "no baseline: compared with budgets only"
    budgets_source: str | None = None
    # What fails the run (the budget file's fail_on), so every reporter agrees with the exit status.
    fail_on: tuple[Status, ...] = FAILING
    origin: BaselineOrigin | None = None  # which target-branch run the baseline is, when CI chose it
    no_baseline_reason: str = ""  # why there is no baseline, when there is none
    baseline_runs: int = 0  # runs in the baseline: more than one is a history for times
    baseline_path: Path | None = None  # the baseline run's file, for the details of what changed
    # What changed behind the subjects that broke or improved (compare/causes.py), which every report shows.
    causes: list[Cause] = field(default_factory=list)

    @property
    def not_compared(self) -> str:
        """Why this run was not compared with a baseline ("" when it was): never a silent green."""
        if self.baseline is not None:
            return ""
        return self.no_baseline_reason or "no baseline given (--perf-baseline)"

    def subject_statuses(self) -> dict[tuple[str, str], Status]:
        """Each subject (kind, name) with the most severe status of its verdicts."""
        statuses: dict[tuple[str, str], Status] = {}
        for verdict in self.verdicts:
            key = (verdict.subject_kind, verdict.subject)
            current = statuses.get(key)
            if current is None or verdict.status.severity < current.severity:
                statuses[key] = verdict.status
        return statuses

    def counts(self) -> dict[Status, int]:
        """Subjects per status, each subject counted once under its worst status; OK counts only what was compared."""
        return self._tally()[0]

    @property
    def not_judged(self) -> int:
        """Subjects that were only looked at: every verdict of theirs says it was not judged (skipped, xfailed, ignored)."""
        return self._tally()[1]

    def _tally(self) -> tuple[dict[Status, int], int]:
        """``counts()`` and ``not_judged`` worked out together: the summary line needs both, once."""
        judged: dict[tuple[str, str], bool] = {}
        for verdict in self.verdicts:
            key = (verdict.subject_kind, verdict.subject)
            judged[key] = judged.get(key, False) or verdict.judged
        not_judged = sum(1 for was_judged in judged.values() if not was_judged)
        counts = {status: 0 for status in Status}
        for status in self.subject_statuses().values():
            counts[status] += 1
        counts[Status.OK] -= not_judged
        return counts, not_judged

    def by_status(self, *statuses: Status) -> list[Verdict]:
        return [v for v in self.verdicts if v.status in statuses]

    @property
    def failing(self) -> list[Verdict]:
        return self.by_status(*FAILING)

    def summary_line(self) -> str:
        """ "2 regressions, 1 over budget, 3 changes accepted, 5 improved, 140 unchanged".

        Without a baseline nothing can be "unchanged": fine subjects are "ok".
        Times that moved without evidence (slower or faster, not confirmed) are
        counted as unchanged: noise must not change the headline between two
        identical runs (issue 20); the reports list them apart. Accepted changes are counted as verdicts, whatever else their subjects
        did: a subject both accepted and new, or accepted and over budget,
        still shows that an entry let something pass (issue 19).
        """
        counts, not_judged = self._tally()
        fine = "unchanged" if self.baseline is not None else "ok"
        counts[Status.OK] += counts[Status.UNCONFIRMED] + counts[Status.FASTER_UNCONFIRMED]
        accepted = len(self.by_status(Status.ACCEPTED))
        parts = []
        for status, singular, plural in (
            (Status.REGRESSED, "regression", "regressions"),
            (Status.OVER_BUDGET, "over budget", "over budget"),
            (Status.IMPROVED, "improved", "improved"),
            (Status.NEW, "new", "new"),
            (Status.REMOVED, "removed", "removed"),
            (Status.OK, fine, fine),
        ):
            if status is Status.IMPROVED and accepted:
                parts.append(f"{accepted:,} change{'s' if accepted != 1 else ''} accepted")
            if counts[status] or status in (Status.REGRESSED, Status.OVER_BUDGET):
                parts.append(f"{counts[status]:,} {singular if counts[status] == 1 else plural}")
        if not_judged:
            parts.append(f"{not_judged:,} not judged (skipped, xfailed or ignored)")
        return ", ".join(parts)

    def should_fail(self, fail_on: tuple[Status, ...] | None = None) -> bool:
        """The single decision of whether perfbudget fails the run (``fail_on``: default the comparison's own)."""
        statuses = self.fail_on if fail_on is None else fail_on
        return any(v.status in statuses for v in self.verdicts)

    def explain(self) -> None:
        """Work out what changed behind the subjects that broke or improved (``causes``): the one list every report shows.

        ``compare()`` does, and ``compare/judge.py`` again once it has read
        those subjects' details: a run read light has no query groups to diff.
        """
        broke = [(v.subject_kind, v.subject) for v in self.failing]  # the subjects that broke lead
        improved = [(v.subject_kind, v.subject) for v in self.by_status(Status.IMPROVED)]
        self.causes = query_causes(self.run, self.baseline, dict.fromkeys([*broke, *improved]))

    @property
    def ci_verdict(self) -> CiVerdict:
        """FAIL when the run fails its budgets, CHANGED when anything moved, else OK."""
        if self.should_fail():
            return CiVerdict.FAIL
        return CiVerdict.CHANGED if any(verdict.status is not Status.OK for verdict in self.verdicts) else CiVerdict.OK
