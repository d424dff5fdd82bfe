"""A stand-in for the outside spam-check service: a real HTTP server on 127.0.0.1."""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPAM_WORDS = ("casino", "viagra")


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
