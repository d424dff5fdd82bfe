"""Models and the comment-counting signal receiver."""

from django.core.cache import cache

from blog.models import Comment
from blog.sidebar import SIDEBAR_CACHE_KEY, get_sidebar
from blog.tests.data import BlogData


def test_string_forms(blog: BlogData) -> None:
    assert str(blog.posts[0]) == "Query budgets"
    assert str(blog.authors["grace"]) == "Grace Hopper"
    assert str(blog.tags["django"]) == "Django"


def test_comment_receiver_counts_only_new_comments(blog: BlogData) -> None:
    comment = blog.comments[0]
    comment.body = "Edited."
    comment.save()
    blog.posts[0].refresh_from_db()
    assert blog.posts[0].comment_count == 2


def test_sidebar_is_cached_until_a_comment_arrives(blog: BlogData, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        first = get_sidebar()
    with django_assert_num_queries(0):
        assert get_sidebar() == first
    Comment.objects.create(post=blog.posts[3], name="Reader", body="Hi")
    assert cache.get(SIDEBAR_CACHE_KEY) is None
    assert [p["title"] for p in get_sidebar()["most_discussed"]] == ["Query budgets", "Testing with a fake service"]
