"""``pytest --perf-budget`` on a Django project: counts that do not depend on test order, and precise N+1s.

Each run is a subprocess with pytest-django. The inner tests write what
Django's ``CaptureQueriesContext`` counted, so ``queries + warmup_queries``
is checked against Django itself; the ContentType and Site caches are
filled by whichever test comes first, in either order and under xdist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.plugin import read_results, records_by_name, write_files

pytest_plugins = ["pytester"]
pytest.importorskip("pytest_django", reason="these runs use pytest-django")

PROJECT = {
    "pytest.ini": """
        [pytest]
        DJANGO_SETTINGS_MODULE = wsite.settings
        pythonpath = .
    """,
    "wsite/__init__.py": "",
    "wsite/settings.py": """
        SECRET_KEY = "inner"
        ALLOWED_HOSTS = ["testserver"]
        USE_TZ = True
        SITE_ID = 1
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        ROOT_URLCONF = "wsite.urls"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.sites", "shop"]
        MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    """,
    "wsite/urls.py": """
        from django.urls import path
        from shop import views
        urlpatterns = [path("whoami/", views.whoami), path("loop/", views.loop), path("four/", views.four)]
    """,
    "shop/__init__.py": "",
    "shop/models.py": """
        from django.db import models

        class Item(models.Model):
            name = models.CharField(max_length=50)

        _NAMES = []

        def cached_item_names():
            # A project cache, named in the budget file: whichever test calls it first pays.
            if not _NAMES:
                _NAMES.append(_load_names())
            return _NAMES[0]

        def _load_names():
            return [item.name for item in Item.objects.order_by("pk")]
    """,
    "shop/views.py": """
        from django.http import HttpResponse
        from shop.models import Item

        def whoami(request):
            return HttpResponse(str(request.session.get("who")))  # loads the session: one query a request

        def loop(request):
            for name in "abc":
                Item.objects.filter(name=name).exists()  # the same SELECT, one line, three times: an N+1
            return HttpResponse(b"ok")

        def four(request):
            Item.objects.filter(name="a").exists()  # the same shape from four lines: no N+1
            Item.objects.filter(name="b").exists()
            Item.objects.filter(name="c").exists()
            Item.objects.filter(name="d").exists()
            return HttpResponse(b"ok")
    """,
    "conftest.py": """
        import json
        import pytest
        from pathlib import Path
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        @pytest.fixture
        def captured(request):
            # What Django counts during the test's call, written for the outer test to compare.
            with CaptureQueriesContext(connection) as context:
                yield
            out = Path(__file__).parent / "captured"
            out.mkdir(exist_ok=True)
            (out / request.node.name).write_text(json.dumps(len(context)))
    """,
    "test_order.py": """
        import pytest
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.sites.models import Site
        from shop.models import Item, cached_item_names

        pytestmark = pytest.mark.django_db

        def test_a(captured):
            ContentType.objects.get_for_model(Item)
            Site.objects.get_current()
            cached_item_names()
            assert Item.objects.count() == 0

        def test_b(captured):
            ContentType.objects.get_for_model(Item)
            assert Site.objects.get_current().domain
            cached_item_names()
            assert not Item.objects.exists()
    """,
    "test_n_plus_one.py": """
        import pytest
        from django.conf import settings
        from django.contrib.sessions.backends.db import SessionStore
        from shop.models import Item

        pytestmark = pytest.mark.django_db

        def test_session_pages(client):
            session = SessionStore()
            session["who"] = "me"
            session.save()
            client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
            for _ in range(3):
                assert client.get("/whoami/").content == b"me"

        def test_loop_view(client):
            assert client.get("/loop/").status_code == 200

        def test_four_lines(client):
            assert client.get("/four/").status_code == 200

        def test_loop_in_test_code():
            for name in "abcd":
                Item.objects.filter(name=name).exists()
    """,
}

BUDGETS = """
sql:
  n_plus_one_threshold: {threshold}
  warmup_functions:
    - shop.models.cached_item_names
{extra}"""


@pytest.fixture
def warm_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    write_files(pytester.path, PROJECT)
    _budgets(pytester)
    return pytester


def _budgets(pytester: pytest.Pytester, threshold: int = 3, extra: str = "") -> None:
    (pytester.path / "perfbudget.yaml").write_text(BUDGETS.format(threshold=threshold, extra=extra), encoding="utf-8")


def _run(pytester: pytest.Pytester, *args: str, passed: int) -> tuple[dict[str, dict[str, Any]], pytest.RunResult]:
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:randomly", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=passed)
    return records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")), result


def _captured(pytester: pytest.Pytester, name: str) -> int:
    return int(json.loads((Path(pytester.path) / "captured" / name).read_text()))


def test_cache_warm_up_moves_with_test_order_and_the_compared_counts_do_not(warm_suite: pytest.Pytester) -> None:
    runs = {}
    for order in (("test_a", "test_b"), ("test_b", "test_a")):
        tests, _ = _run(warm_suite, *(f"test_order.py::{name}" for name in order), passed=2)
        runs[order] = tests
        for name in order:
            metrics = tests[name]["call_metrics"]
            # The raw total is what Django counts, warm-up included.
            assert metrics["queries"] + metrics["warmup_queries"] == _captured(warm_suite, name)
        first, second = (tests[name]["metrics"] for name in order)
        # ContentType, Site and the project's cache fill once; pytest-django clears Django's Site cache before
        # every test, so each test fetches its Site again: warm-up too, whichever way the caches were left.
        assert first["warmup_queries"] >= 3 and second["warmup_queries"] == 1
    forward, backward = runs.values()
    assert {name: t["metrics"]["queries"] for name, t in forward.items()} == {name: t["metrics"]["queries"] for name, t in backward.items()}
    assert forward["test_a"]["metrics"]["queries"] == 1  # Item.objects.count(), whichever test came first


def test_cache_warm_up_under_xdist(warm_suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="the parallel run uses pytest-xdist")
    serial, _ = _run(warm_suite, "test_order.py", passed=2)
    parallel, _ = _run(warm_suite, "test_order.py", "-n", "2", passed=2)
    assert {n: t["metrics"]["queries"] for n, t in serial.items()} == {n: t["metrics"]["queries"] for n, t in parallel.items()}
    for tests in (serial, parallel):  # each worker reads the budget file: the project's function is warm-up there too
        assert sum(t["metrics"]["warmup_queries"] for t in tests.values()) >= 3


def test_n_plus_one_is_one_call_site_repeating_within_one_request_or_phase(warm_suite: pytest.Pytester) -> None:
    tests, result = _run(warm_suite, "test_n_plus_one.py", passed=4)
    pages = tests["test_session_pages"]
    assert [r["metrics"]["queries"] for r in pages["requests"]] == [1, 1, 1]  # the session, once a request
    assert pages["metrics"]["n_plus_one"] == 0 and not any(g["n_plus_one"] for g in pages["details"]["sql_groups"])
    loop = tests["test_loop_view"]
    assert loop["metrics"]["n_plus_one"] == 3 and loop["requests"][0]["metrics"]["n_plus_one"] == 3
    assert [g["location"] for g in loop["details"]["sql_groups"] if g["n_plus_one"]] == ["shop/views.py:9"]
    four = tests["test_four_lines"]
    assert four["metrics"]["queries"] == 4 and four["metrics"]["n_plus_one"] == 0
    assert sorted(g["location"] for g in four["details"]["sql_groups"]) == [f"shop/views.py:{n}" for n in range(13, 17)]
    in_tests = tests["test_loop_in_test_code"]["metrics"]
    assert (in_tests["n_plus_one"], in_tests["n_plus_one_in_tests"]) == (0, 4)
    result.stdout.fnmatch_lines(
        ["N+1 candidates (the same SELECT repeated):", "  test_n_plus_one.py::test_loop_view: 3 x on 'default' at shop/views.py:9"]
    )
    assert "test_session_pages: 3 x" not in result.stdout.str()


def test_the_threshold_comes_from_the_budget_file_in_every_worker(warm_suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="the parallel run uses pytest-xdist")
    _budgets(warm_suite, threshold=4)
    tests, _ = _run(warm_suite, "test_n_plus_one.py", "-n", "2", passed=4)
    assert tests["test_loop_view"]["metrics"]["n_plus_one"] == 0
    assert tests["test_loop_in_test_code"]["metrics"]["n_plus_one_in_tests"] == 4


def test_a_warm_up_function_that_cannot_be_found_is_a_warning_naming_file_and_line(warm_suite: pytest.Pytester) -> None:
    _budgets(warm_suite, extra="    - shop.models.no_such_function\n")
    tests, result = _run(warm_suite, "test_order.py", passed=2)
    out = result.stdout.str()
    assert "WarmupWarning: perfbudget: perfbudget.yaml:6: sql.warmup_functions[2]: 'shop.models.no_such_function' is no warm-up" in out
    assert "Traceback" not in out
    assert tests["test_a"]["metrics"]["warmup_queries"] >= 3  # the other names still work
