"""The call site of a query, in process, on the real Django fixture project: function, asking frame, template line, relation.

``tests/support/django.py`` writes the project: its own QuerySet (overriding
``_fetch_all``) and Manager (``get_queryset`` that queries), a model whose
``save`` extends Django's, a template that reads ``post.author`` in a loop,
and models related by a foreign key, a many-to-many and a one-to-one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from perfbudget.collect.django_frames import function_name
from perfbudget.run.model import SqlGroup
from tests.support.django import Collectors, make_posts

THIS_FILE = "tests/test_collect_callsite.py"
QUALIFIED = sys.version_info >= (3, 11)  # co_qualname; before, a function is known by its name alone


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of ``path`` holding ``text``."""
    found = [number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(found) == 1, f"{text!r} is on {len(found)} lines of {path}"
    return found[0]


def groups_of(collectors: Collectors, recording: Any) -> list[SqlGroup]:
    return collectors.summarise(recording)[1].sql_groups


def _tagged_posts() -> list[Any]:
    """Three posts, each by its own author with a profile and a tag of their own."""
    from perfapp.models import Profile, Tag  # type: ignore[import-not-found]

    posts = make_posts(3)
    for post in posts:
        tag = Tag(name=f"tag {post.pk}")
        tag.save()
        tag.authors.add(post.author)
        Profile.objects.create(author=post.author, bio=f"bio {post.pk}")
    return posts


# --- the function (pure) -------------------------------------------------------------


class _Lister:
    def codes(self) -> list[Any]:
        """This method's code, its comprehension's and its lambda's."""
        inner = [sys._getframe().f_code for _ in (1,)]
        return [sys._getframe().f_code, inner[0], (lambda: sys._getframe().f_code)()]

    def count_authors(self) -> tuple[int, int]:
        from perfapp.models import Author

        return Author.objects.count(), sys._getframe().f_lineno


def test_a_function_is_its_qualified_name_and_comprehensions_and_lambdas_are_their_functions() -> None:
    method, comprehension, in_lambda = _Lister().codes()
    expected = "_Lister.codes" if QUALIFIED else "codes"
    assert [function_name(code) for code in (method, comprehension, in_lambda)] == [expected] * 3
    assert function_name(compile("x = [y for y in ()]", "module.py", "exec")) is None  # module level: no function


# --- the asking frame ------------------------------------------------------------------


def test_a_method_is_named_with_its_class(collectors: Collectors) -> None:
    with collectors.record() as recording:
        _, line = _Lister().count_authors()
    [group] = groups_of(collectors, recording)
    assert (group.location, group.function) == (f"{THIS_FILE}:{line}", "_Lister.count_authors" if QUALIFIED else "count_authors")


def test_the_projects_own_queryset_manager_and_save_are_walked_past_to_the_view(collectors: Collectors, django_project: Path) -> None:
    """A QuerySet's ``_fetch_all`` calling super(), a Manager's ``get_queryset`` that queries, a model's ``save``:
    Django's machinery extended, so the call site is the view line that iterates, asks or saves."""
    from django.test import Client
    from perfapp.models import CountingQuerySet  # type: ignore[import-not-found]

    make_posts(2)
    views = django_project / "perfapp" / "views.py"
    evaluations = CountingQuerySet.evaluations
    with collectors.record() as recording:
        client = Client()
        assert client.get("/counted/").status_code == 200
        assert client.get("/visible/").status_code == 200
        assert client.get("/tags/Hello/").status_code == 200
    assert CountingQuerySet.evaluations == evaluations + 1  # the override ran, and queried through super()
    found = sorted((g.location.rpartition("perfapp/")[2], g.function, g.kind) for g in groups_of(collectors, recording) if g.location)
    counted = line_of(views, 'Post.counted.order_by("pk")')
    visible = line_of(views, 'Post.visible.order_by("pk")')
    saved = line_of(views, "Tag(name=name).save()")
    assert found == sorted(
        [
            (f"views.py:{counted}", "counted_titles", "select"),
            (f"views.py:{visible}", "visible_titles", "select"),  # the manager's own lookup of hidden authors
            (f"views.py:{visible}", "visible_titles", "select"),  # the posts
            (f"views.py:{saved}", "add_tag", "insert"),
        ]
    )


# --- the template line -----------------------------------------------------------------


def test_a_template_query_is_placed_at_its_node_line_beside_the_view(collectors: Collectors, django_project: Path) -> None:
    from django.test import Client

    make_posts(3)
    with collectors.record() as recording:
        assert Client().get("/authors/").status_code == 200
    render = line_of(django_project / "perfapp" / "views.py", '"perfapp/post_authors.html"')
    groups = {g.template: g for g in groups_of(collectors, recording)}
    assert set(groups) == {"perfapp/post_authors.html:1", "perfapp/post_authors.html:2"}
    listing, author = groups["perfapp/post_authors.html:1"], groups["perfapp/post_authors.html:2"]
    # the {% for %} on line 1 iterates the posts; {{ post.author.name }} on line 2 reads each author
    assert (listing.count, listing.n_plus_one, listing.relation, listing.fix) == (1, False, None, None)
    assert (author.count, author.n_plus_one, author.relation, author.fix) == (3, True, "Post.author", 'select_related("author")')
    for group in (listing, author):  # both beside the view that rendered them
        assert group.location is not None and group.location.endswith(f"perfapp/views.py:{render}")
        assert group.function == "post_authors"


def test_a_jinja2_template_query_is_placed_at_its_template_line(collectors: Collectors, tmp_path: Path) -> None:
    jinja2 = pytest.importorskip("jinja2", reason="the Jinja2 call sites need Jinja2")
    from perfapp.models import Post

    (tmp_path / "posts.jinja").write_text("{% for post in posts %}\n<li>{{ post.author.name }}</li>\n{% endfor %}\n")
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), autoescape=True)
    make_posts(3)
    with collectors.record() as recording:
        html, line = environment.get_template("posts.jinja").render(posts=list(Post.objects.all())), sys._getframe().f_lineno
    assert html.count("<li>author") == 3
    [group] = [g for g in groups_of(collectors, recording) if g.template is not None]
    # outside the rootdir, so named as it was loaded; the line is the template's, not the compiled code's
    assert (group.template, group.location, group.count) == ("posts.jinja:2", f"{THIS_FILE}:{line}", 3)
    assert (group.relation, group.fix) == ("Post.author", 'select_related("author")')


