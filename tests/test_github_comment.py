"""`perfbudget comment` against the fake GitHub API: one marked comment, updated, never duplicated."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfbudget.github.artifacts import PrContext, write_pr_context
from perfbudget.github.comments import MAX_COMMENT_CHARS, marker_for, should_post, with_marker
from tests.support.github import TOKEN, FakeGitHub, cli, pr_event, write_event

SHA = "a" * 40
MARKER = marker_for("CI", "perf")


@pytest.fixture
def pr_env(fake_github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pull_request job for PR #7 of acme/shop; returns the job summary file."""
    fake_github.add_pull(7, SHA)
    summary = tmp_path / "summary.md"
    event = write_event(tmp_path / "event.json", pr_event(7, SHA))
    env = fake_github.env(
        GITHUB_EVENT_PATH=str(event),
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_WORKFLOW="CI",
        GITHUB_JOB="perf",
        GITHUB_BASE_REF="main",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(tmp_path / "output"),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return summary


def _body(tmp_path: Path, text: str) -> str:
    path = tmp_path / "body.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _marked(fake: FakeGitHub, number: int = 7) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in fake.issue_comments(number) if MARKER in c["body"]]


def test_creates_then_updates_the_same_comment_across_pages(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    for index in range(5):  # page size 2: the marked comment ends up on page 3
        fake_github.add_comment(7, f"review remark {index}", login="reviewer")
    assert cli("comment", "--body", _body(tmp_path, "first report")) == 0
    [created] = _marked(fake_github)
    assert created["body"] == f"first report\n\n{MARKER}"

    assert cli("comment", "--body", _body(tmp_path, "second report")) == 0
    [updated] = _marked(fake_github)
    assert updated["id"] == created["id"]
    assert updated["body"].startswith("second report")
    assert len(fake_github.requests("POST", "/comments$")) == 1
    assert len(fake_github.issue_comments(7)) == 6
    # github3.py followed the Link headers to find it
    assert any(entry.query.get("page") == ["3"] for entry in fake_github.requests("GET", "/issues/7/comments$"))


def test_an_unchanged_body_is_not_edited(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    body = _body(tmp_path, "same")
    assert cli("comment", "--body", body) == 0
    assert cli("comment", "--body", body) == 0
    assert fake_github.requests("PATCH", "/issues/comments/") == []
    assert "comment-action<<" in (tmp_path / "output").read_text()


def test_other_jobs_comments_are_left_alone(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    other = fake_github.add_comment(7, f"theirs\n\n{marker_for('CI', 'other-job')}")
    assert cli("comment", "--body", _body(tmp_path, "ours")) == 0
    assert fake_github.comments[other["id"]]["body"].startswith("theirs")
    assert len(_marked(fake_github)) == 1


def test_only_the_tokens_own_comments_are_updated_or_deleted(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone pastes our marker into their comment: it is neither edited nor removed as a duplicate."""
    pasted = fake_github.add_comment(7, f"quoting the bot\n\n{MARKER}", login="reviewer")
    assert cli("comment", "--body", _body(tmp_path, "first")) == 0
    assert cli("comment", "--body", _body(tmp_path, "second")) == 0
    assert fake_github.comments[pasted["id"]]["body"].startswith("quoting the bot")
    ours = [c for c in _marked(fake_github) if c["user"]["login"] == "github-actions[bot]"]
    assert [c["body"].split("\n")[0] for c in ours] == ["second"]
    assert not fake_github.requests("DELETE", ".")
    assert "left 1 marked comment(s) by others alone" in capsys.readouterr().err


@pytest.mark.parametrize("asked", [True, False])
def test_the_tokens_identity_comes_from_the_api_or_the_comment_author_option(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, asked: bool
) -> None:
    """A personal token answers GET /user; a GitHub App's cannot, and --comment-author names its bot."""
    fake_github.login, fake_github.user_endpoint = "perf-app[bot]", asked
    mine = fake_github.add_comment(7, f"earlier\n\n{MARKER}")
    extra = [] if asked else ["--comment-author", "perf-app[bot]"]
    assert cli("comment", "--body", _body(tmp_path, "now"), *extra) == 0
    assert fake_github.comments[mine["id"]]["body"].startswith("now")
    assert len(fake_github.requests("POST", "/comments$")) == 0


def test_a_comment_created_by_a_racing_run_first_survives(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    """The other run's comment lands between our listing and our create: ours is the duplicate."""
    theirs: list[dict] = []  # type: ignore[type-arg]
    fake_github.on_create_comment = lambda: theirs.append(fake_github.add_comment(7, f"other run\n\n{MARKER}")) if not theirs else None
    assert cli("comment", "--body", _body(tmp_path, "ours")) == 0
    [survivor] = _marked(fake_github)
    assert survivor["id"] == theirs[0]["id"]
    assert survivor["body"].startswith("ours")
    assert len(fake_github.requests("DELETE", "/issues/comments/")) == 1


def test_duplicates_left_by_an_earlier_race_are_removed(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    oldest = fake_github.add_comment(7, f"one\n\n{MARKER}")
    fake_github.add_comment(7, f"two\n\n{MARKER}")
    assert cli("comment", "--body", _body(tmp_path, "now")) == 0
    [survivor] = _marked(fake_github)
    assert survivor["id"] == oldest["id"] and survivor["body"].startswith("now")


def test_two_runs_at_the_same_time_leave_one_comment(fake_github: FakeGitHub) -> None:
    """Two real concurrent clients: both list (nothing), both create, both clean up."""
    from perfbudget.github.client import connect, policy_for
    from perfbudget.github.comments import upsert_comment
    from perfbudget.github.context import ActionsContext

    fake_github.add_pull(7, SHA)
    both_listed = threading.Barrier(2, timeout=10)
    fake_github.on_create_comment = both_listed.wait  # neither create lands before both have listed
    context = ActionsContext(repository="acme/shop", api_url=fake_github.base, token=TOKEN)
    outcomes = []

    def one_run(body: str) -> None:
        client = connect(context, policy_for(0.1))
        outcomes.append(upsert_comment(client, "acme", "shop", 7, body, MARKER, "always", "changed"))

    threads = [threading.Thread(target=one_run, args=(f"run {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [o.action for o in outcomes] == ["created", "created"]
    assert len(fake_github.requests("POST", "/comments$")) == 2
    [survivor] = _marked(fake_github)
    assert {o.comment_id for o in outcomes} == {survivor["id"]}


def test_fork_pull_request_writes_the_job_summary_and_exits_0(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_event(tmp_path / "event.json", pr_event(7, SHA, head_repo="stranger/shop"))
    assert cli("comment", "--body", _body(tmp_path, "the report")) == 0
    assert fake_github.log == []  # no pointless write attempt with a read-only token
    summary = pr_env.read_text()
    assert "the report" in summary and "comes from a fork" in summary
    assert "perfbudget-fork-comment.yml" in capsys.readouterr().err


def test_read_only_token_falls_back_to_the_summary(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_github.read_only = True
    assert cli("comment", "--body", _body(tmp_path, "the report")) == 0
    err = capsys.readouterr().err
    assert "Resource not accessible by integration" in err and "read-only" in err
    assert "the report" in pr_env.read_text()
    assert fake_github.issue_comments(7) == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "invalid or expired"), (404, "not found"), (422, "refused the request"), (403, "lacks permission")],
)
def test_api_errors_are_explained_and_strict_fails(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int, expected: str
) -> None:
    fake_github.fail("GET", "/issues/7$", status, times=2)
    body = _body(tmp_path, "kept in the summary")
    assert cli("comment", "--body", body) == 0
    assert cli("comment", "--body", body, "--strict") == 3
    err = capsys.readouterr().err
    assert f"HTTP {status}" in err and expected in err
    assert TOKEN not in err
    assert pr_env.read_text().count("kept in the summary") == 2


def test_server_errors_are_retried_then_succeed(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    fake_github.fail("POST", "/issues/7/comments$", 502, times=1)
    fake_github.fail("GET", "/issues/7/comments$", 500, times=2)
    assert cli("comment", "--body", _body(tmp_path, "after retries")) == 0
    assert len(_marked(fake_github)) == 1


def test_modes(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    body = _body(tmp_path, "report")
    assert cli("comment", "--body", body, "--mode", "off") == 0
    assert fake_github.log == []  # off: not even a lookup
    assert cli("comment", "--body", body, "--mode", "on-failure", "--verdict", "changed") == 0
    assert cli("comment", "--body", body, "--mode", "on-change", "--verdict", "ok") == 0
    assert fake_github.requests("POST", "/comments$") == []
    assert cli("comment", "--body", body, "--mode", "on-failure", "--verdict", "fail") == 0
    assert len(_marked(fake_github)) == 1
    # Once there, it is kept current even when the run is fine again.
    assert cli("comment", "--body", _body(tmp_path, "fixed"), "--mode", "on-failure", "--verdict", "ok") == 0
    assert _marked(fake_github)[0]["body"].startswith("fixed")


def test_should_post_table() -> None:
    assert [should_post(m, "ok", False) for m in ("always", "on-change", "on-failure", "off")] == [True, False, False, False]
    assert [should_post(m, "changed", False) for m in ("always", "on-change", "on-failure", "off")] == [True, True, False, False]
    assert [should_post(m, "fail", True) for m in ("always", "on-change", "on-failure", "off")] == [True, True, True, False]


def test_marker_cannot_close_the_html_comment_and_long_bodies_fit() -> None:
    marker = marker_for("CI --> <script>", "job")
    assert marker.count("-->") == 1 and "<script>" not in marker
    text = with_marker("x" * 100_000, MARKER)
    assert len(text) <= MAX_COMMENT_CHARS and text.endswith(MARKER) and "truncated" in text


def test_not_a_pull_request_does_nothing(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_event(tmp_path / "event.json", {"ref": "refs/heads/main"})
    assert cli("comment", "--body", _body(tmp_path, "r")) == 0
    assert fake_github.log == []


def test_no_body_source_is_a_usage_problem(pr_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("comment") == 3
    assert "--body FILE" in capsys.readouterr().err


HOSTILE_REPORT = "@maintainers ![x](https://evil.example/pixel.png) [click](https://evil.example) from the fork's run"


def _artifact(tmp_path: Path, number: int = 7, sha: str = SHA, results: bool = True) -> Path:
    """An artifact as a fork's first stage uploads it; its report.md is whatever the fork wrote."""
    directory = tmp_path / "artifact"
    directory.mkdir(exist_ok=True)
    write_pr_context(directory, PrContext("acme/shop", number, sha, "CI", "perf", "fail"))
    (directory / "report.md").write_text(HOSTILE_REPORT, encoding="utf-8")
    if results:
        _results(directory / "results.ndjson.gz", 3)
    return directory


def _workflow_run_event(tmp_path: Path, head_sha: str = SHA) -> None:
    write_event(tmp_path / "event.json", {"workflow_run": {"head_sha": head_sha, "event": "pull_request"}})


def test_from_artifact_posts_on_the_checked_pull_request(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    _workflow_run_event(tmp_path)
    assert cli("comment", "--from-artifact", str(_artifact(tmp_path))) == 0
    [comment] = _marked(fake_github)
    assert comment["body"].startswith("### ⚠️ perfbudget: not compared") and "evil" not in comment["body"]


@pytest.mark.parametrize("results", [None, "{broken", '{"schema_version": 999}'])
def test_from_artifact_never_posts_the_forks_report(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], results: str | None
) -> None:
    """Missing or broken results: nothing is posted, not the fork's report.md as a fallback."""
    directory = _artifact(tmp_path, results=False)
    if results is not None:
        (directory / "results.json").write_text(results)
    _workflow_run_event(tmp_path)
    assert cli("comment", "--from-artifact", str(directory)) == 3
    assert "report.md is never posted" in capsys.readouterr().err
    assert fake_github.issue_comments(7) == [] and not fake_github.requests("POST", ".")


def test_from_artifact_refuses_a_forged_pull_request_number(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_github.add_pull(8, "b" * 40)  # someone else's PR
    _workflow_run_event(tmp_path)
    assert cli("comment", "--from-artifact", str(_artifact(tmp_path, number=8)), "--strict") == 3
    assert "refusing to comment" in capsys.readouterr().err
    assert fake_github.issue_comments(8) == []


def test_from_artifact_with_a_broken_pr_json_names_the_key(pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _artifact(tmp_path)
    data = json.loads((directory / "pr.json").read_text())
    data["number"] = "7; rm -rf /"
    (directory / "pr.json").write_text(json.dumps(data))
    assert cli("comment", "--from-artifact", str(directory)) == 3
    assert "key 'number' must be a positive integer" in capsys.readouterr().err


def _results(path: Path, queries: float) -> str:
    from perfbudget.run.model import Run, TestRecord
    from perfbudget.run.write import write_run

    run = Run(project="shop", commit="c" * 40)
    run.tests = [TestRecord("tests/test_a.py::test_list", "tests/test_a.py", 3, "passed", {"queries": queries})]
    write_run(run, path)
    return str(path)


def test_results_are_judged_and_rendered_for_the_comment(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    base = _results(tmp_path / "base.json", 3)
    same = _results(tmp_path / "same.json", 3)
    worse = _results(tmp_path / "worse.json", 9)
    assert cli("comment", "--results", same, "--baseline", base, "--mode", "on-failure") == 0
    assert _marked(fake_github) == []  # judged fine: on-failure stays quiet
    assert cli("comment", "--results", worse, "--baseline", base, "--mode", "on-failure") == 0
    [comment] = _marked(fake_github)
    assert "1 regression" in comment["body"] and "test_list" in comment["body"]


def test_without_a_baseline_the_comment_says_so(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    assert cli("comment", "--results", _results(tmp_path / "r.json", 3), "--baseline", str(tmp_path / "none.json")) == 0
    [comment] = _marked(fake_github)
    assert "no baseline from the target branch yet" in comment["body"]


@pytest.mark.parametrize(
    ("results", "baseline"),
    [("results.ndjson.gz", "baseline/00-run-1.ndjson.gz"), ("results.ndjson.gz", "baseline.ndjson.gz"), ("results.json", "baseline.json")],
)
def test_from_artifact_compares_with_the_artifacts_baseline_under_new_and_old_names(
    fake_github: FakeGitHub, pr_env: Path, tmp_path: Path, results: str, baseline: str
) -> None:
    """The action names them from perfbudget.github.artifacts; an artifact of an earlier release, the old way."""
    directory = _artifact(tmp_path, results=False)
    _results(directory / results, 9)
    (directory / baseline).parent.mkdir(exist_ok=True)
    _results(directory / baseline, 3)
    _workflow_run_event(tmp_path)
    assert cli("comment", "--from-artifact", str(directory), "--mode", "on-failure") == 0
    [comment] = _marked(fake_github)
    assert "1 regression" in comment["body"]


def test_from_artifact_judges_with_the_artifacts_budgets(fake_github: FakeGitHub, pr_env: Path, tmp_path: Path) -> None:
    directory = _artifact(tmp_path, results=False)
    _results(directory / "results.json", 12)
    (directory / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 5\n")
    _workflow_run_event(tmp_path)
    assert cli("comment", "--from-artifact", str(directory), "--mode", "on-failure") == 0
    [comment] = _marked(fake_github)
    assert "1 over budget" in comment["body"]


class _SilentServer:
    """A server on 127.0.0.1 that accepts connections and never answers: a hanging GitHub."""

    def __init__(self) -> None:
        import socket

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():  # bounded by close(): the fixture ends it
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections.append(connection)  # kept open, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.connections:
            connection.close()  # type: ignore[attr-defined]
        self.listener.close()


@pytest.fixture
def _silent_server() -> Iterator[_SilentServer]:
    server = _SilentServer()
    yield server
    server.close()


def _refused_url() -> str:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        (None, "no answer from GitHub (ConnectionError); gave up after retries"),
        ("not a url", "the GitHub API URL is not a valid http(s) URL (check GITHUB_API_URL)"),
        ("http://[::1:bad", "the GitHub API URL is not a valid http(s) URL (check GITHUB_API_URL)"),
    ],
)
def test_no_answer_or_a_bad_url_is_explained_not_a_traceback(
    pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, api_url: str | None, expected: str
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", api_url or _refused_url())
    body = _body(tmp_path, "kept in the summary")
    assert cli("comment", "--body", body, "--max-wait", "1") == 0
    assert cli("comment", "--body", body, "--max-wait", "1", "--strict") == 3
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and TOKEN not in err
    assert pr_env.read_text().count("kept in the summary") == 2


def test_a_hanging_server_is_given_up_on_within_max_wait(
    pr_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, _silent_server: _SilentServer
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", _silent_server.url)
    assert cli("comment", "--body", _body(tmp_path, "kept"), "--max-wait", "2") == 0
    # The request that hung used up --max-wait: no retry (before, 5 attempts of 30 s each held it for 121 s).
    assert len(_silent_server.connections) == 1
    assert "no answer from GitHub (ReadTimeout)" in capsys.readouterr().err
