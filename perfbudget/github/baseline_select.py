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
from typing import Any, TypeGuard

from perfbudget.github.artifacts import SHARD_MARK, shards_complete, split_artifact_name

# Events whose runs the repository itself started on the branch; pull_request* runs never qualify.
TRUSTED_EVENTS = ("push", "schedule", "workflow_dispatch")


@dataclass(frozen=True)
class ArtifactRef:
    id: int
    download_url: str


@dataclass(frozen=True)
class Candidate:
    """A trusted run of the target branch that holds this key's artifact, or all of its shards' artifacts."""

    run_id: int
    head_sha: str
    created_at: str
    run_url: str
    artifacts: tuple[ArtifactRef, ...]


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
        if not _is_id(run.get("id")):  # not a run GitHub would list
            continue
        head = run.get("head_repository")
        same_repo = str(head.get("full_name", "") if isinstance(head, dict) else "").lower() == repository.lower()
        if str(run.get("id")) == exclude_run_id:
            continue
        if run.get("event") in TRUSTED_EVENTS and same_repo:
            kept.append(run)
        else:
            refused += 1
    kept.sort(key=lambda run: (str(run.get("created_at") or ""), run["id"]), reverse=True)
    return kept, refused


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def candidates(runs: list[dict[str, Any]], artifacts: list[dict[str, Any]], name: str) -> list[Candidate]:
    """Trusted runs (newest first) paired with their unexpired artifact named exactly ``name``.

    A run without it but with artifacts named ``name--shard-*`` (a suite split
    over jobs) is paired with all of those: its shards together are the run.
    """
    whole: dict[int, dict[str, Any]] = {}
    shards: dict[int, dict[str, dict[str, Any]]] = {}
    for artifact in artifacts:
        run = artifact.get("workflow_run")
        run_id = run.get("id") if isinstance(run, dict) else None
        artifact_name = str(artifact.get("name") or "")
        if artifact.get("expired") or not _is_id(run_id) or not _is_id(artifact.get("id")):
            continue
        if artifact_name == name:
            _keep_newest(whole, run_id, artifact)
        elif artifact_name.startswith(name + SHARD_MARK):
            _keep_newest(shards.setdefault(run_id, {}), artifact_name, artifact)
    found = []
    for run in runs:
        run_id = run["id"]  # trusted_runs kept only runs with an integer id
        if run_id in whole:
            chosen = [whole[run_id]]
        else:
            named = shards.get(run_id, {})
            # A run one of whose shard jobs died holds part of the suite: its missing tests would look new.
            complete = not shards_complete([split_artifact_name(artifact)[1] for artifact in named])
            chosen = [shard for _, shard in sorted(named.items())] if complete else []
        if not chosen:
            continue
        refs = tuple(ArtifactRef(int(a["id"]), str(a.get("archive_download_url") or "")) for a in chosen)
        found.append(
            Candidate(run_id, str(run.get("head_sha") or ""), str(run.get("created_at") or ""), str(run.get("html_url") or ""), refs)
        )
    return found


def _keep_newest(kept: dict[Any, dict[str, Any]], key: Any, artifact: dict[str, Any]) -> None:
    """A re-run attempt's upload replaces the first."""
    current = kept.get(key)
    if current is None or str(artifact.get("created_at") or "") > str(current.get("created_at") or ""):
        kept[key] = artifact


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
