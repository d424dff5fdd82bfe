"""A hostile or broken GitHub API, and forged comment markers, as tables (issue 19).

Each row makes the fake API misbehave in one way (pagination loops, 5xx
storms, refusals, malformed or wrongly typed JSON) and runs a real
``perfbudget`` process against it: the PR job's ``comment --body``, the
workflow_run stage's ``comment --from-artifact`` or ``baseline fetch``. Every
row asserts the exit code, the one line that explains, no traceback, no
token in the output, and a bounded number of requests, counted by the server:
a loop is caught by that count (or by the process's 60 s), never by a clock.
The marker tests show that text a test or a fork controls can neither make
the bot overwrite nor delete another comment.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfbudget.github.comments import marker_for
from perfbudget.report.escape import code_fence, code_span, html_comment, md_text
from tests.support.github import TOKEN, FakeGitHub, zip_bytes
from tests.support.hostile import HEAD, NUMBER, Done, ForkStage, pr_job, run_cli, write_results

COMMENTS = f"/issues/{NUMBER}/comments"
BASE = "b" * 40


@dataclass(frozen=True)
class Api:
    make: Callable[[FakeGitHub], object]
    command: str  # "comment" (the PR job's --body), "artifact" (the workflow_run stage), "baseline" (fetch)
    code: int
    line: str  # in exactly one line of the output ("" : none asked for)
    requests: int  # the most requests a correct client sends
    posted: bool = False
    args: tuple[str, ...] = ()


def _next(route_end: str, how: str) -> Callable[[FakeGitHub], None]:
    """The list ending ``route_end`` gets a rel="next" link that loops back, runs on forever, or leaves the API."""

    def make(fake: FakeGitHub) -> None:
        def link(path: str, page: int) -> str | None:
            if not path.endswith(route_end):
                return None
            return {
                "self": f"{fake.repo_api}{path}?per_page=100&page={page}",
                "endless": f"{fake.repo_api}{path}?per_page=100&page={page + 1}",
                "foreign": f"{fake.repo_api.replace('127.0.0.1', 'localhost')}{path}?page={page + 1}",
                "malformed": "not a url at all",
                "javascript": "javascript:alert(1)",
            }[how]

        fake.next_link = link

    return make


def _answer(
    method: str, path: str, status: int, body: object = None, times: int = 1000, headers: dict[str, str] | None = None
) -> Callable[[FakeGitHub], None]:
    """The next ``times`` requests matching get this answer: an error, or a 200 whose body is ``body``."""

    def make(fake: FakeGitHub) -> None:
        fake.fail(method, path, status, times=times, body=body, headers=headers or {})

    return make


def _both(*makes: Callable[[FakeGitHub], object]) -> Callable[[FakeGitHub], None]:
    def make(fake: FakeGitHub) -> None:
        for each in makes:
            each(fake)

    return make


def _read_only(fake: FakeGitHub) -> None:
    fake.read_only = True


def _baseline_run(fake: FakeGitHub) -> None:
    """main's push run of the PR's base, with the key's results: what a baseline fetch finds."""
    with tempfile.TemporaryDirectory() as directory:
        results = write_results(Path(directory) / "results.ndjson.gz", 3).read_bytes()
    fake.add_commits("c" * 40, BASE)
    fake.add_run(
        "main", head_sha=BASE, path=".github/workflows/ci.yml", artifacts={"perfbudget-perf": zip_bytes({"results.ndjson.gz": results})}
    )


LOOP = "next-page link leads back to a page already read"
AWAY = "next-page link leads away from the API"
NOT_JSON = "GitHub's answer is not valid JSON"
COMMENT_ROUTE = f"{COMMENTS}$"
RUN = {"id": 1001, "event": "push", "head_sha": BASE, "created_at": "2026-11-25T08:00:00Z", "head_repository": {"full_name": "acme/shop"}}
PULL_ROUTE = f"/pulls/{NUMBER}$"
PULL = {"number": NUMBER, "state": "open", "head": {"sha": HEAD, "repo": {"full_name": "stranger/shop"}}, "user": {"login": "x"}}

