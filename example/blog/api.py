"""The JSON API: plain JsonResponse views, no framework.

``comment_create`` asks the outside spam-check service (blog.spam) before it
stores a comment; the post_save receiver in blog.signals does the rest.
"""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from blog.models import Comment, Post
from blog.spam import SpamCheckUnavailable, is_spam

MAX_COMMENT_LENGTH = 2000


def _post_summary(post: Post) -> dict[str, Any]:
    return {
        "id": post.pk,
        "title": post.title,
        "author": post.author.name,
        "published": post.published.isoformat(),
        "tags": [tag.slug for tag in post.tags.all()],
        "comment_count": post.comment_count,
    }


@require_GET
def post_list(request: HttpRequest) -> JsonResponse:
    posts = Post.objects.select_related("author").prefetch_related("tags")
    return JsonResponse({"posts": [_post_summary(post) for post in posts]})


@require_GET
def post_detail(request: HttpRequest, pk: int) -> JsonResponse:
    post = get_object_or_404(Post.objects.select_related("author"), pk=pk)
    data = _post_summary(post)
    data["body"] = post.body
    data["comments"] = [{"name": c.name, "body": c.body} for c in post.comments.all()]
    return JsonResponse(data)


def _comment_errors(payload: object) -> dict[str, str]:
    if not isinstance(payload, dict):
        return {"body": "expected a JSON object with name and body"}
    errors = {}
    for key in ("name", "body"):
        value = payload.get(key)
        if not isinstance(value, str) or not value.strip():
            errors[key] = "required"
    if isinstance(payload.get("body"), str) and len(payload["body"]) > MAX_COMMENT_LENGTH:
        errors["body"] = f"at most {MAX_COMMENT_LENGTH} characters"
    return errors


@csrf_exempt  # an API for scripts; a real site would authenticate them with tokens
@require_POST
def comment_create(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse({"errors": {"body": "not valid JSON"}}, status=400)
    errors = _comment_errors(payload)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    post = get_object_or_404(Post, pk=pk)
    try:
        spam = is_spam(payload["name"], payload["body"])
    except SpamCheckUnavailable:
        return JsonResponse({"errors": {"service": "spam check unavailable, try again later"}}, status=503)
    if spam:
        return JsonResponse({"errors": {"body": "looks like spam"}}, status=422)
    comment = Comment.objects.create(post=post, name=payload["name"].strip(), body=payload["body"])
    return JsonResponse({"id": comment.pk, "post": post.pk, "name": comment.name}, status=201)
