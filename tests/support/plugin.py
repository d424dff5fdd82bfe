"""Fixtures and helpers for the plugin and collector tests: a real local HTTP server and results reading.

The server is a ``ThreadingHTTPServer`` on 127.0.0.1 speaking HTTP/1.1, so a
client can reuse one connection for several requests (keep-alive), which is
what the counting rule in ``collect/network.py`` must get right.
"""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import json
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of a real HTTP server for this test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_files(root: Path, files: dict[str, str]) -> None:
    """A throwaway project: each file's text dedented, its directories made."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def read_results(path: Path) -> dict[str, Any]:
    """The results file read back as plain data, every field present (the file leaves out empty ones).

    Also checks the file is what the README describes: NDJSON, a header line
    with the schema version, then one test a line.
    """
    from perfbudget.run.encode import SCHEMA_VERSION
    from perfbudget.run.read import load_run

    data = path.read_bytes()
    lines = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "run" and header["schema_version"] == SCHEMA_VERSION
    assert all(json.loads(line)["type"] in ("test", "rerun", "url", "end") for line in lines[1:])
    return {"schema_version": header["schema_version"], **dataclasses.asdict(load_run(path))}


def records_by_name(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Test records keyed by the part of the node id after the last '::'."""
    return {test["node_id"].rsplit("::", 1)[-1]: test for test in results["tests"]}
