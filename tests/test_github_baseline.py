"""`perfbudget baseline fetch` against the fake GitHub API: newest good artifact, or a clear "none"."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from perfbudget.run.model import Run, TestRecord
from perfbudget.run.store import load_run, write_run
from tests.helpers_github import TOKEN, FakeGitHub, cli, zip_bytes


def results_json(queries: float, commit: str = "c0ffee") -> bytes:
    """A results file's bytes, as an artifact holds them."""
    run = Run(project="shop", commit=commit, branch="main", build_id="1-1")
    run.tests = [TestRecord("tests/test_a.py::test_list", "tests/test_a.py", 3, "passed", {"queries": queries})]
    with tempfile.TemporaryDirectory() as directory:
        return write_run(run, Path(directory) / "results.ndjson").read_bytes()


@pytest.fixture
def push_env(fake_github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    env = fake_github.env(
        GITHUB_WORKFLOW="perfbudget", GITHUB_WORKFLOW_REF="acme/shop/.github/workflows/perfbudget.yml@refs/pull/7/merge",
        GITHUB_BASE_REF="main", GITHUB_RUN_ID="99999", GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
    )  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "baseline.json"


def test_fetches_the_newest_successful_run_of_this_workflow(fake_github: FakeGitHub, push_env: Path) -> None:
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(3, "old")})})
    fake_github.add_run("main", created_at="2026-11-24T00:00:00Z", artifacts={"perfbudget-2-1": zip_bytes({"results.json": results_json(4, "new")})})
    fake_github.add_run("main", created_at="2026-11-25T00:00:00Z", conclusion="failure", artifacts={"perfbudget-3-1": zip_bytes({"results.json": results_json(9, "failed")})})
    fake_github.add_run("main", created_at="2026-11-25T01:00:00Z", path=".github/workflows/other.yml", artifacts={"perfbudget-4-1": zip_bytes({"results.json": results_json(9, "other")})})
    fake_github.add_run("feature", created_at="2026-11-25T02:00:00Z", artifacts={"perfbudget-5-1": zip_bytes({"results.json": results_json(9, "branch")})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert load_run(push_env).commit == "new"
    [listing] = fake_github.requests("GET", "/actions/workflows/perfbudget.yml/runs$")
    assert listing.query["branch"] == ["main"] and listing.query["status"] == ["success"]
    storage = fake_github.requests("GET", "^/_storage/")
    assert len(storage) == 1  # the 302 was followed
    assert "found<<" in (push_env.parent / "output").read_text()


def test_skips_runs_without_a_usable_artifact(fake_github: FakeGitHub, push_env: Path) -> None:
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(3, "usable")})})
    fake_github.add_run("main", created_at="2026-11-21T00:00:00Z", artifacts={"perfbudget-2-1": zip_bytes({"results.json": "{broken"})})
    fake_github.add_run("main", created_at="2026-11-22T00:00:00Z", artifacts={"perfbudget-3-1": b"not a zip"})
    fake_github.add_run("main", created_at="2026-11-23T00:00:00Z", artifacts={"perfbudget-4-1": zip_bytes({"report.md": "no results"})})
    fake_github.add_run("main", created_at="2026-11-24T00:00:00Z", artifacts={"perfbudget-5-1": zip_bytes({"results.json": results_json(1)})}, expired=True)
    fake_github.add_run("main", created_at="2026-11-25T00:00:00Z", artifacts={"coverage": zip_bytes({"results.json": results_json(1)})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert load_run(push_env).commit == "usable"


def test_no_baseline_is_not_an_error(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert not push_env.exists()
    err = capsys.readouterr().err
    assert "no successful run of this workflow on branch 'main' yet" in err
    assert "budgets only" in err


def test_only_bad_artifacts_leave_no_file_and_say_why(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = fake_github.add_run("main", artifacts={"perfbudget-1-1": zip_bytes({"results.json": '{"schema_version": 999}'})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert not push_env.exists() and not list(push_env.parent.glob("*.download"))
    err = capsys.readouterr().err
    assert f"run {run_id}:" in err and "no usable baseline" in err


def test_own_run_is_not_its_own_baseline(fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = fake_github.add_run("main", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(1)})})
    monkeypatch.setenv("GITHUB_RUN_ID", str(run_id))
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert not push_env.exists()


def test_without_workflow_ref_runs_are_filtered_by_workflow_name(fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_WORKFLOW_REF")
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(1, "ours")})})
    fake_github.add_run("main", created_at="2026-11-25T00:00:00Z", name="lint", artifacts={"perfbudget-2-1": zip_bytes({"results.json": results_json(1, "lint")})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert load_run(push_env).commit == "ours"
    assert fake_github.requests("GET", "/actions/runs$")


def test_retries_a_flaky_api_and_honours_the_rate_limit(fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBUDGET_GITHUB_MAX_WAIT", "2")
    fake_github.add_run("main", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(1, "after-retry")})})
    fake_github.fail("GET", "/runs$", 502, times=2)
    fake_github.fail("GET", "/artifacts$", 403, headers={"Retry-After": "0"}, message="You have exceeded a secondary rate limit")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert load_run(push_env).commit == "after-retry"
    assert len(fake_github.requests("GET", "/runs$")) == 3


def test_api_down_falls_back_and_strict_fails(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_github.fail("GET", "/runs$", 500, times=100)
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert cli("baseline", "fetch", "-o", str(push_env), "--strict") == 3
    err = capsys.readouterr().err
    assert "HTTP 500" in err and "comparing with budgets only" in err and TOKEN not in err
    assert "baseline fetch failed" in (push_env.parent / "summary.md").read_text()


def test_missing_repository_or_token_is_explained(push_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert "no GitHub token" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", "")
    assert cli("baseline", "fetch", "-o", str(push_env), "--strict") == 3
    assert "expected 'owner/name'" in capsys.readouterr().err


def test_an_artifact_that_expired_after_listing_is_skipped(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={"perfbudget-1-1": zip_bytes({"results.json": results_json(1, "older")})})
    newest = fake_github.add_run("main", created_at="2026-11-24T00:00:00Z", artifacts={"perfbudget-2-1": zip_bytes({"results.json": results_json(1)})})
    fake_github.fail("GET", r"/actions/artifacts/\d+/zip$", 410, message="Artifact has expired")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert load_run(push_env).commit == "older"
    assert f"run {newest}: downloading its artifact: HTTP 410 Artifact has expired" in capsys.readouterr().err