# --- the relation ----------------------------------------------------------------------


def test_each_kind_of_relation_is_named_with_its_fix(collectors: Collectors) -> None:
    from perfapp.models import Author, Post, Tag

    _tagged_posts()
    lines = {}
    with collectors.record() as recording:
        lines["forward"] = sys._getframe().f_lineno + 1
        [post.author.name for post in Post.objects.all()]
        lines["reverse one-to-one"] = sys._getframe().f_lineno + 1
        [author.profile.bio for author in Author.objects.all()]
        lines["reverse foreign key"] = sys._getframe().f_lineno + 1
        [list(author.posts.all()) for author in Author.objects.all()]
        lines["many-to-many"] = sys._getframe().f_lineno + 1
        [list(tag.authors.all()) for tag in Tag.objects.all()]
        lines["many-to-many, reverse"] = sys._getframe().f_lineno + 1
        [list(author.tags.all()) for author in Author.objects.all()]
    named = {(g.location, g.relation, g.fix) for g in groups_of(collectors, recording) if g.n_plus_one_in_tests}
    assert named == {
        (f"{THIS_FILE}:{lines['forward']}", "Post.author", 'select_related("author")'),
        (f"{THIS_FILE}:{lines['reverse one-to-one']}", "Author.profile", 'select_related("profile")'),
        (f"{THIS_FILE}:{lines['reverse foreign key']}", "Author.posts", 'prefetch_related("posts")'),
        (f"{THIS_FILE}:{lines['many-to-many']}", "Tag.authors", 'prefetch_related("authors")'),
        (f"{THIS_FILE}:{lines['many-to-many, reverse']}", "Author.tags", 'prefetch_related("tags")'),
    }


def test_no_relation_is_guessed_for_a_narrowed_manager_a_prefetch_or_a_plain_query(collectors: Collectors) -> None:
    """``author.posts.filter(...)`` is not served by ``prefetch_related("posts")``; a prefetch's own query, an ordinary
    SELECT and a count are through no relation: nothing is said of any of them."""
    from perfapp.models import Author, Post, Tag

    _tagged_posts()
    with collectors.record() as recording:
        [list(author.posts.filter(title__startswith="post")) for author in Author.objects.all()]
        [list(author.posts.order_by("-pk")) for author in Author.objects.all()]
        [post.author.name for post in Post.objects.select_related("author")]
        list(Post.objects.prefetch_related("author"))
        list(Author.objects.prefetch_related("posts", "tags"))
        list(Tag.objects.prefetch_related("authors"))
        Post.objects.count()
    groups = groups_of(collectors, recording)
    assert len(groups) >= 8
    assert [(g.sql, g.relation, g.fix) for g in groups if g.relation is not None or g.fix is not None] == []
