"""A cause of change in words, for every report: "+4 SELECT `blog_author` (N+1) at blog/views.py:20, new, in 2 tests ...".

The Markdown comment and the terminal say the same sentence; the caller
passes how its medium shows code and free text (``code_span``/``md_text``
for Markdown, nothing for the terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from perfbudget.collect.sql_shape import statement_label
from perfbudget.compare.causes import Cause

MAX_CAUSES = 10  # causes a report shows in full; the rest are counted
GROUP_NAMES = 3  # subjects a report names for a cause; a cause that moved more is reported once for all of them

_VERB = {"added": "new", "removed": "gone", "more": "repeats more", "fewer": "repeats less", "rewritten": "rewritten"}


def cause_line(cause: Cause, code: Callable[[str], str] = str, text: Callable[[str], str] = str, shown: int = 3) -> str:
    """The headline of a cause (``**`` marks the part Markdown makes bold), without its SQL."""
    return f"{cause_headline(cause, code, text)}, in {subjects_text(list(cause.subjects), code, shown)}"


def cause_headline(cause: Cause, code: Callable[[str], str] = str, text: Callable[[str], str] = str, where: bool = True) -> str:
    """What changed, where (unless ``where`` is False), without the subjects it moved: "**+4 SELECT `blog_author`** (N+1) at `blog/views.py:20`, new"."""
    group = cause.group
    what = text(statement_label(group.sql)) + (f" {code(cause.table)}" if cause.table else "")
    at = f" at {code(group.location)}" if group.location and where else ""
    if cause.replaced is not None:
        return f"**{what} rewritten**{at}"
    deltas = sorted(set(cause.deltas))
    amount = _signed(deltas[0]) if len(deltas) == 1 else f"{_signed(deltas[0])} to {_signed(deltas[-1])}"
    flags = " (N+1)" if group.n_plus_one and cause.grew else ""
    return f"**{amount} {what}**{flags}{at}, {_VERB[cause.change]}"


def subjects_text(subjects: list[tuple[str, str]], code: Callable[[str], str] = str, shown: int = 3) -> str:
    """ "2 tests and 1 URL: `test_a`, `test_b`, `GET /`": counts per kind, then the first few names."""
    counts = count_subjects(subjects)
    first = subjects[:shown]
    short = short_test_names([name for kind, name in first if kind == "test"])
    names = ", ".join(code(short[name] if kind == "test" else name) for kind, name in first)
    more = f", and {len(subjects) - shown} more" if len(subjects) > shown else ""
    return f"{counts}: {names}{more}"


def shared_causes(causes: list[Cause], subjects: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Cause]:
    """Each of ``subjects`` (kind, name) that a cause moved together with more than ``GROUP_NAMES`` others of them: that cause.

    One query added to a view that 1,000 tests request breaks 1,000 tests in
    one way: the reports say so once, not once per test (issue 20). A
    subject two causes moved goes with the first, the most telling.
    """
    remaining = dict.fromkeys(subjects)
    shared: dict[tuple[str, str], Cause] = {}
    for cause in causes:
        members = [subject for subject in remaining if subject in cause.subjects and subject not in shared]
        if len(members) > GROUP_NAMES:
            shared.update(dict.fromkeys(members, cause))
    return shared


def count_subjects(subjects: list[tuple[str, str]]) -> str:
    """ "2 tests and 1 URL": how many (kind, name) subjects, per kind, the unit every report counts in."""
    tests = sum(1 for kind, _ in subjects if kind == "test")
    urls = len(subjects) - tests
    return " and ".join(part for part in (_plural(tests, "test"), _plural(urls, "URL")) if part) or "0 tests"


def short_test_names(node_ids: list[str]) -> dict[str, str]:
    """Each node id by its last part (``test_detail``), or as many parts as it takes to tell it from the others listed.

    Two ``test_detail`` in different classes read ``ShopTests::test_detail``
    and ``CartTests::test_detail``, not the same name twice.
    """
    parts = {node_id: node_id.split("::") for node_id in node_ids}
    depth = dict.fromkeys(node_ids, 1)
    while True:
        names = {node_id: "::".join(parts[node_id][-depth[node_id] :]) for node_id in node_ids}
        seen: dict[str, list[str]] = {}
        for node_id, name in names.items():
            seen.setdefault(name, []).append(node_id)
        clashing = [node_id for same in seen.values() if len(same) > 1 for node_id in same if depth[node_id] < len(parts[node_id])]
        if not clashing:
            return names
        for node_id in clashing:
            depth[node_id] += 1


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"−{abs(value):,}"


def _plural(count: int, noun: str) -> str:
    return "" if count == 0 else f"{count:,} {noun}{'s' if count != 1 else ''}"
