"""SQL queries on every Django database alias: caught, located, normalized and grouped.

What is counted is what Django's ``assertNumQueries`` and pytest-django's
``django_assert_num_queries`` count: every statement sent through a Django
cursor (``execute`` and ``executemany``, savepoints of ``transaction.atomic``
included) plus the ``BEGIN``/``COMMIT``/``ROLLBACK`` Django issues outside a
cursor. Two hooks catch them: an execute wrapper (Django's sanctioned hook)
put on each connection, including those created later (another thread, an
``override_settings``) through ``ConnectionHandler.create_connection``, and
a wrapper around Django's ``debug_transaction``. Left out is the test framework's plumbing: the
transactions, savepoints, constraint checks, fixture loading and flushes that
Django's ``TestCase``/``TransactionTestCase`` (and pytest-django's ``db``
fixtures, built on them) run around a test to give it a clean database,
recognised by the ``django.test.testcases`` function that issued them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import sysconfig
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from perfbudget.collect.django import django_configured
from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, QueryEvent, Recorder
from perfbudget.run.model import SqlGroup

N_PLUS_ONE_THRESHOLD = 3  # the same normalized SELECT this many times in one test or request
MAX_STORED_PARAMS = 10  # distinct parameter sets kept per group with --perf-sql-params

KINDS = ("select", "insert", "update", "delete", "other")

# Functions of django/test/testcases.py that exist to isolate tests from each
# other, not to run the test: their queries are plumbing. pytest-django's
# ``db``/``transactional_db`` fixtures go through them too; data its fixtures
# create for a test (``admin_user``...) is the test's set-up and counts.
_PLUMBING_FUNCTIONS = frozenset(
    {
        "setUpClass",
        "tearDownClass",
        "_enter_atomics",
        "_rollback_atomics",
        "_pre_setup",
        "_post_teardown",
        "_fixture_setup",
        "_fixture_teardown",
        "_reset_sequences",
    }
)

# How a source file counts when looking for the code that issued a query.
_LIBRARY, _PROJECT, _TESTCASES = range(3)


class Locator:
    """Finds the first project frame of the current stack, and spots test-framework plumbing.

    Each file is classified once (a dict lookup per frame after that), and the
    walk stops at the first project frame, so locating a query costs a few
    microseconds however many queries a test makes.
    """

    def __init__(self, rootdir: Path) -> None:
        import django

        import perfbudget

        self._rootdir = str(rootdir.resolve())
        self._library_dirs = tuple(
            os.path.join(os.path.realpath(path), "")
            for path in {
                *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
                os.path.dirname(django.__file__),
                os.path.dirname(perfbudget.__file__),
            }
        )
        self._testcases = os.path.realpath(os.path.join(os.path.dirname(django.__file__), "test", "testcases.py"))
        self._kinds: dict[str, int] = {}
        self._names: dict[str, str] = {}

    def locate(self, frame: FrameType | None) -> tuple[bool, str | None]:
        """``(is_plumbing, "path:line" of the first project frame or None)``, walking outwards from ``frame``."""
        kinds = self._kinds
        while frame is not None:
            filename = frame.f_code.co_filename
            kind = kinds.get(filename)
            if kind is None:
                kind = kinds[filename] = self._classify(filename)
            if kind == _PROJECT:
                return False, f"{self._names[filename]}:{frame.f_lineno}"
            if kind == _TESTCASES and frame.f_code.co_name in _PLUMBING_FUNCTIONS:
                return True, None
            frame = frame.f_back
        return False, None

    def _classify(self, filename: str) -> int:
        if filename.startswith("<"):  # <frozen ...>, <string>, <stdin>
            return _LIBRARY
        path = os.path.realpath(filename)
        if path == self._testcases:
            return _TESTCASES
        parts = Path(path).parts
        if "site-packages" in parts or "dist-packages" in parts or path.startswith(self._library_dirs):
            return _LIBRARY
        name = os.path.relpath(path, self._rootdir) if path.startswith(os.path.join(self._rootdir, "")) else path
        self._names[filename] = name.replace(os.sep, "/")
        return _PROJECT


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Catch the queries of every connection, now and later; returns the remover."""
    from django.db import connections
    from django.db.backends.base import base as backend_base
    from django.db.utils import ConnectionHandler

    locator = Locator(settings.rootdir)

    def record(alias: str, sql: str, params: Any, started: float, frame: FrameType | None) -> None:
        duration = (time.perf_counter() - started) * 1000.0
        plumbing, location = locator.locate(frame)
        if not plumbing:
            recorder.emit(QueryEvent(alias, sql, params, duration, location))

    def execute_wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if not recorder.active:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            record(context["connection"].alias, sql, params, started, sys._getframe(1))

    original_debug_transaction = backend_base.debug_transaction

    @contextlib.contextmanager
    def debug_transaction(connection: Any, sql: str) -> Iterator[None]:
        """BEGIN/COMMIT/ROLLBACK that Django runs on the DB-API connection, outside any cursor."""
        if not recorder.active:
            with original_debug_transaction(connection, sql):
                yield
            return
        started = time.perf_counter()
        try:
            with original_debug_transaction(connection, sql):
                yield
        finally:
            record(connection.alias, sql, None, started, sys._getframe(1))

    instrumented: weakref.WeakSet[Any] = weakref.WeakSet()

    def instrument(connection: Any) -> None:
        if execute_wrapper not in connection.execute_wrappers:
            # First in the list = outermost, and safe from the pop() of a
            # user's ``with connection.execute_wrapper(...)`` block.
            connection.execute_wrappers.insert(0, execute_wrapper)
            instrumented.add(connection)

    original_create = ConnectionHandler.create_connection

    def create_connection(handler: Any, alias: str) -> Any:
        connection = original_create(handler, alias)
        instrument(connection)
        return connection

    if django_configured():
        for connection in connections.all(initialized_only=True):
            instrument(connection)
    undos = [
        patch(ConnectionHandler, "create_connection", create_connection),
        patch(backend_base, "debug_transaction", debug_transaction),
    ]

    def uninstall() -> None:
        undo_all(undos)()
        for connection in list(instrumented):
            with contextlib.suppress(ValueError):
                connection.execute_wrappers.remove(execute_wrapper)

    return uninstall


