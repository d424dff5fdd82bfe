"""Workflow runs for the action's end-to-end tests: jobs of one run against the fake GitHub API.

A run is created in progress on the fake server (with its event, branch and
head commit, from this repository or a fork); each job of it gets a Runner
with the GITHUB_* variables the real runner sets. Several jobs (matrix legs,
a merge job) share one run id, as they do on GitHub.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

from tests.support import REPO_ROOT
from tests.support.fakegithub.runner import JobRun, Runner
from tests.support.github import TOKEN, FakeGitHub, write_event

ROOT = REPO_ROOT
N_PLUS_ONE_FROM = 'Post.objects.select_related("author").prefetch_related("tags")'
N_PLUS_ONE_TO = 'Post.objects.prefetch_related("tags")'


def copy_example(target: Path) -> Path:
    """The example Django project, fresh, at ``target``."""
    shutil.copytree(ROOT / "example", target, ignore=shutil.ignore_patterns("db.sqlite3", ".perfbudget", "__pycache__", ".pytest_cache"))
    return target


def add_n_plus_one(project: Path) -> None:
    views = project / "blog" / "views.py"
    views.write_text(views.read_text().replace(N_PLUS_ONE_FROM, N_PLUS_ONE_TO))


def remove_n_plus_one(project: Path) -> None:
    views = project / "blog" / "views.py"
    views.write_text(views.read_text().replace(N_PLUS_ONE_TO, N_PLUS_ONE_FROM))


def new_run(fake: FakeGitHub, event_name: str, *, branch: str, sha: str, head_repo: str = "") -> int:
    """A workflow run in progress; ``head_repo`` other than acme/shop is a fork's."""
    return fake.add_run(branch, event=event_name, head_sha=sha, conclusion=None, head_repo=head_repo)


def job_runner(
    fake: FakeGitHub,
    workspace: Path,
    tmp_path: Path,
    event_name: str,
    event: dict[str, Any],
    *,
    branch: str,
    sha: str,
    base_ref: str = "",
    run_id: int | None = None,
    job: str = "perfbudget",
    matrix: dict[str, Any] | None = None,
    head_repo: str = "",
    head_branch: str = "",
    inputs: dict[str, str] | None = None,
    attempt: str = "1",
) -> Runner:
    """A job of run ``run_id`` (a new run when None, listed under ``head_branch``, else ``branch``).

    ``inputs`` are forced on its perfbudget steps, beside install: false.
    """
    if run_id is None:
        run_id = new_run(fake, event_name, branch=head_branch or branch, sha=sha, head_repo=head_repo)
    home = tmp_path / f"run-{run_id}-{attempt}-{job}-{'-'.join(map(str, (matrix or {}).values()))}"
    home.mkdir(parents=True)
    event_path = write_event(home / "event.json", event)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_API_URL": fake.base,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_SHA": sha,
        "GITHUB_REF_NAME": branch,
        "GITHUB_BASE_REF": base_ref,
        "GITHUB_RUN_ID": str(run_id),
        "GITHUB_RUN_ATTEMPT": attempt,
        "GITHUB_WORKFLOW": "perfbudget",
        "GITHUB_JOB": job,
        "GITHUB_WORKFLOW_REF": f"acme/shop/.github/workflows/perfbudget.yml@refs/heads/{branch}",
        "GITHUB_WORKSPACE": str(workspace),
        "PERFBUDGET_GITHUB_MAX_WAIT": "0.5",
    }
    github = {
        "event_name": event_name,
        "event": event,
        "token": TOKEN,
        "repository": "acme/shop",
        "run_id": str(run_id),
        "run_attempt": attempt,
        "sha": sha,
    }
    skip = ("Install perfbudget (not the PR's code)", "Install the project's test requirements")
    # perfbudget is installed here; pip would need the network to build it from the checkout
    forced = {"install": "false", "pytest-args": "-p no:cacheprovider", **(inputs or {})}
    return Runner(fake, workspace, env, github, run_id, home / "summary.md", skip=skip, matrix=matrix, action_inputs=forced)


def artifacts_of(fake: FakeGitHub, run_id: int) -> dict[str, dict[str, bytes]]:
    """Every artifact a run uploaded: name -> {path: content}."""
    found = {}
    for artifact in fake.artifacts.values():
        if artifact["_run"] == run_id:
            archive = zipfile.ZipFile(io.BytesIO(fake.blobs[artifact["id"]]))
            found[artifact["name"]] = {name: archive.read(name) for name in archive.namelist()}
    return found


def uploaded(fake: FakeGitHub, run_id: int) -> tuple[str, dict[str, bytes]]:
    """The one artifact a job uploaded: its name and files."""
    [(name, files)] = artifacts_of(fake, run_id).items()
    return name, files


def explain(job: JobRun) -> str:
    return "\n".join(f"--- {s.name} [{s.status}]\n{s.stdout}\n{s.stderr}" for s in job.steps)
