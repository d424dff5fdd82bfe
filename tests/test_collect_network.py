"""The network collector counts one call per HTTP request, whatever the client library.

Every test talks to a real HTTP server on 127.0.0.1 (tests/support/plugin.py)
and checks exact counts, methods and URLs.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perfbudget.collect import network
from perfbudget.collect.recording import Recorder
from perfbudget.run.model import NetworkCall


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, network.NetworkCollector]]:
    rec = Recorder()
    collector = network.NetworkCollector(rec)
    collector.install()
    try:
        yield rec, collector
    finally:
        collector.uninstall()


def record(recorder: tuple[Recorder, network.NetworkCollector], action: Callable[[], object]) -> tuple[dict[str, float], list[NetworkCall]]:
    rec, collector = recorder
    collector.refresh()
    recording = rec.start()
    try:
        action()
    finally:
        rec.stop(recording)
    return network.summarise(recording.network)


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def test_urllib_one_request_is_one_call_with_method_and_url(recorder, local_server):
    metrics, calls = record(recorder, lambda: urllib.request.urlopen(local_server + "/a?token=secret", timeout=5).read())
    assert metrics == {"network_calls": 1.0, "external_network_calls": 0.0}
    # The query string is dropped: it may carry tokens and would split groups.
    assert calls == [NetworkCall("127.0.0.1", _port(local_server), True, "GET", local_server + "/a", 1)]


def test_http_client_keep_alive_counts_each_request(recorder, local_server):
    def two_requests_one_connection() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", _port(local_server), timeout=5)
        for _ in range(2):
            conn.request("GET", "/b")
            conn.getresponse().read()
        conn.close()

    metrics, calls = record(recorder, two_requests_one_connection)
    assert metrics["network_calls"] == 2
    assert calls == [NetworkCall("127.0.0.1", _port(local_server), True, "GET", local_server + "/b", 2)]


def test_requests_session_counts_requests_not_connections(recorder, local_server):
    requests = pytest.importorskip("requests")

    def session_calls() -> None:
        with requests.Session() as session:
            session.get(local_server + "/c", timeout=5)
            session.get(local_server + "/c", timeout=5)
        requests.head(local_server.replace("127.0.0.1", "localhost") + "/d", timeout=5)

    metrics, calls = record(recorder, session_calls)
    port = _port(local_server)
    assert metrics == {"network_calls": 3.0, "external_network_calls": 0.0}
    assert calls == [
        NetworkCall("127.0.0.1", port, True, "GET", local_server + "/c", 2),
        NetworkCall("localhost", port, True, "HEAD", f"http://localhost:{port}/d", 1),
    ]


def test_httpx_sync_and_async_are_seen(recorder, local_server):
    httpx = pytest.importorskip("httpx")

    def sync_calls() -> None:
        with httpx.Client(timeout=5) as client:
            client.get(local_server + "/e")
            client.post(local_server + "/e", content=b"x")  # 501 from the server, still one call

    async def async_call() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(local_server + "/f")

    metrics, calls = record(recorder, lambda: (sync_calls(), asyncio.run(async_call())))
    port = _port(local_server)
    assert metrics["network_calls"] == 3
    assert calls == [
        NetworkCall("127.0.0.1", port, True, "GET", local_server + "/e", 1),
        NetworkCall("127.0.0.1", port, True, "GET", local_server + "/f", 1),
        NetworkCall("127.0.0.1", port, True, "POST", local_server + "/e", 1),
    ]


def test_plain_sockets_count_once_per_connection(recorder, local_server):
    port = _port(local_server)

    def raw() -> None:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()

    async def streams() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()

    metrics, calls = record(recorder, lambda: (raw(), asyncio.run(streams())))
    assert metrics["network_calls"] == 2
    assert calls == [NetworkCall("127.0.0.1", port, True, None, None, 2)]


def test_unix_sockets_are_ignored(recorder):
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "s")
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        server.listen(1)

        def connect_unix() -> None:
            client = socket.socket(socket.AF_UNIX)
            client.connect(path)
            client.close()

        try:
            metrics, calls = record(recorder, connect_unix)
        finally:
            server.close()
    assert metrics["network_calls"] == 0 and calls == []


def test_outside_host_is_external_without_any_traffic(recorder):
    # putrequest records the call before http.client opens any connection,
    # so this proves external detection without touching the network.
    def start_request() -> None:
        conn = http.client.HTTPSConnection("api.example.com")
        conn.putrequest("POST", "/v1/charge?key=secret")
        conn.close()

    metrics, calls = record(recorder, start_request)
    assert metrics == {"network_calls": 1.0, "external_network_calls": 1.0}
    assert calls == [NetworkCall("api.example.com", 443, False, "POST", "https://api.example.com/v1/charge", 1)]


def test_thousands_of_connections_are_all_counted(recorder):
    # A port nobody listens on: each connect is refused at once, locally.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    def refused() -> None:
        for _ in range(2000):
            with socket.socket() as sock:
                sock.connect_ex(("127.0.0.1", port))

    metrics, calls = record(recorder, refused)
    assert metrics["network_calls"] == 2000
    assert calls == [NetworkCall("127.0.0.1", port, True, None, None, 2000)]


def test_nothing_is_recorded_without_an_open_recording(recorder, local_server):
    rec, _ = recorder
    urllib.request.urlopen(local_server + "/idle", timeout=5).read()
    recording = rec.start()
    rec.stop(recording)
    assert recording.network == []


def test_uninstall_restores_the_originals():
    originals = (socket.socket.connect, socket.socket.connect_ex, http.client.HTTPConnection.putrequest)
    collector = network.NetworkCollector(Recorder())
    collector.install()
    assert socket.socket.connect is not originals[0]
    collector.uninstall()
    assert (socket.socket.connect, socket.socket.connect_ex, http.client.HTTPConnection.putrequest) == originals
    assert "connect" not in socket.socket.__dict__


def test_uninstall_keeps_a_patch_someone_made_over_ours():
    original = socket.socket.connect
    collector = network.NetworkCollector(Recorder())
    collector.install()
    ours = socket.socket.connect

    def theirs(sock, address):  # e.g. pytest-socket, installed after perfbudget
        return ours(sock, address)

    socket.socket.connect = theirs
    try:
        collector.uninstall()
        assert socket.socket.connect is theirs
    finally:
        del socket.socket.connect  # theirs; uncovers the inherited original
    assert socket.socket.connect is original


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("api.localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_loopback_detection(host, loopback):
    assert network.is_loopback(host) is loopback
