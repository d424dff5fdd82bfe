"""What the SQL collector judges, in process on a real SQLite database: N+1 scopes, test code, cache warm-up.

An N+1 is one SELECT shape repeated from one call site within one request or
one test phase (``Recorder.scope``); a group in test code is flagged apart;
a query issued under a function that fills a per-process cache is warm-up,
outside the compared counts, and ``queries + warmup_queries`` is still what
Django's ``CaptureQueriesContext`` counts.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfbudget.collect.callsite import is_test_file
from perfbudget.collect.recording import CollectSettings, Recorder
from perfbudget.collect.sql import summarise
from tests.support.django import REPO_ROOT, Collectors, installed
from tests.test_collect_sql import event

SELECT = 'SELECT * FROM "a" WHERE "a"."id" = %s'
APP = "app/views.py:7"


def _metrics(queries: list, **settings: object) -> tuple[dict[str, float], list]:
    return summarise(queries, CollectSettings(rootdir=REPO_ROOT, **settings))  # type: ignore[arg-type]


# --- pure: scopes, threshold, test code, warm-up -------------------------------------


def test_one_select_once_in_each_of_three_scopes_is_no_n_plus_one() -> None:
    """Three requests that each load the session: one group of 3, but once per request."""
    metrics, groups = _metrics([event("default", SELECT, (n,), 1.0, APP, scope=n) for n in (1, 2, 3)])
    assert (groups[0].count, groups[0].n_plus_one, metrics["n_plus_one"]) == (3, False, 0)
    assert metrics["similar_queries"] == 2  # the per-test group totals stay as they are


def test_three_in_one_scope_is_an_n_plus_one_and_the_group_keeps_its_total() -> None:
    queries = [event("default", SELECT, (n,), 1.0, APP, scope=1) for n in range(3)]
    queries.append(event("default", SELECT, (9,), 1.0, APP, scope=2))
    metrics, groups = _metrics(queries)
    assert (groups[0].count, groups[0].n_plus_one, metrics["n_plus_one"]) == (4, True, 4)


def test_the_threshold_is_configurable() -> None:
    queries = [event("default", SELECT, (n,), 1.0, APP) for n in range(3)]
    assert _metrics(queries, n_plus_one_threshold=4)[0]["n_plus_one"] == 0
    assert _metrics(queries[:2], n_plus_one_threshold=2)[0]["n_plus_one"] == 2


def test_four_lines_issuing_one_shape_are_four_groups_and_no_n_plus_one() -> None:
    metrics, groups = _metrics([event("default", SELECT, (n,), 1.0, f"app/views.py:{n}") for n in range(1, 5)])
    assert [(g.location, g.count, g.n_plus_one) for g in groups] == [(f"app/views.py:{n}", 1, False) for n in range(1, 5)]
    assert (metrics["n_plus_one"], metrics["similar_queries"]) == (0, 0)


def test_repeats_from_test_code_are_flagged_apart_and_not_judged() -> None:
    queries = [event("default", SELECT, (n,), 1.0, "tests/test_views.py:12") for n in range(5)]
    queries += [event("default", SELECT, (n,), 1.0, APP) for n in range(3)]
    metrics, groups = _metrics(queries)
    assert [(g.location, g.n_plus_one, g.n_plus_one_in_tests) for g in groups] == [
        ("tests/test_views.py:12", False, True),
        (APP, True, False),
    ]
    assert (metrics["n_plus_one"], metrics["n_plus_one_in_tests"]) == (3, 5)


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("tests/test_views.py", ("test_*.py",), True),
        ("shop/views_test.py", ("*_test.py",), True),
        ("tests/conftest.py", ("conftest.py",), True),
        ("shop/views.py", ("test_*.py", "*_test.py", "conftest.py"), False),
        ("shop/testing.py", ("test_*.py",), False),
        ("shop/checks/views.py", ("checks/*.py",), True),  # a pattern with a "/" matches the path
        ("/abs/elsewhere/test_x.py", ("test_*.py",), True),
    ],
)
def test_what_counts_as_test_code(path: str, patterns: tuple[str, ...], expected: bool) -> None:
    assert is_test_file(path, patterns) is expected


def test_warm_up_queries_are_kept_out_of_every_compared_count() -> None:
    queries = [
        event("default", 'SELECT * FROM "django_content_type" WHERE "app_label" = %s', ("a",), 1.0, APP, warmup=True),
        event("default", 'SELECT * FROM "django_content_type" WHERE "app_label" = %s', ("b",), 1.0, APP, warmup=True),
        event("default", 'SELECT * FROM "django_content_type" WHERE "app_label" = %s', ("c",), 1.0, APP, warmup=True),
        event("default", SELECT, (1,), 2.0, APP),
    ]
    metrics, groups = _metrics(queries)
    assert (metrics["queries"], metrics["queries.select"], metrics["warmup_queries"]) == (1, 1, 3)
    assert (metrics["similar_queries"], metrics["duplicate_queries"], metrics["n_plus_one"]) == (0, 0, 0)
    assert metrics["query_time"] == 5.0  # time is time: every query's
    assert [(g.count, g.warmup, g.n_plus_one) for g in groups] == [(3, True, False), (1, False, False)]


def test_recorder_scopes_follow_requests_and_phases() -> None:
    recorder = Recorder()
    whole = recorder.start()
    setup = recorder.scope
    suspension = recorder.suspend()  # between setup and call
    assert recorder.scope == 0
    recorder.resume(suspension)
    call = recorder.start()
    assert recorder.scope == call.scope not in (0, setup)
    request = recorder.start()
    assert recorder.scope == request.scope != call.scope
    recorder.stop(request)
    assert recorder.scope == call.scope  # back in the call phase, outside the request
    recorder.stop(call)
    recorder.resume(recorder.suspend())  # teardown
    assert recorder.scope == whole.scope not in (setup, call.scope, request.scope)
    recorder.stop(whole)
    assert recorder.scope == 0


# --- the collector on a real database ------------------------------------------------

_CALLS: list[int] = []


def cached_author_count() -> int:
    """A project function that fills a per-process cache (the budget file would name it)."""
    if not _CALLS:
        _CALLS.append(_count_authors())
    return _CALLS[0]


def _count_authors() -> int:
    from perfapp.models import Author  # type: ignore[import-not-found]

    return Author.objects.count()


@pytest.fixture
def warm_collectors(collectors: Collectors, request: pytest.FixtureRequest) -> Iterator[Collectors]:
    """Collectors installed with this module's ``cached_author_count`` as a warm-up function, the ContentType table made."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    if ContentType._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(ContentType)
    ContentType.objects.clear_cache()
    _CALLS.clear()
    names = getattr(request, "param", (f"{__name__}.cached_author_count",))
    settings = dataclasses.replace(
        collectors.settings, test_files=(), warmup_functions=tuple((name, "perfbudget.yaml:7: sql.warmup_functions[1]") for name in names)
    )
    try:
        with installed(settings) as found:
            yield found
    finally:
        ContentType.objects.clear_cache()


