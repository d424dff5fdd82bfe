"""A throwaway Django project for the Django collector tests, and fixtures to record with it.

``django_project`` writes a small app (models related by a foreign key, a
many-to-many and a one-to-one, a QuerySet and a Manager of its own, views,
URLs, templates, a custom signal, a DRF view when DRF is installed) into a temporary directory
and configures Django for it in this process: SQLite file databases under two
aliases (``default`` and ``other``), two locmem caches, a template directory.
Django settings can be configured once per process, so this is
session-scoped; if another test already configured Django differently, the
tests that need this project are skipped with that reason.

``collectors`` installs the Django collectors on a fresh ``Recorder``, the way
the plugin does for a session, and ``record`` opens a recording around a block.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perfbudget.collect.recording import CollectSettings, Recorder, Recording
from perfbudget.run.model import Details
from tests.support import REPO_ROOT

HAS_DRF = importlib.util.find_spec("rest_framework") is not None

MODELS = """
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver


class Author(models.Model):
    name = models.CharField(max_length=100)


class Post(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="posts")


saved: list[int] = []


# Below: the project's own ORM machinery and more relations, for the call-site tests
# (tests/test_collect_callsite.py). Post's managers are added here, after its fields:
# ``objects`` stays the default manager every existing test and related manager uses.
class CountingQuerySet(models.QuerySet):
    # Counts evaluations: Django's _fetch_all, extended, as project code does.

    evaluations = 0

    def _fetch_all(self):
        if self._result_cache is None:
            CountingQuerySet.evaluations += 1
        super()._fetch_all()


class VisibleManager(models.Manager):
    # Hides the posts of hidden authors, looking them up whenever it makes a queryset.

    def get_queryset(self):
        hidden = list(Author.objects.filter(name__startswith="hidden").values_list("pk", flat=True))
        return super().get_queryset().exclude(author__in=hidden)


Post.add_to_class("counted", CountingQuerySet.as_manager())
Post.add_to_class("visible", VisibleManager())


class Tag(models.Model):
    name = models.CharField(max_length=50)
    # On Author, not Post: a many-to-many to Post would make Post.objects.all().delete() collect rows first.
    authors = models.ManyToManyField(Author, related_name="tags")

    def save(self, *args, **kwargs):
        self.name = self.name.lower()
        super().save(*args, **kwargs)


class Profile(models.Model):
    author = models.OneToOneField(Author, on_delete=models.CASCADE, related_name="profile")
    bio = models.CharField(max_length=200)


@receiver(post_save, sender=Post)
def remember_saved_post(sender, instance, created, **kwargs):
    saved.append(instance.pk)
"""

SIGNALS = """
from django.dispatch import Signal

post_published = Signal()
"""

VIEWS = """
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from perfapp.models import Post
from perfapp.signals import post_published


def post_list(request):
    posts = list(Post.objects.order_by("pk"))
    names = [post.author.name for post in posts]  # one query per post: the N+1
    return render(request, "perfapp/post_list.html", {"posts": posts, "names": names})


def post_detail(request, pk):
    post = get_object_or_404(Post, pk=pk)
    return render(request, "perfapp/post_detail.html", {"post": post})


def post_count(request):
    count = cache.get("post-count")
    if count is None:
        count = Post.objects.count()
        cache.set("post-count", count)
    return JsonResponse({"count": count})


def publish(request, pk):
    post_published.send(sender=Post, pk=pk)
    return HttpResponse(b"published")


def archive(request, year):
    return HttpResponse(year.encode())


async def async_count(request):
    return JsonResponse({"count": await Post.objects.acount()})


def counted_titles(request):
    return JsonResponse({"titles": [post.title for post in Post.counted.order_by("pk")]})


def visible_titles(request):
    return JsonResponse({"titles": [post.title for post in Post.visible.order_by("pk")]})


def post_authors(request):
    return render(request, "perfapp/post_authors.html", {"posts": Post.objects.order_by("pk")})


def add_tag(request, name):
    from perfapp.models import Tag

    Tag(name=name).save()
    return HttpResponse(b"tagged")
"""

API = """
from rest_framework.response import Response
from rest_framework.views import APIView

from perfapp.models import Post


class PostTitles(APIView):
    def get(self, request):
        return Response([post.title for post in Post.objects.order_by("pk")])
"""

URLS = """
from django.urls import include, path, re_path

from perfapp import views

urlpatterns = [
    path("posts/", views.post_list, name="post-list"),
    path("posts/<int:pk>/", views.post_detail, name="post-detail"),
    path("posts/<int:pk>/publish/", views.publish),
    path("count/", views.post_count, name="post-count"),
    path("async/count/", views.async_count, name="async-count"),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive, name="archive"),
    path("api/", include(("perfapp.api_urls", "api"))),
    path("counted/", views.counted_titles),
    path("visible/", views.visible_titles),
    path("authors/", views.post_authors),
    path("tags/<str:name>/", views.add_tag),
]
"""

API_URLS = """
from django.urls import path

urlpatterns = []
try:
    from perfapp.api import PostTitles
except ImportError:  # DRF not installed
    pass
