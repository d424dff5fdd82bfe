"""The JSON API, including comments checked by the outside spam-check service."""

import json

from blog.models import Comment
from blog.tests.data import BlogData
from blog.tests.spam_service import SpamServer


def post_comment(client, post_id: int, payload: object):
    return client.post(f"/api/posts/{post_id}/comments/", data=json.dumps(payload), content_type="application/json")


def test_post_list(client, blog: BlogData, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        response = client.get("/api/posts/")
    assert response.status_code == 200
    posts = response.json()["posts"]
    assert [p["title"] for p in posts] == [p.title for p in blog.posts]
    assert posts[0] == {
        "id": blog.posts[0].pk,
        "title": "Query budgets",
        "author": "Ada Lovelace",
        "published": "2024-01-01T00:00:00+00:00",
        "tags": ["django", "python"],
        "comment_count": 2,
    }


def test_post_detail(client, blog: BlogData, django_assert_num_queries) -> None:
    with django_assert_num_queries(3):
        response = client.get(f"/api/posts/{blog.posts[0].pk}/")
    data = response.json()
    assert data["body"] == "All about query budgets."
    assert data["comments"] == [
        {"name": "Reader", "body": "Very useful."},
        {"name": "Critic", "body": "What about caching?"},
    ]


def test_post_detail_missing(client, db) -> None:
    assert client.get("/api/posts/999/").status_code == 404


def test_comment_is_checked_then_stored(client, blog: BlogData, spam_service: SpamServer, django_assert_num_queries) -> None:
    post = blog.posts[1]
    # SELECT the post, INSERT the comment, UPDATE the count (signal receiver)
    with django_assert_num_queries(3):
        response = post_comment(client, post.pk, {"name": "Reader", "body": "Nice sidebar."})
    assert response.status_code == 201
    assert spam_service.received == [{"name": "Reader", "body": "Nice sidebar."}]
    comment = Comment.objects.select_related("post").get(pk=response.json()["id"])
    assert comment.post == post
    assert comment.post.comment_count == 1


def test_spam_comment_is_rejected(client, blog: BlogData, spam_service: SpamServer) -> None:
    response = post_comment(client, blog.posts[1].pk, {"name": "Bot", "body": "Best CASINO deals"})
    assert response.status_code == 422
    assert len(spam_service.received) == 1
    assert not Comment.objects.filter(post=blog.posts[1]).exists()


def test_invalid_comment_never_reaches_the_service(client, blog: BlogData, spam_service: SpamServer) -> None:
    response = post_comment(client, blog.posts[1].pk, {"name": " ", "body": 42})
    assert response.status_code == 400
    assert response.json() == {"errors": {"name": "required", "body": "required"}}
    assert spam_service.received == []


def test_comment_with_broken_json_is_400(client, blog: BlogData) -> None:
    response = client.post(f"/api/posts/{blog.posts[1].pk}/comments/", data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_comment_when_service_is_down_is_503(client, blog: BlogData, settings, closed_port_url: str) -> None:
    settings.SPAM_CHECK_URL = closed_port_url
    response = post_comment(client, blog.posts[1].pk, {"name": "Reader", "body": "Hello?"})
    assert response.status_code == 503
    assert not Comment.objects.filter(post=blog.posts[1]).exists()


def test_comments_endpoint_only_accepts_post(client, blog: BlogData) -> None:
    assert client.get(f"/api/posts/{blog.posts[0].pk}/comments/").status_code == 405
