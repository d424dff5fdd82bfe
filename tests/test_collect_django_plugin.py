"""``pytest --perf-budget`` on a Django project, the way users run it: pytest-django, its fixtures, a TestCase.

Each run is a subprocess (Django settings are configured once per process),
and the results JSON is checked against the numbers Django itself asserts
inside the inner tests (``django_assert_num_queries``, ``assertNumQueries``):
the inner suite passing means Django agrees with the counts checked here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.plugin import read_results, records_by_name, write_files

pytest_plugins = ["pytester"]
pytest.importorskip("pytest_django", reason="these runs use pytest-django")
pytest.importorskip("xdist", reason="the parallel run uses pytest-xdist")

PROJECT = {
    "pytest.ini": """
        [pytest]
        DJANGO_SETTINGS_MODULE = tsite.settings
        pythonpath = .
    """,
    "tsite/__init__.py": "",
    "tsite/settings.py": """
        from pathlib import Path
        SECRET_KEY = "inner"
        ALLOWED_HOSTS = ["testserver"]
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        ROOT_URLCONF = "tsite.urls"
        INSTALLED_APPS = ["shop"]
        MIDDLEWARE = []
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(__file__).parent / "db.sqlite3")}}
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
                      "DIRS": [str(Path(__file__).parent.parent / "templates")]}]
    """,
    "tsite/urls.py": """
        from django.urls import path
        from shop import views
        urlpatterns = [path("items/<int:pk>/", views.item, name="item"), path("items/", views.items, name="items")]
    """,
    "shop/__init__.py": "",
    "shop/models.py": """
        from django.db import models
        class Item(models.Model):
            name = models.CharField(max_length=50)
    """,
    "shop/views.py": """
        from django.core.cache import cache
        from django.shortcuts import get_object_or_404, render
        from shop.models import Item
        def items(request):
            names = cache.get("names")
            if names is None:
                names = [item.name for item in Item.objects.order_by("pk")]
                cache.set("names", names)
            return render(request, "items.html", {"names": names})
        def item(request, pk):
            return render(request, "items.html", {"names": [get_object_or_404(Item, pk=pk).name]})
    """,
    "templates/base.html": "<ul>{% block items %}{% endblock %}</ul>",
    "templates/items.html": '{% extends "base.html" %}{% block items %}{% for n in names %}<li>{{ n }}</li>{% endfor %}{% endblock %}',
    "test_shop.py": """
        import pytest
        from django.db import transaction
        from django.test import TestCase
        from shop.models import Item

        @pytest.mark.django_db
        def test_get_or_create(django_assert_num_queries):
            with django_assert_num_queries(4):  # SELECT, SAVEPOINT, INSERT, RELEASE SAVEPOINT
                Item.objects.get_or_create(name="x")

        @pytest.mark.django_db(transaction=True)
        def test_transactional(django_assert_num_queries):
            with django_assert_num_queries(3):  # BEGIN, INSERT, COMMIT
                with transaction.atomic():
                    Item.objects.create(name="t")

        def test_pages(client, db, django_assert_num_queries):
            items = [Item.objects.create(name=name) for name in "ab"]
            with django_assert_num_queries(1):
                assert client.get("/items/").status_code == 200
            with django_assert_num_queries(0):
                assert client.get("/items/").status_code == 200
            assert client.get(f"/items/{items[0].pk}/").status_code == 200
            assert client.get("/items/999/").status_code == 404

        class ItemTests(TestCase):
            @classmethod
            def setUpTestData(cls):
                Item.objects.create(name="from setUpTestData")

            def test_count(self):
                with self.assertNumQueries(1):
                    self.assertEqual(Item.objects.count(), 1)
    """,
}

# Whole-test query counts: the inner tests' own queries and nothing of the
# test database set-up, transactions, savepoints or flushes around them.
EXPECTED_QUERIES = {"test_get_or_create": 4, "test_transactional": 3, "test_pages": 2 + 1 + 0 + 1 + 1, "test_count": 1}


@pytest.fixture
def django_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    write_files(pytester.path, PROJECT)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:randomly", *args)
    result.assert_outcomes(passed=4)
    return read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")


def test_django_run_records_queries_requests_and_django_facts(django_suite: pytest.Pytester) -> None:
    results = _run(django_suite)
    tests = records_by_name(results)
    assert {name: tests[name]["metrics"]["queries"] for name in EXPECTED_QUERIES} == EXPECTED_QUERIES
    assert tests["test_get_or_create"]["call_metrics"]["queries"] == 4
    # Locations are relative to the rootdir: the test's line, or the view's for a request.
    assert {g["location"] for g in tests["test_get_or_create"]["details"]["sql_groups"]} == {"test_shop.py:9"}
    assert tests["test_transactional"]["metrics"]["queries.other"] == 2  # BEGIN and COMMIT

    pages = tests["test_pages"]
    found = [(r["method"], r["path"], r["route"], r["view_name"], r["status"]) for r in pages["requests"]]
    assert [entry[:3] for entry in found] == [
        ("GET", "/items/", "/items/"),
        ("GET", "/items/", "/items/"),
        ("GET", found[2][1], "/items/<int:pk>/"),
        ("GET", "/items/999/", "/items/<int:pk>/"),
    ]
    assert [entry[3:] for entry in found] == [("items", 200), ("items", 200), ("item", 200), ("item", 404)]
    cold, warm = pages["requests"][0], pages["requests"][1]
    assert (cold["metrics"]["queries"], cold["metrics"]["cache_misses"], cold["metrics"]["template_renders"]) == (1, 1, 2)
    assert (warm["metrics"]["queries"], warm["metrics"]["cache_hits"]) == (0, 1)
    assert [g["location"] for g in cold["details"]["sql_groups"]] == ["shop/views.py:7"]
    assert pages["metrics"]["requests"] == 4
    # pytest-django's test environment sends template_rendered: 2 per page (extends base.html), 1 for the 404 page.
    assert pages["details"]["signals"]["template_rendered"] == pages["metrics"]["template_renders"] == 7
    assert pages["details"]["signals"]["request_started"] == 4

    urls = {url["method"] + " " + url["route"]: url for url in results["urls"]}
    assert urls["GET /items/"]["hits"] == 2 and urls["GET /items/"]["metrics"]["queries"] == 1
    assert urls["GET /items/<int:pk>/"]["status_codes"] == {"200": 1, "404": 1}


def test_django_counts_are_the_same_under_xdist(django_suite: pytest.Pytester) -> None:
    results = _run(django_suite, "-n", "2")
    tests = records_by_name(results)
    assert {name: tests[name]["metrics"]["queries"] for name in EXPECTED_QUERIES} == EXPECTED_QUERIES
    assert len(tests["test_pages"]["requests"]) == 4


LATE_CONFTEST = """
    import pytest

    @pytest.fixture(scope="session")
    def late_django():
        # Django is first imported and configured here, long after the session started.
        import django
        from django.conf import settings
        settings.configure(
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            INSTALLED_APPS=[],
        )
        django.setup()
