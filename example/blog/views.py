"""HTML pages: post list, post detail, author page and the archive.

``archive`` is the deliberate N+1 of the example: it lists every post with its
author's name but does not join the author, so the template issues one query
per post. ``post_list`` shows the same facts with select_related and
prefetch_related, in a constant number of queries.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from blog.models import Author, Post
from blog.sidebar import get_sidebar

PAGE_SIZE = 10


def post_list(request: HttpRequest) -> HttpResponse:
    posts = Post.objects.select_related("author").prefetch_related("tags")[:PAGE_SIZE]
    return render(request, "blog/post_list.html", {"posts": posts, "sidebar": get_sidebar()})


def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(Post.objects.select_related("author"), pk=pk)
    context = {
        "post": post,
        "tags": list(post.tags.all()),
        "comments": list(post.comments.all()),
        "sidebar": get_sidebar(),
    }
    return render(request, "blog/post_detail.html", context)


def author_detail(request: HttpRequest, pk: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=pk)
    return render(request, "blog/author_detail.html", {"author": author, "posts": list(author.posts.all())})


def archive(request: HttpRequest) -> HttpResponse:
    # N+1: no select_related("author"), so each {{ post.author.name }} queries.
    posts = Post.objects.all()
    return render(request, "blog/archive.html", {"posts": posts})
