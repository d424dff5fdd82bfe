"""Explanations that survive real diffs (issue 20): a Django project recorded, edited the way a pull request does, recorded again.

Each scenario copies one recorded project, edits its files (a line inserted,
a function moved, a file renamed, a query added...), runs its suite again
under ``pytest --perf-budget`` and names the causes against the first run,
as the PR comment does. Moving code is no change; only the query that was
really added or repeats more is a cause, at its new line.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfbudget.compare.causes import Cause, query_causes
from perfbudget.report.causes import cause_line
from perfbudget.run.model import Run, SqlGroup, split_location
from perfbudget.run.read import load_run
from tests.support.example import clean_env
from tests.support.plugin import write_files

pytest.importorskip("pytest_django", reason="the project's suite runs under pytest-django")

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
        TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
    """,
    "tsite/urls.py": """
        from django.urls import path
        from shop import views
        urlpatterns = [path("products/", views.product_list), path("categories/", views.category_list)]
    """,
    "shop/__init__.py": "",
    "shop/models.py": """
        from django.db import models


        class Category(models.Model):
            name = models.CharField(max_length=50)


        class Product(models.Model):
            name = models.CharField(max_length=50)
            price = models.IntegerField()
            category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    """,
    "shop/lookups.py": """
        from shop.models import Product


        def cheapest():
            return Product.objects.order_by("price").first()
    """,
    "shop/views.py": """
        from django.shortcuts import render

        from shop.lookups import cheapest
        from shop.models import Category, Product


        def product_list(request):
            products = Product.objects.order_by("pk")
            first = Product.objects.filter(pk__gte=1).first()
            last = Product.objects.filter(pk__gte=2).first()
            context = {"products": products, "first": first, "last": last, "cheapest": cheapest()}
            return render(request, "shop/list.html", context)


        def category_list(request):
            return render(request, "shop/categories.html", {"categories": Category.objects.order_by("pk")})
    """,
    # Both N+1s are in the templates: each product's category, each category's products.
    "shop/templates/shop/list.html": """
        <ul>
        {% for product in products %}
          <li>{{ product.name }} in {{ product.category.name }}</li>
        {% endfor %}
        </ul>
    """,
    "shop/templates/shop/categories.html": """
        {% for category in categories %}
          <h2>{{ category.name }}</h2>
          {% for product in category.products.all %}<p>{{ product.name }}</p>{% endfor %}
        {% endfor %}
    """,
    "test_shop.py": """
        import pytest
        from shop.models import Category, Product


        @pytest.fixture
        def catalogue(db):
            for n in range(3):
                category = Category.objects.create(name=f"c{n}")
                Product.objects.create(name=f"p{n}", price=n, category=category)


        def test_products(client, catalogue):
            assert client.get("/products/").status_code == 200


        def test_categories(client, catalogue):
            assert client.get("/categories/").status_code == 200
    """,
}


@dataclass
class Recorded:
    project: Path
    results: Path

    @property
    def run(self) -> Run:
        return load_run(self.results)


def record(project: Path) -> Recorded:
    """The project's suite under ``pytest --perf-budget``, as a user runs it."""
    results = project / "results.ndjson"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--perf-budget", f"--perf-output={results}"]
    done = subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return Recorded(project, results)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    found = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(found) == 1, f"{text!r} is on {len(found)} lines of {path}"
    return found[0]


def causes_of(head: Run, base: Run) -> list[Cause]:
    """The causes behind every test and URL both runs have, as the comment would name them if all had moved."""
    subjects = [("test", t.node_id) for t in head.tests] + [("url", u.key) for u in head.urls]
    return query_causes(head, base, subjects)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    project = tmp_path_factory.mktemp("base")
    write_files(project, PROJECT)
    return record(project)


@pytest.fixture
def copy(base: Recorded, tmp_path: Path) -> Path:
    """A fresh copy of the recorded project, to edit."""
    return Path(
        shutil.copytree(base.project, tmp_path / "head", ignore=shutil.ignore_patterns("results.ndjson", "db.sqlite3", "__pycache__"))
    )


def _groups(run: Run, test: str) -> list[SqlGroup]:
    record = run.test(f"test_shop.py::{test}")
    assert record is not None
    return record.details.sql_groups


def _view_lines(run: Run, test: str) -> list[int]:
    return [split_location(g.location)[1] for g in _groups(run, test) if split_location(g.location)[0] == "shop/views.py"]


# --- what the base run recorded ---------------------------------------------------------


def test_template_n_plus_ones_are_at_their_template_lines_with_the_relation_and_the_fix(base: Recorded) -> None:
    views = base.project / "shop" / "views.py"
    [category] = [g for g in _groups(base.run, "test_products") if g.n_plus_one]
    assert (category.template, category.location, category.function, category.count) == (
        "shop/templates/shop/list.html:3",
        f"shop/views.py:{line_of(views, 'shop/list.html')}",
        "product_list",
        3,
    )
    assert (category.relation, category.fix) == ("Product.category", 'select_related("category")')
    [products] = [g for g in _groups(base.run, "test_categories") if g.n_plus_one]
    assert (products.template, products.relation, products.fix) == (
        "shop/templates/shop/categories.html:3",  # the {% for %} that iterates category.products.all
        "Category.products",
        'prefetch_related("products")',
    )
    lines = subprocess.run(
        [sys.executable, "-m", "perfbudget", "show", str(base.results)], capture_output=True, text=True, check=True, env=clean_env()
    ).stdout
    assert f"at shop/templates/shop/list.html:3 (view shop/views.py:{line_of(views, 'shop/list.html')})" in lines
    assert 'N+1 on Product.category: add select_related("category") to the queryset the loop iterates' in lines