def test_content_type_cache_fills_are_warm_up_and_the_raw_total_matches_django(warm_collectors: Collectors) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from perfapp.models import Author, Post

    totals = []
    for _ in range(2):  # the first time fills the cache, the second finds it there
        with warm_collectors.record() as recording, CaptureQueriesContext(connection) as captured:
            ContentType.objects.get_for_model(Author)
            ContentType.objects.get_for_models(Author, Post)
            Author.objects.count()
        metrics, details = warm_collectors.summarise(recording)
        assert metrics["queries"] + metrics["warmup_queries"] == len(captured)
        totals.append((metrics["queries"], metrics["warmup_queries"]))
        assert all(group.warmup for group in details.sql_groups if "django_content_type" in group.sql)
    cold, warm = totals
    assert cold[0] == warm[0] == 1  # the test's own query, whichever test came first
    assert cold[1] >= 2 and warm[1] == 0  # get_for_model's lookups (and creations), then nothing
    assert ContentType.objects.get_for_model(Author).model == "author"  # the cache still works: nothing cleared


def test_a_function_named_in_the_budget_file_is_warm_up_even_through_a_helper(warm_collectors: Collectors) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with warm_collectors.record() as recording, CaptureQueriesContext(connection) as captured:
        cached_author_count()  # queries in _count_authors, a helper it calls
        _count_authors()  # the same query, not under the warm-up function
    metrics, details = warm_collectors.summarise(recording)
    assert (metrics["queries"], metrics["warmup_queries"], len(captured)) == (1, 1, 2)
    assert [(g.count, g.warmup) for g in details.sql_groups] == [(1, False), (1, True)]


@pytest.mark.parametrize("warm_collectors", [("tests.no_such_module.f", f"{__name__}.nothing_here", f"{__name__}._CALLS")], indirect=True)
def test_a_bad_warm_up_name_is_a_warning_naming_the_budget_file_never_an_error(warm_collectors: Collectors) -> None:
    with warnings.catch_warnings(record=True) as caught, warm_collectors.record() as recording:
        warnings.simplefilter("always")
        cached_author_count()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3 and all(m.startswith("perfbudget: perfbudget.yaml:7: sql.warmup_functions[1]: ") for m in messages)
    assert "'tests.no_such_module.f'" in messages[0] and "nothing_here" in messages[1] and "not a function" in messages[2]
    assert warm_collectors.summarise(recording)[0]["queries"] == 1  # counted as usual


def test_a_bad_warm_up_name_under_w_error_does_not_break_the_query(warm_collectors: Collectors) -> None:
    from perfapp.models import Author

    locator_settings = warm_collectors.settings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recorder = Recorder()
        from perfbudget.collect import sql

        uninstall = sql.install(recorder, dataclasses.replace(locator_settings, warmup_functions=(("nope.nope", "x:1: k"),)))
        try:
            recording = recorder.start()
            assert Author.objects.count() == 0
            recorder.stop(recording)
        finally:
            uninstall()
    assert len(recording.queries) == 1


def test_a_loop_in_test_code_is_an_n_plus_one_in_tests(collectors: Collectors) -> None:
    from perfapp.models import Author

    with collectors.record() as recording:
        for name in "abc":
            line = sys._getframe().f_lineno + 1
            Author.objects.filter(name=name).exists()
    metrics, details = collectors.summarise(recording)
    assert (metrics["n_plus_one"], metrics["n_plus_one_in_tests"]) == (0, 3)
    assert [(g.location, g.n_plus_one_in_tests) for g in details.sql_groups] == [(f"tests/{Path(__file__).name}:{line}", True)]
