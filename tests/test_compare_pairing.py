"""compare/pairing.py (pure): a run's query groups paired with the baseline's by file, function and shape, not by line.

The end-to-end counterpart, with real edits to a real Django project, is
tests/test_callsite_diffs.py; these pin the stages one at a time.
"""

from __future__ import annotations

import pytest

from perfbudget.compare.pairing import pair_groups
from perfbudget.run.model import SqlGroup

POST = 'SELECT "post"."id" FROM "post" WHERE "post"."id" = %s'
AUTHOR = 'SELECT "author"."id" FROM "author" WHERE "author"."id" = %s'


def group(location: str, count: int = 1, function: str | None = "post_list", sql: str = POST, template: str | None = None) -> SqlGroup:
    return SqlGroup(sql, "select", "default", count, 0.1, location=location, function=function, template=template)


def pairs(now: list[SqlGroup], before: list[SqlGroup]) -> set[tuple[str | None, str | None]]:
    """Each pair as (run's call site, baseline's call site), a template line after its view's."""

    def name(g: SqlGroup | None) -> str | None:
        return None if g is None else (g.location or "") + (f" {g.template}" if g.template else "")

    return {(name(a), name(b)) for a, b in pair_groups(now, before)}


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        pytest.param(
            [group("app/views.py:11"), group("app/views.py:21", sql=AUTHOR)],
            [group("app/views.py:10"), group("app/views.py:20", sql=AUTHOR)],
            {("app/views.py:11", "app/views.py:10"), ("app/views.py:21", "app/views.py:20")},
            id="a line inserted above",
        ),
        pytest.param(
            [group("app/views.py:110")],
            [group("app/views.py:10")],
            {("app/views.py:110", "app/views.py:10")},
            id="the function moved within its file",
        ),
        pytest.param(
            [group("app/lookups.py:4")],
            [group("app/queries.py:4")],
            {("app/lookups.py:4", "app/queries.py:4")},
            id="the file renamed",
        ),
        pytest.param(
            [group("app/lookups.py:4"), group("app/queries.py:9", function="other")],
            [group("app/queries.py:4"), group("app/queries.py:19", function="other")],
            {("app/lookups.py:4", "app/queries.py:4"), ("app/queries.py:9", "app/queries.py:19")},
            id="a function moved to another module",
        ),
        pytest.param(
            [group("app/views.py:11"), group("app/views.py:12")],
            [group("app/views.py:10"), group("app/views.py:11")],
            {("app/views.py:11", "app/views.py:10"), ("app/views.py:12", "app/views.py:11")},
            id="two call sites of one shape, shifted onto each other's lines, in line order",
        ),
        pytest.param(
            [group("app/views.py:110"), group("app/views.py:115"), group("app/views.py:120")],
            [group("app/views.py:10"), group("app/views.py:20")],
            {("app/views.py:110", "app/views.py:10"), ("app/views.py:120", "app/views.py:20"), ("app/views.py:115", None)},
            id="a call site of the same shape added in a moved function",
        ),
        pytest.param(
            [group("app/views.py:10")],
            [group("app/views.py:10"), group("app/views.py:30")],
            {("app/views.py:10", "app/views.py:10"), (None, "app/views.py:30")},
            id="one of two call sites removed",
        ),
        pytest.param(
            [group("app/views.py:12", template="app/list.html:6"), group("app/views.py:12", sql=AUTHOR, template="app/list.html:9")],
            [group("app/views.py:12", template="app/list.html:5"), group("app/views.py:12", sql=AUTHOR, template="app/list.html:8")],
            {
                ("app/views.py:12 app/list.html:6", "app/views.py:12 app/list.html:5"),
                ("app/views.py:12 app/list.html:9", "app/views.py:12 app/list.html:8"),
            },
            id="a line inserted in the template",
        ),
        pytest.param(
            [group("app/views.py:12", function="post_list"), group("app/views.py:31", function="archive")],
            [group("app/views.py:11", function=None), group("app/views.py:30", function=None)],
            {("app/views.py:12", "app/views.py:11"), ("app/views.py:31", "app/views.py:30")},
            id="a baseline without functions: the nearest line",
        ),
        pytest.param(
            [group("app/views.py:12", function="post_list", template="app/list.html:6")],
            [group("app/views.py:12", function=None)],
            {("app/views.py:12 app/list.html:6", "app/views.py:12")},
            id="a baseline without template lines: the view's line",
        ),
        pytest.param(
            [group("app/views.py:12", function="renamed")],
            [group("app/views.py:15", function="post_list")],
            {("app/views.py:12", None), (None, "app/views.py:15")},
            id="two functions are not paired by their lines",
        ),
        pytest.param(
            [group("app/settings.py:3", function=None)],
            [group("app/settings.py:2", function=None)],
            {("app/settings.py:3", "app/settings.py:2")},
            id="module-level code: the nearest line",
        ),
    ],
)
def test_pairs(now: list[SqlGroup], before: list[SqlGroup], expected: set[tuple[str | None, str | None]]) -> None:
    assert pairs(now, before) == expected


def test_every_group_is_in_exactly_one_pair() -> None:
    now = [group(f"app/views.py:{n}", count=n) for n in (3, 5, 8, 13)] + [group("app/other.py:1", function=None)]
    before = [group(f"app/views.py:{n}", count=n) for n in (2, 9)] + [group("app/other.py:4", function=None, sql=AUTHOR)]
    found = pair_groups(now, before)
    assert sorted(id(a) for a, _ in found if a is not None) == sorted(map(id, now))
    assert sorted(id(b) for _, b in found if b is not None) == sorted(map(id, before))
