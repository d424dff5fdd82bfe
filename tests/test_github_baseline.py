"""`perfbudget baseline fetch` against the fake GitHub API: the right run, never a fork's, or a clear "none"."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from perfbudget.run.model import Run, TestRecord
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run
from tests.support.github import TOKEN, FakeGitHub, cli, write_event, zip_bytes


def results_json(queries: float, commit: str = "c0ffee") -> bytes:
    """A results file's bytes, as an artifact holds them."""
    run = Run(project="shop", commit=commit, branch="main", build_id="1-1")
    run.tests = [TestRecord("tests/test_a.py::test_list", "tests/test_a.py", 3, "passed", {"queries": queries})]
    with tempfile.TemporaryDirectory() as directory:
        return write_run(run, Path(directory) / "results.ndjson").read_bytes()


@pytest.fixture
def push_env(fake_github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    env = fake_github.env(
        GITHUB_WORKFLOW="perfbudget",
        GITHUB_WORKFLOW_REF="acme/shop/.github/workflows/perfbudget.yml@refs/pull/7/merge",
        GITHUB_BASE_REF="main",
        GITHUB_RUN_ID="99999",
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "baseline"


NAME = "perfbudget-tests"  # the default key's artifact (GITHUB_JOB unset: "tests")
SHAS = [f"{n:x}" * 40 for n in range(1, 10)]  # main's history, oldest first: 1111..., 2222..., ...


def _run(fake: FakeGitHub, n: int, day: int, *, name: str = NAME, **kwargs: object) -> int:
    """A push run of main at commit SHAS[n] with its artifact (results of commit SHAS[n])."""
    artifacts = {name: zip_bytes({"results.ndjson.gz": results_json(n, SHAS[n])})}
    return fake.add_run("main", head_sha=SHAS[n], created_at=f"2026-11-{day:02d}T00:00:00Z", artifacts=artifacts, **kwargs)  # type: ignore[arg-type]


def _fetched(directory: Path) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    """selection.json and the commits of the runs saved, chosen first."""
    selection = json.loads((directory / "selection.json").read_text())
    files = sorted(directory.glob("*.ndjson.gz"))
    return selection, [load_run(f).commit for f in files]  # type: ignore[misc]


def _pr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base_sha: str) -> None:
    monkeypatch.setenv(
        "GITHUB_EVENT_PATH",
        str(write_event(tmp_path / "event.json", {"pull_request": {"number": 7, "base": {"ref": "main", "sha": base_sha}}})),
    )


def test_the_prs_base_commit_is_the_baseline_and_older_runs_its_history(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_github.add_commits(*SHAS)
    for n in range(1, 7):
        _run(fake_github, n, 10 + n)
    _pr(monkeypatch, tmp_path, SHAS[4])  # main moved on to 6 since the PR branched off 4
    assert cli("baseline", "fetch", "-o", str(push_env), "--history", "3") == 0
    selection, commits = _fetched(push_env)
    assert commits == [SHAS[4], SHAS[3], SHAS[2]]  # 5 and 6 hold commits the PR does not contain
    assert (selection["found"], selection["how"], selection["commit"], selection["behind"]) == (True, "base", SHAS[4], 0)
    assert selection["chosen"] == f"00-run-{fake_github.runs[3]['id']}.ndjson.gz" and selection["history"] == 3
    listing = fake_github.requests("GET", "/actions/workflows/perfbudget.yml/runs$")[0]
    assert listing.query["branch"] == ["main"] and listing.query["status"] == ["completed"]
    assert fake_github.requests("GET", "/actions/artifacts$")[0].query["name"] == [NAME]
    assert "found<<" in (push_env.parent / "output").read_text()


def test_without_a_run_of_the_base_the_nearest_ancestor_is_chosen(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_github.page_size = 100  # one page of the base's history, as on GitHub
    fake_github.add_commits(*SHAS)
    for n in (1, 3, 7):
        _run(fake_github, n, 10 + n)
    _pr(monkeypatch, tmp_path, SHAS[5])
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert (selection["how"], selection["commit"], selection["behind"]) == ("ancestor", SHAS[3], 2)
    assert commits == [SHAS[3], SHAS[1]]
    assert fake_github.requests("GET", "/commits$")[0].query["sha"] == [SHAS[5]]


def test_when_no_ancestor_has_results_the_newest_run_is_used_and_labelled(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _run(fake_github, 1, 11)
    _run(fake_github, 2, 12)
    _pr(monkeypatch, tmp_path, "f" * 40)  # GitHub does not know the base (answers 404)
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert (selection["how"], selection["commit"], commits) == ("newest", SHAS[2], [SHAS[2], SHAS[1]])


def test_a_forks_pull_request_on_a_branch_named_main_is_never_the_baseline(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The poisoning of GHSA-5xr6-xhww-33m4: a fork's run lists under branch=main and succeeds."""
    fake_github.add_commits(*SHAS)
    _run(fake_github, 1, 11)
    poison = {NAME: zip_bytes({"results.ndjson.gz": results_json(0, "poisoned")})}
    fake_github.add_run(
        "main", event="pull_request", head_repo="stranger/shop", head_sha=SHAS[2], created_at="2026-11-20T00:00:00Z", artifacts=poison
    )
    fake_github.add_run("main", event="pull_request_target", head_sha=SHAS[2], created_at="2026-11-21T00:00:00Z", artifacts=poison)
    fake_github.add_run(
        "main", event="push", head_repo="stranger/shop", head_sha=SHAS[2], created_at="2026-11-22T00:00:00Z", artifacts=poison
    )
    _pr(monkeypatch, tmp_path, SHAS[2])
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert commits == [SHAS[1]] and selection["how"] == "ancestor"
    assert "ignored 3 run(s) of branch 'main': pull requests and forks are never a baseline" in capsys.readouterr().err
    assert not fake_github.requests("GET", f"^/_storage/{max(fake_github.artifacts)}")  # never even downloaded


def test_a_failed_run_with_its_artifact_counts_and_a_run_in_progress_does_not(fake_github: FakeGitHub, push_env: Path) -> None:
    """A regression merged with fail-on: failure must not leave main without a baseline."""
    _run(fake_github, 1, 11)
    _run(fake_github, 2, 12, conclusion="failure")
    _run(fake_github, 3, 13, conclusion=None)
    assert cli("baseline", "fetch", "-o", str(push_env), "--history", "1") == 0
    selection, commits = _fetched(push_env)
    assert commits == [SHAS[2]] and selection["how"] == "branch"


def test_only_the_artifact_of_exactly_this_key_is_a_baseline(fake_github: FakeGitHub, push_env: Path) -> None:
    _run(fake_github, 1, 11, name="perfbudget-api")
    _run(fake_github, 2, 12)
    _run(fake_github, 3, 13, name="perfbudget-tests-3.12")
    _run(fake_github, 4, 14, name="perfbudget-api")
    assert cli("baseline", "fetch", "-o", str(push_env / "tests")) == 0
    assert _fetched(push_env / "tests")[1] == [SHAS[2]]
    assert cli("baseline", "fetch", "-o", str(push_env / "api"), "--key", "api") == 0
    assert _fetched(push_env / "api")[1] == [SHAS[4], SHAS[1]]


def test_a_suite_split_over_jobs_is_joined_into_one_baseline(fake_github: FakeGitHub, push_env: Path) -> None:
    """main ran the suite as shards (perfbudget-tests--shard-1, -2): the baseline is their tests together."""
    shards = {}
    for shard, node in (("1", "tests/test_a.py::test_one"), ("2", "tests/test_b.py::test_two")):
        run = Run(project="shop", commit=SHAS[1], branch="main", shard=shard)
        run.tests = [TestRecord(node, node.split("::")[0], 3, "passed", {"queries": 2})]
        with tempfile.TemporaryDirectory() as directory:
            shards[f"{NAME}--shard-{shard}"] = zip_bytes(
                {"results.ndjson.gz": write_run(run, Path(directory) / "r.ndjson.gz").read_bytes()}
            )
    shards["perfbudget-tests-3.12"] = zip_bytes({"results.ndjson.gz": results_json(9, "another key")})
    fake_github.add_run("main", head_sha=SHAS[1], artifacts=shards)
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    [file] = push_env.glob("*.ndjson.gz")
    assert sorted(t.node_id for t in load_run(file).tests) == ["tests/test_a.py::test_one", "tests/test_b.py::test_two"]
    assert _fetched(push_env)[0]["commit"] == SHAS[1]


def test_skips_runs_without_a_usable_artifact(fake_github: FakeGitHub, push_env: Path) -> None:
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={NAME: zip_bytes({"results.json": results_json(3, "usable")})})
    fake_github.add_run("main", created_at="2026-11-21T00:00:00Z", artifacts={NAME: zip_bytes({"results.json": "{broken"})})
    fake_github.add_run("main", created_at="2026-11-22T00:00:00Z", artifacts={NAME: b"not a zip"})
    fake_github.add_run("main", created_at="2026-11-23T00:00:00Z", artifacts={NAME: zip_bytes({"report.md": "no results"})})
    fake_github.add_run(
        "main", created_at="2026-11-24T00:00:00Z", artifacts={NAME: zip_bytes({"results.json": results_json(1)})}, expired=True
    )
    fake_github.add_run("main", created_at="2026-11-25T00:00:00Z", artifacts={"coverage": zip_bytes({"results.json": results_json(1)})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == ["usable"]


def test_no_baseline_is_not_an_error_and_says_why(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert commits == [] and selection["found"] is False
    assert selection["reason"] == "no finished push run of this workflow on 'main' yet"
    err = capsys.readouterr().err
    assert "::warning title=perfbudget::not compared with main: no finished push run" in err
    output = (push_env.parent / "output").read_text()
    assert "reason<<" in output and "no finished push run" in output


def test_expired_artifacts_leave_a_reason_naming_the_artifact(fake_github: FakeGitHub, push_env: Path) -> None:
    _run(fake_github, 1, 11)
    fake_github.artifacts[max(fake_github.artifacts)]["expired"] = True
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert "has an unexpired artifact named 'perfbudget-tests'" in _fetched(push_env)[0]["reason"]


def test_only_bad_artifacts_leave_no_results_and_say_why(
    fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = fake_github.add_run("main", artifacts={NAME: zip_bytes({"results.json": '{"schema_version": 999}'})})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert commits == [] and not list(push_env.glob("*.download"))
    assert "no usable results among 1 runs" in selection["reason"]
    assert f"run {run_id}:" in capsys.readouterr().err


def test_own_run_is_not_its_own_baseline(fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = _run(fake_github, 1, 11)
    monkeypatch.setenv("GITHUB_RUN_ID", str(run_id))
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == []


def test_without_workflow_ref_runs_are_filtered_by_workflow_name(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_WORKFLOW_REF")
    _run(fake_github, 1, 11)
    _run(fake_github, 2, 12, name=NAME, path=".github/workflows/lint.yml")
    fake_github.runs[-1]["name"] = "lint"
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == [SHAS[1]]
    assert fake_github.requests("GET", "/actions/runs$")


def test_history_downloads_stop_at_the_time_bound(fake_github: FakeGitHub, push_env: Path) -> None:
    for n in range(1, 6):
        _run(fake_github, n, 10 + n)
    assert cli("baseline", "fetch", "-o", str(push_env), "--history-seconds", "0") == 0
    assert _fetched(push_env)[1] == [SHAS[5]]  # the baseline itself is always fetched


def test_runs_and_artifacts_are_read_across_pages(fake_github: FakeGitHub, push_env: Path) -> None:
    """Page size 2 on the fake: the baseline's run is on the third page of both lists."""
    _run(fake_github, 1, 11)
    for day in range(12, 17):
        fake_github.add_run("main", created_at=f"2026-11-{day}T00:00:00Z", artifacts={"coverage": b"x"})
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == [SHAS[1]]
    assert any(entry.query.get("page") == ["3"] for entry in fake_github.requests("GET", "/runs$"))


def test_retries_a_flaky_api_and_honours_the_rate_limit(fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBUDGET_GITHUB_MAX_WAIT", "2")
    fake_github.add_run("main", artifacts={NAME: zip_bytes({"results.json": results_json(1, "after-retry")})})
    fake_github.fail("GET", "/runs$", 502, times=2)
    fake_github.fail("GET", "/artifacts$", 403, headers={"Retry-After": "0"}, message="You have exceeded a secondary rate limit")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == ["after-retry"]
    assert len(fake_github.requests("GET", "/runs$")) == 3


def test_api_down_falls_back_and_strict_fails(fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_github.fail("GET", "/runs$", 500, times=100)
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert cli("baseline", "fetch", "-o", str(push_env), "--strict") == 3
    err = capsys.readouterr().err
    assert "HTTP 500" in err and "not compared with the target branch" in err and TOKEN not in err
    assert "baseline fetch failed" in (push_env.parent / "summary.md").read_text()


def test_missing_repository_or_token_is_explained(
    push_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert "no GitHub token" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", "")
    assert cli("baseline", "fetch", "-o", str(push_env), "--strict") == 3
    assert "expected 'owner/name'" in capsys.readouterr().err


def test_an_artifact_that_expired_after_listing_is_skipped(
    fake_github: FakeGitHub, push_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_github.add_run("main", created_at="2026-11-20T00:00:00Z", artifacts={NAME: zip_bytes({"results.json": results_json(1, "older")})})
    newest = fake_github.add_run("main", created_at="2026-11-24T00:00:00Z", artifacts={NAME: zip_bytes({"results.json": results_json(1)})})
    fake_github.fail("GET", r"/actions/artifacts/\d+/zip$", 410, message="Artifact has expired")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == ["older"]
    assert f"skipped run {newest}: downloading its artifact: HTTP 410 Artifact has expired" in capsys.readouterr().err


def test_a_hanging_or_refusing_github_is_one_line_and_the_reason_not_compared(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fake server hangs (says nothing, then drops the connection), then stops listening altogether."""
    import time

    monkeypatch.setenv("PERFBUDGET_GITHUB_MAX_WAIT", "1")
    fake_github.fail("GET", "/runs$", 0, times=10, hang=2.5)
    started = time.monotonic()
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert time.monotonic() - started < 10  # bounded by --max-wait (one read timeout, retries within 1 s)
    err = capsys.readouterr().err
    assert "no answer from GitHub" in err and "Traceback" not in err
    assert _fetched(push_env)[0]["reason"].startswith("baseline fetch failed: looking for 'main' results in acme/shop: no answer")
    fake_github.stop()
    assert cli("baseline", "fetch", "-o", str(push_env), "--strict") == 3
    err = capsys.readouterr().err
    assert "no answer from GitHub (ConnectionError)" in err and "Traceback" not in err and TOKEN not in err


def test_a_corrupt_archive_member_or_a_hanging_history_download_skips_that_run_only(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PERFBUDGET_GITHUB_MAX_WAIT", "1")
    good = zip_bytes({"results.ndjson.gz": results_json(1, "good")})
    damaged = bytearray(zip_bytes({"results.ndjson.gz": results_json(1, "x" * 4000)}))
    damaged[60:90] = b"\xff" * 30  # inside the deflated data: the archive opens, the member does not inflate
    _run(fake_github, 1, 11)
    fake_github.add_run("main", head_sha=SHAS[2], created_at="2026-11-12T00:00:00Z", artifacts={NAME: bytes(damaged)})
    fake_github.add_run("main", head_sha=SHAS[3], created_at="2026-11-13T00:00:00Z", artifacts={NAME: good})
    hanging = min(a["id"] for a in fake_github.artifacts.values())  # run 1's, the oldest: history
    fake_github.fail("GET", f"^/_storage/{hanging}$", 0, times=10, hang=2.5)
    (push_env).mkdir()
    (push_env / "07-run-1.ndjson.gz").write_bytes(b"an earlier fetch's file")
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    assert _fetched(push_env)[1] == ["good"]  # stale file gone, damaged and hanging runs skipped
    err = capsys.readouterr().err
    assert "cannot be read (" in err and "no answer from GitHub" in err and "Traceback" not in err


def test_when_the_ancestors_cannot_be_listed_the_label_says_so(
    fake_github: FakeGitHub, push_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No contents: read on a private repository: the commits API answers 403."""
    _run(fake_github, 1, 11)
    fake_github.fail("GET", "/commits$", 403, times=10, message="Resource not accessible by integration")
    _pr(monkeypatch, tmp_path, SHAS[2])
    assert cli("baseline", "fetch", "-o", str(push_env)) == 0
    selection, commits = _fetched(push_env)
    assert (selection["how"], selection["searched"], commits) == ("newest", 1, [SHAS[1]])
    assert "listing the ancestors of 333333333333: HTTP 403" in capsys.readouterr().err
