"""Which target-branch run is a pull request's baseline, and which runs are its history.

Pure decisions on data the API already returned, so every rule is testable
without a server. Trust comes first: only runs that the repository itself
started on the target branch (push, schedule, workflow_dispatch) count. A
pull request's run is never a baseline, since a fork can name its branch
``main``. Whatever the run's conclusion, a valid artifact is what makes it
usable: a failing job beside perfbudget must not leave main without
results. Then preference, said in every report: the PR's base commit; else
its nearest ancestor with results; else the newest run, labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Events whose runs the repository itself started on the branch; pull_request* runs never qualify.
TRUSTED_EVENTS = ("push", "schedule", "workflow_dispatch")


@dataclass(frozen=True)
class Candidate:
    """A trusted run of the target branch that holds this key's artifact."""

    run_id: int
    head_sha: str
    created_at: str
    run_url: str
    artifact_id: int
    download_url: str


@dataclass(frozen=True)
class Choice:
    """A candidate and how it relates to the PR.

    ``how``: "base" (the PR's base commit), "ancestor" (``behind`` commits
    before it), "newest" (not an ancestor the search found) or "branch"
    (not a PR: the branch's results, newest first).
    """

    candidate: Candidate
    how: str
    behind: int | None = None


def trusted_runs(runs: list[dict[str, Any]], repository: str, exclude_run_id: str = "") -> tuple[list[dict[str, Any]], int]:
    """The runs a baseline may come from, newest first, and how many others were refused.

    ``repository`` is "owner/name"; a run whose head repository differs is a
    fork's, whatever its branch is called.
    """
    kept, refused = [], 0
    for run in runs:
        head = run.get("head_repository") if isinstance(run.get("head_repository"), dict) else {}
        same_repo = str(head.get("full_name", "")).lower() == repository.lower()
        if str(run.get("id")) == exclude_run_id:
            continue
        if run.get("event") in TRUSTED_EVENTS and same_repo:
            kept.append(run)
        else:
            refused += 1
    kept.sort(key=lambda run: (str(run.get("created_at") or ""), int(run.get("id") or 0)), reverse=True)
    return kept, refused


def candidates(runs: list[dict[str, Any]], artifacts: list[dict[str, Any]], name: str) -> list[Candidate]:
    """Trusted runs (newest first) paired with their unexpired artifact named exactly ``name``."""
    by_run: dict[int, dict[str, Any]] = {}
    for artifact in artifacts:
        run = artifact.get("workflow_run") if isinstance(artifact.get("workflow_run"), dict) else {}
        if artifact.get("name") != name or artifact.get("expired") or not isinstance(run.get("id"), int):
            continue
        current = by_run.get(run["id"])
        if current is None or str(artifact.get("created_at") or "") > str(current.get("created_at") or ""):
            by_run[run["id"]] = artifact  # a re-run attempt's upload replaces the first
    found = []
    for run in runs:
        artifact = by_run.get(run.get("id"))  # type: ignore[arg-type]
        if artifact is None:
            continue
        found.append(
            Candidate(
                run_id=int(run["id"]),
                head_sha=str(run.get("head_sha") or ""),
                created_at=str(run.get("created_at") or ""),
                run_url=str(run.get("html_url") or ""),
                artifact_id=int(artifact["id"]),
                download_url=str(artifact.get("archive_download_url") or ""),
            )
        )
    return found


def preference(found: list[Candidate], base_sha: str, ancestors: list[str]) -> list[Choice]:
    """``found`` (newest first) in order of preference; ``ancestors`` is the base's history, base first."""
    if not base_sha:
        return [Choice(candidate, "branch") for candidate in found]
    position = {sha: index for index, sha in enumerate(ancestors)}
    # Stable: of two runs of one commit (a re-run, a schedule), the newer stays first.
    related = sorted((c for c in found if c.head_sha in position), key=lambda c: position[c.head_sha])
    ranked = [Choice(c, "base" if position[c.head_sha] == 0 else "ancestor", position[c.head_sha]) for c in related]
    return ranked + [Choice(c, "newest") for c in found if c.head_sha not in position]


def history(found: list[Candidate], chosen: Candidate) -> list[Candidate]:
    """The runs before the chosen one, newest first: a newer run is of commits the PR does not contain."""
    return [c for c in found if c is not chosen and (c.created_at, c.run_id) < (chosen.created_at, chosen.run_id)]
