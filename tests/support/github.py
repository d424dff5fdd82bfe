"""A fake GitHub REST API: a real HTTP server on 127.0.0.1 speaking GitHub's JSON shapes.

Implements what perfbudget calls (issue comments with Link pagination, pull
requests, workflow runs filtered as GitHub filters them, artifacts listed by
run or by exact name with a 302 to a storage path, a commit history, the
token's own user) and can inject failures (any status, Retry-After, exhausted
rate limits) for the next N matching requests. github3.py talks to it for
real through GITHUB_API_URL.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "ghs_fake_secret_token_1234567890"
STAMP = "2026-11-25T08:00:00Z"
READ_ONLY = "Resource not accessible by integration"


@dataclass
class Failure:
    """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex) with ``status``.

    ``hang`` seconds > 0: say nothing for that long, then drop the connection (a GitHub that hangs).
    ``body``: the answer's body instead of GitHub's error object (bytes as they are, anything else as
    JSON), e.g. ``status=200, body=b"{not json"``: a malformed or wrongly typed answer.
    """

    method: str
    path: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Injected failure"
    hang: float = 0.0
    body: Any = None


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


def _user(base: str, login: str = "github-actions[bot]") -> dict[str, Any]:
    return {
        "login": login,
        "id": zlib.crc32(login.encode()),
        "node_id": "MDM6Qm90",
        "avatar_url": "",
        "gravatar_id": "",
        "url": f"{base}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "followers_url": "",
        "following_url": "",
        "gists_url": "",
        "starred_url": "",
        "subscriptions_url": "",
        "organizations_url": "",
        "repos_url": "",
        "events_url": "",
        "received_events_url": "",
        "type": "Bot",
        "site_admin": False,
    }


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    """An artifact archive as upload-artifact makes it: files at the root of a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


