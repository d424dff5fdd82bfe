"""Cache, template, signal and test-client request collectors, in process, with exact counts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from perfbudget.run.model import CacheOp
from tests.support.django import REPO_ROOT, Collectors, make_posts

# --- cache ---------------------------------------------------------------------------


def test_cache_calls_hits_and_misses_by_alias_and_operation(collectors: Collectors) -> None:
    from django.core.cache import cache, caches

    with collectors.record() as recording:
        assert cache.get("a") is None  # miss
        assert cache.get("a", "fallback") == "fallback"  # miss, the caller's default comes back
        cache.set("a", 1)
        assert cache.get("a") == 1  # hit
        cache.set("stored-none", None)
        assert cache.get("stored-none", "fallback") is None  # a stored None is a hit
        assert cache.get_many(["a", "b", "stored-none"]) == {"a": 1, "stored-none": None}  # 2 hits, 1 miss
        assert cache.get_or_set("c", 3) == 3  # miss (its inner get and add are part of it)
        assert cache.get_or_set("c", 4) == 3  # hit
        assert "a" in cache  # has_key
        second = caches["second"]
        second.add("x", 1)
        assert second.incr("x") == 2
        second.delete("x")
    metrics, details = collectors.summarise(recording)
    assert details.cache_ops == [
        CacheOp("get", "default", calls=4, hits=2, misses=2, time_ms=details.cache_ops[0].time_ms),
        CacheOp("get_many", "default", calls=1, hits=2, misses=1, time_ms=details.cache_ops[1].time_ms),
        CacheOp("get_or_set", "default", calls=2, hits=1, misses=1, time_ms=details.cache_ops[2].time_ms),
        CacheOp("has_key", "default", calls=1, time_ms=details.cache_ops[3].time_ms),
        CacheOp("set", "default", calls=2, time_ms=details.cache_ops[4].time_ms),
        CacheOp("add", "second", calls=1, time_ms=details.cache_ops[5].time_ms),
        CacheOp("delete", "second", calls=1, time_ms=details.cache_ops[6].time_ms),
        CacheOp("incr", "second", calls=1, time_ms=details.cache_ops[7].time_ms),
    ]
    assert (metrics["cache_calls"], metrics["cache_hits"], metrics["cache_misses"]) == (13, 5, 4)
    assert metrics["cache_time"] == pytest.approx(sum(op.time_ms for op in details.cache_ops), abs=0.01)


def test_a_cache_created_after_install_is_recorded(collectors: Collectors) -> None:
    from django.core.cache import caches
    from django.test import override_settings

    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "late"}
    with override_settings(CACHES={"default": locmem, "late": locmem}), collectors.record() as recording:
        caches["late"].get("k")
    assert [(op.cache, op.operation, op.misses) for op in collectors.summarise(recording)[1].cache_ops] == [("late", "get", 1)]


def test_async_cache_methods_count_as_their_sync_operation(collectors: Collectors) -> None:
    from django.core.cache import cache

    async def use_cache() -> Any:
        await cache.aset("k", "v")
        return await cache.aget("k")

    with collectors.record() as recording:
        assert asyncio.run(use_cache()) == "v"
    ops = collectors.summarise(recording)[1].cache_ops
    assert [(op.operation, op.calls, op.hits) for op in ops] == [("get", 1, 1), ("set", 1, 0)]


# --- templates -------------------------------------------------------------------------


def test_every_template_rendered_counts_extends_and_includes_too(collectors: Collectors) -> None:
    from django.template import Context, Template
    from django.template.loader import render_to_string

    with collectors.record() as recording:
        html = render_to_string("perfapp/post_detail.html", {"post": {"title": "Hello"}})
        Template("{{ greeting }}").render(Context({"greeting": "hi"}))
    assert "<h1>Hello</h1>" in html
    metrics, details = collectors.summarise(recording)
    assert [(t.name, t.count) for t in details.templates] == [
        ("<unknown source>", 1),
        ("base.html", 1),
        ("perfapp/_title.html", 1),
        ("perfapp/post_detail.html", 1),
    ]
    assert metrics["template_renders"] == 4
    # Each template's own time: they add up to the total without counting nesting twice.
    assert metrics["template_time"] == pytest.approx(sum(t.time_ms for t in details.templates), abs=0.01)


def test_templates_still_counted_after_the_test_environment_swaps_render(collectors: Collectors) -> None:
    """setup_test_environment (pytest-django runs it after the plugin installed) replaces Template._render."""
    from django.template.loader import render_to_string
    from django.test.signals import template_rendered
    from django.test.utils import setup_test_environment, teardown_test_environment

    seen: list[str] = []

    def on_rendered(sender: Any, template: Any, **kwargs: Any) -> None:
        seen.append(template.name)

    setup_test_environment()
    template_rendered.connect(on_rendered)
    try:
        with collectors.record() as recording:
            render_to_string("perfapp/post_detail.html", {"post": {"title": "Hello"}})
    finally:
        template_rendered.disconnect(on_rendered)
        teardown_test_environment()
    metrics, details = collectors.summarise(recording)
    assert metrics["template_renders"] == 3 == len(seen)  # the same count Django's own instrumentation gives
    assert details.signals == {"template_rendered": 3}


# --- signals ---------------------------------------------------------------------------


def test_signals_are_counted_by_name(collectors: Collectors) -> None:
    from django.dispatch import Signal
    from perfapp.models import Author, Post  # type: ignore[import-not-found]
    from perfapp.signals import post_published  # type: ignore[import-not-found]

    author = Author.objects.create(name="a")  # before recording
    local_signal = Signal()
    calls: list[str] = []
    post_published.connect(lambda sender, **kwargs: calls.append("published"), weak=False, dispatch_uid="t1")
    local_signal.connect(lambda sender, **kwargs: calls.append("local"), weak=False, dispatch_uid="t2")
    try:
        with collectors.record() as recording:
            Post.objects.create(title="one", author=author)  # pre_save and post_save
            Post.objects.create(title="two", author=author)
            Author.objects.create(name="b")  # no receiver for Author's pre_save and post_save: sent all the same
            post_published.send(sender=Post)
            post_published.send_robust(sender=Post)
            local_signal.send(sender=None)
    finally:
        post_published.disconnect(dispatch_uid="t1")
        local_signal.disconnect(dispatch_uid="t2")
    metrics, details = collectors.summarise(recording)
    assert details.signals == {
        "perfapp.signals.post_published": 2,
        "post_save": 3,
        "pre_save": 3,
        "signal@tests.test_collect_django": 1,
    }
    assert metrics["signals"] == 9
    assert calls == ["published", "published", "local"]


def test_model_init_signals_count_only_when_someone_listens(collectors: Collectors) -> None:
    from django.db.models.signals import post_init
    from perfapp.models import Post

    make_posts(3)
    with collectors.record() as quiet:
        assert len(Post.objects.all()) == 3
    post_init.connect(lambda sender, **kwargs: None, sender=Post, weak=False, dispatch_uid="t4")
    try:
        with collectors.record() as listened:
            assert len(Post.objects.all()) == 3
    finally:
        post_init.disconnect(sender=Post, dispatch_uid="t4")
    assert collectors.summarise(quiet)[1].signals == {}
    assert collectors.summarise(listened)[1].signals == {"post_init": 3}


def _django_before(major: int) -> bool:
    import django

    return django.VERSION[0] < major


@pytest.mark.skipif(_django_before(5), reason="Signal.asend and asend_robust are Django 5.0's (this is Django 4.2)")
def test_async_signal_sends_are_counted(collectors: Collectors) -> None:
    from perfapp.signals import post_published

    post_published.connect(lambda sender, **kwargs: None, weak=False, dispatch_uid="t3")
    try:
        with collectors.record() as recording:
            asyncio.run(post_published.asend(sender=None))
    finally:
        post_published.disconnect(dispatch_uid="t3")
    assert collectors.summarise(recording)[1].signals == {"perfapp.signals.post_published": 1}


# --- test-client requests -------------------------------------------------------------


def test_each_request_is_recorded_with_its_own_facts(collectors: Collectors) -> None:
    from django.test import Client

    posts = make_posts(3)
    client = Client()
    with collectors.record() as recording:
        listing = client.get("/posts/")
        detail = client.get(f"/posts/{posts[0].pk}/")
    test_metrics, _ = collectors.summarise(recording)
    first, second = recording.requests
    assert (first.method, first.path, first.route, first.view_name, first.status) == (
        "GET",
        "/posts/",
        "/posts/",
        "post-list",
        200,
    )
    assert first.metrics["queries"] == 4 and first.metrics["n_plus_one"] == 3
    assert first.metrics["template_renders"] == 1
    assert first.metrics["response_size"] == len(listing.content)
    assert first.details.signals == {"request_finished": 1, "request_started": 1}
    assert first.metrics["duration"] > 0 and "cpu_time" in first.metrics
    location = first.details.n_plus_one_groups[0].location
    assert location is not None and location.endswith("perfapp/views.py:12")  # the N+1 line of the view

    assert (second.route, second.view_name, second.status) == ("/posts/<int:pk>/", "post-detail", 200)
    assert second.metrics["queries"] == 1 and second.metrics["template_renders"] == 3
    assert second.metrics["response_size"] == len(detail.content)
    assert test_metrics["queries"] == 5  # the test's own count covers both requests


def test_a_request_and_its_test_group_the_same_queries_alike(collectors: Collectors) -> None:
    """Both summarise the same events: same groups, same call sites, the N+1 pinned to the view's line in each."""
    from django.test import Client

    make_posts(3)
    with collectors.record() as recording:
        Client().get("/posts/")
    (request,) = recording.requests
    test_groups = collectors.summarise(recording)[1].sql_groups
    assert [(g.key, g.count, g.n_plus_one) for g in test_groups] == [(g.key, g.count, g.n_plus_one) for g in request.details.sql_groups]
    ((count, location),) = [(g.count, g.location) for g in test_groups if g.n_plus_one]
    assert count == 3 and location is not None and location.endswith("perfapp/views.py:12")


