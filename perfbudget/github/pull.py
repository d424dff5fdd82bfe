"""The pull request as GitHub says it is: the facts a comment from artifacts is posted by.

The workflow_run stage and the merge job comment from artifacts a fork's code
may have written, with a token that can write. None of what they post by is
taken from the artifact: pr.json's number is a claim, and GitHub's answer
for it must show the head commit and repository of the run that built the
artifact (both from the event, which GitHub writes); the labels an accept
label is looked for among are GitHub's. Every field of the answer is
type-checked: a wrong type is a mismatch, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github3 import GitHub

from perfbudget.github.client import API_ERRORS, GitHubProblem, describe, get_json

MAX_LABELS = 100  # GitHub allows 100 labels on an issue


@dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str  # "" when GitHub's answer had none of the right type
    head_repository: str  # "owner/name"; "" likewise
    labels: tuple[str, ...]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fetch_pull(client: GitHub, owner: str, repo: str, number: int) -> PullRequest:
    """GET the pull request; GitHubProblem when GitHub cannot say, or says it is another one."""
    doing = f"checking {owner}/{repo}#{number}"
    try:
        data = get_json(client, f"/repos/{quote(owner)}/{quote(repo)}/pulls/{int(number)}")
    except (*API_ERRORS, ValueError) as exc:
        raise describe(exc, doing) from exc
    if not isinstance(data, dict) or data.get("number") != number or isinstance(data.get("number"), bool):
        raise GitHubProblem(f"{doing}: GitHub's answer is not that pull request; refusing to comment")
    head = _object(data.get("head"))
    labels = data.get("labels")
    listed = labels[:MAX_LABELS] if isinstance(labels, list) else []
    names = tuple(name for label in listed if isinstance(name := _object(label).get("name"), str))
    return PullRequest(number, _text(head.get("sha")), _text(_object(head.get("repo")).get("full_name")), names)


def confirm_pull(pull: PullRequest, head_sha: str, head_repository: str, where: str) -> None:
    """Refuse unless ``pull`` is the pull request the run of ``head_sha`` (from ``head_repository``, when known) built.

    ``where`` names the pull request in the message.
    """
    if pull.head_sha != head_sha:
        actual = pull.head_sha[:40] or "unknown"
        raise GitHubProblem(f"checking {where}: its head is {actual}, the artifact is for {head_sha}; refusing to comment")
    if head_repository and pull.head_repository.lower() != head_repository.lower():
        actual = pull.head_repository[:100] or "unknown"
        raise GitHubProblem(f"checking {where}: its head is in {actual}, but the run was built from {head_repository}; refusing to comment")
