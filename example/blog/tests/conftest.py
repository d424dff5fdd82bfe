"""Fixtures of the blog's tests: sample data, a clean cache, and the spam-check service.

The spam-check service is a real HTTP server on 127.0.0.1 (one per test
process, so pytest-xdist workers each get their own); tests that need it take
the ``spam_service`` fixture, which points settings.SPAM_CHECK_URL at it.
"""

import socket
import threading
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from blog.tests.data import BlogData, make_blog
from blog.tests.spam_service import SpamServer


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """The locmem cache outlives a test; clear it so each test starts cold.

    Without this, whether the sidebar is a cache hit depends on which test ran
    before, which differs between a serial run and pytest-xdist.
    """
    cache.clear()


@pytest.fixture
def blog(db: None) -> BlogData:
    return make_blog()


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