class FakeGitHub:
    """State and behaviour of the fake API; ``base`` is the GITHUB_API_URL to use."""

    def __init__(self, owner: str = "acme", repo: str = "shop", page_size: int = 30) -> None:
        self.owner, self.repo = owner, repo
        self.page_size = page_size  # server-side maximum, small in tests to force pagination
        self.token = TOKEN
        self.read_only = False  # a fork PR's token: writes get 403 READ_ONLY
        self.comments: dict[int, dict[str, Any]] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []
        self.artifacts: dict[int, dict[str, Any]] = {}
        self.blobs: dict[int, bytes] = {}
        self.failures: list[Failure] = []
        self.log: list[Logged] = []
        self.on_create_comment: Callable[[], None] | None = None  # runs before a POST is stored (races)
        # Replaces every list's rel="next" link: called with (route, page), returns the URL (None: no next page).
        # A link back to the same page, or on to ever new pages, is a pagination loop.
        self.next_link: Callable[[str, int], str | None] | None = None
        # Who the token is: comments it creates carry this login. None: an installation token
        # (Actions' GITHUB_TOKEN), for which GET /user answers 403 as GitHub does.
        self.login = "github-actions[bot]"
        self.user_endpoint = False
        self.parents: dict[str, str] = {}  # commit sha -> first parent, for GET /commits?sha=
        self._next_id = 1000
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- state helpers used by tests -------------------------------------------------
    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    @property
    def repo_api(self) -> str:
        return f"{self.base}/repos/{self.owner}/{self.repo}"

    def add_comment(self, number: int, body: str, login: str | None = None) -> dict[str, Any]:
        cid = self.new_id()
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.repo_api}/issues/comments/{cid}",
            "html_url": f"https://github.com/{self.owner}/{self.repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.repo_api}/issues/{number}",
            "body": body,
            "body_html": "",
            "body_text": body,
            "user": _user(self.base, login or self.login),
            "created_at": STAMP,
            "updated_at": STAMP,
            "author_association": "NONE",
            "_issue": number,
        }
        self.comments[cid] = comment
        return comment

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["_issue"] == number]

    def add_pull(self, number: int, head_sha: str, head_repo: str | None = None, labels: tuple[str, ...] = ()) -> None:
        """A pull request as GET /pulls/N shows it: head commit and repository, labels and author."""
        self.pulls[number] = {
            "number": number,
            "state": "open",
            "head": {"sha": head_sha, "repo": {"full_name": head_repo or f"{self.owner}/{self.repo}"}},
            "labels": [{"id": zlib.crc32(label.encode()), "name": label} for label in labels],
            "user": _user(self.base, "contributor"),
        }

    def add_run(
        self,
        branch: str,
        *,
        name: str = "perfbudget",
        path: str = ".github/workflows/perfbudget.yml",
        conclusion: str | None = "success",
        created_at: str = STAMP,
        artifacts: dict[str, bytes] | None = None,
        expired: bool = False,
        event: str = "push",
        head_sha: str = "",
        head_repo: str = "",
    ) -> int:
        """A workflow run with artifacts (name -> zip bytes); returns its id.

        ``conclusion=None`` is a run still in progress; ``head_repo`` other than
        this repository is a fork's pull request run.
        """
        run_id = self.new_id()
        head_repo = head_repo or f"{self.owner}/{self.repo}"
        self.runs.append(
            {
                "id": run_id,
                "name": name,
                "path": path,
                "head_branch": branch,
                "event": event,
                "head_sha": head_sha or f"{run_id:040x}",
                "status": "completed" if conclusion else "in_progress",
                "conclusion": conclusion,
                "created_at": created_at,
                "run_attempt": 1,
                "html_url": f"https://github.com/{self.owner}/{self.repo}/actions/runs/{run_id}",
                "repository": {"id": 1, "full_name": f"{self.owner}/{self.repo}"},
                "head_repository": {"id": 1 if head_repo == f"{self.owner}/{self.repo}" else 2, "full_name": head_repo},
            }
        )
        for artifact_name, content in (artifacts or {}).items():
            self.add_artifact(run_id, artifact_name, content, expired=expired)
        return run_id

    def add_commits(self, *shas: str) -> None:
        """A line of history, oldest first: each commit's parent is the one before it."""
        for parent, child in itertools.pairwise(shas):
            self.parents[child] = parent

    def add_artifact(self, run_id: int, name: str, content: bytes, expired: bool = False) -> int:
        aid = self.new_id()
        run = next((r for r in self.runs if r["id"] == run_id), None) or {"head_branch": "", "head_sha": "", "head_repository": {"id": 1}}
        self.artifacts[aid] = {
            "id": aid,
            "name": name,
            "size_in_bytes": len(content),
            "expired": expired,
            "_run": run_id,
            "created_at": STAMP,
            "archive_download_url": f"{self.repo_api}/actions/artifacts/{aid}/zip",
            "workflow_run": {
                "id": run_id,
                "repository_id": 1,
                "head_repository_id": run["head_repository"]["id"],
                "head_branch": run["head_branch"],
                "head_sha": run["head_sha"],
            },
        }
        self.blobs[aid] = content
        return aid

    def fail(self, method: str, path: str, status: int, times: int = 1, **kwargs: Any) -> None:
        self.failures.append(Failure(method, path, status, times, **kwargs))

    def requests(self, method: str, pattern: str) -> list[Logged]:
        return [entry for entry in self.log if entry.method == method and re.search(pattern, entry.path)]

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a perfbudget process talking to this server."""
        values = {
            "GITHUB_API_URL": self.base,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": f"{self.owner}/{self.repo}",
            "GITHUB_TOKEN": self.token,
            "PERFBUDGET_GITHUB_MAX_WAIT": "0.2",
        }
        values.update(extra)
        return values

    # -- HTTP ----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

            def do_PATCH(self) -> None:
                fake._dispatch(self, "PATCH")

            def do_DELETE(self) -> None:
                fake._dispatch(self, "DELETE")

        return Handler

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        handler.send_response(status)
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", **(headers or {})}
        if body is not None and not isinstance(body, bytes):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(handler, status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, headers)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        if url.path.startswith("/api/v3/"):  # GitHub Enterprise Server's API root
            url = url._replace(path=url.path[len("/api/v3") :])
        query = parse_qs(url.query)
        self.log.append(Logged(method, url.path, query, handler.headers.get("Authorization")))
        length = int(handler.headers.get("Content-Length") or 0)
        payload = json.loads(handler.rfile.read(length) or b"null") if length else None
        with self._lock:
            failure = next((f for f in self.failures if f.times > 0 and f.method == method and re.search(f.path, url.path)), None)
            if failure is not None:
                failure.times -= 1
        if failure is not None and failure.hang:
            time.sleep(min(failure.hang, 5.0))  # bounded: the test's teardown waits for this thread
            handler.close_connection = True
            return None
        if failure is not None and failure.body is not None:
            return self._send(handler, failure.status, failure.body, failure.headers)
        if failure is not None:
            return self._error(handler, failure.status, failure.message, failure.headers)
        if url.path.startswith("/_storage/"):  # the blob store the 302 points to; needs no token
            aid = int(url.path.rsplit("/", 1)[1])
            return self._send(handler, 200, self.blobs[aid], {"Content-Type": "application/zip"})
        if handler.headers.get("Authorization") != f"token {self.token}":
            return self._error(handler, 401, "Bad credentials")
        if url.path == "/user" and method == "GET":
            return self._get_user(handler)
        prefix = f"/repos/{self.owner}/{self.repo}"
        if not url.path.startswith(prefix + "/"):
            return self._error(handler, 404, "Not Found")
        route = url.path[len(prefix) :]
        for pattern, verb, action in self._routes():
            match = re.fullmatch(pattern, route)
            if match and verb == method:
                return action(handler, query, payload, *match.groups())
        return self._error(handler, 404, "Not Found")

    def _routes(self) -> list[tuple[str, str, Callable[..., None]]]:
        return [
            (r"/issues/(\d+)", "GET", self._get_issue),
            (r"/issues/(\d+)/comments", "GET", self._list_comments),
            (r"/issues/(\d+)/comments", "POST", self._create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self._edit_comment),
            (r"/issues/comments/(\d+)", "DELETE", self._delete_comment),
            (r"/pulls/(\d+)", "GET", self._get_pull),
            (r"/actions/workflows/([^/]+)/runs", "GET", self._list_runs),
            (r"/actions/runs", "GET", self._list_runs),
            (r"/actions/runs/(\d+)/artifacts", "GET", self._list_artifacts),
            (r"/actions/artifacts", "GET", self._list_artifacts),
            (r"/commits", "GET", self._list_commits),
            (r"/actions/artifacts/(\d+)/zip", "GET", self._download),
        ]

    def _get_issue(self, handler: Any, query: Any, payload: Any, number: str) -> None:
        n = int(number)
        if n not in self.pulls:
            return self._error(handler, 404, "Not Found")
        api = f"{self.repo_api}/issues/{n}"
        self._send(
            handler,
            200,
            {
                "id": n,
                "node_id": f"I_{n}",
                "number": n,
                "url": api,
                "comments_url": f"{api}/comments",
                "events_url": f"{api}/events",
                "labels_url": f"{api}/labels{{/name}}",
                "html_url": "",
                "title": f"PR {n}",
                "body": "",
                "state": "open",
                "locked": False,
                "comments": 0,
                "assignee": None,
                "assignees": [],
                "milestone": None,
                "labels": [],
                "closed_at": None,
                "created_at": STAMP,
                "updated_at": STAMP,
                "user": _user(self.base, "contributor"),
                "pull_request": {"url": f"{self.repo_api}/pulls/{n}"},
                "body_html": "",
                "body_text": "",
                "closed_by": None,
            },
        )

    def _list_comments(self, handler: Any, query: Any, payload: Any, number: str) -> None:
        comments = [{k: v for k, v in c.items() if not k.startswith("_")} for c in self.issue_comments(int(number))]
        self._paged(handler, query, comments, f"/issues/{number}/comments", None)

    def _create_comment(self, handler: Any, query: Any, payload: Any, number: str) -> None:
        if self.read_only:
            return self._error(handler, 403, READ_ONLY)
        if not isinstance(payload, dict) or not payload.get("body"):
            return self._error(handler, 422, "Validation Failed")
        if self.on_create_comment is not None:
            self.on_create_comment()
        comment = self.add_comment(int(number), payload["body"])
        self._send(handler, 201, {k: v for k, v in comment.items() if not k.startswith("_")})

    def _edit_comment(self, handler: Any, query: Any, payload: Any, cid: str) -> None:
        if self.read_only:
            return self._error(handler, 403, READ_ONLY)
        comment = self.comments.get(int(cid))
        if comment is None:
            return self._error(handler, 404, "Not Found")
        comment["body"] = comment["body_text"] = payload["body"]
        comment["updated_at"] = "2026-11-25T09:00:00Z"
        self._send(handler, 200, {k: v for k, v in comment.items() if not k.startswith("_")})

    def _delete_comment(self, handler: Any, query: Any, payload: Any, cid: str) -> None:
        if self.read_only:
            return self._error(handler, 403, READ_ONLY)
        if self.comments.pop(int(cid), None) is None:
            return self._error(handler, 404, "Not Found")
        self._send(handler, 204)

    def _get_pull(self, handler: Any, query: Any, payload: Any, number: str) -> None:
        pull = self.pulls.get(int(number))
        if pull is None:
            return self._error(handler, 404, "Not Found")
        self._send(handler, 200, pull)

    def _paged(self, handler: Any, query: Any, items: list[Any], path: str, key: str | None) -> None:
        """One page of ``items`` with GitHub's Link header (``key``: the list's name in an object, None: a bare list)."""
        per_page = min(int(query.get("per_page", ["30"])[0]), self.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max((len(items) + per_page - 1) // per_page, 1)
        headers = {}
        if self.next_link is not None:
            forced = self.next_link(path, page)
            if forced is not None:
                headers["Link"] = f'<{forced}>; rel="next"'
        elif page < last:
            others = "".join(f"&{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page"))
            link = f"{self.repo_api}{path}?per_page={per_page}{others}&page="
            headers["Link"] = f'<{link}{page + 1}>; rel="next", <{link}{last}>; rel="last"'
        body = chunk if key is None else {"total_count": len(items), key: chunk}
        self._send(handler, 200, body, headers)

    def _list_runs(self, handler: Any, query: Any, payload: Any, workflow: str | None = None) -> None:
        """Newest first, filtered like GitHub: ``status`` is a status or a conclusion."""

        def wanted(run: dict[str, Any]) -> bool:
            status = query.get("status", [None])[0]
            return (
                (workflow is None or run["path"].endswith("/" + workflow))
                and run["head_branch"] == query.get("branch", [run["head_branch"]])[0]
                and run["event"] == query.get("event", [run["event"]])[0]
                and run["head_sha"] == query.get("head_sha", [run["head_sha"]])[0]
                and status in (None, run["status"], run["conclusion"])
            )

        runs = sorted((run for run in self.runs if wanted(run)), key=lambda run: (run["created_at"], run["id"]), reverse=True)
        path = f"/actions/workflows/{workflow}/runs" if workflow else "/actions/runs"
        self._paged(handler, query, runs, path, "workflow_runs")

    def _list_artifacts(self, handler: Any, query: Any, payload: Any, run_id: str | None = None) -> None:
        """A run's artifacts, or the repository's filtered by exact ``name``, newest first."""
        found = [
            {k: v for k, v in a.items() if not k.startswith("_")}
            for a in sorted(self.artifacts.values(), key=lambda a: a["id"], reverse=True)
            if (run_id is None or a["_run"] == int(run_id)) and a["name"] == query.get("name", [a["name"]])[0]
        ]
        path = f"/actions/runs/{run_id}/artifacts" if run_id else "/actions/artifacts"
        self._paged(handler, query, found, path, "artifacts")

    def _list_commits(self, handler: Any, query: Any, payload: Any) -> None:
        """``sha``'s history, newest first, following first parents."""
        sha = query.get("sha", [""])[0]
        if sha not in self.parents and sha not in self.parents.values():
            return self._error(handler, 404, "No commit found for SHA: " + sha)
        chain = [sha]
        while chain[-1] in self.parents:
            chain.append(self.parents[chain[-1]])
        self._paged(handler, query, [{"sha": c, "commit": {"message": c}} for c in chain], "/commits", None)

    def _get_user(self, handler: Any) -> None:
        if handler.headers.get("Authorization") != f"token {self.token}":
            return self._error(handler, 401, "Bad credentials")
        if not self.user_endpoint:  # an installation token has no user
            return self._error(handler, 403, READ_ONLY)
        self._send(handler, 200, _user(self.base, self.login))

    def _download(self, handler: Any, query: Any, payload: Any, aid: str) -> None:
        if int(aid) not in self.blobs:
            return self._error(handler, 404, "Not Found")
        if self.artifacts[int(aid)]["expired"]:
            return self._error(handler, 410, "Artifact has expired")
        self._send(handler, 302, None, {"Location": f"{self.base}/_storage/{aid}?sig=short-lived"})


