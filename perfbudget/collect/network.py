"""Outbound network calls: caught at the socket, named at the HTTP layer.

Counting rule (one call per HTTP request, one per connection otherwise):

- ``socket.socket.connect`` / ``connect_ex`` are patched, so every TCP/UDP
  connection is seen whatever library opened it (urllib, http.client,
  requests/urllib3, httpx, asyncio streams, database drivers). Unix sockets
  are ignored. Such a call knows only the peer address.
- ``http.client.HTTPConnection.putrequest`` (used by urllib, requests and
  urllib3) and httpcore's connection pools (used by httpx) each count one call
  per request, with method and URL; the connection they open meanwhile is not
  counted again. Two requests on one keep-alive connection are two calls.

Loopback (127.0.0.0/8, ::1, ``localhost``) is marked, so a test calling a
local test server is not flagged as calling the outside world.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import importlib
import ipaddress
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, NetworkEvent, Recorder
from perfbudget.run.model import NetworkCall

# Depth of HTTP-layer calls in progress in this thread or task: connections
# opened inside one belong to a request that is already counted.
_http_depth: contextvars.ContextVar[int] = contextvars.ContextVar("perfbudget_http_depth", default=0)

_IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the ``localhost`` names (RFC 6761)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _http_call() -> Iterator[None]:
    token = _http_depth.set(_http_depth.get() + 1)
    try:
        yield
    finally:
        _http_depth.reset(token)


class NetworkCollector:
    """Owns the patches; ``refresh`` adds those for libraries imported since install."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._undo: list[Undo] = []
        self._patched: set[str] = set()
        self._wrapped_connects: set[type] = set()

    def install(self) -> None:
        self._patch_socket()
        self._patch_http_client()
        self.refresh()

    def refresh(self) -> None:
        """Patch HTTP libraries imported since the last call.

        httpcore costs ~0.1 s to import, so it is patched only once httpx or
        httpcore itself is imported (httpx imports httpcore lazily, when its
        first client is built, too late to wait for).
        """
        self._patch_connect_overrides()
        if "httpcore" not in self._patched and ("httpx" in sys.modules or "httpcore" in sys.modules):
            try:
                httpcore = importlib.import_module("httpcore")
            except ImportError:  # httpx without its transport: the socket level still counts
                self._patched.add("httpcore")
                return
            self._patch_httpcore(httpcore)

    def uninstall(self) -> None:
        undo_all(self._undo)()
        self._patched.clear()
        self._wrapped_connects.clear()

    def _replace(self, owner: Any, name: str, replacement: Callable[..., Any]) -> None:
        """Patch ``owner.name``; a tool that wrapped it after us (pytest-socket, responses) keeps its wrapper."""
        self._undo.append(patch(owner, name, replacement))

    def _on_connect(self, sock: socket.socket, address: Any) -> None:
        recorder = self._recorder
        if not recorder.active or _http_depth.get() or sock.family not in _IP_FAMILIES:
            return
        if not isinstance(address, tuple) or len(address) < 2:
            return
        host, port = str(address[0]), address[1]
        recorder.emit(NetworkEvent(host=host, port=int(port), loopback=is_loopback(host)))

    def _patch_socket(self) -> None:
        collector = self
        connect = socket.socket.connect
        connect_ex = socket.socket.connect_ex

        def patched_connect(sock: socket.socket, address: Any) -> None:
            collector._on_connect(sock, address)
            return connect(sock, address)

        def patched_connect_ex(sock: socket.socket, address: Any) -> int:
            collector._on_connect(sock, address)
            return connect_ex(sock, address)

        self._replace(socket.socket, "connect", patched_connect)
        self._replace(socket.socket, "connect_ex", patched_connect_ex)

    def _patch_http_client(self) -> None:
        collector = self
        putrequest = http.client.HTTPConnection.putrequest

        def patched_putrequest(conn: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any) -> None:
            if collector._recorder.active:
                collector._recorder.emit(_http_client_event(conn, method, url))
            # The connection is opened lazily, on send(), after putrequest:
            # the wrapped ``connect`` methods keep it from counting twice.
            return putrequest(conn, method, url, *args, **kwargs)

        self._replace(http.client.HTTPConnection, "putrequest", patched_putrequest)

    def _patch_connect_overrides(self) -> None:
        """Wrap ``connect`` of HTTPConnection and of every subclass that overrides it.

        urllib3 (under requests) and http.client's HTTPS class open their
        socket in their own ``connect``; subclasses appear as libraries are
        imported, hence this runs again on ``refresh``.
        """
        pending = [http.client.HTTPConnection]
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            if "connect" in cls.__dict__ and cls not in self._wrapped_connects:
                self._wrapped_connects.add(cls)
                self._replace(cls, "connect", _quiet_connect(cls.__dict__["connect"]))

    def _patch_httpcore(self, httpcore: Any) -> None:
        collector = self
        pool = getattr(httpcore, "ConnectionPool", None)
        async_pool = getattr(httpcore, "AsyncConnectionPool", None)
        if pool is None or async_pool is None:
            return
        handle = pool.handle_request
        handle_async = async_pool.handle_async_request

        def patched_handle(self_: Any, request: Any) -> Any:
            collector._on_httpcore_request(request)
            with _http_call():
                return handle(self_, request)

        async def patched_handle_async(self_: Any, request: Any) -> Any:
            collector._on_httpcore_request(request)
            with _http_call():
                return await handle_async(self_, request)

        self._replace(pool, "handle_request", patched_handle)
        self._replace(async_pool, "handle_async_request", patched_handle_async)
        self._patched.add("httpcore")

    def _on_httpcore_request(self, request: Any) -> None:
        if not self._recorder.active:
            return
        try:
            url = request.url
            scheme = _text(url.scheme)
            host = _text(url.host)
            port = url.port or (443 if scheme == "https" else 80)
            target = _text(url.target)
            method = _text(request.method)
        except AttributeError:  # a future httpcore: fall back to the socket-level count
            return
        self._recorder.emit(
            NetworkEvent(
                host=host,
                port=port,
                loopback=is_loopback(host),
                method=method.upper(),
                url=f"{scheme}://{_netloc(host, port, scheme)}{target.split('?', 1)[0]}",
            )
        )


