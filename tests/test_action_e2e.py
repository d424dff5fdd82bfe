"""The action end to end, its steps run in the runner's order against the fake GitHub API.

One repository's story on the example project: a push to main stores the
baseline artifact; a pull request adds an N+1 (baseline fetched, regression
found, comment created, job failed); a second push fixes it (the same comment
updated, not duplicated); a pull request from a fork (read-only token: no
comment, the job summary has the report); then the fork's comment posted by
the workflow_run stage from examples/perfbudget-fork-comment.yml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfbudget.github.artifacts import BASELINE_NAME, RESULTS_NAME, artifact_name, build_dir
from perfbudget.github.comments import marker_for
from perfbudget.github.context import read_context
from perfbudget.run.read import load_run
from tests.support.action import N_PLUS_ONE_FROM, N_PLUS_ONE_TO, ROOT, copy_example, explain, job_runner, uploaded
from tests.support.github import TOKEN, FakeGitHub, pr_event

INPUTS = {
    "install": "false",  # perfbudget is installed here; pip would need the network to build it
    "pytest-args": "-p no:cacheprovider -k extend_the_base_template",
    "comment": "always",
}
MARKER = marker_for("perfbudget", "perfbudget")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    pytest.importorskip("pytest_django", reason="the example project needs pytest-django")
    return copy_example(tmp_path / "workspace")


def _artifact(fake: FakeGitHub, run_id: int) -> dict[str, bytes]:
    name, files = uploaded(fake, run_id)
    assert name == "perfbudget-perfbudget"  # the default key: the job's id
    return files


def _marked(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.issue_comments(number) if MARKER in c["body"]]


def test_push_pr_update_fork_and_second_stage(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    action = ROOT / "action.yml"
    logs = []

    # 1. Push to main: the baseline artifact is stored; nothing is commented.
    push = job_runner(
        fake_github,
        workspace,
        tmp_path,
        "push",
        {"ref": "refs/heads/main", "repository": {"default_branch": "main"}},
        branch="main",
        sha="1" * 40,
    )
    job = push.run_action(action, INPUTS)
    logs.append(job.log)
    assert not job.failed, explain(job)
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
    pr = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(7, "2" * 40), branch="7/merge", sha="3" * 40, base_ref="main"
    )
    job = pr.run_action(action, INPUTS)
    logs.append(job.log)
    assert job.outputs["baseline-found"] == "true", explain(job)
    assert job.outputs["verdict"] == "fail" and int(job.outputs["count-regressed"]) >= 1
    assert job.step("Verdict").status == "failure"  # fail-on: failure
    assert job.step("Upload the build's results and reports").status == "success"
    [comment] = [dict(c) for c in _marked(fake_github, 7)]  # a copy: the fake edits its records in place
    assert "regress" in comment["body"].lower() and "blog_author" in comment["body"]
    assert "baseline ignored" not in comment["body"] and "not compared" not in comment["body"]
    artifact_id = next(a["id"] for a in fake_github.artifacts.values() if a["_run"] == pr.run_id)
    assert f"[HTML report and results](<https://github.com/acme/shop/actions/runs/{pr.run_id}/artifacts/{artifact_id}>)" in comment["body"]
    assert f"on main, the newest results ([baseline run](<https://github.com/acme/shop/actions/runs/{push.run_id}>))." in comment["body"]
    assert f"[`{'1' * 12}`](<https://github.com/acme/shop/commit/{'1' * 40}>)" in comment["body"]
    assert json.loads(_artifact(fake_github, pr.run_id)["pr.json"])["number"] == 7
    # Annotations: at the changed call site (the diff's line), then at each test that broke.
    assert (
        "::warning file=blog/views.py,line=20,title=perfbudget%3A query changed here::"
        "+4 SELECT blog_author (N+1) at blog/templates/blog/post_list.html:6 (view blog/views.py:20), new" in job.log
    )
    assert "::warning file=blog/tests/test_pages.py,line=" in job.log

    # 3. A second push to the PR fixes it: the same comment is updated.
    views.write_text(views.read_text().replace(N_PLUS_ONE_TO, N_PLUS_ONE_FROM))
    fake_github.add_pull(7, "4" * 40)
    again = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(7, "4" * 40), branch="7/merge", sha="5" * 40, base_ref="main"
    )
    job = again.run_action(action, INPUTS)
    logs.append(job.log)
    assert not job.failed, explain(job)
    [updated] = _marked(fake_github, 7)
    assert updated["id"] == comment["id"] and updated["body"] != comment["body"]
    assert len(fake_github.requests("POST", "/issues/7/comments$")) == 1

    # 4. A pull request from a fork brings the N+1 back, from a branch the fork named main. Its token
    #    is read-only: no comment, the summary has the report, the artifact has what the second stage needs.
    views.write_text(views.read_text().replace(N_PLUS_ONE_FROM, N_PLUS_ONE_TO))
    fake_github.read_only = True
    fake_github.add_pull(8, "6" * 40, head_repo="stranger/shop")
    fork = job_runner(
        fake_github,
        workspace,
        tmp_path,
        "pull_request",
        pr_event(8, "6" * 40, head_repo="stranger/shop"),
        branch="8/merge",
        sha="7" * 40,
        base_ref="main",
        head_branch="main",
        head_repo="stranger/shop",
    )
    job = fork.run_action(action, INPUTS)
    logs.append(job.log)
    assert [s.name for s in job.steps if s.status == "failure"] == ["Verdict"], explain(job)
    assert job.step("Comment on the pull request").status == "success"
    assert fake_github.issue_comments(8) == []
    summary = fork.summary.read_text()
    assert "comes from a fork" in summary and "### " in summary
    assert summary.count("### ❌ perfbudget:") == 1  # the report once, not again by the comment step
    assert json.loads(_artifact(fake_github, fork.run_id)["pr.json"])["head_sha"] == "6" * 40

    # 5. The workflow_run stage posts the fork's comment with a write token, from the artifact alone.
    fake_github.read_only = False
    event = {
        "workflow_run": {
            "id": fork.run_id,
            "name": "perfbudget",
            "event": "pull_request",
            "head_sha": "6" * 40,
            "head_repository": {"full_name": "stranger/shop"},
        }
    }
    stage = job_runner(fake_github, tmp_path / "second-stage", tmp_path, "workflow_run", event, branch="main", sha="1" * 40)
    stage.workspace.mkdir()
    job = stage.run_workflow_job(ROOT / "examples" / "perfbudget-fork-comment.yml", "comment")
    assert job is not None and not job.failed, explain(job)
    logs.append(job.log)
    [fork_comment] = _marked(fake_github, 8)
    assert fork_comment["body"].startswith("### ❌") and "blog_author" in fork_comment["body"]
    assert "baseline run" not in fork_comment["body"]  # URLs from a fork's artifact are never linked

    # 6. The fork's run is listed under branch=main and holds an artifact of the same name, with the N+1
    #    in it. A later pull request with the same N+1 must still be compared with main's push run.
    poisoned = next(a["id"] for a in fake_github.artifacts.values() if a["_run"] == fork.run_id)
    assert any(r["id"] == fork.run_id and r["head_branch"] == "main" for r in fake_github.runs)
    fake_github.add_pull(9, "8" * 40)
    later = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(9, "8" * 40), branch="9/merge", sha="9" * 40, base_ref="main"
    )
    job = later.run_action(action, INPUTS)
    logs.append(job.log)
    assert job.outputs["verdict"] == "fail" and int(job.outputs["count-regressed"]) >= 1, explain(job)
    assert not fake_github.requests("GET", f"^/_storage/{poisoned}$")  # never even downloaded
    selection = json.loads(_artifact(fake_github, later.run_id)["baseline/selection.json"])
    assert selection["run_url"].endswith(f"/runs/{push.run_id}")
    # The fork's pull_request run and the workflow_run stage's run, both listed under main:
    assert "ignored 2 run(s) of branch 'main': pull requests and forks are never a baseline" in job.log

    everything = "\n".join(logs) + push.summary.read_text() + pr.summary.read_text() + fork.summary.read_text()
    assert TOKEN not in everything


def test_github_down_during_a_pull_request_loses_nothing(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    """Every API call fails: the tests still run, the summary has the report and why, the artifact is kept."""
    fake_github.add_pull(9, "8" * 40)
    fake_github.fail("GET", ".", 502, times=10_000)
    fake_github.fail("POST", ".", 502, times=10_000)
    pr = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(9, "8" * 40), branch="9/merge", sha="9" * 40, base_ref="main"
    )
    job = pr.run_action(ROOT / "action.yml", INPUTS)
    assert not job.failed, explain(job)
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
    pr = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(9, "8" * 40), branch="9/merge", sha="9" * 40, base_ref="main"
    )
    job = pr.run_action(ROOT / "action.yml", {**INPUTS, "strict": "true"})
    assert job.step("Comment on the pull request").status == "failure"
    assert (
        "::error title=perfbudget::PR comment not posted: commenting on acme/shop#9: HTTP 401 Bad credentials"
        in job.step("Comment on the pull request").stderr
    )
    assert job.step("Upload the build's results and reports").status == "success"  # if: always()
    assert job.step("Verdict").status == "skipped"


def test_the_artifact_is_named_and_filled_as_artifacts_says(fake_github: FakeGitHub, workspace: Path, tmp_path: Path) -> None:
    """action.yml rebuilds no path in shell: names, directories and outputs all come from perfbudget.github.artifacts."""
    inputs = {**INPUTS, "key": "shop perf"}
    push = job_runner(
        fake_github,
        workspace,
        tmp_path,
        "push",
        {"ref": "refs/heads/main", "repository": {"default_branch": "main"}},
        branch="main",
        sha="1" * 40,
    )
    job = push.run_action(ROOT / "action.yml", inputs)
    assert not job.failed, explain(job)
    build_id = read_context(push.env).build_id
    directory = build_dir(workspace, f"shop-perf-{build_id}")
    name, files = uploaded(fake_github, push.run_id)
    assert name == job.outputs["artifact-name"] == artifact_name("shop perf") == "perfbudget-shop-perf"
    assert job.outputs["key"] == "shop-perf"
    assert job.outputs["build-dir"] == str(directory) and job.outputs["results-path"] == str(directory / RESULTS_NAME)
    assert set(files) == {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()} and RESULTS_NAME in files
    (tmp_path / RESULTS_NAME).write_bytes(files[RESULTS_NAME])
    assert load_run(tmp_path / RESULTS_NAME).tests  # gzip NDJSON, as its name says

    # The pull request finds that artifact by the same key and keeps the baseline it compared with.
    fake_github.add_pull(7, "2" * 40)
    pr = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(7, "2" * 40), branch="7/merge", sha="3" * 40, base_ref="main"
    )
    job = pr.run_action(ROOT / "action.yml", inputs)
    assert job.outputs["baseline-found"] == "true", explain(job)
    name, files = uploaded(fake_github, pr.run_id)
    assert name == "perfbudget-shop-perf"
    assert {RESULTS_NAME, f"{BASELINE_NAME}/selection.json", "pr.json"} <= set(files)
    assert any(f.startswith(f"{BASELINE_NAME}/00-run-{push.run_id}") for f in files)
