"""The shape of a SQL statement: literals and placeholders folded, lists collapsed, its kind from its first keyword.

Pure functions of the SQL text, no Django and no state but a bounded cache:
two queries are one group when they have one shape, so this is what makes
``WHERE id = 5`` and ``WHERE id = 7`` the same query, and it is tested as a
table (``tests/test_collect_sql_shape.py``). Its own module so that the rule
is read, and changed, apart from the patching that feeds it (STYLE.md #20).
"""

from __future__ import annotations

import functools
import re

KINDS = ("select", "insert", "update", "delete", "other")

# One pass over the SQL: quoted identifiers are kept (a savepoint's generated
# name is folded), literals and placeholders all become %s.
_TOKEN = re.compile(
    r"""(?P<ident>"(?:[^"]|"")*"|`[^`]*`)
      | (?P<literal>'(?:[^']|'')*'|\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b|%s|%\(\w+\)s|\?)""",
    re.VERBOSE,
)
_SAVEPOINT_NAME = re.compile(r'^"s\d+_x\d+"$')  # Django's savepoint ids: "s<thread>_x<counter>"
_SPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\bIN \(%s(?:, ?%s)*\)", re.IGNORECASE)
_ROW = r"\((?:[^()']|\([^()]*\))*\)"  # a VALUES row, allowing one level of nested parentheses
_VALUES_LIST = re.compile(rf"\bVALUES ?{_ROW}(?:, ?{_ROW})*", re.IGNORECASE)
_FIRST_WORD = re.compile(r"^(?:\s|\(|/\*.*?\*/|--[^\n]*\n)*(\w+)", re.DOTALL)
# What ran, as a reader names it: the first pattern that matches a shape wins, else its first keyword.
_LABELS = (
    ("COUNT", re.compile(r"^\s*SELECT\s+COUNT\(", re.IGNORECASE)),
    (
        "EXISTS",
        re.compile(r"^\s*SELECT\s+(?:\(?(?:1|%s)\)?)\s+AS\s+[\"`]?a[\"`]?\s+FROM\b.*\bLIMIT\s+(?:1|%s)\s*$", re.IGNORECASE | re.DOTALL),
    ),
    ("EXISTS", re.compile(r"^\s*SELECT\s+EXISTS\s*\(", re.IGNORECASE)),
    ("SELECT … FOR UPDATE", re.compile(r"^\s*SELECT\b.*\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE | re.DOTALL)),
    ("RELEASE SAVEPOINT", re.compile(r"^\s*RELEASE\s+SAVEPOINT\b", re.IGNORECASE)),
    ("ROLLBACK TO SAVEPOINT", re.compile(r"^\s*ROLLBACK\s+TO\s+SAVEPOINT\b", re.IGNORECASE)),
)
_KIND_OF_WORD = {"select": "select", "with": "select", "insert": "insert", "replace": "insert", "update": "update", "delete": "delete"}


def _fold_token(match: re.Match[str]) -> str:
    ident = match.group("ident")
    if ident is not None:
        return "%s" if _SAVEPOINT_NAME.match(ident) else ident
    return "%s"


def normalize(sql: str) -> str:
    """The shape of a statement: literals and placeholders as ``%s``, ``IN`` and ``VALUES`` lists as ``(...)``.

    ``WHERE id = 5`` and ``WHERE id = %s`` have one shape, as do
    ``IN (%s, %s)`` and ``IN (%s, %s, %s)``, and bulk inserts of any size.
    """
    text = _SPACE.sub(" ", _TOKEN.sub(_fold_token, sql)).strip()
    text = _IN_LIST.sub("IN (...)", text)
    return _VALUES_LIST.sub("VALUES (...)", text)


def statement_kind(sql: str) -> str:
    """select, insert, update, delete or other, from the statement's first keyword."""
    match = _FIRST_WORD.match(sql)
    return _KIND_OF_WORD.get(match.group(1).lower(), "other") if match else "other"


def statement_label(sql: str) -> str:
    """What ran, in the words a reader uses: ``COUNT``, ``EXISTS``, ``SELECT … FOR UPDATE``, ``INSERT``, ``SAVEPOINT``…

    A ``.count()`` and an ``.exists()`` are SELECTs to the database but not
    to the reader looking for the line that sent them; Django writes them as
    ``SELECT COUNT(*) AS "__count"`` and ``SELECT 1 AS "a" … LIMIT 1``.
    """
    for label, pattern in _LABELS:
        if pattern.match(sql):
            return label
    match = _FIRST_WORD.match(sql)
    if match is None:
        return "SQL"
    word = match.group(1).upper()
    return "SELECT" if word == "WITH" else word  # a common table expression reads rows


@functools.lru_cache(maxsize=4096)
def shape_of(sql: str) -> tuple[str, str]:
    """``(normalize(sql), statement_kind(sql))``, computed once per distinct SQL string in the session.

    A query is summarised for its test, its call phase and its request, and
    the ORM sends the same few SQL strings (parameters apart) again and again:
    normalizing every time was the recorder's largest cost (profiled on a
    300-test suite). Bounded, so raw SQL with inlined literals cannot grow it
    without limit.
    """
    return normalize(sql), statement_kind(sql)
