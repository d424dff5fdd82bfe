"""The trusted stage under attack: artifacts as a fork's run could leave them, and the CLI run as a real process.

``ForkStage`` is the ``workflow_run`` job of examples/perfbudget-fork-comment.yml:
its event (the triggering run's head commit, head repository and workflow
name, as GitHub writes them), a write token for the fake API, and a
downloaded artifact directory the tests make hostile. ``run_cli`` starts
``python -m perfbudget`` with a timeout (a hang fails the test instead of
stalling it) and an address-space limit (a file read whole fails instead of
swapping), and returns what it printed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfbudget.compare.verdicts import CiVerdict
from perfbudget.github.artifacts import PrContext, write_pr_context
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.write import write_run
from tests.support import REPO_ROOT
from tests.support.github import FakeGitHub, pr_event, write_event

HEAD = "a" * 40
FORK = "stranger/shop"
NUMBER = 7
SECRET = "ghs_RUNNER_SECRET_VALUE_123"  # in files outside the artifact: never read, never printed
MEMORY_LIMIT = 2 * 1024**3  # address space of a CLI process under test; the real runs need far less
TIMEOUT = 60  # seconds: a hang, not slowness, crosses it


@dataclass
class Done:
    returncode: int
    out: str  # stdout and stderr together: a secret must be in neither

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> Done:
    """``python -m perfbudget ARGS`` in a child process with this checkout on its path."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PERFBUDGET_", "INPUT_"))}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "perfbudget", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        check=False,
    )
    return Done(done.returncode, done.stdout + done.stderr)


def write_results(path: Path, queries: float = 3, node_id: str = "tests/test_a.py::test_list") -> Path:
    run = Run(project="shop", commit="c" * 40)
    run.tests = [TestRecord(node_id, "tests/test_a.py", 3, "passed", {"queries": queries})]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_run(run, path)
    return path


def write_leg(directory: Path, *, number: int = NUMBER, sha: str = HEAD, key: str = "perf", queries: float = 9, base: float = 3) -> Path:
    """One leg as the action uploads it on a PR: results, the target branch's baseline, pr.json."""
    directory.mkdir(parents=True, exist_ok=True)
    write_pr_context(directory, PrContext("acme/shop", number, sha, "CI", key, CiVerdict.FAIL))
    write_results(directory / "results.ndjson.gz", queries)
    write_results(directory / "baseline" / "00-run-1.ndjson.gz", base)
    return directory


class ForkStage:
    """The workflow_run stage's job: its event, environment and downloaded artifact."""

    def __init__(self, fake: FakeGitHub, root: Path, *, labels: tuple[str, ...] = ()) -> None:
        self.fake, self.root = fake, root
        self.home = root / "job"
        self.home.mkdir(parents=True)
        self.artifact = root / "job" / "perfbudget-artifacts"
        self.artifact.mkdir()
        self.summary = self.home / "summary.md"
        fake.add_pull(NUMBER, HEAD, FORK, labels=labels)
        self.event = {
            "workflow_run": {"id": 99, "name": "CI", "event": "pull_request", "head_sha": HEAD, "head_repository": {"full_name": FORK}}
        }
        outside = root / "outside"  # the runner's other files, beside the artifact
        outside.mkdir()
        (outside / "fa_secret_outside.yaml").write_text(f"{SECRET}: 1\n", encoding="utf-8")
        (outside / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
        write_results(outside / "results.ndjson.gz", 1, node_id=f"tests/{SECRET}.py::test_x")
        self.outside = outside

    def env(self, **extra: str) -> dict[str, str]:
        event = write_event(self.home / "event.json", self.event)
        return self.fake.env(
            GITHUB_EVENT_PATH=str(event),
            GITHUB_EVENT_NAME="workflow_run",
            GITHUB_WORKFLOW="perfbudget comment",
            GITHUB_JOB="comment",
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_OUTPUT=str(self.home / "output"),
            **extra,
        )

    def comment(self, *args: str) -> Done:
        return run_cli(["comment", "--from-artifact", str(self.artifact), *args], self.env(), self.home)

    def leg(self, name: str = "perfbudget-perf", **kwargs: Any) -> Path:
        """A leg in the downloaded artifacts, in its own directory as download-artifact puts it (``write_leg``'s options)."""
        return write_leg(self.artifact / name, **kwargs)

    def edit_pr_json(self, leg: Path, **changes: object) -> None:
        data = json.loads((leg / "pr.json").read_text())
        data.update(changes)
        (leg / "pr.json").write_text(json.dumps(data))

    def posted(self) -> list[str]:
        return [comment["body"] for comment in self.fake.issue_comments(NUMBER)]


def pr_job(fake: FakeGitHub, home: Path, *, number: int = NUMBER, sha: str = HEAD, base_sha: str = "") -> dict[str, str]:
    """The environment of a pull_request job of workflow CI, job perf, for PR ``number`` of acme/shop (same repository)."""
    home.mkdir(parents=True, exist_ok=True)
    if number not in fake.pulls:
        fake.add_pull(number, sha)
    event = write_event(home / "event.json", pr_event(number, sha, base_sha=base_sha))
    return fake.env(
        GITHUB_EVENT_PATH=str(event),
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_WORKFLOW="CI",
        GITHUB_WORKFLOW_REF="acme/shop/.github/workflows/ci.yml@refs/pull/7/merge",
        GITHUB_JOB="perf",
        GITHUB_BASE_REF="main",
        GITHUB_RUN_ID="99999",
        GITHUB_STEP_SUMMARY=str(home / "summary.md"),
        GITHUB_OUTPUT=str(home / "output"),
    )
