"""SQL queries on every Django database alias: caught (the patching) and grouped (``summarise``).

Each query is located by ``collect/callsite.py`` (the project frame that
asked, its function, the template line, the relation; plumbing, warm-up)
and given its shape by ``collect/sql_shape.py`` (pure); this module patches
Django to catch the queries and groups them per shape and call site.

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

Two kinds of query are told apart rather than left out (``summarise``):

- *Warm-up*: a query issued while a function that fills a per-process cache
  is on the stack (``callsite.WARMUP_FUNCTIONS``: Django's ContentType and Site
  caches, plus those the budget file names). Whichever test first needs the
  cache pays for it, so it moves with test order and xdist distribution: it
  is counted as ``warmup_queries``, outside every compared count. Nothing is
  pre-filled or cleared; ``queries + warmup_queries`` is what
  ``assertNumQueries`` counts.
- *Test code*: a group whose call site is a test module. Its repetitions are
  the test's own doing (four lines of set-up, a loop creating fixtures), so
  they are flagged ``n_plus_one_in_tests``, reported apart, never judged.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from time import perf_counter
from types import CodeType
from typing import Any

from perfbudget.collect.callsite import Locator, is_test_file
from perfbudget.collect.django import django_configured
from perfbudget.collect.django_frames import function_name
from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, QueryEvent, Recorder
from perfbudget.collect.sql_shape import KINDS, shape_of
from perfbudget.run.model import SqlGroup

MAX_STORED_PARAMS = 10  # distinct parameter sets kept per group with --perf-sql-params


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Catch the queries of every connection, now and later; returns the remover."""
    from django.db import connections
    from django.db.backends.base import base as backend_base
    from django.db.utils import ConnectionHandler

    # The warm-up functions are looked up at the first query once Django is set up, inside
    # a test: a bad name's warning is then that test's, which xdist forwards too.
    locate = Locator(settings.rootdir, settings).locate
    emit_query = recorder.emit_query

    def execute_wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        """Every cursor query: the hot path, so one tuple, no call that could be inlined (issue 8).

        The parameters are turned to text here, once per query rather than
        once per open recording. A ``__repr__`` that raises must not become
        the test's error: such parameters are told apart by identity instead.
        """
        if not recorder.active:
            return execute(sql, params, many, context)
        started = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            duration = (perf_counter() - started) * 1000.0
            site = locate(sys._getframe(1))
            if site is not None:
                text = None
                if params is not None:
                    try:
                        text = repr(params)
                    except Exception:
                        text = object.__repr__(params)
                # One tuple kept per query: the site's is freed at once (a second one kept per query
                # doubled the garbage collector's work, issue 8).
                emit_query((context["connection"].alias, sql, text, duration, recorder.scope) + site)  # noqa: RUF005 (faster than *site)

    original_debug_transaction = backend_base.debug_transaction

    @contextlib.contextmanager
    def debug_transaction(connection: Any, sql: str) -> Iterator[None]:
        """BEGIN/COMMIT/ROLLBACK that Django runs on the DB-API connection, outside any cursor."""
        if not recorder.active:
            with original_debug_transaction(connection, sql):
                yield
            return
        started = perf_counter()
        try:
            with original_debug_transaction(connection, sql):
                yield
        finally:
            duration = (perf_counter() - started) * 1000.0
            site = locate(sys._getframe(1))
            if site is not None:
                emit_query((connection.alias, sql, None, duration, recorder.scope) + site)  # noqa: RUF005

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


# --- summary -------------------------------------------------------------------

# A group's identity while summarising: database, normalized SQL, the call site
# as the event has it (path, line; template and line), turned into "path:line"
# strings once per group, and whether it is warm-up.
_GroupKey = tuple[str, str, str | None, int, tuple[str, int] | None, bool]

_SQL, _PARAMS, _DURATION, _SCOPE, _RELATION = itemgetter(1), itemgetter(2), itemgetter(3), itemgetter(4), itemgetter(10)  # of a QueryEvent


@dataclass(slots=True)
class _Group:
    kind: str
    events: list[QueryEvent] = field(default_factory=list)
    distinct: int = 0  # distinct (SQL, parameters) pairs among the events


def summarise(queries: list[QueryEvent], settings: CollectSettings) -> tuple[dict[str, float], list[SqlGroup]]:
    """Metrics and groups of one recording's queries: one pass over the events, then one per group.

    A group is one normalized shape issued from one call site (the frame that
    asked, and the template line when a template rendered it) on one
    database, so the same SELECT run from a view's loop and from two lines of
    its template are three groups, each pinned to its line; every call site
    keeps its own group. Warm-up queries (see the module's
    docstring) form groups of their own, flagged ``warmup``, and are counted
    only in ``warmup_queries``; every other count leaves them out, so
    ``queries + warmup_queries`` is the raw total.

    - ``duplicate_queries`` counts executions repeating an identical SQL and
      parameters on the same database, wherever they were issued from.
    - ``similar_queries`` counts executions beyond the first of each group:
      the same shape again *from the same line*. The same shape from two
      lines is not similar, however often each runs.
    - ``n_plus_one`` is the size of the largest N+1 group: a SELECT group of
      application code that repeated at least ``settings.n_plus_one_threshold``
      times within one request or one test phase (``QueryEvent`` scope), 0 if
      none. Three requests that each load the session once are no N+1, nor
      is a group whose call site is test code: ``n_plus_one_in_tests`` is
      the size of the largest of those, shown and never compared.

    A group's ``duplicates`` are its executions beyond its distinct (SQL,
    parameters) pairs; they add up to ``duplicate_queries`` unless the same
    execution came from two lines.
    """
    groups = _group(queries)
    result = [_sql_group(key, group, settings) for key, group in sorted(groups.items(), key=_most_executed_first)]
    counted = {key: group for key, group in groups.items() if not key[5]}
    warmup = len(queries) - sum(len(group.events) for group in counted.values())
    by_kind = dict.fromkeys(KINDS, 0)
    for group in result:
        if not group.warmup:
            by_kind[group.kind] += group.count
    metrics: dict[str, float] = {
        "queries": float(len(queries) - warmup),
        **{f"queries.{kind}": float(count) for kind, count in by_kind.items()},
        "duplicate_queries": float(len(queries) - warmup - _distinct_executions(counted)),
        "similar_queries": float(sum(g.count - 1 for g in result if not g.warmup)),
        "n_plus_one": float(max((g.count for g in result if g.n_plus_one), default=0)),
        "n_plus_one_in_tests": float(max((g.count for g in result if g.n_plus_one_in_tests), default=0)),
        "warmup_queries": float(warmup),
        "query_time": round(sum(map(_DURATION, queries)), 3),
    }
    return metrics, result


