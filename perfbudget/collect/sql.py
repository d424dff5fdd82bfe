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

Two kinds of query are told apart rather than left out (``summarise``):

- *Warm-up*: a query issued while a function that fills a per-process cache
  is on the stack (``WARMUP_FUNCTIONS``: Django's ContentType and Site
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
import importlib
import inspect
import os
import re
import sys
import sysconfig
import warnings
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from operator import itemgetter
from pathlib import Path
from time import perf_counter
from types import FrameType
from typing import Any

from perfbudget.collect.django import django_configured
from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, QueryEvent, Recorder
from perfbudget.run.model import SqlGroup

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

# Django's functions that fill a per-process cache, by module and qualified name:
# a query issued under one is warm-up (read django/contrib/contenttypes/models.py
# and django/contrib/sites/models.py). ``_get_from_cache`` and ``clear_cache``
# never query; ``SiteManager.get_by_natural_key`` queries but caches nothing.
WARMUP_FUNCTIONS = (
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_model"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_models"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_id"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_by_natural_key"),
    ("django.contrib.sites.models", "SiteManager.get_current"),
    ("django.contrib.sites.models", "SiteManager._get_site_by_id"),
    ("django.contrib.sites.models", "SiteManager._get_site_by_request"),
)

# How a source file counts when looking for the code that issued a query: bits,
# so that a library frame (0, nearly every frame walked) costs one truth test.
_LIBRARY, _PROJECT, _TESTCASES, _WARMUP, _TEST_CODE = 0, 1, 2, 4, 8


# What ``Locator.locate`` answers for a query issued from no project code at all.
NOWHERE: tuple[str | None, int, bool] = (None, 0, False)
_NOWHERE_WARMUP: tuple[str | None, int, bool] = (None, 0, True)


class WarmupWarning(UserWarning):
    """A function the budget file names under ``sql.warmup_functions`` could not be found; the run goes on."""


