"""perfbudget beside the plugins projects often run: pytest-randomly, pytest-socket and pytest-recording.

Each runs in a subprocess with the other plugin switched on, as a project
would have it: the run completes, perfbudget writes its results, and what it
records does not depend on the other plugin's work (test order, blocked or
replayed network).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from perfbudget.run.read import load_run

pytest_plugins = ["pytester"]

CALLER = """
import urllib.request

def test_calls_the_service():
    with urllib.request.urlopen("{url}", timeout=5) as answer:
        assert answer.read() == b"ok"

def test_plain():
    assert sum(range(10)) == 45
"""


@pytest.fixture(autouse=True)
def _every_plugin_loads(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py keeps these plugins out of other runs; here they are the point."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


@pytest.fixture
def service() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rates"
    server.shutdown()
    server.server_close()


def _results(pytester: pytest.Pytester, *args: str) -> dict[str, dict[str, float]]:
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:cacheprovider", *args)
    assert "perfbudget: results written to" in result.stdout.str(), result.stdout.str()
    return {test.node_id.split("::")[-1]: test.metrics for test in load_run(pytester.path / ".perfbudget" / "results.ndjson.gz").tests}


def test_pytest_randomly_shuffles_the_order_and_the_counts_stay(pytester: pytest.Pytester, service: str) -> None:
    pytester.makepyfile(test_app=CALLER.format(url=service))
    runs = [_results(pytester, "-p", "randomly", f"--randomly-seed={seed}") for seed in (1, 2)]
    counts = [{name: metrics.get("network_calls") for name, metrics in run.items()} for run in runs]
    assert counts[0] == counts[1] == {"test_calls_the_service": 1.0, "test_plain": 0.0}


def test_pytest_socket_blocks_the_call_and_the_run_still_reports(pytester: pytest.Pytester, service: str) -> None:
    pytester.makepyfile(test_app=CALLER.format(url=service))
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:cacheprovider", "--disable-socket")
    result.assert_outcomes(passed=1, failed=1)  # pytest-socket refused the connection, as it should
    assert "SocketBlockedError" in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    tests = {t.node_id.split("::")[-1]: t for t in load_run(pytester.path / ".perfbudget" / "results.ndjson.gz").tests}
    assert tests["test_calls_the_service"].outcome == "failed" and tests["test_plain"].outcome == "passed"


def test_pytest_recording_replays_the_call_without_the_network(pytester: pytest.Pytester, service: str) -> None:
    """A cassette recorded once replays with the service gone; perfbudget records the replayed run too."""
    pytester.makepyfile(
        test_app="import pytest\n" + CALLER.format(url=service).replace("def test_calls", "@pytest.mark.vcr\ndef test_calls")
    )
    recorded = _results(pytester, "--record-mode=once")
    cassettes = list((pytester.path / "cassettes").rglob("*.yaml"))
    assert cassettes, "pytest-recording wrote no cassette"
    replayed = _results(pytester, "--record-mode=none", "--block-network")
    assert set(recorded) == set(replayed) == {"test_calls_the_service", "test_plain"}
    # A replayed call never opens a socket: perfbudget counts what really went out, so it records none.
    assert recorded["test_calls_the_service"]["network_calls"] == 1.0
    assert replayed["test_calls_the_service"].get("network_calls", 0.0) == 0.0
