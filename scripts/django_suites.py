"""Throwaway Django projects for the benchmarks: the ``shop`` app (categories and items) and its settings.

``write_shop_project`` writes the app (models, an ``/items/`` list view, in-memory
SQLite, no migrations: the test database is made from the models), a pytest.ini
and the test files it is given; a benchmark adds its own views, routes and tests.
Nothing here imports perfbudget, so a benchmark can choose which copy it loads.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

SETTINGS = """
SECRET_KEY = "bench"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "shop.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""
MODELS = """
from django.db import models

class Category(models.Model):
    name = models.CharField(max_length=50)

class Item(models.Model):
    name = models.CharField(max_length=50)
    category = models.ForeignKey(Category, on_delete=models.CASCADE)
"""
VIEWS = """
from django.http import JsonResponse
from shop.models import Item

def items(request):
    return JsonResponse({"items": [[i.name, i.category.name] for i in Item.objects.select_related("category")]})
"""
URLS = """
from django.urls import path
from shop import views

urlpatterns = [
    path("items/", views.items, name="items"),
{routes}]
"""


def write_shop_project(project: Path, tests: dict[str, str], views: str = "", routes: str = "") -> Path:
    """The shop app under ``project`` with ``tests`` (file name -> source); ``views`` and ``routes`` extend it.

    ``routes`` are ``path(...)`` lines of ``shop.urls`` (``views`` is imported there).
    """
    shop = project / "shop"
    shop.mkdir(parents=True)
    files = {
        "settings.py": SETTINGS,
        "models.py": MODELS,
        "views.py": VIEWS + textwrap.dedent(views),
        "urls.py": URLS.format(routes=textwrap.indent(textwrap.dedent(routes).strip() + "\n", "    ") if routes.strip() else ""),
        "__init__.py": "",
    }
    for name, text in files.items():
        (shop / name).write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in tests.items():
        (project / name).write_text(textwrap.dedent(text), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = shop.settings\n", encoding="utf-8")
    return project


TIMING_VIEWS = """
import time

from django.shortcuts import get_object_or_404


def item_detail(request, pk):
    item = get_object_or_404(Item.objects.select_related("category"), pk=pk)
    return JsonResponse({"name": item.name, "category": item.category.name})


def stock(request):
    time.sleep(0.020)  # the stock service answering: a wait, not CPU work
    return JsonResponse({"in_stock": Item.objects.count()})


def report(request):
    total = sum(i * i % 7 for i in range(REPORT_LOOPS))  # about 15 ms of CPU work
    return JsonResponse({"items": Item.objects.count(), "total": total})
"""
TIMING_ROUTES = """
path("items/<int:pk>/", views.item_detail, name="item_detail"),
path("stock/", views.stock, name="stock"),
path("report/", views.report, name="report"),
"""
TIMING_TESTS = """
import pytest
from shop.models import Category, Item


def test_price_table():
    assert sum(i * i % 7 for i in range(PRICE_LOOPS)) > 0  # about 5 ms of CPU work, no database


def test_session_teardown_lands_here():
    # pytest-django runs database-free tests last, and the last test's teardown carries pytest's session
    # teardown (5 to 13 ms here): this one takes it, so that test_price_table measures its own cost.
    pass


@pytest.mark.django_db
@pytest.mark.parametrize("n", range(ORM_TESTS))
def test_category_items(n):
    category = Category.objects.create(name=f"c{n}")
    Item.objects.bulk_create([Item(name=f"i{k}", category=category) for k in range(n % 4 + 1)])
    assert Item.objects.filter(category=category).count() == n % 4 + 1
    assert Category.objects.filter(item__name="i0").distinct().count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("n", range(DETAIL_TESTS))
def test_item_page(client, n):
    item = Item.objects.create(name=f"i{n}", category=Category.objects.create(name=f"c{n}"))
    assert client.get(f"/items/{item.pk}/").json() == {"name": f"i{n}", "category": f"c{n}"}


@pytest.mark.django_db
@pytest.mark.parametrize("n", range(LIST_TESTS))
def test_item_list(client, n):
    Item.objects.create(name="a", category=Category.objects.create(name="c"))
    assert client.get("/items/").json() == {"items": [["a", "c"]]}


@pytest.mark.django_db
@pytest.mark.parametrize("n", range(3))
def test_report(client, n):
    assert client.get("/report/").status_code == 200


@pytest.mark.django_db
def test_stock(client):
    assert client.get("/stock/").json() == {"in_stock": 0}
"""


def loops_for(ms: float) -> int:
    """How many rounds of the generated suite's CPU loop take ``ms`` of CPU time here (best of 5)."""
    rounds = 100_000
    spent = []
    for _ in range(5):
        started = time.process_time()
        sum(i * i % 7 for i in range(rounds))
        spent.append(time.process_time() - started)
    return max(1, round(rounds * ms / 1000 / min(spent)))


def write_timing_suite(project: Path, count: int) -> Path:
    """``count`` tests of the shop: quick ORM tests and client requests, plus the subjects of timing benchmarks.

    ``test_shop.py::test_price_table`` costs about 5 ms of CPU in its call,
    ``GET /stock/`` waits about 20 ms (sleep), ``GET /report/`` (three tests)
    does about 15 ms of CPU work, ``GET /items/<int:pk>/`` serves about a third
    of the quick tests. The CPU loops are calibrated here, once, so every run of
    the suite does the same work.
    """
    quick = count - 6  # test_report x3, test_stock, test_price_table, test_session_teardown_lands_here
    sizes = {
        "ORM_TESTS": quick // 2,
        "DETAIL_TESTS": quick // 3,
        "LIST_TESTS": quick - quick // 2 - quick // 3,
        "PRICE_LOOPS": loops_for(5),
        "REPORT_LOOPS": loops_for(15),
    }
    views, tests = TIMING_VIEWS, TIMING_TESTS
    for name, value in sizes.items():
        views, tests = views.replace(name, str(value)), tests.replace(name, str(value))
    return write_shop_project(project, {"test_shop.py": tests}, views, TIMING_ROUTES)
