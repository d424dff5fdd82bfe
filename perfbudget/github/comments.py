"""The one pull-request comment: find it by its hidden marker, update it, create it when absent.

Each workflow/key pair owns one comment, recognised by an HTML comment marker
in its body. Two runs of the same PR can race (a quick second push); both may
create a comment, so after creating we list again and keep only the oldest
marked comment, deleting the newer ones: whichever run gets there, the PR ends
up with exactly one comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from github3 import GitHub
from github3.exceptions import GitHubError, NotFoundError

from perfbudget.compare.verdicts import CiVerdict
from perfbudget.github.client import API_ERRORS, GitHubProblem, describe, get_json
from perfbudget.report.markdown import COMMENT_LIMIT

MAX_COMMENT_CHARS = COMMENT_LIMIT  # GitHub refuses comment bodies above 65536 characters
# A rendered body's limit: room for the marker with_marker() appends.
BODY_CHARS = MAX_COMMENT_CHARS - 200


def marker_for(workflow: str, key: str) -> str:
    """``<!-- perfbudget:CI/tests -->``: one comment per workflow and key; characters that could end the HTML comment are dropped."""
    name = re.sub(r"[^A-Za-z0-9 _./:@()+-]", "", f"{workflow}/{key}").replace("--", "-")
    return f"<!-- perfbudget:{name.strip()} -->"


def with_marker(body: str, marker: str) -> str:
    """The body GitHub stores: the report, cut to fit the size limit, then the marker."""
    room = MAX_COMMENT_CHARS - len(marker) - 2
    if len(body) > room:
        note = "\n\n… (report truncated to fit GitHub's comment size limit; see the job summary and artifacts)"
        body = body[: room - len(note)] + note
    return f"{body}\n\n{marker}"


def should_post(mode: str, verdict: CiVerdict, existing: bool) -> bool:
    """Whether ``mode`` wants a comment for a run judged ``verdict``.

    An existing comment is always brought up to date, otherwise a PR whose
    regression was fixed would keep showing the old failure.
    """
    if mode == "off":
        return False
    if mode == "always" or existing:
        return True
    if mode == "on-change":
        return verdict in (CiVerdict.FAIL, CiVerdict.CHANGED, CiVerdict.ERROR)
    return verdict in (CiVerdict.FAIL, CiVerdict.ERROR)


@dataclass
class CommentOutcome:
    action: str  # "created" | "updated" | "unchanged" | "skipped"
    comment_id: int | None = None
    url: str = ""
    removed_duplicates: int = 0
    ignored_foreign: int = 0  # comments by others that carry the marker: left alone


# Who Actions' GITHUB_TOKEN comments as. An installation token cannot ask (GET /user answers 403).
ACTIONS_BOT = "github-actions[bot]"


def token_login(client: GitHub, override: str = "") -> str:
    """The login the token writes comments as: ``override``, else GET /user, else Actions' bot.

    A GitHub App's token other than Actions' cannot ask either: pass its bot
    login (``my-app[bot]``) as ``override``.
    """
    if override:
        return override
    try:
        login = get_json(client, "/user").get("login")
    except (GitHubError, ValueError, AttributeError):
        return ACTIONS_BOT
    return login if isinstance(login, str) and login else ACTIONS_BOT


def _marked(issue: Any, marker: str, login: str) -> tuple[list[Any], int]:
    """The token's own comments carrying ``marker``, oldest first, and how many others carry it.

    Anyone can paste the marker into a comment: only comments this token's
    identity wrote are ever updated or deleted. github3.py follows the Link pages.
    """
    marked = [comment for comment in issue.comments() if marker in (comment.body or "")]
    own = [comment for comment in marked if getattr(comment.user, "login", None) == login]
    return sorted(own, key=lambda comment: comment.id), len(marked) - len(own)


def _delete_extra(comments: list[Any]) -> int:
    """Delete all but the first; a comment already deleted by a racing run is fine."""
    removed = 0
    for comment in comments[1:]:
        try:
            comment.delete()
            removed += 1
        except NotFoundError:
            pass
    return removed


def upsert_comment(
    client: GitHub, owner: str, repo: str, number: int, body: str, marker: str, mode: str, verdict: CiVerdict, author: str = ""
) -> CommentOutcome:
    """Create or update the token's marked comment on PR ``number`` as ``mode`` asks; raises GitHubProblem."""
    doing = f"commenting on {owner}/{repo}#{number}"
    try:
        login = token_login(client, author)
        issue = client.issue(owner, repo, number)
        existing, foreign = _marked(issue, marker, login)
        if not should_post(mode, verdict, bool(existing)):
            return CommentOutcome("skipped", ignored_foreign=foreign)
        text = with_marker(body, marker)
        if not existing:
            created = issue.create_comment(text)
            login = getattr(created.user, "login", login)  # what the token really is, whatever was assumed
            existing, foreign = _marked(issue, marker, login)  # a racing run may have created one too
            action = "created"
        else:
            action = "updated"
        removed = _delete_extra(existing)
        keep = existing[0]
        if keep.body == text:
            action = "unchanged" if action == "updated" else action
        else:
            keep.edit(text)
        return CommentOutcome(action, keep.id, keep.html_url or "", removed, foreign)
    except API_ERRORS as exc:
        raise describe(exc, doing) from exc


# The reports' warning when the target branch has no results artifact yet (first run, expired).
NO_TARGET_BASELINE = "no baseline from the target branch yet: compared with budgets only"


def existing(path: str | None) -> str | None:
    """A baseline path the fetch step may or may not have written: None when absent."""
    return path if path and Path(path).exists() else None


def verify_pull_request(client: GitHub, owner: str, repo: str, number: int, head_sha: str) -> None:
    """Refuse to comment unless PR ``number``'s head is ``head_sha``.

    The workflow_run stage reads the PR number from an artifact a fork's code
    wrote; checking it against GitHub keeps a forged number from putting the
    comment on someone else's PR.
    """
    doing = f"checking {owner}/{repo}#{number}"
    try:
        pull = get_json(client, f"/repos/{quote(owner)}/{quote(repo)}/pulls/{int(number)}")
    except (*API_ERRORS, ValueError) as exc:
        raise describe(exc, doing) from exc
    head = pull.get("head") if isinstance(pull, dict) else None
    actual = head.get("sha") if isinstance(head, dict) else None
    if actual != head_sha:
        raise GitHubProblem(f"{doing}: its head is {actual}, the artifact is for {head_sha}; refusing to comment")
