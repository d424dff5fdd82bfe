"""The SQL collector, in process, on a real SQLite database: counts, groups, locations, plumbing.

Counts are checked exactly and, where Django can say, against Django's own
``CaptureQueriesContext`` (what ``assertNumQueries`` counts), since that is
the number a user compares ours with.
"""

from __future__ import annotations

import dataclasses
import sys
import unittest
from typing import ClassVar

import pytest

from perfbudget.collect import summary
from perfbudget.collect.recording import CollectSettings, QueryEvent
from perfbudget.collect.sql import summarise
from perfbudget.collect.sql_shape import normalize, shape_of, statement_kind
from tests.support.django import REPO_ROOT, Collectors, make_posts

THIS_FILE = "tests/test_collect_sql.py"


def event(
    database: str, sql: str, params: object, duration_ms: float, location: str | None, scope: int = 1, warmup: bool = False
) -> QueryEvent:
    """A query as the collector records it, from the parameters themselves and a ``"path:line"``."""
    path, line = location.rsplit(":", 1) if location is not None else (None, "0")
    return (database, sql, None if params is None else repr(params), duration_ms, scope, path, int(line), warmup, None, None, None)


def _only(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {name: value for name, value in metrics.items() if name == prefix or name.startswith(prefix + ".")}


# --- normalization and kinds (pure) ---------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('SELECT "a"."id" FROM "a" WHERE "a"."id" = %s LIMIT 21', 'SELECT "a"."id" FROM "a" WHERE "a"."id" = %s LIMIT %s'),
        ("SELECT * FROM t WHERE name = 'O''Brien' AND x = 3.5", "SELECT * FROM t WHERE name = %s AND x = %s"),
        ('SELECT * FROM "t2" WHERE "t2"."id" IN (%s, %s, %s)', 'SELECT * FROM "t2" WHERE "t2"."id" IN (...)'),
        ("SELECT * FROM t WHERE id IN (1,2)", "SELECT * FROM t WHERE id IN (...)"),
        (
            'INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s) RETURNING "t"."id"',
            'INSERT INTO "t" ("a", "b") VALUES (...) RETURNING "t"."id"',
        ),
        ('SAVEPOINT "s140235_x12"', "SAVEPOINT %s"),
        ("SELECT  *\n  FROM t", "SELECT * FROM t"),
        ('SELECT * FROM t WHERE id IN (SELECT "u"."id" FROM u)', 'SELECT * FROM t WHERE id IN (SELECT "u"."id" FROM u)'),
    ],
)
def test_normalize_folds_literals_and_lists(sql: str, expected: str) -> None:
    assert normalize(sql) == expected