class Locator:
    """Finds the first project frame of the current stack, spots test-framework plumbing and cache warm-up.

    Each file is classified once (a dict lookup per frame after that), and the
    walk stops at the first project frame, so locating a query costs a fraction
    of a microsecond per frame walked (2 for a raw cursor, 5 to 11 for the
    ORM), however many queries a test makes. It answers a path computed once
    per file, a line number and whether the query is warm-up; the
    ``"path:line"`` string is built once per group, when a recording is summarised.

    Warm-up is told by code object: the ``__code__`` of each warm-up function,
    found once Django's app registry is ready (never importing a module
    Django has not: an app that is not installed fills no cache). Only frames
    of the few files that define one are checked. Django's sit below the
    first project frame, on the way; when the budget file names project
    functions, the walk goes on past the first project frame up to the test
    code, since the function may call the code that queries.
    """

    def __init__(self, rootdir: Path, settings: CollectSettings | None = None) -> None:
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
        self._test_files = settings.test_files if settings is not None else ()
        self._project_warmup = settings.warmup_functions if settings is not None else ()
        self._warmup_ids: set[int] = set()  # id() of each warm-up code object: a code's own hash is slow
        self._warmup_codes: list[Any] = []  # keeps them alive, so their ids stay theirs
        self._walk_on = False  # a project function is warm-up: look past the first project frame
        self.pending = True  # warm-up functions not looked up yet (the app registry was not ready)

    def locate(self, frame: FrameType | None) -> tuple[str | None, int, bool] | None:
        """``(path, line, warmup)`` of the first project frame outwards from ``frame``, ``NOWHERE`` if none, None for plumbing."""
        if self.pending:
            self.resolve_warmup()
        kinds = self._kinds
        warmup = False
        while frame is not None:
            code = frame.f_code
            filename = code.co_filename
            kind = kinds.get(filename)
            if kind is None:
                kind = self._classify(filename)
            if kind:
                if kind & _WARMUP and id(code) in self._warmup_ids:
                    warmup = True
                if kind & _PROJECT:
                    if self._walk_on and not warmup and not kind & _TEST_CODE:
                        warmup = self._warmup_above(frame.f_back)
                    return self._names[filename], frame.f_lineno, warmup
                if kind & _TESTCASES and code.co_name in _PLUMBING_FUNCTIONS:
                    return None
            frame = frame.f_back
        return _NOWHERE_WARMUP if warmup else NOWHERE

    def _warmup_above(self, frame: FrameType | None) -> bool:
        """Whether a warm-up function runs further out, before the test code that called it all."""
        kinds = self._kinds
        while frame is not None:
            code = frame.f_code
            kind = kinds.get(code.co_filename)
            if kind is None:
                kind = self._classify(code.co_filename)
            if kind & _WARMUP and id(code) in self._warmup_ids:
                return True
            if kind & _TEST_CODE:
                return False
            frame = frame.f_back
        return False

    def _classify(self, filename: str) -> int:
        kind = self._classify_file(filename)
        self._kinds[filename] = kind
        return kind

    def _classify_file(self, filename: str) -> int:
        warmup = _WARMUP if any(code.co_filename == filename for code in self._warmup_codes) else 0
        if filename.startswith("<"):  # <frozen ...>, <string>, <stdin>
            return _LIBRARY | warmup
        path = os.path.realpath(filename)
        if path == self._testcases:
            return _TESTCASES
        parts = Path(path).parts
        if "site-packages" in parts or "dist-packages" in parts or path.startswith(self._library_dirs):
            return _LIBRARY | warmup
        name = os.path.relpath(path, self._rootdir) if path.startswith(os.path.join(self._rootdir, "")) else path
        name = self._names[filename] = name.replace(os.sep, "/")
        return _PROJECT | warmup | (_TEST_CODE if is_test_file(name, self._test_files) else 0)

    def resolve_warmup(self) -> None:
        """Find the warm-up functions' code objects once Django's apps are ready; never raises, a bad name is a warning."""
        try:
            from django.apps import apps

            if not apps.ready:
                return
            self.pending = False
            codes = [code for module, name in WARMUP_FUNCTIONS if (code := _loaded_code(module, name)) is not None]
            for dotted, where in self._project_warmup:
                try:
                    codes.append(_code_of(dotted))
                except Exception as exc:
                    _warn(f"perfbudget: {where}: {dotted!r} is no warm-up function: {exc}; its queries are counted as usual")
            self._warmup_codes = codes
            self._warmup_ids = {id(code) for code in codes}
            for filename in {code.co_filename for code in codes}:
                self._classify(filename)  # again, now with the warm-up bit
            self._walk_on = any(self._kinds[code.co_filename] & _PROJECT for code in codes)
        except Exception as exc:  # never the test's error: the run goes on without warm-up detection
            self.pending = False
            _warn(f"perfbudget: looking up the cache warm-up functions failed: {type(exc).__name__}: {exc}")