"""

LATE_TESTS = """
    import sys

    def test_a_before_django():
        assert "django" not in sys.modules

    def test_b_queries(late_django):
        from django.db import connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT 2")

    def test_c_cache(late_django):
        from django.core.cache import cache
        cache.set("key", 1)
        assert cache.get("key") == 1
"""


def test_django_configured_by_a_fixture_is_recorded_from_then_on(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(LATE_CONFTEST)
    pytester.makepyfile(test_late=LATE_TESTS)
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:django", "-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=3)
    tests = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    # Before Django existed its metrics are absent, not false zeros.
    assert "queries" not in tests["test_a_before_django"]["metrics"]
    queries = tests["test_b_queries"]
    assert (queries["metrics"]["queries"], queries["metrics"]["queries.select"], queries["metrics"]["requests"]) == (2, 2, 0)
    # Groups are keyed by shape and call site: one shape from two lines is two groups.
    assert [(g["sql"], g["location"]) for g in queries["details"]["sql_groups"]] == [
        ("SELECT %s", "test_late.py:9"),
        ("SELECT %s", "test_late.py:10"),
    ]
    cache = tests["test_c_cache"]["metrics"]
    assert (cache["cache_calls"], cache["cache_hits"], cache["queries"]) == (2, 1, 0)