# --- normalization -------------------------------------------------------------

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
_KIND_OF_WORD = {"select": "select", "with": "select", "insert": "insert", "replace": "insert",
                 "update": "update", "delete": "delete"}  # fmt: skip


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


def kind_of(sql: str) -> str:
    """select, insert, update, delete or other, from the statement's first keyword."""
    match = _FIRST_WORD.match(sql)
    return _KIND_OF_WORD.get(match.group(1).lower(), "other") if match else "other"


@functools.lru_cache(maxsize=4096)
def shape_of(sql: str) -> tuple[str, str]:
    """``(normalize(sql), kind_of(sql))``, computed once per distinct SQL string in the session.

    A query is summarised for its test, its call phase and its request, and
    the ORM sends the same few SQL strings (parameters apart) again and again:
    normalizing every time was the recorder's largest cost (profiled on a
    300-test suite). Bounded, so raw SQL with inlined literals cannot grow it
    without limit.
    """
    return normalize(sql), kind_of(sql)


# --- summary -------------------------------------------------------------------


@dataclass
class _Group:
    kind: str
    location: str | None
    count: int = 0
    time_ms: float = 0.0
    executions: set[tuple[str, str]] = field(default_factory=set)  # distinct (SQL, parameters)
    params: list[str] = field(default_factory=list)


def summarise(queries: list[QueryEvent], settings: CollectSettings) -> tuple[dict[str, float], list[SqlGroup]]:
    """Metrics and groups of one recording's queries, in one linear pass.

    ``duplicate_queries`` counts executions repeating an identical SQL and
    parameters; ``similar_queries`` counts executions beyond the first of each
    normalized shape; ``n_plus_one`` is the size of the largest SELECT group
    repeated at least ``N_PLUS_ONE_THRESHOLD`` times (0 if none).
    """
    groups: dict[tuple[str, str], _Group] = {}
    by_kind = dict.fromkeys(KINDS, 0)
    total_ms = 0.0
    for query in queries:
        shape = shape_of(query.sql)
        group = groups.get((query.database, shape[0]))
        if group is None:
            group = groups[(query.database, shape[0])] = _Group(kind=shape[1], location=query.location)
        group.count += 1
        group.time_ms += query.duration_ms
        params = repr(query.params)
        execution = (query.sql, params)
        if execution not in group.executions:
            group.executions.add(execution)
            if settings.store_sql_params and len(group.params) < MAX_STORED_PARAMS and query.params is not None:
                group.params.append(params)
        by_kind[shape[1]] += 1
        total_ms += query.duration_ms

    result = [
        SqlGroup(
            sql=sql,
            kind=group.kind,
            database=database,
            count=group.count,
            time_ms=round(group.time_ms, 3),
            duplicates=group.count - len(group.executions),
            location=group.location,
            n_plus_one=group.kind == "select" and group.count >= N_PLUS_ONE_THRESHOLD,
            params=group.params if settings.store_sql_params else None,
        )
        for (database, sql), group in groups.items()
    ]
    result.sort(key=lambda g: (-g.count, g.database, g.sql))
    metrics: dict[str, float] = {
        "queries": float(len(queries)),
        **{f"queries.{kind}": float(count) for kind, count in by_kind.items()},
        "duplicate_queries": float(sum(g.duplicates for g in result)),
        "similar_queries": float(sum(g.count - 1 for g in result)),
        "n_plus_one": float(max((g.count for g in result if g.n_plus_one), default=0)),
        "query_time": round(total_ms, 3),
    }
    return metrics, result
