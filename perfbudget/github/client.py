"""A github3.py client for the Actions API: timeouts, retries with backoff, errors in words.

Every request goes through ``RetryingSession.request`` (github3.py's own
session, which is a ``requests.Session``), so issue comments made through
github3.py objects and the Actions endpoints github3.py lacks (workflow runs,
artifacts) share one timeout, one retry policy and one bounded total wait.
Errors become ``GitHubProblem`` with a message that names what failed and
never contains the token.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from github3 import GitHub
from github3.exceptions import GitHubError, IncompleteResponse, TransportError, UnexpectedResponse
from github3.session import GitHubSession

from perfbudget.errors import PerfBudgetError
from perfbudget.github.context import ActionsContext, ContextError

log = logging.getLogger(__name__)

# What a call to GitHub can raise: an HTTP error answer, or no answer at all. github3.py wraps a refused
# connection, a timeout or a bad URL in its own TransportError, which is neither of the other two.
API_ERRORS = (GitHubError, TransportError, requests.RequestException)

# GitHub's answer when a pull_request run from a fork tries to write.
READ_ONLY_MESSAGE = "Resource not accessible by integration"


class GitHubProblem(PerfBudgetError):
    """An API call failed after retries; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RetryPolicy:
    """How long to keep trying. ``max_total_wait`` bounds the sum of all sleeps, in seconds."""

    attempts: int = 5
    backoff: float = 1.0  # first wait for a 5xx or a dropped connection; doubles each time
    max_total_wait: float = 60.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)


def _retry_after(response: requests.Response, clock: Callable[[], float]) -> float | None:
    """Seconds GitHub asked us to wait (Retry-After, or an exhausted primary rate limit), else None."""
    header = response.headers.get("Retry-After")
    if header:
        seconds = _seconds(header)
        if seconds is not None:
            return max(seconds, 0.0)
        try:
            return max(email.utils.parsedate_to_datetime(header).timestamp() - clock(), 0.0)
        except (TypeError, ValueError, OverflowError):
            pass  # neither seconds nor an HTTP date: decide as if GitHub had not said
    reset = _seconds(response.headers.get("x-ratelimit-reset") or "")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
        return max(reset - clock(), 0.0) + 1.0
    return None


