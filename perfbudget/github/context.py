"""Read the GitHub Actions context (environment variables and the event file) into one object.

Everything perfbudget does in CI depends on a handful of facts: which
repository, which pull request, whether the PR comes from a fork, which branch
is the target, where the API is (GitHub Enterprise Server has its own). They
are read once here so the rest of ``github/`` never touches ``os.environ``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfbudget.errors import PerfBudgetError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"


class ContextError(PerfBudgetError):
    """The Actions context lacks something a command needs (e.g. no repository or token)."""


@dataclass
class ActionsContext:
    """The facts of one workflow job; empty strings/None when not running in Actions."""

    repository: str = ""  # "owner/name"
    event_name: str = ""
    pr_number: int | None = None
    head_sha: str = ""  # the PR head commit (GITHUB_SHA is a merge commit on pull_request)
    head_repository: str = ""  # the PR head repo "owner/name"; differs from repository for forks
    base_ref: str = ""  # the PR's (or merge queue's) target branch
    base_sha: str = ""  # the commit the PR's (or merge queue entry's) changes apply to
    head_ref: str = ""
    ref_name: str = ""
    default_branch: str = ""
    sha: str = ""
    run_id: str = ""
    run_attempt: str = "1"
    workflow: str = ""
    workflow_ref: str = ""  # "owner/name/.github/workflows/file.yml@refs/..."
    job: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    step_summary: Path | None = None
    output: Path | None = None
    workflow_run_head_sha: str = ""  # on workflow_run events: the head commit of the triggering run
    workflow_run_head_repository: str = ""  # ... the repository it was built from ("owner/name")
    workflow_run_name: str = ""  # ... and its workflow's name (its comments' markers carry it)
    workspace: str = ""  # GITHUB_WORKSPACE: the repository's checkout
    pr_labels: tuple[str, ...] = ()  # the pull request's labels when the event fired
    token: str = field(default="", repr=False)  # never in repr, never printed
    warnings: list[str] = field(default_factory=list)

    @property
    def owner_repo(self) -> tuple[str, str]:
        owner, _, name = self.repository.partition("/")
        if not owner or not name:
            raise ContextError(f"GITHUB_REPOSITORY is {self.repository!r}; expected 'owner/name' (are we running in GitHub Actions?)")
        return owner, name

    @property
    def is_fork(self) -> bool:
        """A PR from another repository: its token cannot write comments."""
        return bool(self.head_repository) and self.head_repository != self.repository

    @property
    def build_id(self) -> str:
        """Run id and attempt: unique per build, stable across the job's steps."""
        return f"{self.run_id or 'local'}-{self.run_attempt or '1'}"

    @property
    def workflow_file(self) -> str:
        """The workflow's file name (``perfbudget.yml``) from GITHUB_WORKFLOW_REF, or ''."""
        path = self.workflow_ref.split("@", 1)[0]
        marker = "/.github/workflows/"
        return path.split(marker, 1)[1] if marker in path else ""

    @property
    def target_branch(self) -> str:
        """The branch whose results are this build's baseline: the PR base, else the default branch."""
        return self.base_ref or self.default_branch or self.ref_name

    def workspace_prefix(self, directory: Path) -> str:
        """``directory``'s path inside the checkout ("" at its root or outside it): annotation paths need it."""
        if not self.workspace:
            return ""
        try:
            inside = directory.resolve().relative_to(Path(self.workspace).resolve()).as_posix()
        except ValueError:
            return ""
        return "" if inside == "." else inside

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _load_event(path: str) -> tuple[dict[str, Any], list[str]]:
    """The event payload; a missing or broken file is a warning, not a crash."""
    if not path:
        return {}, []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [f"cannot read the event file GITHUB_EVENT_PATH={path}: {exc}"]
    if not isinstance(data, dict):
        return {}, [f"the event file {path} is not a JSON object; ignored"]
    return data, []


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a payload field of another type reads as absent."""
    return value if isinstance(value, dict) else {}


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def read_context(environ: Mapping[str, str] | None = None) -> ActionsContext:
    """Build the context from ``environ`` (default ``os.environ``) and the event file it names."""
    env = os.environ if environ is None else environ
    event, warnings = _load_event(env.get("GITHUB_EVENT_PATH", ""))
    pull = _object(event.get("pull_request"))
    queue = _object(event.get("merge_group"))
    queue_base = str(queue.get("base_ref") or "").removeprefix("refs/heads/")
    number = pull.get("number", event.get("number"))
    summary = env.get("GITHUB_STEP_SUMMARY", "")
    output = env.get("GITHUB_OUTPUT", "")
    return ActionsContext(
        repository=env.get("GITHUB_REPOSITORY", ""),
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        pr_number=number if isinstance(number, int) and pull else None,
        head_sha=str(_dig(pull, "head", "sha") or env.get("GITHUB_SHA", "")),
        head_repository=str(_dig(pull, "head", "repo", "full_name") or ""),
        base_ref=env.get("GITHUB_BASE_REF", "") or str(_dig(pull, "base", "ref") or "") or queue_base,
        base_sha=str(_dig(pull, "base", "sha") or queue.get("base_sha") or ""),
        head_ref=env.get("GITHUB_HEAD_REF", ""),
        ref_name=env.get("GITHUB_REF_NAME", ""),
        default_branch=str(_dig(event, "repository", "default_branch") or ""),
        sha=env.get("GITHUB_SHA", ""),
        run_id=env.get("GITHUB_RUN_ID", ""),
        run_attempt=env.get("GITHUB_RUN_ATTEMPT", "1") or "1",
        workflow=env.get("GITHUB_WORKFLOW", ""),
        workflow_ref=env.get("GITHUB_WORKFLOW_REF", ""),
        job=env.get("GITHUB_JOB", ""),
        api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
        step_summary=Path(summary) if summary else None,
        output=Path(output) if output else None,
        workflow_run_head_sha=str(_dig(event, "workflow_run", "head_sha") or ""),
        workflow_run_head_repository=str(_dig(event, "workflow_run", "head_repository", "full_name") or ""),
        workflow_run_name=str(_dig(event, "workflow_run", "name") or ""),
        workspace=env.get("GITHUB_WORKSPACE", ""),
        pr_labels=tuple(str(label.get("name")) for label in pull.get("labels") or [] if isinstance(label, dict) and label.get("name")),
        token=env.get("GITHUB_TOKEN", "") or env.get("INPUT_GITHUB_TOKEN", ""),
        warnings=warnings,
    )
