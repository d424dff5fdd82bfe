"""Django cache calls, by cache alias and operation, with hits and misses.

Like django-debug-toolbar's cache panel, each cache object gets its public
methods wrapped, both the caches that exist at install time and those
``CacheHandler.create_connection`` makes later (another thread, an
``override_settings(CACHES=...)``). A call made by another cache method of the
same object (``get_or_set`` calling ``get`` and ``add``, ``get_many`` calling
``get``) is part of that call, not a call of its own. The ``a``-prefixed async
methods run the sync ones in a thread, so they count as those.

Hits and misses: ``get`` hits unless the key was missing (a stored ``None``
is a hit), ``get_many`` hits or misses once per distinct key, ``get_or_set``
hits when the value was already there. Other operations neither hit nor miss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfbudget.collect.django import django_configured
from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CacheEvent, CollectSettings, Recorder
from perfbudget.run.model import CacheOp

OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "get_or_set",
    "has_key",
    "incr",
    "decr",
    "set_many",
    "delete_many",
    "clear",
    "incr_version",
    "decr_version",
)

_MISSING = object()  # passed as ``get``'s default, to tell a miss from a stored value


@dataclass(slots=True)
class ManyKeysEvent(CacheEvent):
    """A ``get_many`` call: one call, a hit or a miss per distinct key."""

    hits: int = 0
    misses: int = 0


class _InstrumentedCache:
    """The wrappers of one cache object; tracks nesting so inner calls are not counted twice."""

    def __init__(self, recorder: Recorder, cache: Any, alias: str) -> None:
        self._recorder = recorder
        self._cache = cache
        self._alias = alias
        self._depth = 0
        self._inner_hit: bool | None = None  # what the last nested ``get`` found, for get_or_set

    def wrap(self, name: str) -> Callable[..., Any]:
        original = getattr(self._cache, name)
        if name == "get":
            return self._wrap_get(original)
        if name == "get_many":
            return self._wrap_get_many(original)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not self._recorder.active or self._depth:
                return original(*args, **kwargs)
            self._inner_hit = None
            started = time.perf_counter()
            self._depth += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                hit = self._inner_hit if name == "get_or_set" else None
                self._emit(CacheEvent(self._alias, name, hit, _since(started)))

        return wrapper

    def _wrap_get(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def get(*args: Any, **kwargs: Any) -> Any:
            if not self._recorder.active:
                return original(*args, **kwargs)
            # get(key, default=None, version=None): ask with our own default.
            if len(args) >= 2:
                default, args = args[1], (args[0], _MISSING, *args[2:])
            else:
                default = kwargs.get("default")
                kwargs["default"] = _MISSING
            started = time.perf_counter()
            self._depth += 1
            try:
                value = original(*args, **kwargs)
            finally:
                self._depth -= 1
            hit = value is not _MISSING
            if self._depth:
                if self._inner_hit is None:  # get_or_set reads twice when it misses; the first read decides
                    self._inner_hit = hit
            else:
                self._emit(CacheEvent(self._alias, "get", hit, _since(started)))
            return value if hit else default

        return get

    def _wrap_get_many(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def get_many(*args: Any, **kwargs: Any) -> Any:
            if not self._recorder.active or self._depth:
                return original(*args, **kwargs)
            # get_many(keys, version=None): keys may be an iterator, read it once.
            if args:
                keys = list(args[0])
                args = (keys, *args[1:])
            else:
                keys = kwargs["keys"] = list(kwargs.get("keys", ()))
            started = time.perf_counter()
            self._depth += 1
            try:
                found = original(*args, **kwargs)
            finally:
                self._depth -= 1
            hits = len(found)
            self._emit(ManyKeysEvent(self._alias, "get_many", None, _since(started), hits, len(set(keys)) - hits))
            return found

        return get_many

    def _emit(self, event: CacheEvent) -> None:
        self._recorder.emit(event)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Wrap the caches that exist and every cache created from now on; returns the remover."""
    from django.core.cache import CacheHandler, caches

    undos: list[Undo] = []

    def instrument(cache: Any, alias: str) -> None:
        instrumented = _InstrumentedCache(recorder, cache, alias)
        for name in OPERATIONS:
            if hasattr(cache, name):
                undos.append(patch(cache, name, instrumented.wrap(name)))

    original_create = CacheHandler.create_connection

    def create_connection(handler: Any, alias: str) -> Any:
        cache = original_create(handler, alias)
        instrument(cache, alias)
        return cache

    if django_configured():
        for alias in caches:
            # What ``caches.all(initialized_only=True)`` checks, keeping the alias.
            if hasattr(caches._connections, alias):
                instrument(caches[alias], alias)
    undo_create = patch(CacheHandler, "create_connection", create_connection)

    def uninstall() -> None:
        undo_create()  # first, so no cache gets wrapped while the others are unwrapped
        undo_all(undos)()  # the list, not a copy: caches created after install are in it too

    return uninstall


def summarise(events: list[CacheEvent]) -> tuple[dict[str, float], list[CacheOp]]:
    """``cache_calls``/``cache_hits``/``cache_misses``/``cache_time`` and one ``CacheOp`` per alias and operation."""
    ops: dict[tuple[str, str], CacheOp] = {}
    for event in events:
        op = ops.get((event.cache, event.operation))
        if op is None:
            op = ops[(event.cache, event.operation)] = CacheOp(operation=event.operation, cache=event.cache)
        op.calls += 1
        op.time_ms += event.duration_ms
        if isinstance(event, ManyKeysEvent):
            op.hits += event.hits
            op.misses += event.misses
        elif event.hit is not None:
            op.hits += int(event.hit)
            op.misses += int(not event.hit)
    result = sorted(ops.values(), key=lambda op: (op.cache, op.operation))
    for op in result:
        op.time_ms = round(op.time_ms, 3)
    metrics = {
        "cache_calls": float(sum(op.calls for op in result)),
        "cache_hits": float(sum(op.hits for op in result)),
        "cache_misses": float(sum(op.misses for op in result)),
        "cache_time": round(float(sum(event.duration_ms for event in events)), 3),
    }
    return metrics, result