CASES: dict[str, Api] = {
    # Finding 4: a comments list whose next page is itself sent 11,493 requests in 60 s.
    "comments: next page is itself": Api(_next("/comments", "self"), "comment", 0, LOOP, 10, posted=True),
    "comments: next pages without end": Api(_next("/comments", "endless"), "comment", 0, "stopped after 50 pages", 110, posted=True),
    "comments: next page on another host": Api(_next("/comments", "foreign"), "comment", 0, AWAY, 10, posted=True),
    "comments: next page not a URL": Api(_next("/comments", "malformed"), "comment", 0, AWAY, 10, posted=True),
    "comments: next page javascript:": Api(_next("/comments", "javascript"), "comment", 0, AWAY, 10, posted=True),
    "comments: not JSON": Api(_answer("GET", COMMENT_ROUTE, 200, b"{not json"), "comment", 0, NOT_JSON, 10),
    "comments: empty body": Api(_answer("GET", COMMENT_ROUTE, 200, b""), "comment", 0, NOT_JSON, 10),
    "comments: an object, not a list": Api(_answer("GET", COMMENT_ROUTE, 200, {"message": "hi"}), "comment", 0, "has no list", 10),
    "comments: wrongly typed items": Api(
        _answer("GET", COMMENT_ROUTE, 200, [1, "x", None, {"id": "7", "body": 5, "user": None}, {"id": 3, "body": None, "user": "me"}]),
        "comment",
        0,
        "",
        10,
        posted=True,
    ),
    "comments: HTML instead of JSON": Api(_answer("GET", COMMENT_ROUTE, 200, b"<html>rate limited</html>"), "comment", 0, NOT_JSON, 10),
    # 5xx storms end within the retry policy: at most 5 attempts per call, then one line.
    "every call answers 502": Api(_both(_answer("GET", ".", 502), _answer("POST", ".", 502)), "comment", 0, "HTTP 502", 12),
    "every call answers 502, strict": Api(
        _both(_answer("GET", ".", 502), _answer("POST", ".", 502)), "comment", 3, "HTTP 502", 12, args=("--strict",)
    ),
    "creating answers 500 every time": Api(_answer("POST", COMMENT_ROUTE, 500), "comment", 0, "HTTP 500", 14),
    "503 asking to retry in 10^9 s": Api(
        _answer("GET", f"/issues/{NUMBER}$", 503, headers={"Retry-After": "1000000000"}), "comment", 0, "HTTP 503", 6
    ),
    "429 with a garbage Retry-After": Api(
        _answer("GET", f"/issues/{NUMBER}$", 429, headers={"Retry-After": "soon"}), "comment", 0, "HTTP 429", 8
    ),
    "429 with an infinite Retry-After": Api(
        _answer("GET", f"/issues/{NUMBER}$", 429, headers={"Retry-After": "1e400"}), "comment", 0, "HTTP 429", 8
    ),
    "429 with a negative Retry-After": Api(
        _answer("GET", f"/issues/{NUMBER}$", 429, headers={"Retry-After": "-5"}), "comment", 0, "HTTP 429", 8
    ),
    "403 with a rate-limit reset that is no number": Api(
        _answer("GET", f"/issues/{NUMBER}$", 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "nan"}),
        "comment",
        0,
        "HTTP 403",
        6,
    ),
    "429 with a NaN Retry-After": Api(
        _answer("GET", f"/issues/{NUMBER}$", 429, headers={"Retry-After": "nan"}), "comment", 0, "HTTP 429", 8
    ),
    "403 rate limit resetting in a year": Api(
        _answer("GET", f"/issues/{NUMBER}$", 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999"}),
        "comment",
        0,
        "HTTP 403",
        6,
    ),
    "403 read-only token": Api(_read_only, "comment", 0, "the token is read-only", 10),
    "401 bad credentials": Api(_answer("GET", f"/issues/{NUMBER}$", 401), "comment", 0, "HTTP 401", 6),
    "404 pull request": Api(_answer("GET", f"/issues/{NUMBER}$", 404), "comment", 0, "HTTP 404", 6),
    "GET /user answers a list": Api(_answer("GET", "^/user$", 200, []), "comment", 0, "", 10, posted=True),
    "GET /user answers a login of the wrong type": Api(
        _answer("GET", "^/user$", 200, {"login": ["root"]}), "comment", 0, "", 10, posted=True
    ),
    "the created comment is not JSON": Api(_answer("POST", COMMENT_ROUTE, 201, b"{", times=1), "comment", 0, NOT_JSON, 10),
    "the created comment lacks fields": Api(
        _answer("POST", COMMENT_ROUTE, 201, {"id": "x"}, times=1), "comment", 0, "lacked expected fields", 10
    ),
    # The workflow_run stage asks GitHub for the PR: its answer is checked, its types too.
    "stage: the PR is not JSON": Api(_answer("GET", PULL_ROUTE, 200, b"]"), "artifact", 0, NOT_JSON, 10),
    "stage: the PR is a list": Api(_answer("GET", PULL_ROUTE, 200, [PULL]), "artifact", 0, "refusing to comment", 10),
    "stage: the PR has no head": Api(_answer("GET", PULL_ROUTE, 200, {**PULL, "head": None}), "artifact", 0, "refusing to comment", 10),
    "stage: the PR's head sha is a number": Api(
        _answer("GET", PULL_ROUTE, 200, {**PULL, "head": {"sha": 7, "repo": None}}), "artifact", 0, "refusing to comment", 10
    ),
    "stage: GitHub names another number": Api(
        _answer("GET", PULL_ROUTE, 200, {**PULL, "number": 8}), "artifact", 0, "refusing to comment", 10
    ),
    "stage: labels of the wrong type": Api(
        _answer("GET", PULL_ROUTE, 200, {**PULL, "labels": "perfbudget: accept"}), "artifact", 0, "", 12, posted=True
    ),
    "stage: label items of the wrong type": Api(
        _answer("GET", PULL_ROUTE, 200, {**PULL, "labels": [1, None, {"name": 5}, {"name": ["perfbudget: accept"]}]}),
        "artifact",
        0,
        "",
        12,
        posted=True,
    ),
    "stage: the PR answers 404": Api(_answer("GET", PULL_ROUTE, 404), "artifact", 3, "HTTP 404", 10, args=("--strict",)),
    "stage: the PR answers 502 every time": Api(_answer("GET", PULL_ROUTE, 502), "artifact", 0, "HTTP 502", 10),
    "stage: the PR answers 403": Api(_answer("GET", PULL_ROUTE, 403), "artifact", 0, "HTTP 403", 10),
    "stage: comments next page is itself": Api(_next("/comments", "self"), "artifact", 0, LOOP, 12, posted=True),
    # The baseline fetch's lists: bounded by their look-back window, and by a repeated page.
    "runs: next page is itself": Api(_next("/runs", "self"), "baseline", 0, LOOP, 12),
    "runs: next pages without end": Api(_next("/runs", "endless"), "baseline", 0, "", 12),
    "artifacts: next page is itself": Api(_next("/actions/artifacts", "self"), "baseline", 0, LOOP, 12),
    "commits: next page is itself": Api(_next("/commits", "self"), "baseline", 0, "", 12),
    "runs: next page on another host": Api(_next("/runs", "foreign"), "baseline", 0, AWAY, 12),
    "runs: not JSON": Api(_answer("GET", "/runs$", 200, b"{"), "baseline", 0, NOT_JSON, 6),
    "runs: wrongly typed": Api(
        _answer("GET", "/runs$", 200, {"workflow_runs": [1, {"id": "abc", "head_repository": "x", "created_at": 5}]}),
        "baseline",
        0,
        "baseline: no baseline: no finished push run",
        12,
    ),
    "runs: an id that is not a number": Api(
        _answer("GET", "/runs$", 200, {"workflow_runs": [{**RUN, "id": "abc"}, {**RUN, "id": 1.5}, {**RUN, "id": True}]}),
        "baseline",
        0,
        "baseline: no baseline: no finished push run",
        12,
    ),
    "runs: a head_sha and dates of the wrong type": Api(
        _answer("GET", "/runs$", 200, {"workflow_runs": [{**RUN, "head_sha": ["x"], "created_at": {"a": 1}, "html_url": 5}]}),
        "baseline",
        0,
        "",
        12,
    ),
    "artifacts: wrongly typed": Api(
        _answer("GET", "/artifacts$", 200, {"artifacts": [{"id": "x", "name": 5, "workflow_run": {"id": []}}, 7, None]}),
        "baseline",
        0,
        "baseline: no baseline: ",
        12,
    ),
    "artifacts: an id that is not a number": Api(
        lambda fake: _answer(
            "GET", "/artifacts$", 200, {"artifacts": [{"id": "x", "name": "perfbudget-perf", "workflow_run": {"id": fake.runs[0]["id"]}}]}
        )(fake),
        "baseline",
        0,
        "",
        12,
    ),
    "runs: 502 every time": Api(_answer("GET", "/runs$", 502), "baseline", 0, "HTTP 502", 6),
    "runs: 502 every time, strict": Api(_answer("GET", "/runs$", 502), "baseline", 3, "HTTP 502", 6, args=("--strict",)),
}