def test_normalize_gives_one_shape_to_in_lists_and_bulk_inserts_of_any_size() -> None:
    assert normalize("SELECT 1 FROM t WHERE id IN (%s)") == normalize("SELECT 1 FROM t WHERE id IN (%s, %s, %s, %s)")
    one_row = 'INSERT INTO "t" ("a") VALUES (%s)'
    assert normalize(one_row) == normalize('INSERT INTO "t" ("a") VALUES (%s), (%s), (%s)')


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "select"),
        ("  (SELECT 1) UNION (SELECT 2)", "select"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "select"),
        ("/* comment */ insert into t values (1)", "insert"),
        ("UPDATE t SET a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ('SAVEPOINT "s1_x1"', "other"),
        ("PRAGMA foreign_keys", "other"),
        ("", "other"),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind


def test_summarise_counts_duplicates_similar_and_n_plus_one_from_events() -> None:
    select = 'SELECT * FROM "a" WHERE "a"."id" = %s'
    queries = [
        event("default", select, (1,), 1.0, "app.py:3"),
        event("default", select, (2,), 1.0, "app.py:3"),
        event("default", select, (2,), 1.0, "app.py:3"),  # duplicate of the one before
        event("default", 'UPDATE "a" SET "n" = %s', (5,), 2.0, "app.py:9"),
        event("default", 'UPDATE "a" SET "n" = %s', (6,), 2.0, "app.py:9"),
        event("default", 'UPDATE "a" SET "n" = %s', (7,), 2.0, "app.py:9"),  # repeated, but no SELECT
        event("other", select, (1,), 0.5, "app.py:12"),  # another database: its own group
    ]
    metrics, groups = summarise(queries, CollectSettings(rootdir=REPO_ROOT))
    assert metrics == {
        "queries": 7.0,
        "queries.select": 4.0,
        "queries.insert": 0.0,
        "queries.update": 3.0,
        "queries.delete": 0.0,
        "queries.other": 0.0,
        "duplicate_queries": 1.0,
        "similar_queries": 4.0,
        "n_plus_one": 3.0,
        "n_plus_one_in_tests": 0.0,
        "warmup_queries": 0.0,
        "query_time": 9.5,
    }
    shapes = [(g.database, g.kind, g.count, g.duplicates, g.n_plus_one, g.location, g.params) for g in groups]
    assert shapes == [
        ("default", "select", 3, 1, True, "app.py:3", None),
        ("default", "update", 3, 0, False, "app.py:9", None),
        ("other", "select", 1, 0, False, "app.py:12", None),
    ]


def test_each_distinct_sql_is_normalized_once_however_often_it_is_summarised() -> None:
    sql = 'SELECT * FROM "shape_once" WHERE "id" = %s'
    queries = [event("default", sql, (n,), 1.0, None) for n in range(5)]
    shape_of.cache_clear()
    for _ in range(3):  # a test, its call phase and a request all summarise the same events
        summarise(queries, CollectSettings(rootdir=REPO_ROOT))
    info = shape_of.cache_info()
    assert (info.misses, info.hits) == (1, 14)
    assert shape_of(sql) == (normalize(sql), "select")


def test_parameters_are_stored_only_when_asked() -> None:
    queries = [event("default", "SELECT %s", (value,), 1.0, None) for value in ("secret", "secret", "other")]
    _, groups = summarise(queries, CollectSettings(rootdir=REPO_ROOT))
    assert groups[0].params is None
    _, groups = summarise(queries, CollectSettings(rootdir=REPO_ROOT, store_sql_params=True))
    assert groups[0].params == ["('secret',)", "('other',)"]


def test_groups_are_keyed_by_shape_and_call_site() -> None:
    select = 'SELECT * FROM "a" WHERE "a"."id" = %s'
    queries = [
        event("default", select, (1,), 1.0, "app.py:10"),
        event("default", select, (2,), 1.0, "app.py:10"),
        event("default", select, (1,), 1.0, "app.py:9"),  # the same execution, from another line
        event("default", select, (3,), 1.0, "app.py:9"),
        event("default", select, (4,), 1.0, None),  # from no project code: a call site of its own
    ]
    metrics, groups = summarise(queries, CollectSettings(rootdir=REPO_ROOT))
    assert [(g.location, g.count, g.duplicates, g.n_plus_one) for g in groups] == [
        ("app.py:9", 2, 0, False),  # by line number: 9 before 10
        ("app.py:10", 2, 0, False),
        (None, 1, 0, False),
    ]
    assert [g.key for g in groups] == [
        ("default", select, "app.py:9", ""),
        ("default", select, "app.py:10", ""),
        ("default", select, "", ""),
    ]
    # Five of one shape, but at most two from any line: similar twice, no N+1; the
    # repeated execution is a duplicate although its two runs came from two lines.
    assert (metrics["similar_queries"], metrics["n_plus_one"], metrics["duplicate_queries"]) == (2, 0, 1)


def test_stored_parameters_keep_the_order_of_first_execution_up_to_the_limit() -> None:
    queries = [event("default", "SELECT %s", (n % 12,), 1.0, "app.py:1") for n in (3, 1, 3, *range(12))]
    _, groups = summarise(queries, CollectSettings(rootdir=REPO_ROOT, store_sql_params=True))
    assert groups[0].params == [repr((n,)) for n in (3, 1, 0, 2, 4, 5, 6, 7, 8, 9)]
    assert groups[0].duplicates == 3


# --- the collector on a real database ----------------------------------------------


def test_queries_by_kind_match_what_django_captures(collectors: Collectors) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from perfapp.models import Author, Post  # type: ignore[import-not-found]

    with collectors.record() as recording, CaptureQueriesContext(connection) as captured:
        author = Author.objects.create(name="a")
        Author.objects.filter(pk=author.pk).update(name="b")
        assert Author.objects.count() == 1
        Post.objects.all().delete()  # BEGIN, DELETE, COMMIT: delete() runs in a transaction
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA user_version")
    metrics, _ = collectors.summarise(recording)
    assert _only(metrics, "queries") == {
        "queries": 7.0,
        "queries.select": 1.0,
        "queries.insert": 1.0,
        "queries.update": 1.0,
        "queries.delete": 1.0,
        "queries.other": 3.0,
    }
    assert metrics["queries"] == len(captured)
    assert metrics["query_time"] > 0


def test_transactions_and_savepoints_count_as_django_counts_them(collectors: Collectors) -> None:
    """atomic() in autocommit mode: BEGIN (a cursor statement on SQLite) and COMMIT (no cursor); nested: savepoints."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from perfapp.models import Author

    with collectors.record() as recording, CaptureQueriesContext(connection) as captured:
        with transaction.atomic():
            Author.objects.create(name="outer")
            with transaction.atomic():
                Author.objects.create(name="inner")
        Author.objects.get_or_create(name="outer")
    metrics, details = collectors.summarise(recording)
    groups = details.sql_groups
    assert [q["sql"].split()[0] for q in captured] == [
        "BEGIN",
        "INSERT",
        "SAVEPOINT",
        "INSERT",
        "RELEASE",
        "COMMIT",
        "SELECT",
    ]
    assert metrics["queries"] == len(captured) == 7
    assert metrics["queries.other"] == 4
    by_sql = {g.sql: g.count for g in groups}
    assert by_sql["COMMIT"] == 1 and by_sql["SAVEPOINT %s"] == 1 and by_sql["RELEASE SAVEPOINT %s"] == 1


def test_duplicates_and_n_plus_one_on_real_queries(collectors: Collectors) -> None:
    from perfapp.models import Author, Post

    make_posts(4)
    first = Author.objects.order_by("pk").first()
    with collectors.record() as recording:
        loop_line = sys._getframe().f_lineno + 1
        names = [post.author.name for post in Post.objects.all()]  # 1 + 4: the N+1
        for _ in range(3):
            repeat_line = sys._getframe().f_lineno + 1
            Author.objects.get(pk=first.pk)  # the same SQL and parameters three times
    assert len(names) == 4
    # Judged as application code would be: this file is test code by default (see below).
    metrics, details = summary.summarise(recording, dataclasses.replace(collectors.settings, test_files=()))
    assert metrics["queries"] == 8
    assert metrics["n_plus_one"] == 4  # the author lookups of the loop; the 3 repeats are another line's group
    assert metrics["duplicate_queries"] == 3  # the first author is looked up 4 times: once new, 3 duplicates
    assert [(g.count, g.duplicates, g.kind, g.location) for g in details.n_plus_one_groups] == [
        (4, 0, "select", f"{THIS_FILE}:{loop_line}"),  # four authors, each looked up once
        (3, 2, "select", f"{THIS_FILE}:{repeat_line}"),  # one author three times: new to this line once
    ]
    # As it is: test code, whose repetitions are flagged apart and never make the n_plus_one metric.
    metrics, details = collectors.summarise(recording)
    assert (metrics["n_plus_one"], details.n_plus_one_groups) == (0, [])
    assert [(g.count, g.location) for g in details.sql_groups if g.n_plus_one_in_tests] == [
        (4, f"{THIS_FILE}:{loop_line}"),
        (3, f"{THIS_FILE}:{repeat_line}"),
    ]


def test_a_select_repeated_twice_is_not_an_n_plus_one(collectors: Collectors) -> None:
    from perfapp.models import Author

    with collectors.record() as recording:
        for name in ("x", "y"):
            Author.objects.filter(name=name).exists()  # one line, twice
    metrics, details = collectors.summarise(recording)
    groups = details.sql_groups
    assert (metrics["n_plus_one"], metrics["similar_queries"], metrics["duplicate_queries"]) == (0, 1, 0)
    assert groups[0].count == 2 and not groups[0].n_plus_one


def test_one_select_from_two_lines_is_two_groups_and_no_n_plus_one(collectors: Collectors) -> None:
    from perfapp.models import Author

    with collectors.record() as recording:
        for name in ("x", "y"):
            first_line = sys._getframe().f_lineno + 1
            Author.objects.filter(name=name).exists()
            second_line = sys._getframe().f_lineno + 1
            Author.objects.filter(name=name).exists()
    metrics, details = collectors.summarise(recording)
    assert [(g.count, g.duplicates, g.location) for g in details.sql_groups] == [
        (2, 0, f"{THIS_FILE}:{first_line}"),
        (2, 0, f"{THIS_FILE}:{second_line}"),
    ]
    assert (metrics["queries"], metrics["similar_queries"], metrics["n_plus_one"]) == (4, 2, 0)
    assert metrics["duplicate_queries"] == 2  # each name's second lookup repeats its first, from the other line


def test_parameters_are_turned_to_text_once_per_query_however_many_recordings_hold_it(collectors: Collectors) -> None:
    from django.db import connection

    reprs: list[str] = []

    class Traced(str):
        def __repr__(self) -> str:
            reprs.append(str(self))
            return str.__repr__(self)

    # A test, its call phase and a request: three open recordings.
    with collectors.record() as whole, collectors.record() as call, collectors.record() as request, connection.cursor() as cursor:
        cursor.execute("SELECT %s", [Traced("a")])
        cursor.execute("SELECT %s", [Traced("a")])
    summaries = [collectors.summarise(recording)[0] for recording in (request, call, whole)]
    assert reprs == ["a", "a"]  # once per query, not once per query per recording
    assert [(m["queries"], m["duplicate_queries"]) for m in summaries] == [(2, 1)] * 3


def test_parameters_whose_repr_raises_do_not_break_the_query(collectors: Collectors) -> None:
    from django.db import connection

    class Unprintable(str):
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    with collectors.record() as recording, connection.cursor() as cursor:
        cursor.execute("SELECT %s", [Unprintable("a")])
        assert cursor.fetchone() == ("a",)
    assert collectors.summarise(recording)[0]["queries"] == 1
    text = recording.queries[0][2]
    assert text is not None and text.startswith("<list object at ")  # told apart by identity instead


def _count_authors() -> tuple[int, int]:
    from perfapp.models import Author

    return Author.objects.count(), sys._getframe().f_lineno


def test_location_is_the_first_project_frame(collectors: Collectors) -> None:
    with collectors.record() as recording:
        _, line = _count_authors()
    groups = collectors.summarise(recording)[1].sql_groups
    assert [g.location for g in groups] == [f"{THIS_FILE}:{line}"]


def test_every_database_alias_is_recorded(collectors: Collectors) -> None:
    from perfapp.models import Author

    with collectors.record() as recording:
        Author.objects.using("other").create(name="elsewhere")
        assert Author.objects.using("other").count() == 1
        assert Author.objects.count() == 0
    metrics, details = collectors.summarise(recording)
    groups = details.sql_groups
    assert metrics["queries"] == 3
    assert sorted((g.database, g.kind) for g in groups) == [
        ("default", "select"),
        ("other", "insert"),
        ("other", "select"),
    ]


def test_a_connection_created_after_install_is_recorded(collectors: Collectors) -> None:
    """A thread gets its own connection objects, created after the collectors were installed."""
    import threading

    from django.db import connections
    from perfapp.models import Author

    def work() -> None:
        try:
            Author.objects.using("other").count()
        finally:
            connections.close_all()

    with collectors.record() as recording:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=30)
    metrics, details = collectors.summarise(recording)
    groups = details.sql_groups
    assert metrics["queries"] == 1
    assert groups[0].database == "other"


def test_test_framework_plumbing_is_left_out(collectors: Collectors) -> None:
    """A Django TestCase run inside a recording: its transactions and savepoints are not the test's queries."""
    from django.test import TestCase
    from perfapp.models import Author

    class AuthorTests(TestCase):
        databases: ClassVar[set[str]] = {"default"}

        @classmethod
        def setUpTestData(cls) -> None:
            Author.objects.create(name="from setUpTestData")

        def test_two_queries(self) -> None:
            with self.assertNumQueries(2):
                Author.objects.create(name="in the test")
                self.assertEqual(Author.objects.count(), 2)

        def test_atomic_in_a_test_case_makes_savepoints(self) -> None:
            from django.db import transaction

            with self.assertNumQueries(3), transaction.atomic():  # SAVEPOINT, INSERT, RELEASE SAVEPOINT
                Author.objects.create(name="saved")

    results = {}
    for name in ("test_two_queries", "test_atomic_in_a_test_case_makes_savepoints"):
        suite = unittest.TestSuite([AuthorTests(name)])
        with collectors.record() as recording:
            outcome = unittest.TestResult()
            suite.run(outcome)
        assert outcome.wasSuccessful(), outcome.errors + outcome.failures
        results[name] = collectors.summarise(recording)[0]
    # setUpTestData's INSERT is the class's set-up, recorded; the class-level
    # BEGIN/SAVEPOINT/ROLLBACK and per-test savepoints are not.
    assert results["test_two_queries"]["queries"] == 1 + 2
    assert results["test_atomic_in_a_test_case_makes_savepoints"]["queries"] == 1 + 3
    assert Author.objects.count() == 0  # the TestCase rolled everything back


def test_five_thousand_queries_in_one_recording(collectors: Collectors) -> None:
    from django.db import connection

    with collectors.record() as recording, connection.cursor() as cursor:
        for number in range(5000):
            cursor.execute("SELECT %s", [number])
    metrics, details = summary.summarise(recording, dataclasses.replace(collectors.settings, test_files=()))
    groups = details.sql_groups
    assert (metrics["queries"], metrics["n_plus_one"], metrics["duplicate_queries"]) == (5000, 5000, 0)
    assert len(groups) == 1 and groups[0].count == 5000
