"""What changed behind the numbers: each subject's query groups paired with the baseline's, grouped by cause.

A count moves because a query was added or removed, or a query repeats
more or fewer times, at one call site. The same cause usually moves many
subjects at once (one dropped ``select_related`` moves every test and URL
that lists posts), so causes are keyed by the group and the direction of
the change, with the subjects they moved. The comment shows one entry per
cause instead of a row per test and metric.

An explanation must survive an ordinary diff (issue 20): a line inserted
above a call site moves it, it does not make it another query. So each
subject's groups are first paired with the baseline's by what stays put,
their file and function (``compare/pairing.py``); a paired group whose
count did not change is no cause.

Groups are diffed as the run recorded them: per test, all its queries; per
URL, the worst request's groups (``run.aggregate.url_sql_groups``). Warm-up
groups (per-process caches) are left out, as they are of every compared count.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from perfbudget.compare.pairing import pair_groups
from perfbudget.run.aggregate import url_sql_groups
from perfbudget.run.model import Run, SqlGroup, TestRecord

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+[`"\[]?([\w.]+)', re.IGNORECASE)

_Key = tuple[str, tuple[str, str, str, str]]  # a cause's group across subjects: ("now" or "before", SqlGroup.key)


@dataclass
class Cause:
    """One query group that appeared, disappeared, or repeats more or fewer times, and the subjects it moved."""

    change: str  # "added" | "more" | "rewritten" | "removed" | "fewer" ("more"/"fewer" when the subjects differ)
    group: SqlGroup  # the run's group (the baseline's for "removed")
    # (kind, subject) -> (count before, count after), in the order the subjects were met
    subjects: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    replaced: SqlGroup | None = None  # "rewritten": the baseline's statement this one took the place of

    @property
    def grew(self) -> bool:
        return self.change in ("added", "more")

    @property
    def table(self) -> str:
        """The first table the statement names, "" when none (a SAVEPOINT, a raw statement)."""
        match = _TABLE.search(self.group.sql)
        return match.group(1) if match else ""

    @property
    def deltas(self) -> list[int]:
        return [after - before for before, after in self.subjects.values()]


def query_causes(run: Run, baseline: Run | None, subjects: Iterable[tuple[str, str]]) -> list[Cause]:
    """The causes behind ``subjects`` (kind, name), growing ones first, then by how many subjects they moved.

    Subjects without a baseline record (new) have nothing to diff and move
    no cause; the tests of both runs must have their details read. A cause
    is keyed by the run's group (its call site is the same in every subject
    of the run), a gone one by the run's group that took its place in
    another subject, if any, else by the baseline's.
    """
    if baseline is None:
        return []
    now_tests = {test.node_id: test for test in run.tests}
    base_tests = {test.node_id: test for test in baseline.tests}
    now_urls = {url.key: url for url in run.urls}
    base_urls = {url.key: url for url in baseline.urls}
    changed: list[tuple[tuple[str, str], SqlGroup | None, SqlGroup | None]] = []
    moved: dict[tuple[str, str, str, str], tuple[str, str, str, str]] = {}  # a baseline group's key -> its run group's
    for kind, subject in subjects:
        if kind == "test":
            now, before = _test_groups(now_tests.get(subject)), _test_groups(base_tests.get(subject))
            known = subject in base_tests
        else:
            now_url, base_url = now_urls.get(subject), base_urls.get(subject)
            now = _counted(url_sql_groups(now_url, now_tests)) if now_url else []
            before = _counted(url_sql_groups(base_url, base_tests)) if base_url else []
            known = base_url is not None
        if not known:
            continue
        for after_group, before_group in pair_groups(now, before):
            if after_group is not None and before_group is not None:
                moved.setdefault(before_group.key, after_group.key)
            if _count(after_group) != _count(before_group):
                changed.append(((kind, subject), after_group, before_group))
    causes: dict[tuple[bool, _Key], Cause] = {}
    for where, after_group, before_group in changed:
        after_count, before_count = _count(after_group), _count(before_group)
        if after_group is not None:
            key: _Key = ("now", after_group.key)
        else:
            assert before_group is not None
            key = ("now", moved[before_group.key]) if before_group.key in moved else ("before", before_group.key)
        change = _change(before_count, after_count)
        group = after_group or before_group
        assert group is not None
        # One cause per group and direction: a query new in one subject and repeating more in another is one cause.
        cause = causes.setdefault((after_count > before_count, key), Cause(change, group))
        if cause.change != change:
            cause.change = "more" if cause.grew else "fewer"
        cause.subjects[where] = (before_count, after_count)
    found = _pair_rewrites(list(causes.values()))
    order = {"added": 0, "more": 0, "rewritten": 1, "removed": 2, "fewer": 2}
    return sorted(found, key=lambda c: (order[c.change], -len(c.subjects), -max(map(abs, c.deltas)), c.group.sql))


def _count(group: SqlGroup | None) -> int:
    return group.count if group is not None else 0


def _pair_rewrites(causes: list[Cause]) -> list[Cause]:
    """A statement that left a call site and another on the same table that arrived there, as often, in the same subjects:
    one query rewritten (a dropped ``select_related`` loses its JOIN), not one gone and one new.

    The call site is its file and function (lines move), else its location.
    """
    removed = {(_site(c.group), c.table, tuple(c.subjects)): c for c in causes if c.change == "removed"}
    paired: set[int] = set()
    for cause in causes:
        if cause.change != "added" or not cause.table:
            continue
        gone = removed.get((_site(cause.group), cause.table, tuple(cause.subjects)))
        if gone is None or id(gone) in paired:
            continue
        if any(gone.subjects[subject][0] != after for subject, (_, after) in cause.subjects.items()):
            continue  # 1 JOIN became 50 SELECTs: a new query (an N+1), not the same one rewritten
        paired.add(id(gone))
        cause.change, cause.replaced = "rewritten", gone.group
        cause.subjects = {subject: (gone.subjects[subject][0], after) for subject, (_, after) in cause.subjects.items()}
    return [cause for cause in causes if id(cause) not in paired]


def _change(before: int, after: int) -> str:
    if before == 0:
        return "added"
    if after == 0:
        return "removed"
    return "more" if after > before else "fewer"


def _site(group: SqlGroup) -> Hashable:
    database, _, file, function, template_file = group.identity
    return (database, file, function, template_file) if function is not None else (database, group.location, group.template)


def _test_groups(test: TestRecord | None) -> list[SqlGroup]:
    return _counted(test.details.sql_groups) if test is not None else []


def _counted(groups: Iterable[SqlGroup]) -> list[SqlGroup]:
    return [group for group in groups if not group.warmup]