def _seconds(text: str) -> float | None:
    """A header's number; None for anything else, "nan" and "inf" included (a sleep of NaN seconds raises)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class RetryingSession(GitHubSession):
    """github3.py's session with a per-request timeout and retries for 5xx, 429 and rate-limit 403s."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(default_connect_timeout=policy.connect_timeout, default_read_timeout=policy.read_timeout)
        self.policy = policy

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        policy = self.policy
        waited = 0.0  # sleeps, and the seconds requests took that got no answer (a hanging server)
        attempt = 0
        while True:
            last = attempt >= policy.attempts - 1
            started = time.monotonic()
            try:
                response = super().request(*args, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                waited += time.monotonic() - started
                delay = policy.backoff * 2**attempt
                if last or waited + delay > policy.max_total_wait:
                    raise
                what = "no answer"
            else:
                asked = self._delay(response, attempt)
                if asked is None or last or waited + asked > policy.max_total_wait:
                    return response
                delay = asked
                what = f"HTTP {response.status_code}"
            log.info("GitHub API: %s; retrying in %.1fs", what, delay)
            policy.sleep(delay)
            waited += delay
            attempt += 1

    def _delay(self, response: requests.Response, attempt: int) -> float | None:
        status = response.status_code
        asked = _retry_after(response, self.policy.clock)
        if status in (403, 429) and asked is not None:
            return asked  # secondary or primary rate limit: wait as long as GitHub says
        if status == 429 or status >= 500:
            # Jitter so two racing jobs do not retry in lockstep.
            return asked if asked is not None else self.policy.backoff * 2**attempt * (1 + random.random() / 4)
        return None


def policy_for(max_wait: float | None, environ: dict[str, str] | None = None) -> RetryPolicy:
    """The retry policy for ``--max-wait`` (else $PERFBUDGET_GITHUB_MAX_WAIT, else 60 s)."""
    if max_wait is None:
        raw = (os.environ if environ is None else environ).get("PERFBUDGET_GITHUB_MAX_WAIT", "")
        try:
            max_wait = float(raw) if raw else 60.0
        except ValueError:
            log.warning("PERFBUDGET_GITHUB_MAX_WAIT=%r is not a number; using 60 seconds", raw)
            max_wait = 60.0
    bound = max(max_wait, 0.0)
    # A request that hangs counts against the same bound: no single one may wait longer than it.
    return RetryPolicy(
        max_total_wait=bound,
        backoff=min(1.0, bound / 8),
        connect_timeout=min(5.0, max(bound, 1.0)),
        read_timeout=min(30.0, max(bound, 1.0)),
    )


def connect(context: ActionsContext, policy: RetryPolicy | None = None) -> GitHub:
    """A logged-in github3.py client for ``context.api_url`` (github.com or GHES, any scheme)."""
    if not context.token:
        raise ContextError("no GitHub token: set GITHUB_TOKEN (the action passes its github-token input)")
    session = RetryingSession(policy or RetryPolicy())
    # GitHubEnterprise() appends /api/v3 to a server URL; GITHUB_API_URL already is the API root.
    session.base_url = context.api_url
    client = GitHub(session=session)
    client.login(token=context.token)
    return client


def describe(exc: BaseException, doing: str) -> GitHubProblem:
    """Turn a github3.py/requests error into a GitHubProblem naming what we were doing."""
    if isinstance(exc, GitHubProblem):
        return exc
    if isinstance(exc, UnexpectedResponse):  # github3.py could not decode the answer
        return GitHubProblem(f"{doing}: GitHub's answer is not valid JSON (HTTP {exc.code})", exc.code)
    if isinstance(exc, IncompleteResponse):
        return GitHubProblem(f"{doing}: GitHub's answer lacked expected fields ({exc.msg})")
    if isinstance(exc, GitHubError):
        hint = {
            401: "the token is invalid or expired",
            403: "the token lacks permission (add `permissions:` to the workflow) or a rate limit was hit",
            404: "not found, or the token cannot see it",
            422: "GitHub refused the request as invalid",
        }.get(exc.code, "GitHub answered with an error")
        if exc.code == 403 and READ_ONLY_MESSAGE.lower() in str(exc.msg).lower():
            hint = "the token is read-only (a pull request from a fork); the job summary has the report"
        return GitHubProblem(f"{doing}: HTTP {exc.code} {exc.msg} ({hint})", exc.code)
    cause = exc.exception if isinstance(exc, TransportError) else exc
    if isinstance(cause, requests.exceptions.JSONDecodeError):  # a 200 with HTML, or nothing, or half an object
        return GitHubProblem(f"{doing}: GitHub's answer is not valid JSON")
    if isinstance(cause, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL)):
        return GitHubProblem(f"{doing}: the GitHub API URL is not a valid http(s) URL (check GITHUB_API_URL)")
    if isinstance(cause, requests.RequestException):
        return GitHubProblem(f"{doing}: no answer from GitHub ({type(cause).__name__}); gave up after retries")
    return GitHubProblem(f"{doing}: {exc}")


def get_json(client: GitHub, path: str, params: dict[str, Any] | None = None) -> Any:
    """GET an API path github3.py has no method for, through the client's session."""
    session = client.session
    response = session.get(session.base_url + path, params=params)
    if response.status_code != 200:
        raise GitHubError(response)
    return response.json()


@dataclass
class Listing:
    """A paginated list's items, and whether every page was read."""

    items: list[Any]
    cut: str = ""  # a next-page link that loops or leads away from the API: the pages after it were not read
    capped: bool = False  # ``max_pages`` were read and GitHub named a next one


def get_pages(client: GitHub, path: str, params: dict[str, Any], key: str | None, max_pages: int) -> Listing:
    """The items of a paginated list, following GitHub's Link headers for at most ``max_pages`` pages.

    ``key`` names the list in the answer's object (``workflow_runs``,
    ``artifacts``); None when the answer is the list itself (``commits``).
    A next link to a page already read, or off the API's scheme and host
    (where the token must not go), ends the listing too: ``cut`` says so.
    """
    session = client.session
    url = session.base_url + path
    items: list[Any] = []
    seen: set[str] = set()
    for _ in range(max_pages):
        response = session.get(url, params=params)
        if response.status_code != 200:
            raise GitHubError(response)
        seen.update((url, response.url))
        data = response.json()
        page = data.get(key) if key is not None and isinstance(data, dict) else data
        if not isinstance(page, list):
            raise ValueError(f"GitHub's answer to {path} has no {key or 'list'}")
        items.extend(item for item in page if isinstance(item, dict))
        following = response.links.get("next", {}).get("url")  # it carries the query
        if not following:
            return Listing(items)
        if not on_api(session.base_url, following):
            return Listing(items, "its next-page link leads away from the API")
        if following in seen:
            return Listing(items, "its next-page link leads back to a page already read")
        url, params = following, {}
    return Listing(items, capped=True)


def on_api(base_url: str, url: str) -> bool:
    """Whether ``url`` (from an answer: a Link, a download URL) is on the API's scheme and host, where the token may go."""
    try:
        parts, api = urlsplit(url), urlsplit(base_url)
    except ValueError:  # "http://[::1" and the like
        return False
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
