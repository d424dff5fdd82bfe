"""Loaded by bench_noise.py in every run: says which perfbudget it loaded; on request, one change.

BENCH_INJECT is "KIND FACTOR TARGET": view-query (one extra query), view-sleep
(wait FACTOR-1 times the view's wall time), view-cpu (CPU work FACTOR-1 times
the view's CPU time), with TARGET a full route ("api/posts/<int:pk>/"); or
test-cpu, the same CPU work after one test's call phase, TARGET its node id.
"""

import functools
import inspect
import os
import sys
import time

import pytest

KIND, FACTOR, TARGET = (os.environ.get("BENCH_INJECT") or "none 1 ").split(" ", 2)
FACTOR = float(FACTOR)
LOG = os.environ.get("BENCH_LOG")


def _cpu_work(seconds):
    """A fixed amount of CPU work: a busy machine stretches its wall time, not its cost."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _log(line):
    if LOG:
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    _log("loaded " + sys.modules["perfbudget"].__file__)


def _changed(view):
    @functools.wraps(view)  # keeps the view's name and attributes (view_class, csrf_exempt)
    def changed(request, *args, **kwargs):
        _log("request " + os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0])
        if KIND == "view-query":
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        started, cpu_started = time.perf_counter(), time.process_time()
        response = view(request, *args, **kwargs)
        if KIND == "view-sleep":
            time.sleep((time.perf_counter() - started) * (FACTOR - 1))
        elif KIND == "view-cpu":
            _cpu_work((time.process_time() - cpu_started) * (FACTOR - 1))
        return response

    return changed


def _patterns(resolver, prefix=""):
    from django.urls import URLResolver

    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        else:
            yield route, pattern


def pytest_collection_finish(session):
    # Django is set up by now (the test modules imported its models), and no request has run.
    if not KIND.startswith("view-"):
        return
    from django.urls import get_resolver

    found = [pattern for route, pattern in _patterns(get_resolver()) if route == TARGET]
    if len(found) != 1 or inspect.iscoroutinefunction(found[0].callback):
        raise pytest.UsageError(f"bench_inject: {len(found)} sync views at route {TARGET!r}, expected 1")
    found[0].callback = _changed(found[0].callback)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    cpu_started = time.process_time()
    yield
    if KIND == "test-cpu" and item.nodeid == TARGET:
        _cpu_work((time.process_time() - cpu_started) * (FACTOR - 1))
        _log("request " + item.nodeid)