@pytest.fixture
def fake_github(request: pytest.FixtureRequest) -> Iterator[FakeGitHub]:
    """The fake API; with $PERFBUDGET_FAKE_GITHUB_LOG set, each test's requests are appended to that file."""
    server = FakeGitHub(page_size=2).start()
    try:
        yield server
    finally:
        server.stop()
        log = os.environ.get("PERFBUDGET_FAKE_GITHUB_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"## {request.node.name}\n")
                for entry in server.log:
                    query = "&".join(f"{k}={v[0]}" for k, v in sorted(entry.query.items()))
                    handle.write(f"{entry.method} {entry.path}{'?' + query if query else ''}\n")


def write_event(path: Path, event: dict[str, Any]) -> Path:
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def pr_event(
    number: int, head_sha: str, *, base: str = "main", head_repo: str = "acme/shop", base_sha: str = "", labels: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head_sha, "ref": "feature", "repo": {"full_name": head_repo}},
            "base": {"ref": base, "sha": base_sha, "repo": {"full_name": "acme/shop"}},
            "labels": [{"name": label} for label in labels],
        },
        "repository": {"full_name": "acme/shop", "default_branch": "main"},
    }


def cli(*argv: str) -> int:
    """Run ``perfbudget ARGV`` in-process, exactly as the console script does."""
    from perfbudget.cli import main

    return main(list(argv))
