"""The sample blog the tests share, built in a constant number of queries."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from blog.models import Author, Comment, Post, Tag


@dataclass
class BlogData:
    authors: dict[str, Author]
    tags: dict[str, Tag]
    posts: list[Post]  # newest first, the order of the post list
    comments: list[Comment]


def make_blog() -> BlogData:
    """Three authors, three tags, four posts (Ada wrote two), two comments on the newest post."""
    authors = {
        key: Author.objects.create(name=name, email=f"{key}@example.com", bio=f"{name} writes about software.")
        for key, name in [("ada", "Ada Lovelace"), ("grace", "Grace Hopper"), ("linus", "Linus Torvalds")]
    }
    tags = {slug: Tag.objects.create(name=slug.title(), slug=slug) for slug in ("django", "python", "testing")}
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    specs = [
        ("Query budgets", "ada", ["django", "python"]),
        ("Caching the sidebar", "grace", ["django"]),
        ("Signals in practice", "ada", ["python", "testing"]),
        ("Testing with a fake service", "linus", ["testing"]),
    ]
    posts = [
        Post.objects.create(author=authors[author], title=title, body=f"All about {title.lower()}.", published=start - timedelta(days=age))
        for age, (title, author, _) in enumerate(specs)
    ]
    # One INSERT for all tags: post.tags.set() per post would be an N+1 of the fixture itself.
    Post.tags.through.objects.bulk_create(
        [Post.tags.through(post=post, tag=tags[slug]) for post, (_, _, slugs) in zip(posts, specs, strict=True) for slug in slugs]
    )
    comments = [
        Comment.objects.create(post=posts[0], name="Reader", body="Very useful."),
        Comment.objects.create(post=posts[0], name="Critic", body="What about caching?"),
    ]
    # Read the posts back once: the signal receiver changed comment_count in the database.
    posts = list(Post.objects.order_by("-published"))
    return BlogData(authors=authors, tags=tags, posts=posts, comments=comments)
