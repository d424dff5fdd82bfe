"""A cause of change in words, for every report: "+4 SELECT `blog_author` (N+1) at blog/views.py:20, new, in 2 tests ...".

A query a template rendered is placed at its template line, with the view
that rendered it ("at blog/templates/blog/archive.html:7 (view
blog/views.py:42)"); an N+1 through a known relation names it and the fix
("N+1 on `Post.author`: add `select_related("author")` to the queryset the
loop iterates"). ``where_text`` and ``fix_text`` say these for the N+1 rows too.

The Markdown comment and the terminal say the same sentence; the caller
passes how its medium shows code and free text (``code_span``/``md_text``
for Markdown, nothing for the terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from perfbudget.collect.sql_shape import statement_label
from perfbudget.compare.causes import Cause
from perfbudget.run.model import SqlGroup

MAX_CAUSES = 10  # causes a report shows in full; the rest are counted
GROUP_NAMES = 3  # subjects a cause line names; a cause that moved more is reported once for all of them
SUBJECTS_SHOWN = 10  # subjects listed under such a cause in a table; the rest are counted

_VERB = {"added": "new", "removed": "gone", "more": "repeats more", "fewer": "repeats less", "rewritten": "rewritten"}


def cause_line(cause: Cause, code: Callable[[str], str] = str, text: Callable[[str], str] = str, shown: int = 3) -> str:
    """The headline of a cause (``**`` marks the part Markdown makes bold), without its SQL; an N+1's relation and fix after it."""
    line = f"{cause_headline(cause, code, text)}, in {subjects_text(list(cause.subjects), code, shown)}"
    fix = fix_text(cause.group, code) if cause.group.n_plus_one and cause.grew and cause.replaced is None else ""
    return line + (f". {fix}" if fix else "")


def cause_headline(cause: Cause, code: Callable[[str], str] = str, text: Callable[[str], str] = str, where: bool = True) -> str:
    """What changed, where (unless ``where`` is False), without the subjects it moved: "**+4 SELECT `blog_author`** (N+1) at `blog/views.py:20`, new"."""
    group = cause.group
    what = text(statement_label(group.sql)) + (f" {code(cause.table)}" if cause.table else "")
    at = where_text(group, code) if where else ""
    if cause.replaced is not None:
        return f"**{what} rewritten**{at}"
    deltas = sorted(set(cause.deltas))
    amount = _signed(deltas[0]) if len(deltas) == 1 else f"{_signed(deltas[0])} to {_signed(deltas[-1])}"
    flags = " (N+1)" if group.n_plus_one and cause.grew else ""
    return f"**{amount} {what}**{flags}{at}, {_VERB[cause.change]}"


def where_text(group: SqlGroup, code: Callable[[str], str] = str) -> str:
    """ " at `views.py:12`", or " at `list.html:5` (view `views.py:12`)" for a template's query; "" when nowhere."""
    if group.template:
        view = f" (view {code(group.location)})" if group.location else ""
        return f" at {code(group.template)}{view}"
    return f" at {code(group.location)}" if group.location else ""


def fix_text(group: SqlGroup, code: Callable[[str], str] = str) -> str:
    """The relation an N+1 loads and the fix, when the collector could tell them; "" otherwise."""
    if not group.relation:
        return ""
    fix = f": add {code(group.fix)} to the queryset the loop iterates" if group.fix else ""
    return f"N+1 on {code(group.relation)}{fix}"


def subjects_text(subjects: list[tuple[str, str]], code: Callable[[str], str] = str, shown: int = 3) -> str:
    """ "2 tests and 1 URL: `test_a`, `test_b`, `GET /`": counts per kind, then the first few names."""
    counts = count_subjects(subjects)
    first = subjects[:shown]
    short = short_test_names([name for kind, name in first if kind == "test"])
    names = ", ".join(code(short[name] if kind == "test" else name) for kind, name in first)
    more = f", and {len(subjects) - shown} more" if len(subjects) > shown else ""
    return f"{counts}: {names}{more}"


QUERY_METRICS = ("queries", "duplicate_queries", "similar_queries", "n_plus_one")


def explained_by_queries(metric: str | None) -> bool:
    """Whether a query that changed can be what moved ``metric``: the query counts; never a time, a network call or the cache."""
    return metric is not None and (metric in QUERY_METRICS or metric.startswith("queries."))


def shared_causes(causes: list[Cause], subjects: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Cause]:
    """Each of ``subjects`` (kind, name) that a cause moved together with more than ``GROUP_NAMES`` others of them: that cause.

    One query added to a view that 1,000 tests request breaks 1,000 tests in
    one way: the reports say so once, not once per test (issue 20). A
    subject two causes moved goes with the first, the most telling. The
    caller passes only subjects whose findings a query explains
    (``explained_by_queries``): any other finding keeps its own line.
    """
    remaining = set(subjects)
    shared: dict[tuple[str, str], Cause] = {}
    for cause in causes:
        members = [subject for subject in cause.subjects if subject in remaining and subject not in shared]
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
