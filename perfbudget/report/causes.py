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

from collections.abc import Callable

from perfbudget.compare.causes import Cause
from perfbudget.run.model import SqlGroup

MAX_CAUSES = 10  # causes a report shows in full; the rest are counted

_VERB = {"added": "new", "removed": "gone", "more": "repeats more", "fewer": "repeats less", "rewritten": "rewritten"}


def cause_line(cause: Cause, code: Callable[[str], str] = str, text: Callable[[str], str] = str, shown: int = 3) -> str:
    """The headline of a cause (``**`` marks the part Markdown makes bold), without its SQL."""
    group = cause.group
    what = text(group.kind.upper()) + (f" {code(cause.table)}" if cause.table else "")
    where = where_text(group, code)
    subjects = subjects_text(list(cause.subjects), code, shown)
    if cause.replaced is not None:
        return f"**{what} rewritten**{where}, in {subjects}"
    deltas = sorted(set(cause.deltas))
    amount = _signed(deltas[0]) if len(deltas) == 1 else f"{_signed(deltas[0])} to {_signed(deltas[-1])}"
    n_plus_one = group.n_plus_one and cause.grew
    flags = " (N+1)" if n_plus_one else ""
    fix = fix_text(group, code) if n_plus_one else ""
    return f"**{amount} {what}**{flags}{where}, {_VERB[cause.change]}, in {subjects}" + (f". {fix}" if fix else "")


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
    tests = sum(1 for kind, _ in subjects if kind == "test")
    urls = len(subjects) - tests
    counts = " and ".join(part for part in (_plural(tests, "test"), _plural(urls, "URL")) if part)
    names = ", ".join(code(name.rsplit("::", 1)[-1] if kind == "test" else name) for kind, name in subjects[:shown])
    more = f", and {len(subjects) - shown} more" if len(subjects) > shown else ""
    return f"{counts}: {names}{more}"


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"−{abs(value):,}"


def _plural(count: int, noun: str) -> str:
    return "" if count == 0 else f"{count} {noun}{'s' if count != 1 else ''}"