# --- edits that move code: no cause ------------------------------------------------------


def test_a_line_inserted_above_the_call_sites_is_no_change(base: Recorded, copy: Path) -> None:
    edit(copy / "shop" / "views.py", "def product_list(request):\n", "def product_list(request):\n    # Newest first, one day.\n")
    head = record(copy).run
    before, after = (sorted(_view_lines(run, "test_products")) for run in (base.run, head))
    assert after == [line + 1 for line in before] and len(after) == 4  # every call site of the view, one line down
    assert causes_of(head, base.run) == []


def test_a_line_inserted_in_the_template_is_no_change(base: Recorded, copy: Path) -> None:
    edit(copy / "shop" / "templates" / "shop" / "list.html", "<ul>\n", "<h1>Products</h1>\n<ul>\n")
    head = record(copy).run
    assert [g.template for g in _groups(head, "test_products") if g.n_plus_one] == ["shop/templates/shop/list.html:4"]
    assert causes_of(head, base.run) == []


def test_a_function_moved_within_its_file_is_no_change(base: Recorded, copy: Path) -> None:
    views = copy / "shop" / "views.py"
    text = views.read_text(encoding="utf-8")
    start, end = text.index("def product_list"), text.index("def category_list")
    views.write_text(text[:start] + text[end:].rstrip("\n") + "\n\n\n" + text[start:end].rstrip("\n") + "\n", encoding="utf-8")
    head = record(copy).run
    assert line_of(views, "def category_list") < line_of(views, "def product_list")
    assert causes_of(head, base.run) == []


def test_a_renamed_file_is_no_change(base: Recorded, copy: Path) -> None:
    (copy / "shop" / "lookups.py").rename(copy / "shop" / "finders.py")
    edit(copy / "shop" / "views.py", "from shop.lookups import cheapest", "from shop.finders import cheapest")
    head = record(copy).run
    assert any(g.location == "shop/finders.py:5" for g in _groups(head, "test_products"))
    assert causes_of(head, base.run) == []


# --- edits that change the queries: exactly their causes ------------------------------------


def test_one_of_two_call_sites_of_one_shape_gaining_a_query_is_one_cause(base: Recorded, copy: Path) -> None:
    views = copy / "shop" / "views.py"
    edit(
        views,
        "    last = Product.objects.filter(pk__gte=2).first()\n",
        "    # the last two, now\n    last = [Product.objects.filter(pk__gte=n).first() for n in (2, 3)][-1]\n",
    )
    edit(views, "def product_list(request):\n", "def product_list(request):\n    # Newest first, one day.\n")
    head = record(copy).run
    [cause] = causes_of(head, base.run)
    assert (cause.change, cause.group.location, cause.deltas) == ("more", f"shop/views.py:{line_of(views, 'for n in (2, 3)')}", [1, 1])
    assert list(cause.subjects) == [("test", "test_shop.py::test_products"), ("url", "GET /products/")]


def test_an_added_query_is_the_one_cause_at_its_new_line(base: Recorded, copy: Path) -> None:
    views = copy / "shop" / "views.py"
    edit(
        views,
        '    products = Product.objects.order_by("pk")\n',
        '    products = Product.objects.order_by("pk")\n    total = Category.objects.count()\n',
    )
    edit(views, '{"products": products,', '{"products": products, "total": total,')
    head = record(copy).run
    [cause] = causes_of(head, base.run)
    new_line = line_of(views, "Category.objects.count()")
    assert (cause.change, cause.table, cause.group.location, cause.group.function) == (
        "added",
        "shop_category",
        f"shop/views.py:{new_line}",
        "product_list",
    )
    assert cause_line(cause).startswith(f"**+1 COUNT shop_category** at shop/views.py:{new_line}, new, in 1 test and 1 URL")


# --- results files written before functions and template lines were recorded ---------------------


def _without_new_fields(results: Path, target: Path) -> Path:
    """The results file as an older perfbudget wrote it: its SQL groups without function, template, relation, fix."""

    def strip(details: dict[str, object]) -> None:
        for sql_group in details.get("sql_groups", []):  # type: ignore[attr-defined]
            for name in ("function", "template", "relation", "fix"):
                sql_group.pop(name, None)

    lines = []
    for line in results.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data["type"] == "test":
            strip(data.get("details", {}))
            for request in data.get("requests", []):
                strip(request.get("details", {}))
        lines.append(json.dumps(data))
    target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return target


def test_an_old_baseline_without_functions_still_compares_by_the_nearest_line(base: Recorded, copy: Path, tmp_path: Path) -> None:
    old = load_run(_without_new_fields(base.results, tmp_path / "old.ndjson.gz"))
    assert all(g.function is None and g.template is None for t in old.tests for g in t.details.sql_groups)
    assert causes_of(base.run, old) == []  # the same code, recorded by an older and a newer perfbudget
    edit(copy / "shop" / "views.py", "def product_list(request):\n", "def product_list(request):\n    # Newest first, one day.\n")
    assert causes_of(record(copy).run, old) == []
