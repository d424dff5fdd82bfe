"""The GitHub client and context: retries and waits as GitHub asks, bounded, errors in words, token kept secret."""

from __future__ import annotations

import email.utils
import logging
import socket
from pathlib import Path

import pytest

from perfbudget.github.client import GitHubProblem, RetryPolicy, connect, describe, get_json
from perfbudget.github.context import ActionsContext, read_context
from tests.support.github import TOKEN, FakeGitHub, cli, pr_event, write_event

NOW = 1_800_000_000.0


def _client(fake: FakeGitHub, sleeps: list[float], max_wait: float = 60.0, api_url: str | None = None):  # type: ignore[no-untyped-def]
    policy = RetryPolicy(max_total_wait=max_wait, backoff=0.5, sleep=sleeps.append, clock=lambda: NOW)
    return connect(ActionsContext(repository="acme/shop", api_url=api_url or fake.base, token=TOKEN), policy)


def test_5xx_is_retried_with_growing_backoff(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(1, "f" * 40)
    fake_github.fail("GET", "/pulls/1$", 502, times=2)
    sleeps: list[float] = []
    assert get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")["number"] == 1
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] < sleeps[1] <= 1.25


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_waits_exactly_retry_after(fake_github: FakeGitHub, status: int) -> None:
    fake_github.add_pull(1, "f" * 40)
    fake_github.fail("GET", "/pulls/1$", status, headers={"Retry-After": "7"}, message="secondary rate limit")
    sleeps: list[float] = []
    get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")
    assert sleeps == [7.0]


def test_an_http_date_retry_after_is_honoured(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(1, "f" * 40)
    when = email.utils.formatdate(NOW + 9, usegmt=True)
    fake_github.fail("GET", "/pulls/1$", 429, headers={"Retry-After": when}, message="slow down")
    sleeps: list[float] = []
    get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")
    assert sleeps == [9.0]


def test_an_unreadable_retry_after_falls_back_to_backoff(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(1, "f" * 40)
    fake_github.fail("GET", "/pulls/1$", 502, headers={"Retry-After": "soon-ish"})
    sleeps: list[float] = []
    assert get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")["number"] == 1
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 0.625


def test_exhausted_primary_rate_limit_waits_until_reset(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(1, "f" * 40)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 5)}
    fake_github.fail("GET", "/pulls/1$", 403, headers=headers, message="API rate limit exceeded")
    sleeps: list[float] = []
    get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")
    assert sleeps == [6.0]  # until the reset, plus a second of slack


def test_total_wait_is_bounded(fake_github: FakeGitHub) -> None:
    fake_github.fail("GET", "/pulls/1$", 403, headers={"Retry-After": "120"}, message="secondary rate limit")
    sleeps: list[float] = []
    with pytest.raises(Exception) as raised:
        get_json(_client(fake_github, sleeps, max_wait=60), "/repos/acme/shop/pulls/1")
    assert sleeps == []  # 120 s would exceed the budget: give up at once
    problem = describe(raised.value, "reading PR 1")
    assert "HTTP 403 secondary rate limit" in str(problem)
    fake_github.fail("GET", "/pulls/2$", 500, times=100)
    with pytest.raises(Exception) as raised:
        get_json(_client(fake_github, sleeps, max_wait=3.0), "/repos/acme/shop/pulls/2")
    assert "HTTP 500" in str(describe(raised.value, "reading PR 2"))
    assert sum(sleeps) <= 3.0 and len(sleeps) >= 2


def test_a_forbidden_without_rate_limit_headers_is_not_retried(fake_github: FakeGitHub) -> None:
    fake_github.fail("GET", "/pulls/1$", 403, times=5, message="Resource not accessible by integration")
    sleeps: list[float] = []
    with pytest.raises(Exception) as raised:
        get_json(_client(fake_github, sleeps), "/repos/acme/shop/pulls/1")
    assert sleeps == []
    problem = describe(raised.value, "x")
    assert problem.status == 403 and "Resource not accessible by integration" in str(problem)


def test_no_answer_is_retried_then_explained_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, max_total_wait=10, backoff=0.01, sleep=sleeps.append)
    client = connect(ActionsContext(repository="a/b", api_url=f"http://127.0.0.1:{port}", token=TOKEN), policy)
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as raised:
        get_json(client, "/repos/a/b/pulls/1")
    problem = describe(raised.value, "reading PR 1")
    assert isinstance(problem, GitHubProblem) and "no answer from GitHub" in str(problem)
    assert len(sleeps) == 2
    assert TOKEN not in str(problem) and TOKEN not in repr(raised.value) and TOKEN not in caplog.text


