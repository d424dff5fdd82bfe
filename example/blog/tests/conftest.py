"""Fixtures of the blog's tests: sample data, a clean cache, and the spam-check service.

The spam-check service is a real HTTP server on 127.0.0.1 (one per test
process, so pytest-xdist workers each get their own); tests that need it take
the ``spam_service`` fixture, which points settings.SPAM_CHECK_URL at it.
"""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from blog.models import Author, Comment, Post, Tag

SPAM_WORDS = ("casino", "viagra")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """The locmem cache outlives a test; clear it so each test starts cold.

    Without this, whether the sidebar is a cache hit depends on which test ran
    before, which differs between a serial run and pytest-xdist.
    """
    cache.clear()


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
        Post.objects.create(
            author=authors[author], title=title, body=f"All about {title.lower()}.", published=start - timedelta(days=age)
        )
        for age, (title, author, _) in enumerate(specs)
    ]
    # One INSERT for all tags: post.tags.set() per post would be an N+1 of the fixture itself.
    Post.tags.through.objects.bulk_create(
        [Post.tags.through(post=post, tag=tags[slug]) for post, (_, _, slugs) in zip(posts, specs) for slug in slugs]
    )
    comments = [
        Comment.objects.create(post=posts[0], name="Reader", body="Very useful."),
        Comment.objects.create(post=posts[0], name="Critic", body="What about caching?"),
    ]
    # Read the posts back once: the signal receiver changed comment_count in the database.
    posts = list(Post.objects.order_by("-published"))
    return BlogData(authors=authors, tags=tags, posts=posts, comments=comments)


@pytest.fixture
def blog(db: None) -> BlogData:
    return make_blog()


class SpamServer(ThreadingHTTPServer):
    """Answers POST /check like the real service, and remembers what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SpamHandler)
        self.received: list[dict[str, object]] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class SpamHandler(BaseHTTPRequestHandler):
    server: SpamServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.server.received.append(payload)
        text = f"{payload.get('name', '')} {payload.get('body', '')}".lower()
        body = json.dumps({"spam": any(word in text for word in SPAM_WORDS)}).encode()
        status = 200 if self.path == "/check" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope="session")
def _spam_server() -> Iterator[SpamServer]:
    server = SpamServer()
    thread = threading.Thread(target=server.serve_forever, name="spam-check-service", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def spam_service(_spam_server: SpamServer, settings) -> SpamServer:
    settings.SPAM_CHECK_URL = _spam_server.url
    _spam_server.received.clear()
    return _spam_server


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on: the port was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
