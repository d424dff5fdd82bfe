"""The one pull-request comment: find it by its marker, update it, create it when absent.

Each workflow/key pair owns one comment, recognised by a marker only the bot
writes: the body's last line, ``<!-- perfbudget:NAME TOKEN -->``, compared
exactly. The token is a digest of the workflow and key as given, so two
keys whose names clean alike still differ. A marker anywhere else in a body
(a test id, a SQL comment, a pasted remark) is text: it never makes another
key's comment look like this one's (issue 19). A comment of perfbudget 0.1,
whose last line is that version's marker, is still recognised, and gets the
new marker on its next update.

Two runs of the same PR can race (a quick second push); both may create a
comment, so after creating we list again and keep only the oldest marked
comment, deleting the newer ones: whichever run gets there, the PR ends up
with exactly one comment.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from github3 import GitHub
from github3.exceptions import GitHubError

from perfbudget.compare.verdicts import CiVerdict
from perfbudget.github.client import API_ERRORS, GitHubProblem, describe, get_json, get_pages
from perfbudget.report.markdown import COMMENT_LIMIT

MAX_COMMENT_CHARS = COMMENT_LIMIT  # GitHub refuses comment bodies above 65536 characters
# A rendered body's limit: room for the marker with_marker() appends.
BODY_CHARS = MAX_COMMENT_CHARS - 200
# Pages of 100 comments read to find the marked one: a PR with more than 5,000 comments is
# not looked through further (one warning says so), and a next-page link that loops ends it too.
COMMENT_PAGES = 50
_NAME = re.compile(r"[^A-Za-z0-9 _./:@()+-]")


def marker_for(workflow: str, key: str) -> str:
    """``<!-- perfbudget:CI/tests 0123456789abcdef -->``: the last line of the comment of ``workflow`` and ``key``.

    The name is for people reading the body; characters that could end the
    HTML comment or the line are dropped from it. The token tells the keys apart.
    """
    name = re.sub("-{2,}", "-", _NAME.sub("", f"{workflow}/{key}")).strip()
    token = hashlib.sha256(f"{workflow}\n{key}".encode()).hexdigest()[:16]
    return f"<!-- perfbudget:{name} {token} -->"


def legacy_marker_for(workflow: str, key: str) -> str:
    """The marker perfbudget 0.1 wrote for ``workflow`` and ``key``: its comments are updated, not duplicated."""
    name = _NAME.sub("", f"{workflow}/{key}").replace("--", "-")
    return f"<!-- perfbudget:{name.strip()} -->"


def with_marker(body: str, marker: str) -> str:
    """The body GitHub stores: the report, cut to fit the size limit, then the marker as its last line."""
    room = MAX_COMMENT_CHARS - len(marker) - 2
    if len(body) > room:
        note = "\n\n… (report truncated to fit GitHub's comment size limit; see the job summary and artifacts)"
        body = body[: room - len(note)] + note
    return f"{body}\n\n{marker}"


def _last_line(body: str) -> str:
    return body.rstrip().rsplit("\n", 1)[-1].strip()


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
    notes: list[str] = field(default_factory=list)  # warnings: e.g. the comments were listed only in part


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
    except (GitHubError, ValueError, AttributeError):  # no answer at all is no reason to go on: it propagates
        return ACTIONS_BOT
    return login if isinstance(login, str) and login else ACTIONS_BOT


@dataclass(frozen=True)
class _Comment:
    """A listed comment, from fields checked one by one (the list is GitHub's answer, typed by nobody)."""

    id: int
    body: str
    login: str
    html_url: str


def _comment(item: dict[str, Any]) -> _Comment | None:
    cid, body, user, url = item.get("id"), item.get("body"), item.get("user"), item.get("html_url")
    if not isinstance(cid, int) or isinstance(cid, bool) or not isinstance(body, str):
        return None
    login = user.get("login") if isinstance(user, dict) else None
    return _Comment(cid, body, login if isinstance(login, str) else "", url if isinstance(url, str) else "")


@dataclass
class _Thread:
    """The pull request's comments API, and what listing it had to say."""

    client: GitHub
    owner: str
    repo: str
    number: int
    notes: list[str] = field(default_factory=list)

    @property
    def issues(self) -> str:
        """The API path of the repository's issues (a pull request's comments are its issue's)."""
        return f"/repos/{quote(self.owner)}/{quote(self.repo)}/issues"

    def marked(self, markers: tuple[str, ...], login: str) -> tuple[list[_Comment], int]:
        """The token's own comments whose last line is one of ``markers``, oldest first, and how many others end so.

        Anyone can paste the marker into a comment: only comments this token's
        identity wrote are ever updated or deleted.
        """
        listing = get_pages(self.client, f"{self.issues}/{int(self.number)}/comments", {"per_page": 100}, None, COMMENT_PAGES)
        if listing.cut or listing.capped:
            reason = listing.cut or f"stopped after {COMMENT_PAGES} pages"
            note = (
                f"read only the first comments of {self.owner}/{self.repo}#{self.number} ({reason}); "
                "a perfbudget comment after them is not found, and may be posted again"
            )
            if note not in self.notes:
                self.notes.append(note)
        # By id: a page read twice (a loop, or comments added while listing) lists a comment twice.
        comments = list({comment.id: comment for item in listing.items if (comment := _comment(item)) is not None}.values())
        marked = [comment for comment in comments if _last_line(comment.body) in markers]
        own = [comment for comment in marked if comment.login == login]
        return sorted(own, key=lambda comment: comment.id), len(marked) - len(own)

    def edit(self, comment: _Comment, text: str) -> None:
        response = self.client.session.patch(f"{self.client.session.base_url}{self.issues}/comments/{comment.id}", json={"body": text})
        if response.status_code != 200:
            raise GitHubError(response)

    def delete_extra(self, comments: list[_Comment]) -> int:
        """Delete all but the first; a comment already deleted by a racing run is fine."""
        removed = 0
        for comment in comments[1:]:
            response = self.client.session.delete(f"{self.client.session.base_url}{self.issues}/comments/{comment.id}")
            if response.status_code == 204:
                removed += 1
            elif response.status_code != 404:
                raise GitHubError(response)
        return removed


def _github3(doing: str, call: Any, *args: Any) -> Any:
    """A github3.py call: it builds an object from GitHub's answer, and a field of the wrong type fails there."""
    try:
        made = call(*args)
    except (TypeError, AttributeError, KeyError) as exc:
        raise GitHubProblem(f"{doing}: GitHub's answer lacked expected fields ({type(exc).__name__})") from exc
    if made is None:  # github3.py's answer to a success code it did not expect
        raise GitHubProblem(f"{doing}: GitHub's answer was not the expected one")
    return made


def upsert_comment(
    client: GitHub,
    owner: str,
    repo: str,
    number: int,
    body: str,
    marker: str,
    mode: str,
    verdict: CiVerdict,
    author: str = "",
    earlier: tuple[str, ...] = (),
) -> CommentOutcome:
    """Create or update the token's marked comment on PR ``number`` as ``mode`` asks; raises GitHubProblem.

    ``earlier``: markers this comment carried before (perfbudget 0.1's), recognised as ``marker``.
    """
    doing = f"commenting on {owner}/{repo}#{number}"
    thread = _Thread(client, owner, repo, number)
    markers = (marker, *earlier)
    try:
        login = token_login(client, author)
        issue = _github3(doing, client.issue, owner, repo, number)
        existing, foreign = thread.marked(markers, login)
        if not should_post(mode, verdict, bool(existing)):
            return CommentOutcome("skipped", ignored_foreign=foreign, notes=thread.notes)
        text = with_marker(body, marker)
        if not existing:
            created = _github3(doing, issue.create_comment, text)
            login = getattr(created.user, "login", login)  # what the token really is, whatever was assumed
            existing, foreign = thread.marked(markers, login)  # a racing run may have created one too
            if not existing:  # not listed (yet, or beyond what could be read): the one just made is it
                existing = [_Comment(created.id, text, login, created.html_url or "")]
            action = "created"
        else:
            action = "updated"
        removed = thread.delete_extra(existing)
        keep = existing[0]
        if keep.body == text:
            action = "unchanged" if action == "updated" else action
        else:
            thread.edit(keep, text)
        return CommentOutcome(action, keep.id, keep.html_url, removed, foreign, thread.notes)
    except (*API_ERRORS, ValueError) as exc:
        raise describe(exc, doing) from exc


# The reports' warning when the target branch has no results artifact yet (first run, expired).
NO_TARGET_BASELINE = "no baseline from the target branch yet: compared with budgets only"


def existing(path: str | None) -> str | None:
    """A baseline path the fetch step may or may not have written: None when absent."""
    return path if path and Path(path).exists() else None