def test_github_enterprise_api_root(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(3, "e" * 40)
    client = _client(fake_github, [], api_url=f"{fake_github.base}/api/v3")
    assert get_json(client, "/repos/acme/shop/pulls/3")["head"]["sha"] == "e" * 40
    assert client.issue("acme", "shop", 3).number == 3


def test_the_token_never_appears_in_any_output(
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_github.add_pull(7, "a" * 40)
    summary = tmp_path / "summary.md"
    env = fake_github.env(GITHUB_EVENT_PATH=str(write_event(tmp_path / "e.json", pr_event(7, "a" * 40))), GITHUB_STEP_SUMMARY=str(summary))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    body = tmp_path / "body.md"
    body.write_text("report")
    with caplog.at_level(logging.DEBUG):
        for status in (401, 403, 404, 422, 500):
            fake_github.fail("GET", "/issues/7$", status, times=100)
            assert cli("comment", "--body", str(body), "--strict") == 3
            fake_github.failures.clear()
        fake_github.read_only = True
        cli("comment", "--body", str(body))
        cli("baseline", "fetch", "-o", str(tmp_path / "b.json"), "--branch", "main")
    out = capsys.readouterr()
    everything = out.out + out.err + caplog.text + summary.read_text()
    assert "HTTP 401" in everything and "HTTP 500" in everything
    assert TOKEN not in everything
    assert TOKEN not in repr(read_context())


def test_context_from_a_pull_request_event(tmp_path: Path) -> None:
    event = write_event(tmp_path / "e.json", pr_event(12, "b" * 40, head_repo="stranger/shop"))
    context = read_context(
        {
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_BASE_REF": "main",
            "GITHUB_RUN_ID": "55",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_SHA": "c" * 40,
            "GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/perf.yml@refs/pull/12/merge",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "GITHUB_TOKEN": TOKEN,
        }
    )
    assert (context.pr_number, context.head_sha, context.is_fork) == (12, "b" * 40, True)
    assert (context.build_id, context.workflow_file, context.target_branch) == ("55-2", "perf.yml", "main")
    assert context.api_url == "https://ghe.example.com/api/v3"
    assert context.owner_repo == ("acme", "shop")


def test_context_on_push_and_with_a_broken_event_file(tmp_path: Path) -> None:
    event = write_event(tmp_path / "e.json", {"ref": "refs/heads/main", "repository": {"default_branch": "main"}})
    context = read_context({"GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "acme/shop", "GITHUB_REF_NAME": "main"})
    assert (context.pr_number, context.is_fork, context.target_branch, context.api_url) == (None, False, "main", "https://api.github.com")
    (tmp_path / "e.json").write_text("{not json")
    broken = read_context({"GITHUB_EVENT_PATH": str(event)})
    assert broken.pr_number is None and "cannot read the event file" in broken.warnings[0]


@pytest.mark.parametrize("command", [["comment", "--body", "-"], ["baseline", "fetch", "-o", "out"]])
def test_without_the_github_extra_the_commands_say_what_to_install(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """github3.py is the github extra's: a plain install has no cryptography; the message names the extra."""
    import sys

    from perfbudget.cli import main

    monkeypatch.setitem(sys.modules, "github3", None)  # as if not installed
    for name in [m for m in sys.modules if m.startswith("perfbudget.github.") and m != "perfbudget.github.options"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", "")
    assert main(command) == 3
    assert f"perfbudget {command[0]}: this command talks to GitHub: pip install 'perfbudget[github]'" in capsys.readouterr().err