def test_routes_of_404s_regex_paths_and_namespaces(collectors: Collectors) -> None:
    from django.test import Client

    client = Client()
    with collectors.record() as recording:
        client.get("/no/such/page/")
        client.get("/posts/999999/")
        client.get("/archive/2024/")
        client.post("/posts/1/publish/")
    found = [(r.method, r.path, r.route, r.view_name, r.status) for r in recording.requests]
    assert found == [
        ("GET", "/no/such/page/", None, None, 404),
        ("GET", "/posts/999999/", "/posts/<int:pk>/", "post-detail", 404),
        ("GET", "/archive/2024/", "/archive/(?P<year>[0-9]{4})/", "archive", 200),
        ("POST", "/posts/1/publish/", "/posts/<int:pk>/publish/", "perfapp.views.publish", 200),
    ]
    assert recording.requests[0].url_key == "GET /no/such/page/"


def test_a_cached_view_shows_its_cache_hits_per_request(collectors: Collectors) -> None:
    from django.test import Client

    make_posts(2)
    client = Client()
    with collectors.record() as recording:
        assert client.get("/count/").json() == {"count": 2}
        assert client.get("/count/").json() == {"count": 2}
    cold, warm = (r.metrics for r in recording.requests)
    assert (cold["cache_calls"], cold["cache_hits"], cold["cache_misses"], cold["queries"]) == (2, 0, 1, 1)
    assert (warm["cache_calls"], warm["cache_hits"], warm["cache_misses"], warm["queries"]) == (1, 1, 0, 0)