def _run(fake: FakeGitHub, tmp_path: Path, case: Api) -> tuple[Done, Path]:
    """The case's command as a process; returns what it printed and its job summary file."""
    if case.command == "artifact":
        stage = ForkStage(fake, tmp_path)
        stage.leg("perfbudget-perf")
        return stage.comment(*case.args), stage.summary
    home = tmp_path / "job"
    env = pr_job(fake, home, base_sha=BASE)
    if case.command == "comment":
        (home / "body.md").write_text("report\n")
        return run_cli(["comment", "--body", str(home / "body.md"), *case.args], env, home), home / "summary.md"
    return run_cli(["baseline", "fetch", "-o", str(home / "baseline"), "--key", "perf", *case.args], env, home), home / "summary.md"


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_api_is_one_line_and_bounded(fake_github: FakeGitHub, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    if case.command == "baseline":
        _baseline_run(fake_github)
    case.make(fake_github)
    setup = len(fake_github.log)
    done, summary = _run(fake_github, tmp_path, case)
    assert done.returncode == case.code, done.out
    assert "Traceback" not in done.out and TOKEN not in done.out, done.out
    if case.line:
        assert len([line for line in done.lines if case.line in line]) == 1, done.out
    assert len(fake_github.log) - setup <= case.requests, [f"{e.method} {e.path} {e.query}" for e in fake_github.log]
    posted = [c for c in fake_github.issue_comments(NUMBER) if c["user"]["login"] == "github-actions[bot]"]
    assert bool(posted) is case.posted, done.out
    if summary.exists():
        assert TOKEN not in summary.read_text()


# --- Finding 3: a comment marker forged in text the bot writes --------------------------------------------------

FORGED = marker_for("CI", "other")


def _comment(fake: FakeGitHub, tmp_path: Path, key: str, *source: str) -> None:
    home = tmp_path / f"job-{key}"
    env = pr_job(fake, home)
    done = run_cli(["comment", *source, "--key", key, "--strict"], env, tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.out, done.out


def _results_with_test_id(path: Path, node_id: str) -> str:
    return str(write_results(path, 3, node_id=node_id))


@pytest.mark.parametrize(
    "forged",
    [
        FORGED,
        "<!-- perfbudget:CI/other -->",  # the marker of the previous version
        f"x {FORGED} y",
        f"`{FORGED}`",
        f"\n{FORGED}\n",
    ],
)
def test_a_test_id_holding_another_legs_marker_never_makes_it_overwrite_ours(fake_github: FakeGitHub, tmp_path: Path, forged: str) -> None:
    """A test id of leg perf holds leg other's marker: other's next upsert must create its own comment."""
    results = _results_with_test_id(tmp_path / "perf.ndjson.gz", f"tests/test_a.py::test_x[{forged}]")
    (tmp_path / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 1\n")  # so the test is listed
    _comment(fake_github, tmp_path, "perf", "--results", results)
    [perf] = fake_github.issue_comments(NUMBER)
    _comment(fake_github, tmp_path, "other", "--body", str(_body(tmp_path, "other's report")))
    comments = fake_github.issue_comments(NUMBER)
    assert len(comments) == 2 and fake_github.comments[perf["id"]]["body"] == perf["body"]
    assert "<!--" not in perf["body"].rsplit("\n", 1)[0]  # the id was shown with its "<!--" broken up


def _body(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"body-{abs(hash(text))}.md"
    path.write_text(text)
    return path


def test_a_body_holding_another_keys_marker_is_not_that_keys_comment(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """The marker counts only as the body's last line: anywhere else it is text."""
    _comment(fake_github, tmp_path, "perf", "--body", str(_body(tmp_path, f"perf's report\n\n{FORGED}\n\nmore text")))
    _comment(fake_github, tmp_path, "other", "--body", str(_body(tmp_path, "other's report")))
    bodies = [c["body"] for c in fake_github.issue_comments(NUMBER)]
    assert len(bodies) == 2 and bodies[0].startswith("perf's report") and bodies[1].startswith("other's report")


def test_another_keys_marker_in_our_comment_never_gets_it_deleted_as_a_duplicate(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """Two comments 'carry' other's marker, one in its text: other updates its own and deletes nothing."""
    _comment(fake_github, tmp_path, "other", "--body", str(_body(tmp_path, "other's first report")))
    _comment(fake_github, tmp_path, "perf", "--body", str(_body(tmp_path, f"perf's report\n{FORGED}\nend")))
    _comment(fake_github, tmp_path, "other", "--body", str(_body(tmp_path, "other's second report")))
    bodies = [c["body"] for c in fake_github.issue_comments(NUMBER)]
    assert len(bodies) == 2 and not fake_github.requests("DELETE", ".")
    assert bodies[0].startswith("other's second report") and bodies[1].startswith("perf's report")


@pytest.mark.parametrize("old_marker", ["<!-- perfbudget:CI/perf -->", "<!-- perfbudget:CI/perf -->\n", "<!-- perfbudget:CI/perf -->\r\n"])
def test_a_comment_of_the_previous_version_is_updated_not_duplicated(fake_github: FakeGitHub, tmp_path: Path, old_marker: str) -> None:
    old = fake_github.add_comment(NUMBER, f"the old report\n\n{old_marker}")
    _comment(fake_github, tmp_path, "perf", "--body", str(_body(tmp_path, "the new report")))
    [comment] = fake_github.issue_comments(NUMBER)
    assert comment["id"] == old["id"] and comment["body"].startswith("the new report")
    assert comment["body"].splitlines()[-1] == marker_for("CI", "perf")


def test_an_old_marker_that_is_not_the_last_line_is_not_ours(fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake_github.add_comment(NUMBER, "quoting <!-- perfbudget:CI/perf --> in the middle\n\nof a remark")
    _comment(fake_github, tmp_path, "perf", "--body", str(_body(tmp_path, "the report")))
    assert len(fake_github.issue_comments(NUMBER)) == 2


def test_markers_differ_per_key_even_where_their_names_are_cleaned_alike() -> None:
    assert marker_for("CI", "perf") != marker_for("C-I", "perf") != marker_for("CI", "perf ")
    assert marker_for("CI<x>", "perf") != marker_for("CIx", "perf")
    assert marker_for("CI", "perf") == marker_for("CI", "perf")  # stable across runs: it finds the comment again
    assert "\n" not in marker_for("CI\n", "perf\r") and marker_for("CI --> <b>", "k").count("-->") == 1


# "<!--" in anything user-controlled is broken up before it reaches Markdown: raw, in code, in a fence.
OPENERS = ["<!--", "<!-- perfbudget:CI/other -->", "a<!--b", "<!---->", "<<!--!--", "`<!--`", "<!--\n-->", "<\x00!--"]


@pytest.mark.parametrize("text", OPENERS)
@pytest.mark.parametrize(
    "render",
    [
        md_text,
        code_span,
        lambda t: code_span(t, in_table=False),
        lambda t: code_span(t, width=5),
        code_fence,
        lambda t: code_fence(t, "sql"),
        html_comment,
    ],
    ids=["md_text", "code_span", "code_span outside a table", "code_span cut short", "code_fence", "code_fence sql", "html_comment"],
)
def test_no_escaper_emits_an_html_comment_opener(text: str, render: Callable[[str], str]) -> None:
    rendered = render(text)
    if render is html_comment:  # its own "<!--" opens the comment it makes; none inside it
        assert rendered.startswith("<!-- ") and "<!--" not in rendered[4:] and rendered.count("-->") == 1
    else:
        assert "<!--" not in rendered, rendered