def _group(queries: list[QueryEvent]) -> dict[_GroupKey, _Group]:
    """The events of each group, in order.

    The only loop over every event, run once per query per open recording,
    so it does no more than find the group; counts, times and distinct
    executions are then taken per group by builtins that loop in C (issue 8).
    """
    groups: dict[_GroupKey, _Group] = {}
    for event in queries:
        database, sql, _, _, _, path, line, warmup, _, template, _ = event
        shape, kind = shape_of(sql)
        key = (database, shape, path, line, template, warmup)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(kind)
        group.events.append(event)
    for group in groups.values():
        group.distinct = _distinct_count(group.events)
    return groups


def _most_executed_first(item: tuple[_GroupKey, _Group]) -> tuple[int, str, str, str, int, tuple[str, int], bool]:
    """Sort key of the groups: most executed first, then by database, SQL and call site, lines by number (9 before 10)."""
    (database, sql, path, line, template, warmup), group = item
    return -len(group.events), database, sql, path or "", line, template or ("", 0), warmup


def _sql_group(key: _GroupKey, group: _Group, settings: CollectSettings) -> SqlGroup:
    """The group as the data model has it, its location as the ``"path:line"`` string, built here once.

    Its function is its first event's (one line is in one function), its
    relation the one all its events load, if they load the same: a group
    whose first query loads none is through no known relation.
    """
    database, sql, path, line, template, warmup = key
    events = group.events
    first = events[0]
    relation = first[10]
    if relation is not None and len(set(map(_RELATION, events))) != 1:
        relation = None
    stored = None
    if settings.store_sql_params:
        executions = dict.fromkeys(zip(map(_SQL, events), map(_PARAMS, events), strict=False))  # distinct, in order of first run
        stored = [params for _, params in executions if params is not None][:MAX_STORED_PARAMS]
    repeated = not warmup and group.kind == "select" and _repeats_in_one_scope(events, settings.n_plus_one_threshold)
    in_tests = repeated and path is not None and _is_test_path(path, settings.test_files)
    return SqlGroup(
        sql=sql,
        kind=group.kind,
        database=database,
        count=len(events),
        time_ms=round(sum(map(_DURATION, events)), 3),
        duplicates=len(events) - group.distinct,
        location=None if path is None else f"{path}:{line}",
        n_plus_one=repeated and not in_tests,
        params=stored,
        warmup=warmup,
        n_plus_one_in_tests=in_tests,
        function=None if first[8] is None else _function_name(first[8]),
        template=None if template is None else f"{template[0]}:{template[1]}",
        relation=None if relation is None else relation[0],
        fix=None if relation is None else relation[1],
    )


def _repeats_in_one_scope(events: list[QueryEvent], threshold: int) -> bool:
    """Whether ``threshold`` of the events were issued within one request or test phase."""
    if len(events) < threshold:
        return False
    scopes = Counter(map(_SCOPE, events))
    return len(scopes) == 1 or max(scopes.values()) >= threshold


@functools.lru_cache(maxsize=4096)
def _function_name(code: CodeType) -> str | None:
    """Once per code object, not per group: a run's groups come from a few hundred functions."""
    return function_name(code)


@functools.lru_cache(maxsize=4096)
def _is_test_path(path: str, patterns: tuple[str, ...]) -> bool:
    return is_test_file(path, patterns)


def _distinct_count(events: list[QueryEvent]) -> int:
    """How many distinct (SQL, parameters) pairs ``events`` hold.

    Most groups send one SQL string with varying parameters: then the
    parameters alone tell executions apart, and no pair is built per event.
    """
    if len(set(map(_SQL, events))) == 1:
        return len(set(map(_PARAMS, events)))
    return len(set(zip(map(_SQL, events), map(_PARAMS, events), strict=False)))


def _distinct_executions(groups: dict[_GroupKey, _Group]) -> int:
    """Distinct (database, SQL, parameters) executions, each counted once however many lines issued it.

    An identical SQL has one shape, so only groups of one database and shape
    can share executions; a shape issued from a single line needs no merging.
    """
    by_shape: defaultdict[tuple[str, str], list[_Group]] = defaultdict(list)
    for (database, shape, _, _, _, _), group in groups.items():
        by_shape[(database, shape)].append(group)
    return sum(
        same[0].distinct if len(same) == 1 else _distinct_count([event for group in same for event in group.events])
        for same in by_shape.values()
    )