def _quiet_connect(connect: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A ``connect`` whose socket belongs to a request already counted by putrequest."""

    def patched_connect(conn: Any) -> Any:
        with _http_call():
            return connect(conn)

    return patched_connect


def _text(value: bytes | str) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _netloc(host: str, port: int | None, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    default = 443 if scheme == "https" else 80
    return shown if port in (None, default) else f"{shown}:{port}"


def _http_client_event(conn: http.client.HTTPConnection, method: str, url: str) -> NetworkEvent:
    # HTTPS classes (http.client's, urllib3's) are told apart by their default port.
    scheme = "https" if getattr(conn, "default_port", 80) == 443 else "http"
    # Through a proxy the request line carries the absolute URL; directly, just the path.
    full = url if "://" in url else f"{scheme}://{_netloc(conn.host, conn.port, scheme)}{url}"
    return NetworkEvent(
        host=conn.host,
        port=conn.port,
        loopback=is_loopback(conn.host),
        method=method.upper(),
        url=full.split("?", 1)[0],
    )


def install(recorder: Recorder, settings: CollectSettings) -> Callable[[], None]:
    """The collector contract: patch now, return the function that unpatches."""
    collector = NetworkCollector(recorder)
    collector.install()
    return collector.uninstall


def summarise(events: list[NetworkEvent]) -> tuple[dict[str, float], list[NetworkCall]]:
    """Counts, and calls grouped by endpoint, method and URL in a stable order."""
    groups = Counter((e.host, e.port, e.loopback, e.method, e.url) for e in events)
    calls = [
        NetworkCall(host=host, port=port, loopback=loopback, method=method, url=url, count=count)
        for (host, port, loopback, method, url), count in sorted(
            groups.items(), key=lambda item: tuple("" if v is None else str(v) for v in item[0])
        )
    ]
    metrics = {
        "network_calls": float(len(events)),
        "external_network_calls": float(sum(1 for e in events if not e.loopback)),
    }
    return metrics, calls
