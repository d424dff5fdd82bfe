"""The action end to end, its steps run in the runner's order against the fake GitHub API.

One repository's story on the example project: a push to main stores the
baseline artifact; a pull request adds an N+1 (baseline fetched, regression
found, comment created, job failed); a second push fixes it (the same comment
updated, not duplicated); a pull request from a fork (read-only token: no
comment, the job summary has the report); then the fork's comment posted by
the workflow_run stage from examples/perfbudget-fork-comment.yml.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from perfbudget.github.artifacts import BASELINE_NAME, RESULTS_NAME, artifact_name, build_dir
from perfbudget.github.comments import marker_for
from perfbudget.github.context import read_context
from perfbudget.run.store import load_run
from tests.fakegithub.runner import JobRun, Runner
from tests.helpers_github import TOKEN, FakeGitHub, pr_event, write_event

ROOT = Path(__file__).resolve().parent.parent
N_PLUS_ONE_FROM = 'Post.objects.select_related("author").prefetch_related("tags")'
N_PLUS_ONE_TO = 'Post.objects.prefetch_related("tags")'
INPUTS = {
    "install": "false",  # perfbudget is installed here; pip would need the network to build it
    "pytest-args": "-p no:cacheprovider -k extend_the_base_template",
    "comment": "always",
}
MARKER = marker_for("perfbudget", "perfbudget")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    pytest.importorskip("pytest_django", reason="the example project needs pytest-django")
    target = tmp_path / "workspace"
    shutil.copytree(ROOT / "example", target, ignore=shutil.ignore_patterns("db.sqlite3", ".perfbudget", "__pycache__", ".pytest_cache"))
    return target


def _job(fake: FakeGitHub, workspace: Path, tmp_path: Path, event_name: str, event: dict[str, Any], *, branch: str, sha: str, base_ref: str = "") -> Runner:
    run_id = fake.add_run(branch, event=event_name, head_sha=sha, conclusion=None)  # this run, in progress
    home = tmp_path / f"run-{run_id}"
    home.mkdir()
    event_path = write_event(home / "event.json", event)
    env = {
        "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": fake.base,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_SHA": sha, "GITHUB_REF_NAME": branch, "GITHUB_BASE_REF": base_ref, "GITHUB_RUN_ID": str(run_id),
        "GITHUB_RUN_ATTEMPT": "1", "GITHUB_WORKFLOW": "perfbudget", "GITHUB_JOB": "perfbudget",
        "GITHUB_WORKFLOW_REF": f"acme/shop/.github/workflows/perfbudget.yml@refs/heads/{branch}",
        "GITHUB_WORKSPACE": str(workspace), "PERFBUDGET_GITHUB_MAX_WAIT": "0.5",
    }  # fmt: skip
    github = {"event_name": event_name, "event": event, "token": TOKEN, "repository": "acme/shop", "run_id": str(run_id)}
    return Runner(fake, workspace, env, github, run_id, home / "summary.md", skip=("Install perfbudget (not the PR's code)",))


def _uploaded(fake: FakeGitHub, run_id: int) -> tuple[str, dict[str, bytes]]:
    """The one artifact a job uploaded: its name and files."""
    [artifact] = [a for a in fake.artifacts.values() if a["_run"] == run_id]
    archive = zipfile.ZipFile(io.BytesIO(fake.blobs[artifact["id"]]))
    return artifact["name"], {name: archive.read(name) for name in archive.namelist()}


def _artifact(fake: FakeGitHub, run_id: int) -> dict[str, bytes]:
    name, files = _uploaded(fake, run_id)
    assert name == "perfbudget-perfbudget"  # the default key: the job's id
    return files


def _marked(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.issue_comments(number) if MARKER in c["body"]]


def _explain(job: JobRun) -> str:
    return "\n".join(f"--- {s.name} [{s.status}]\n{s.stdout}\n{s.stderr}" for s in job.steps)


def test_push_pr_update_fork_and_second_stage(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    action = ROOT / "action.yml"
    logs = []

    # 1. Push to main: the baseline artifact is stored; nothing is commented.
    push = _job(fake_github, workspace, tmp_path, "push", {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}, branch="main", sha="1" * 40)
    job = push.run_action(action, INPUTS)
    logs.append(job.log)
    assert not job.failed, _explain(job)
    assert job.step("Fetch the target branch's results").status == "skipped"
    assert job.step("Comment on the pull request").status == "skipped"
    assert job.outputs["baseline-found"] == "false" and job.outputs["tests-exit-code"] == "0"
    stored = _artifact(fake_github, push.run_id)
    assert {"results.ndjson.gz", "report.md", "report.html", "comparison.json"} <= set(stored) and "pr.json" not in stored
    assert "perfbudget" in push.summary.read_text()

    # 2. A pull request adds an N+1 to the post list.
    views = workspace / "blog" / "views.py"
    views.write_text(views.read_text().replace(N_PLUS_ONE_FROM, N_PLUS_ONE_TO))
    fake_github.add_pull(7, "2" * 40)
    pr = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(7, "2" * 40), branch="7/merge", sha="3" * 40, base_ref="main")
    job = pr.run_action(action, INPUTS)
    logs.append(job.log)
    assert job.outputs["baseline-found"] == "true", _explain(job)
    assert job.outputs["verdict"] == "fail" and int(job.outputs["count-regressed"]) >= 1
    assert job.step("Verdict").status == "failure"  # fail-on: failure
    assert job.step("Upload the build's results and reports").status == "success"
    [comment] = [dict(c) for c in _marked(fake_github, 7)]  # a copy: the fake edits its records in place
    assert "regress" in comment["body"].lower() and "blog_author" in comment["body"]
    assert json.loads(_artifact(fake_github, pr.run_id)["pr.json"])["number"] == 7
    assert "::warning" in job.log or "::error" in job.log  # annotations

    # 3. A second push to the PR fixes it: the same comment is updated.
    views.write_text(views.read_text().replace(N_PLUS_ONE_TO, N_PLUS_ONE_FROM))
    fake_github.add_pull(7, "4" * 40)
    again = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(7, "4" * 40), branch="7/merge", sha="5" * 40, base_ref="main")
    job = again.run_action(action, INPUTS)
    logs.append(job.log)
    assert not job.failed, _explain(job)
    [updated] = _marked(fake_github, 7)
    assert updated["id"] == comment["id"] and updated["body"] != comment["body"]
    assert len(fake_github.requests("POST", "/issues/7/comments$")) == 1

    # 4. A pull request from a fork brings the N+1 back. Its token is read-only: no comment,
    #    the summary has the report, the artifact has what the second stage needs.
    views.write_text(views.read_text().replace(N_PLUS_ONE_FROM, N_PLUS_ONE_TO))
    fake_github.read_only = True
    fake_github.add_pull(8, "6" * 40, head_repo="stranger/shop")
    fork = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(8, "6" * 40, head_repo="stranger/shop"), branch="8/merge", sha="7" * 40, base_ref="main")
    job = fork.run_action(action, INPUTS)
    logs.append(job.log)
    assert [s.name for s in job.steps if s.status == "failure"] == ["Verdict"], _explain(job)
    assert job.step("Comment on the pull request").status == "success"
    assert fake_github.issue_comments(8) == []
    summary = fork.summary.read_text()
    assert "comes from a fork" in summary and "### " in summary
    assert summary.count("### ❌ perfbudget:") == 1  # the report once, not again by the comment step
    assert json.loads(_artifact(fake_github, fork.run_id)["pr.json"])["head_sha"] == "6" * 40

    # 5. The workflow_run stage posts the fork's comment with a write token, from the artifact alone.
    fake_github.read_only = False
    event = {"workflow_run": {"id": fork.run_id, "event": "pull_request", "head_sha": "6" * 40, "head_repository": {"full_name": "stranger/shop"}}}
    stage = _job(fake_github, tmp_path / "second-stage", tmp_path, "workflow_run", event, branch="main", sha="1" * 40)
    stage.workspace.mkdir()
    job = stage.run_workflow_job(ROOT / "examples" / "perfbudget-fork-comment.yml", "comment")
    assert job is not None and not job.failed, _explain(job)
    logs.append(job.log)
    [fork_comment] = _marked(fake_github, 8)
    assert fork_comment["body"].startswith("### ❌") and "blog_author" in fork_comment["body"]

    everything = "\n".join(logs) + push.summary.read_text() + pr.summary.read_text() + fork.summary.read_text()
    assert TOKEN not in everything


def test_github_down_during_a_pull_request_loses_nothing(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    """Every API call fails: the tests still run, the summary has the report and why, the artifact is kept."""
    fake_github.add_pull(9, "8" * 40)
    fake_github.fail("GET", ".", 502, times=10_000)
    fake_github.fail("POST", ".", 502, times=10_000)
    pr = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(9, "8" * 40), branch="9/merge", sha="9" * 40, base_ref="main")
    job = pr.run_action(ROOT / "action.yml", INPUTS)
    assert not job.failed, _explain(job)
    assert job.outputs["baseline-found"] == "false" and job.outputs["tests-exit-code"] == "0"
    summary = pr.summary.read_text()
    assert "baseline fetch failed" in summary and "HTTP 502" in summary
    assert "PR comment not posted" in summary and "compared with budgets only" in summary
    assert "### ⚠️ perfbudget: not compared · " in summary  # never a silent green
    assert "Not compared:** baseline fetch failed" in summary
    assert job.outputs["baseline-reason"].startswith("baseline fetch failed: looking for 'main' results")
    assert {"results.ndjson.gz", "report.md", "report.html", "pr.json"} <= set(_artifact(fake_github, pr.run_id))
    assert TOKEN not in job.log + summary


def test_strict_makes_an_unreachable_github_fail_the_job(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    fake_github.add_pull(9, "8" * 40)
    fake_github.fail("GET", "/issues/9$", 401, times=10, message="Bad credentials")
    pr = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(9, "8" * 40), branch="9/merge", sha="9" * 40, base_ref="main")
    job = pr.run_action(ROOT / "action.yml", {**INPUTS, "strict": "true"})
    assert job.step("Comment on the pull request").status == "failure"
    assert "::error title=perfbudget::PR comment not posted: commenting on acme/shop#9: HTTP 401 Bad credentials" in job.step("Comment on the pull request").stderr
    assert job.step("Upload the build's results and reports").status == "success"  # if: always()
    assert job.step("Verdict").status == "skipped"


def test_the_artifact_is_named_and_filled_as_artifacts_says(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    """action.yml rebuilds no path in shell: names, directories and outputs all come from perfbudget.github.artifacts."""
    inputs = {**INPUTS, "key": "shop perf"}
    push = _job(fake_github, workspace, tmp_path, "push", {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}, branch="main", sha="1" * 40)
    job = push.run_action(ROOT / "action.yml", inputs)
    assert not job.failed, _explain(job)
    build_id = read_context(push.env).build_id
    directory = build_dir(workspace, f"shop-perf-{build_id}")
    name, files = _uploaded(fake_github, push.run_id)
    assert name == job.outputs["artifact-name"] == artifact_name("shop perf") == "perfbudget-shop-perf"
    assert job.outputs["key"] == "shop-perf"
    assert job.outputs["build-dir"] == str(directory) and job.outputs["results-path"] == str(directory / RESULTS_NAME)
    assert set(files) == {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()} and RESULTS_NAME in files
    (tmp_path / RESULTS_NAME).write_bytes(files[RESULTS_NAME])
    assert load_run(tmp_path / RESULTS_NAME).tests  # gzip NDJSON, as its name says

    # The pull request finds that artifact by the same key and keeps the baseline it compared with.
    fake_github.add_pull(7, "2" * 40)
    pr = _job(fake_github, workspace, tmp_path, "pull_request", pr_event(7, "2" * 40), branch="7/merge", sha="3" * 40, base_ref="main")
    job = pr.run_action(ROOT / "action.yml", inputs)
    assert job.outputs["baseline-found"] == "true", _explain(job)
    name, files = _uploaded(fake_github, pr.run_id)
    assert name == "perfbudget-shop-perf"
    assert {RESULTS_NAME, f"{BASELINE_NAME}/selection.json", "pr.json"} <= set(files)
    assert any(f.startswith(f"{BASELINE_NAME}/00-run-{push.run_id}") for f in files)