def is_test_file(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``path`` (relative to the rootdir, "/"-separated) is test code: a glob on its name, or on its path if the glob has a "/"."""
    name = path.rpartition("/")[2]
    return any(fnmatchcase(path, pattern) or fnmatchcase(path, "*/" + pattern) if "/" in pattern else fnmatchcase(name, pattern)
               for pattern in patterns)  # fmt: skip


def _loaded_code(module: str, qualname: str) -> Any:
    """The code of a function of an already imported module, None if it is not imported or lacks it."""
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return getattr(found, "__code__", None)


def _code_of(dotted: str) -> Any:
    """The code object of the function at ``dotted`` (``package.module.Class.method``), importing its module."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            found: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # a shorter prefix may be the module
            raise
        for index, part in enumerate(parts[split:], start=split):
            try:
                found = inspect.getattr_static(found, part)
            except AttributeError:
                raise LookupError(f"{'.'.join(parts[:index])} has no attribute {part!r}") from None
            found = getattr(found, "__func__", found)  # classmethod, staticmethod
        code = getattr(inspect.unwrap(found), "__code__", None)
        if code is None:
            raise TypeError(f"not a function but {type(found).__name__}")
        return code
    raise LookupError(f"no module {parts[0]!r} to import")


def _warn(message: str) -> None:
    # Raised inside a query of a test: -W error must not turn it into the test's failure.
    with contextlib.suppress(Exception):
        warnings.warn(WarmupWarning(message), stacklevel=3)


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
            location = locate(sys._getframe(1))
            if location is not None:
                text = None
                if params is not None:
                    try:
                        text = repr(params)
                    except Exception:
                        text = object.__repr__(params)
                path, line, warmup = location
                emit_query((context["connection"].alias, sql, text, duration, path, line, recorder.scope, warmup))

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
            location = locate(sys._getframe(1))
            if location is not None:
                path, line, warmup = location
                emit_query((connection.alias, sql, None, duration, path, line, recorder.scope, warmup))

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

# A group's identity while summarising: database, normalized SQL, the call site
# as the event has it (path, line), turned into "path:line" once per group, and
# whether it is warm-up.
_GroupKey = tuple[str, str, str | None, int, bool]

_SQL, _PARAMS, _DURATION, _SCOPE = itemgetter(1), itemgetter(2), itemgetter(3), itemgetter(6)  # fields of a QueryEvent


@dataclass(slots=True)
class _Group:
    kind: str
    events: list[QueryEvent] = field(default_factory=list)
    distinct: int = 0  # distinct (SQL, parameters) pairs among the events


def summarise(queries: list[QueryEvent], settings: CollectSettings) -> tuple[dict[str, float], list[SqlGroup]]:
    """Metrics and groups of one recording's queries: one pass over the events, then one per group.

    A group is one normalized shape issued from one call site (its first
    project frame) on one database, so the same SELECT run from a view's loop
    and once from a template are two groups, each pinned to its line; every
    call site keeps its own group. Warm-up queries (see the module's
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
    counted = {key: group for key, group in groups.items() if not key[4]}
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
        database, sql, _, _, path, line, _, warmup = event
        shape, kind = shape_of(sql)
        key = (database, shape, path, line, warmup)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(kind)
        group.events.append(event)
    for group in groups.values():
        group.distinct = _distinct_count(group.events)
    return groups


def _most_executed_first(item: tuple[_GroupKey, _Group]) -> tuple[int, str, str, str, int, bool]:
    """Sort key of the groups: most executed first, then by database, SQL and call site, lines by number (9 before 10)."""
    (database, sql, path, line, warmup), group = item
    return -len(group.events), database, sql, path or "", line, warmup


def _sql_group(key: _GroupKey, group: _Group, settings: CollectSettings) -> SqlGroup:
    """The group as the data model has it, its location as the ``"path:line"`` string, built here once."""
    database, sql, path, line, warmup = key
    events = group.events
    stored = None
    if settings.store_sql_params:
        executions = dict.fromkeys(zip(map(_SQL, events), map(_PARAMS, events)))  # distinct, in order of first run
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
    )


def _repeats_in_one_scope(events: list[QueryEvent], threshold: int) -> bool:
    """Whether ``threshold`` of the events were issued within one request or test phase."""
    if len(events) < threshold:
        return False
    scopes = Counter(map(_SCOPE, events))
    return len(scopes) == 1 or max(scopes.values()) >= threshold


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
    return len(set(zip(map(_SQL, events), map(_PARAMS, events))))


def _distinct_executions(groups: dict[_GroupKey, _Group]) -> int:
    """Distinct (database, SQL, parameters) executions, each counted once however many lines issued it.

    An identical SQL has one shape, so only groups of one database and shape
    can share executions; a shape issued from a single line needs no merging.
    """
    by_shape: defaultdict[tuple[str, str], list[_Group]] = defaultdict(list)
    for (database, shape, _, _, _), group in groups.items():
        by_shape[(database, shape)].append(group)
    return sum(
        same[0].distinct if len(same) == 1 else _distinct_count([event for group in same for event in group.events])
        for same in by_shape.values()
    )