else:
    urlpatterns.append(path("titles/", PostTitles.as_view(), name="titles"))
"""

TEMPLATES = {
    "base.html": "<html><body>{% block content %}{% endblock %}</body></html>",
    "perfapp/post_list.html": "{% for post in posts %}<p>{{ post.title }}</p>{% endfor %}",
    "perfapp/post_detail.html": ('{% extends "base.html" %}{% block content %}{% include "perfapp/_title.html" %}{% endblock %}'),
    "perfapp/_title.html": "<h1>{{ post.title }}</h1>",
    # The template N+1: line 2 reads post.author, which the view did not select_related.
    "perfapp/post_authors.html": "<ul>{% for post in posts %}\n<li>{{ post.title }} by {{ post.author.name }}</li>\n{% endfor %}</ul>",
}


def _write_project(root: Path) -> None:
    app = root / "perfapp"
    app.mkdir(parents=True)
    files = {"__init__.py": "", "models.py": MODELS, "signals.py": SIGNALS, "views.py": VIEWS, "api.py": API}
    files |= {"urls.py": URLS, "api_urls.py": API_URLS}
    for name, text in files.items():
        (app / name).write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in TEMPLATES.items():
        path = root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _settings(root: Path) -> dict[str, Any]:
    return {
        "PERFBUDGET_TEST_PROJECT": True,  # tells this project's settings from anyone else's
        "SECRET_KEY": "perfbudget-tests",
        "DEBUG": False,
        "ALLOWED_HOSTS": ["testserver"],
        "USE_TZ": True,
        "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
        "ROOT_URLCONF": "perfapp.urls",
        "MIDDLEWARE": [],
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "perfapp",
            *(["rest_framework"] if HAS_DRF else []),
        ],
        "DATABASES": {
            alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(root / f"{alias}.sqlite3")} for alias in ("default", "other")
        },
        "CACHES": {
            alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"perfbudget-{alias}"}
            for alias in ("default", "second")
        },
        "TEMPLATES": [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [str(root / "templates")]}],
    }


@pytest.fixture(scope="session")
def django_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The throwaway project's directory, with Django configured for it and its tables created."""
    pytest.importorskip("django", reason="the Django collectors need Django")
    from django.conf import settings

    if settings.configured:
        if not getattr(settings, "PERFBUDGET_TEST_PROJECT", False):
            pytest.skip("Django was configured by another test in this process; run these tests on their own")
        return Path(settings.TEMPLATES[0]["DIRS"][0]).parent
    import django
    from django.db import connections

    root = tmp_path_factory.mktemp("django_project")
    _write_project(root)
    sys.path.insert(0, str(root))
    settings.configure(**_settings(root))
    django.setup()
    from perfapp.models import Author, Post, Profile, Tag  # type: ignore[import-not-found]

    for alias in ("default", "other"):
        with connections[alias].schema_editor() as editor:
            for model in (Author, Post, Tag, Profile):
                editor.create_model(model)  # Tag's with the table of its many-to-many
    return root


@dataclass
class Collectors:
    """A recorder with the Django collectors installed on it."""

    recorder: Recorder
    settings: CollectSettings

    @contextlib.contextmanager
    def record(self) -> Iterator[Recording]:
        """A recording open for the ``with`` block (finished on exit)."""
        recording = self.recorder.start()
        try:
            yield recording
        finally:
            self.recorder.stop(recording)

    def summarise(self, recording: Recording) -> tuple[dict[str, float], Details]:
        from perfbudget.collect.summary import summarise

        return summarise(recording, self.settings)


def _clear_tables() -> None:
    from perfapp.models import Author, Post, Profile, Tag

    for alias in ("default", "other"):
        for model in (Tag, Profile, Post, Author):
            model.objects.using(alias).all().delete()


@pytest.fixture
def collectors(django_project: Path, request: pytest.FixtureRequest) -> Iterator[Collectors]:
    """Django collectors installed for one test, on empty tables and caches."""
    from django.core.cache import caches

    unblock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if request.config.pluginmanager.hasplugin("django"):
        # pytest-django blocks database access outside its own fixtures once it set Django up.
        blocker = request.getfixturevalue("django_db_blocker")
        if blocker is not None:
            unblock = blocker.unblock()
    with unblock:
        _clear_tables()
        for cache in caches.all():
            cache.clear()
        with installed(CollectSettings(rootdir=REPO_ROOT, django=True)) as found:
            yield found


@contextlib.contextmanager
def installed(settings: CollectSettings) -> Iterator[Collectors]:
    """The Django collectors installed with ``settings`` on a fresh recorder, removed on exit."""
    from perfbudget.collect import django as django_collectors

    recorder = Recorder()
    uninstall = django_collectors.install(recorder, settings)
    try:
        yield Collectors(recorder, settings)
    finally:
        uninstall()


def make_posts(count: int, using: str = "default") -> list[Any]:
    """``count`` posts, each by its own author (so listing them is an N+1)."""
    from perfapp.models import Author, Post

    authors = Author.objects.using(using).bulk_create([Author(name=f"author {i}") for i in range(count)])
    return [Post.objects.using(using).create(title=f"post {i}", author=author) for i, author in enumerate(authors)]
