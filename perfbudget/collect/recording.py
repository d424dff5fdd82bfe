"""Recordings: the facts gathered between a start and a stop, and who receives them.

Collectors install their hooks once per session and, whenever something
happens (a query, a connection, a cache call...), ``emit`` an event to the
``Recorder`` (``emit_query`` for a query, the hottest path of all). The
recorder hands every event to each open ``Recording``, so nested recordings
work without extra bookkeeping: the whole test, its call phase and each
test-client request are all recordings open at once, and a query inside a
request counts for all three. With nothing open, ``emit`` is a cheap no-op,
which keeps idle collectors cheap.

Events are made on the measured code's own path, so they are the cheapest
objects that will do: a plain tuple per query, a slots dataclass for the
rest, with every string a report needs built later, once per group.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import ClassVar

from perfbudget.run.metrics import N_PLUS_ONE_THRESHOLD
from perfbudget.run.model import RequestRecord

# pytest's default ``python_files``, and conftest.py: what counts as test code when nobody says otherwise.
TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")


@dataclass(frozen=True)
class CollectSettings:
    """What the user asked the collectors to do (from the plugin's options)."""

    rootdir: Path  # locations are reported relative to it
    store_sql_params: bool = False  # --perf-sql-params: keep parameter values (may hold personal data)
    memory: bool = False  # --perf-memory: trace peak memory with tracemalloc (costly)
    # Django collectors are installed: Django metrics are reported even when zero,
    # so "no queries" is a recorded fact rather than a missing value.
    django: bool = False
    # The budget file's ``sql`` section (read by every process, xdist workers included):
    # an N+1 is a SELECT repeated this often from one call site within one request or test phase,
    n_plus_one_threshold: int = N_PLUS_ONE_THRESHOLD
    # and the project's functions that fill a per-process cache, as (dotted path, where the
    # budget file names it): queries they issue are warm-up, kept apart from the compared counts.
    warmup_functions: tuple[tuple[str, str], ...] = ()
    # Globs on a file's name (or, with a "/", its path) that make it test code, whose
    # repeated queries are reported apart and never judged as N+1 (pytest's ``python_files``).
    test_files: tuple[str, ...] = TEST_FILES


# Where a query was asked for (``collect/callsite.Locator.locate``), a plain tuple:
#   path      the asking frame's file, relative to the rootdir; None if no project code asked
#   line      that frame's line, 0 if none
#   warmup    True if a function filling a per-process cache (ContentType, Site...) was on the stack
#   code      the asking frame's code object, None if none: its function ("PostList.get") is named once
#             per group, when a recording is summarised (``collect/django_frames.function_name``)
#   template  (template, line) of the template node whose rendering issued it; None outside templates
#   relation  (relation, fix), ("Post.author", 'select_related("author")'), when it loads one relation
#             the way an N+1 does; None otherwise or when that cannot be told
CallSite = tuple[str | None, int, bool, CodeType | None, tuple[str, int] | None, tuple[str, str] | None]

# One SQL query, as a plain tuple: the SQL collector makes one per query, and
# a tuple costs about 40 ns where a frozen dataclass cost 800 (issue 8). One
# flat tuple, not one holding the CallSite: a second tuple kept per query
# doubles the garbage collector's work. Its fields, in order:
#   database  the Django alias
#   sql       as sent to the cursor
#   params    repr() of the parameters, None without; only kept if the user opts in
#   duration  milliseconds
#   scope     the request or test phase it was issued in (``Recorder.scope``): N+1s are judged within one
#   ...       then the ``CallSite``'s six fields: path, line, warmup, code, template, relation
# The "path:line" strings are built once per group, when a recording is summarised.
QueryEvent = tuple[str, str, str | None, float, int, str | None, int, bool, CodeType | None, tuple[str, int] | None, tuple[str, str] | None]


@dataclass(slots=True)
class NetworkEvent:
    family: ClassVar[str] = "network"  # the ``Recording`` list it goes to

    host: str
    port: int | None
    loopback: bool
    method: str | None = None
    url: str | None = None


@dataclass(slots=True)
class CacheEvent:
    family: ClassVar[str] = "cache"

    cache: str
    operation: str
    hit: bool | None  # None for operations that neither hit nor miss (set, delete...)
    duration_ms: float


@dataclass(slots=True)
class TemplateEvent:
    family: ClassVar[str] = "templates"

    name: str
    duration_ms: float


Event = NetworkEvent | CacheEvent | TemplateEvent


@dataclass
class Recording:
    """Everything observed while this recording was open."""

    queries: list[QueryEvent] = field(default_factory=list)
    network: list[NetworkEvent] = field(default_factory=list)
    cache: list[CacheEvent] = field(default_factory=list)
    templates: list[TemplateEvent] = field(default_factory=list)
    signals: Counter[str] = field(default_factory=Counter)
    requests: list[RequestRecord] = field(default_factory=list)  # test-client requests made meanwhile
    # Clocks looked up when called, not bound at import, so a test can replace them.
    wall_start: float = field(default_factory=lambda: time.perf_counter())
    cpu_start: float = field(default_factory=lambda: time.process_time())
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    # Time spent suspended (session-scoped fixtures), left out of wall_ms/cpu_ms.
    suspended_wall: float = 0.0
    suspended_cpu: float = 0.0
    # The scope of the queries issued while this is the innermost open recording; renewed
    # after every suspension, so a test's setup and teardown are two scopes (``Recorder.scope``).
    scope: int = field(default=0, compare=False)

    def finish(self) -> None:
        self.wall_ms = max(0.0, (time.perf_counter() - self.wall_start - self.suspended_wall) * 1000.0)
        self.cpu_ms = max(0.0, (time.process_time() - self.cpu_start - self.suspended_cpu) * 1000.0)


@dataclass
class Suspension:
    """Recordings hidden by ``Recorder.suspend`` and when that happened."""

    recordings: list[Recording]
    wall_start: float
    cpu_start: float


class Recorder:
    """The session's open recordings; collectors emit to it, the plugin opens and closes.

    ``scope`` names the stretch of work a query belongs to, for judging N+1s
    within one request or one test phase: each recording, when opened, gets
    a new scope, and so does each recording resumed after a suspension (the
    plugin suspends between a test's phases). A query takes the scope of the
    innermost open recording: a test-client request's queries are the
    request's, the call phase's others are the call's, and the whole test's
    recording has one scope for its setup and another for its teardown.
    """

    def __init__(self) -> None:
        self._open: list[Recording] = []
        # Whether any recording is open. A plain attribute kept in step with
        # ``_open``, not a property: every hook reads it on every call, and
        # Python 3.11 reads a property in ~100 ns, an attribute in ~15 (issue 8).
        self.active = False
        self.scope = 0  # the innermost open recording's scope; 0 with none open
        self._scopes = itertools.count(1)

    def _update_active(self) -> None:
        """Called by every method that changes ``_open``."""
        self.active = bool(self._open)
        self.scope = self._open[-1].scope if self._open else 0

    def start(self) -> Recording:
        recording = Recording(scope=next(self._scopes))
        self._open.append(recording)
        self._update_active()
        return recording

    def stop(self, recording: Recording) -> Recording:
        recording.finish()
        # By identity: ``==`` on a dataclass compares every field, which is
        # slow for a recording full of events and wrong for two equal ones.
        for index, candidate in enumerate(self._open):
            if candidate is recording:
                del self._open[index]
                break
        self._update_active()
        return recording

    def suspend(self) -> Suspension:
        """Hide the open recordings until ``resume``: the work done meanwhile
        (a session-scoped fixture creating the test database) belongs to no test."""
        suspension = Suspension(self._open, time.perf_counter(), time.process_time())
        self._open = []
        self._update_active()
        return suspension

    def resume(self, suspension: Suspension) -> None:
        wall = time.perf_counter() - suspension.wall_start
        cpu = time.process_time() - suspension.cpu_start
        for recording in suspension.recordings:
            recording.suspended_wall += wall
            recording.suspended_cpu += cpu
            recording.scope = next(self._scopes)  # the next phase
        self._open = suspension.recordings + self._open
        self._update_active()

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every open recording, in the list its class names."""
        family = event.family
        for recording in self._open:
            getattr(recording, family).append(event)

    def emit_query(self, event: QueryEvent) -> None:
        """The SQL hot path: straight onto each open recording's queries, no dispatch."""
        for recording in self._open:
            recording.queries.append(event)

    def emit_signal(self, name: str) -> None:
        for recording in self._open:
            recording.signals[name] += 1

    def emit_request(self, request: RequestRecord) -> None:
        for recording in self._open:
            recording.requests.append(request)


class Pause:
    """One suspension of a recorder that can be ended before it began, or twice.

    The plugin pairs ``begin``/``end`` across pytest hooks and fixture
    finalizers, where one side may not run (a failed setup); both are no-ops
    when there is nothing to do.
    """

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._suspension: Suspension | None = None

    def begin(self) -> None:
        if self._suspension is None:
            self._suspension = self._recorder.suspend()

    def end(self) -> None:
        if self._suspension is not None:
            self._recorder.resume(self._suspension)
            self._suspension = None