def test_async_client_requests_are_recorded(collectors: Collectors) -> None:
    from django.test import AsyncClient

    make_posts(2)

    async def fetch() -> Any:
        return await AsyncClient().get("/async/count/")

    with collectors.record() as recording:
        response = asyncio.run(fetch())
    assert response.json() == {"count": 2}
    (record,) = recording.requests
    assert (record.method, record.route, record.view_name, record.status) == (
        "GET",
        "/async/count/",
        "async-count",
        200,
    )
    assert record.metrics["queries"] == 1  # run by the ORM in a worker thread, still this request's


def test_drf_api_client_requests_are_recorded(collectors: Collectors) -> None:
    pytest.importorskip("rest_framework", reason="DRF is optional")
    from rest_framework.test import APIClient

    make_posts(2)
    with collectors.record() as recording:
        response = APIClient().get("/api/titles/")
    assert response.json() == ["post 0", "post 1"]
    (record,) = recording.requests
    assert (record.route, record.view_name, record.status, record.metrics["queries"]) == (
        "/api/titles/",
        "api:titles",
        200,
        1,
    )


# --- install and uninstall -------------------------------------------------------------


def test_uninstall_puts_every_patched_attribute_back(django_project: Any) -> None:
    from django.core.cache import CacheHandler, caches
    from django.db import connection
    from django.db.backends.base import base as backend_base
    from django.db.utils import ConnectionHandler
    from django.dispatch import Signal
    from django.template.base import Template
    from django.test.client import AsyncClientHandler, ClientHandler

    from perfbudget.collect import django as django_collectors
    from perfbudget.collect.recording import CollectSettings, Recorder

    def attributes() -> list[Any]:
        return [
            vars(Signal)["send"],
            vars(Signal)["send_robust"],
            vars(Template)["_render"],
            vars(Template)["render"],
            vars(ClientHandler)["__call__"],
            vars(AsyncClientHandler)["__call__"],
            vars(CacheHandler)["create_connection"],
            vars(ConnectionHandler)["create_connection"],
            backend_base.debug_transaction,
            list(connection.execute_wrappers),
            "get" in vars(caches["default"]),
        ]

    connection.ensure_connection()
    before = attributes()
    uninstall = django_collectors.install(Recorder(), CollectSettings(rootdir=REPO_ROOT, django=True))
    assert attributes() != before
    uninstall()
    assert attributes() == before


def test_uninstall_unwraps_a_cache_created_after_install(django_project: Any) -> None:
    from django.core.cache import caches
    from django.test import override_settings

    from perfbudget.collect import django as django_collectors
    from perfbudget.collect.recording import CollectSettings, Recorder

    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "after-install"}
    with override_settings(CACHES={"default": locmem, "made_later": locmem}):
        uninstall = django_collectors.install(Recorder(), CollectSettings(rootdir=REPO_ROOT, django=True))
        made_later = caches["made_later"]
        assert "get" in vars(made_later)  # our wrapper, on the instance
        uninstall()
        assert "get" not in vars(made_later)


def test_patch_leaves_a_later_patch_in_place() -> None:
    from perfbudget.collect.patching import patch

    class Owner:
        def method(self) -> str:
            return "original"

    undo = patch(Owner, "method", lambda self: "ours")
    Owner.method = lambda self: "theirs"  # type: ignore[method-assign]
    undo()
    assert Owner().method() == "theirs"
