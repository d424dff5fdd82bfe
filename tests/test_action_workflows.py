"""The example workflows run as real sequences of jobs against the fake GitHub API.

Each test plays a repository's history through one of examples/*.yml: a
push to main stores the baselines, a pull request (or a merge queue entry)
adds an N+1 to the example project, and the test reads what the fake server
saw: artifacts, downloads, comments. The jobs' own steps run as the Actions
runner would run them (tests/support/fakegithub/runner.py); perfbudget steps run this
checkout's action.yml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfbudget.github.comments import marker_for
from tests.support.action import ROOT, add_n_plus_one, artifacts_of, copy_example, explain, job_runner, new_run
from tests.support.github import FakeGitHub, pr_event

EXAMPLES = ROOT / "examples"
PUSH = {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}
BASE, HEAD, MERGE = "a" * 40, "b" * 40, "c" * 40
LEGS = ({"python": "3.11"}, {"python": "3.12"})

pytestmark = pytest.mark.usefixtures("needs_pytest_django")


@pytest.fixture
def needs_pytest_django() -> None:
    pytest.importorskip("pytest_django", reason="the example project needs pytest-django")


def _push(fake: FakeGitHub, workspace: Path, tmp_path: Path, workflow: str, jobs: list[tuple[str, dict[str, Any] | None]]) -> int:
    """A push of BASE to main running ``jobs`` (job id, matrix) of ``workflow``; returns the run id."""
    run_id = new_run(fake, "push", branch="main", sha=BASE)
    for name, matrix in jobs:
        runner = job_runner(fake, workspace, tmp_path, "push", PUSH, branch="main", sha=BASE, run_id=run_id, job=name, matrix=matrix)
        job = runner.run_workflow_job(EXAMPLES / workflow, name)
        assert job is not None and not job.failed, explain(job)
    fake.add_commits(BASE, HEAD)
    return run_id


def _selection(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files["baseline/selection.json"])


def test_matrix_legs_each_compare_with_their_own_key_and_one_merge_job_comments(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "workspace")
    legs = [("tests", matrix) for matrix in LEGS]
    push_run = _push(fake_github, workspace, tmp_path, "perfbudget-matrix.yml", [*legs, ("perfbudget", None)])
    assert sorted(artifacts_of(fake_github, push_run)) == ["perfbudget-tests-3.11", "perfbudget-tests-3.12"]

    add_n_plus_one(workspace)
    fake_github.add_pull(7, HEAD)
    event = pr_event(7, HEAD, base_sha=BASE)
    run_id = new_run(fake_github, "pull_request", branch="feature", sha=HEAD)
    for name, matrix in legs:
        runner = job_runner(
            fake_github,
            workspace,
            tmp_path,
            "pull_request",
            event,
            branch="7/merge",
            sha=MERGE,
            base_ref="main",
            run_id=run_id,
            job=name,
            matrix=matrix,
        )
        job = runner.run_workflow_job(EXAMPLES / "perfbudget-matrix.yml", name)
        assert job is not None and job.step("Tests under perfbudget").status == "failure"  # the N+1 fails each leg
    assert fake_github.requests("POST", "/comments$") == []  # comment: off on the legs
    merge = job_runner(
        fake_github,
        workspace,
        tmp_path,
        "pull_request",
        event,
        branch="7/merge",
        sha=MERGE,
        base_ref="main",
        run_id=run_id,
        job="perfbudget",
    )
    job = merge.run_workflow_job(EXAMPLES / "perfbudget-matrix.yml", "perfbudget")
    assert job is not None, "the merge job runs after failing legs too (if: always())"
    assert job.step("One comment for all legs").status == "failure", explain(job)  # fail-on: failure, over all legs

    uploaded = artifacts_of(fake_github, run_id)
    assert sorted(uploaded) == ["perfbudget-tests-3.11", "perfbudget-tests-3.12"]  # no 409: one name per leg
    for name, files in uploaded.items():
        selection = _selection(files)  # each leg's baseline is main's artifact of its own key
        assert (selection["how"], selection["commit"]) == ("base", BASE)
        assert len([e for e in fake_github.requests("GET", "/actions/artifacts$") if e.query["name"] == [name]]) == 1
    [comment] = fake_github.issue_comments(7)
    body = comment["body"]
    assert body.startswith("## ❌ perfbudget: 2 legs, 2 failing, 0 passing")
    assert "### ❌ perfbudget `tests-3.11`:" in body and "### ❌ perfbudget `tests-3.12`:" in body
    assert marker_for("perfbudget", "all-legs") in body
    assert len(fake_github.requests("POST", "/comments$")) == 1
    assert merge.summary.read_text().count("### ❌ perfbudget `tests-3.1") == 2  # the merge job's summary: every leg


def test_a_monorepo_job_keeps_two_projects_apart(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    for project in ("api", "web"):
        copy_example(workspace / "services" / project)
    push_run = _push(fake_github, workspace, tmp_path, "perfbudget-monorepo.yml", [("perfbudget", None)])
    assert sorted(artifacts_of(fake_github, push_run)) == ["perfbudget-perfbudget-services-api", "perfbudget-perfbudget-services-web"]

    add_n_plus_one(workspace / "services" / "web")
    fake_github.add_pull(7, HEAD)
    runner = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(7, HEAD, base_sha=BASE), branch="7/merge", sha=MERGE, base_ref="main"
    )
    job = runner.run_workflow_job(EXAMPLES / "perfbudget-monorepo.yml", "perfbudget")
    assert job is not None
    assert job.step("API under perfbudget").status == "success", explain(job)
    assert job.step("Web under perfbudget").status == "failure"
    comments = {c["body"].splitlines()[-1]: c["body"] for c in fake_github.issue_comments(7)}  # the marker: the last line
    markers = [marker_for("perfbudget", f"perfbudget-services-{project}") for project in ("api", "web")]
    assert sorted(comments) == sorted(markers)
    api, web = (comments[marker] for marker in markers)
    # With a working directory, annotation paths start at the repository root, or GitHub would not attach them.
    assert "::warning file=services/web/blog/views.py,line=20,title=perfbudget%3A query changed here::" in job.log
    assert "file=blog/" not in job.log
    assert api.startswith("### ✅ perfbudget: 0 regressions") and web.startswith("### ❌ perfbudget: ")
    for name, files in artifacts_of(fake_github, runner.run_id).items():
        assert _selection(files)["commit"] == BASE, name
        results = files["results.ndjson.gz"]
        assert results  # each project's own results, under its own name


def test_a_merge_queue_entry_is_compared_with_its_base_and_never_becomes_a_baseline(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "workspace")
    _push(fake_github, workspace, tmp_path, "perfbudget.yml", [("perfbudget", None)])
    add_n_plus_one(workspace)
    queue_branch = "gh-readonly-queue/main/pr-7-" + HEAD
    event = {"merge_group": {"base_sha": BASE, "base_ref": "refs/heads/main", "head_sha": MERGE, "head_ref": f"refs/heads/{queue_branch}"}}
    runner = job_runner(fake_github, workspace, tmp_path, "merge_group", event, branch=queue_branch, sha=MERGE)
    job = runner.run_workflow_job(EXAMPLES / "perfbudget.yml", "perfbudget")
    assert job is not None and job.step("Tests under perfbudget").status == "failure", explain(job)
    [(_, files)] = artifacts_of(fake_github, runner.run_id).items()
    assert (_selection(files)["how"], _selection(files)["commit"]) == ("base", BASE)
    assert fake_github.issue_comments(7) == [] and not fake_github.requests("POST", ".")

    # A later pull request of the same base never takes the queue's run (event merge_group, another branch).
    fake_github.add_pull(8, HEAD)
    pr = job_runner(
        fake_github, workspace, tmp_path, "pull_request", pr_event(8, HEAD, base_sha=BASE), branch="8/merge", sha="d" * 40, base_ref="main"
    )
    pr.run_workflow_job(EXAMPLES / "perfbudget.yml", "perfbudget")
    [(_, files)] = artifacts_of(fake_github, pr.run_id).items()
    assert _selection(files)["run_url"].endswith(f"/runs/{fake_github.runs[0]['id']}")


def test_a_forks_matrix_gets_one_comment_from_the_workflow_run_stage(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "workspace")
    legs = [("tests", matrix) for matrix in LEGS]
    _push(fake_github, workspace, tmp_path, "perfbudget-matrix.yml", legs)
    add_n_plus_one(workspace)
    fake_github.add_pull(9, HEAD, head_repo="stranger/shop")
    event = pr_event(9, HEAD, head_repo="stranger/shop", base_sha=BASE)
    fake_github.read_only = True
    run_id = new_run(fake_github, "pull_request", branch="main", sha=HEAD, head_repo="stranger/shop")
    for name, matrix in legs:
        runner = job_runner(
            fake_github,
            workspace,
            tmp_path,
            "pull_request",
            event,
            branch="9/merge",
            sha=MERGE,
            base_ref="main",
            run_id=run_id,
            job=name,
            matrix=matrix,
        )
        runner.run_workflow_job(EXAMPLES / "perfbudget-matrix.yml", name)
    assert fake_github.issue_comments(9) == []

    fake_github.read_only = False
    stage_event = {
        "workflow_run": {
            "id": run_id,
            "name": "perfbudget",
            "event": "pull_request",
            "head_sha": HEAD,
            "head_repository": {"full_name": "stranger/shop"},
        }
    }
    stage = job_runner(fake_github, tmp_path / "stage", tmp_path, "workflow_run", stage_event, branch="main", sha=BASE)
    stage.workspace.mkdir()
    job = stage.run_workflow_job(EXAMPLES / "perfbudget-fork-comment.yml", "comment")
    assert job is not None and not job.failed, explain(job)
    [comment] = fake_github.issue_comments(9)
    assert comment["body"].startswith("## ❌ perfbudget: 2 legs, 2 failing")
    assert "`tests-3.11`" in comment["body"] and "`tests-3.12`" in comment["body"]


def test_a_suite_split_over_shards_is_joined_and_compared_with_mains_shards_joined(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "workspace")
    split = {1: '-k "not archive"', 2: "-k archive"}  # pytest-split's role: each shard runs part of the suite

    def legs(event_name: str, event: dict[str, Any], run_id: int, **where: Any) -> None:
        for group, selection in split.items():
            inputs = {"pytest-args": f"-p no:cacheprovider {selection}"}
            runner = job_runner(
                fake_github,
                workspace,
                tmp_path,
                event_name,
                event,
                run_id=run_id,
                job="tests",
                matrix={"group": group},
                inputs=inputs,
                **where,
            )
            assert runner.run_workflow_job(EXAMPLES / "perfbudget-shards.yml", "tests") is not None

    push_run = new_run(fake_github, "push", branch="main", sha=BASE)
    legs("push", PUSH, push_run, branch="main", sha=BASE)
    assert sorted(artifacts_of(fake_github, push_run)) == ["perfbudget-tests--shard-1-of-2", "perfbudget-tests--shard-2-of-2"]
    assert not fake_github.requests("GET", "/actions/artifacts$")  # shards fetch no baseline of their own
    fake_github.add_commits(BASE, HEAD)

    add_n_plus_one(workspace)
    fake_github.add_pull(7, HEAD)
    event = pr_event(7, HEAD, base_sha=BASE)
    run_id = new_run(fake_github, "pull_request", branch="feature", sha=HEAD)
    legs("pull_request", event, run_id, branch="7/merge", sha=MERGE, base_ref="main")
    assert fake_github.issue_comments(7) == []  # shards never comment
    merge = job_runner(
        fake_github,
        workspace,
        tmp_path,
        "pull_request",
        event,
        branch="7/merge",
        sha=MERGE,
        base_ref="main",
        run_id=run_id,
        job="perfbudget",
    )
    job = merge.run_workflow_job(EXAMPLES / "perfbudget-shards.yml", "perfbudget")
    assert job is not None and job.step("Join the shards, compare, comment once").status == "failure", explain(job)
    [comment] = fake_github.issue_comments(7)
    body = comment["body"]
    assert body.startswith("### ❌ perfbudget: ") and "regression" in body and "blog_author" in body
    assert f"Compared with `{BASE[:12]}` on main, the PR's base." in body
    assert marker_for("perfbudget", "tests") in body
    assert "removed" not in body.split("\n")[0] and "new" not in body.split("\n")[0]  # whole suite against whole suite


def test_two_legs_sharing_a_key_fail_loudly_and_a_rerun_attempt_replaces_its_upload(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """A constant key in a matrix: the second leg's upload is refused (409), never a silent overwrite."""
    workspace = copy_example(tmp_path / "workspace")
    run_id = new_run(fake_github, "push", branch="main", sha=BASE)
    steps = []
    for matrix, attempt in (({"python": "3.11"}, "1"), ({"python": "3.12"}, "1"), ({"python": "3.12"}, "2")):
        runner = job_runner(
            fake_github,
            workspace,
            tmp_path,
            "push",
            PUSH,
            branch="main",
            sha=BASE,
            run_id=run_id,
            job="tests",
            matrix=matrix,
            attempt=attempt,
        )
        job = runner.run_action(
            ROOT / "action.yml", {**runner.action_inputs, "key": "tests", "pytest-args": "-p no:cacheprovider -k extend_the_base_template"}
        )
        steps.append(job.step("Upload the build's results and reports"))
    assert [step.status for step in steps] == ["success", "failure", "success"]
    assert "(409) Conflict" in steps[1].stderr
    assert list(artifacts_of(fake_github, run_id)) == ["perfbudget-tests"]
