"""``perfbudget comment``: create or update the pull request's perfbudget comment.

The body is a Markdown file (``--body``) or rendered from results
(``--results`` with ``--baseline`` and ``--budgets``). ``--from-artifact DIR``
renders from downloaded artifacts: one leg's, or a directory of legs (a
matrix, a monorepo), which get one comment with a section per key. It serves
the action's merge job and the second stage of the fork-PR pattern, where a
trusted ``workflow_run`` workflow posts what a fork's run uploaded. There
nothing is taken on trust from the artifact (``github/pull.py``): its tree is
checked before it is read, its pr.json only names the PR that GitHub must
confirm was built by the triggering run, the labels come from GitHub and the
accept label's name from ``--accept-label``. When the token is read-only or
GitHub fails, the report goes to the job summary and the command exits 0
(unless ``--strict``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfbudget.compare.verdicts import CiVerdict
from perfbudget.errors import EXIT_BAD_INPUT, PerfBudgetError
from perfbudget.github.options import add_github_arguments

if TYPE_CHECKING:
    from perfbudget.github.artifacts import PrContext
    from perfbudget.github.comments import CommentOutcome
    from perfbudget.github.context import ActionsContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--body", metavar="FILE", help="Markdown file to post ('-' for stdin)")
    source.add_argument("--results", metavar="FILE", help="results file to render the comment from")
    parser.add_argument("--baseline", metavar="PATH", help="with --results: baseline results to compare with")
    parser.add_argument("--budgets", metavar="FILE", help="with --results: budget file (default: perfbudget.yaml)")
    parser.add_argument(
        "--from-artifact",
        metavar="DIR",
        help="downloaded perfbudget artifact (workflow_run stage): PR number and sha from DIR/pr.json, "
        "body rendered from DIR/results.ndjson.gz (an older artifact's results.json); DIR/report.md is never posted",
    )
    parser.add_argument(
        "--mode",
        choices=("always", "on-change", "on-failure", "off"),
        default="always",
        help="when to comment; an existing comment is always kept up to date (default: always)",
    )
    parser.add_argument(
        "--verdict",
        choices=[CiVerdict.FAIL, CiVerdict.CHANGED, CiVerdict.OK],
        type=CiVerdict,
        help="with --body: the run's verdict, for --mode on-change/on-failure (default: changed)",
    )
    parser.add_argument("--key", default="", help="the leg's or project's key: its own comment marker (default: from the job)")
    parser.add_argument(
        "--accept-label",
        default="",
        metavar="LABEL",
        help="with --from-artifact: a PR label that accepts the PR's regressions, looked up on the PR through the API "
        "(never read from the artifact; default: none)",
    )
    parser.add_argument(
        "--comment-author",
        default="",
        metavar="LOGIN",
        help="the login the token comments as, when GET /user cannot say (a GitHub App token: my-app[bot]); "
        "only its comments are updated or deleted (default: GET /user, else github-actions[bot])",
    )
    parser.add_argument("--pr", type=int, metavar="NUMBER", help="pull request number (default: from the event)")
    parser.add_argument("--report-url", metavar="URL", help="link to the full report (e.g. the run's artifacts)")
    parser.add_argument(
        "--artifact-url", metavar="URL", help="the uploaded artifact (HTML report and results): linked in the comment's footer"
    )
    parser.add_argument(
        "--summary-report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when the comment cannot be posted, copy the report into the job summary "
        "(the action passes --no-summary-report: it has written the summary already)",
    )
    add_github_arguments(parser)


@dataclass
class _Post:
    """What to post where: the body, its verdict, and the pull request (None: not a PR)."""

    body: str
    verdict: CiVerdict
    summary: str
    pr: tuple[int, str, str] | None  # number, workflow, key (the marker's)
    legs: int = 0  # artifacts rendered (--from-artifact); 0 for --body / --results
    problem: str = ""  # why the pull request could not be confirmed: nothing is posted


def run(args: argparse.Namespace) -> int:
    import sys

    from perfbudget.github.comments import legacy_marker_for, marker_for
    from perfbudget.github.context import read_context
    from perfbudget.github.summary import append_summary, fall_back, set_outputs, warn

    context = read_context()
    for problem in context.warnings:
        warn(problem)
    post = _inputs(args, context)  # bad input files: PerfBudgetError, exit 3
    if args.artifact_url:
        from perfbudget.report.markdown import add_footer_link

        post.body = add_footer_link(post.body, "HTML report and results", args.artifact_url)
    set_outputs(context, {"verdict": post.verdict, "summary": post.summary})  # the merge job's verdict, comment or not
    merged = post.legs > 1
    if merged:  # the merge job's summary is the legs' one report; theirs are in their own jobs
        append_summary(context, post.body)
    if args.mode == "off":
        print("perfbudget comment: --mode off; not commenting", file=sys.stderr)
        return 0
    summary_report = post.body if args.summary_report and not merged else ""
    if post.pr is None:
        print("perfbudget comment: not a pull request; nothing to comment on", file=sys.stderr)
        return 0
    number, workflow, key = post.pr
    if context.is_fork and context.event_name != "workflow_run":  # the fork's own run: its token is read-only
        reason = (
            f"pull request #{number} comes from a fork ({context.head_repository}); its token is read-only, so "
            "the report is in this job summary. To comment anyway, add the workflow_run stage "
            "(examples/perfbudget-fork-comment.yml)."
        )
        return fall_back(context, reason, strict=False, exit_code=0, report=summary_report)
    if post.problem:  # the pull request the artifact names could not be confirmed
        return fall_back(
            context, f"PR comment not posted: {post.problem}", strict=args.strict, exit_code=EXIT_BAD_INPUT, report=summary_report
        )
    try:
        # perfbudget 0.1's marker too: its comment is updated, not posted again.
        outcome = _post(args, context, number, post.body, (marker_for(workflow, key), legacy_marker_for(workflow, key)), post.verdict)
    except PerfBudgetError as exc:
        return fall_back(context, f"PR comment not posted: {exc}", strict=args.strict, exit_code=exc.exit_code, report=summary_report)
    for note in outcome.notes:
        warn(note)
    if outcome.action == "skipped":
        print(f"perfbudget comment: --mode {args.mode} and verdict {post.verdict!r}: no comment needed", file=sys.stderr)
    else:
        extra = f", removed {outcome.removed_duplicates} duplicate(s)" if outcome.removed_duplicates else ""
        if outcome.ignored_foreign:
            extra += f", left {outcome.ignored_foreign} marked comment(s) by others alone"
        print(f"perfbudget comment: {outcome.action} comment {outcome.comment_id} on #{number}{extra}", file=sys.stderr)
    set_outputs(context, {"comment-action": outcome.action, "comment-url": outcome.url})
    return 0


# The marker key of a comment with one section per leg.
ALL_LEGS_KEY = "all-legs"


def _inputs(args: argparse.Namespace, context: ActionsContext) -> _Post:
    from perfbudget.github.artifacts import clean_key, default_key

    if args.from_artifact:
        return _artifact_post(args, context)
    if args.body:
        body, verdict, summary = _read_body(args.body), args.verdict or CiVerdict.CHANGED, ""
    elif args.results:
        body, verdict, summary = _render(args.results, args.baseline, args.budgets, args.report_url, Path.cwd())
    else:
        raise PerfBudgetError("nothing to post: pass --body FILE, --results FILE or --from-artifact DIR")
    number = args.pr or context.pr_number
    if number is None:
        return _Post(body, verdict, summary, None)
    key = clean_key(args.key) if args.key else default_key(context.job)
    return _Post(body, verdict, summary, (number, context.workflow, key))


def _artifact_post(args: argparse.Namespace, context: ActionsContext) -> _Post:
    """Legs' artifacts, judged with what GitHub says of the pull request they claim (pr.json), else this job's own."""
    from perfbudget.github.comments import BODY_CHARS
    from perfbudget.github.legs import combine_shards, common_pull_request, find_legs, render_legs_body
    from perfbudget.github.summary import warn

    _, problems = combine_shards(Path(args.from_artifact))  # the action's merge job did it already; the fork stage has not
    for problem in problems:
        warn(problem)
    legs = find_legs(Path(args.from_artifact))
    claimed = common_pull_request(legs)
    number = args.pr or context.pr_number or (claimed.number if claimed is not None else None)
    accepted_by, problem = "", ""
    if number is not None:
        try:
            labels = _confirmed_labels(args, context, number, claimed)
        except PerfBudgetError as exc:  # judged without the label, and not posted
            problem = str(exc)
        else:
            accepted_by = args.accept_label if args.accept_label and args.accept_label in labels else ""
    body, judged = render_legs_body(legs, args.report_url, BODY_CHARS, accepted_by)
    verdict = CiVerdict.worst(CiVerdict.ERROR if isinstance(outcome, str) else outcome.ci_verdict for outcome in judged)
    lines = [outcome if isinstance(outcome, str) else outcome.summary_line() for outcome in judged]
    summary = "; ".join(f"{leg.key}: {line}" for leg, line in zip(legs, lines, strict=True)) if len(legs) > 1 else lines[0]
    key = legs[0].key if len(legs) == 1 else ALL_LEGS_KEY
    # The triggering run's workflow names the marker, as it did when that workflow commented itself.
    workflow = context.workflow_run_name or context.workflow
    pr = None if number is None else (number, workflow, key)
    return _Post(body, verdict, summary, pr, len(legs), problem)


def _confirmed_labels(args: argparse.Namespace, context: ActionsContext, number: int, claimed: PrContext | None) -> tuple[str, ...]:
    """The labels of PR ``number`` once GitHub confirms it is the one the artifact's run built; GitHubProblem otherwise.

    The head commit to expect is the event's (the triggering run's on
    workflow_run, the PR's own in the merge job); only a command run by hand,
    with neither, takes pr.json's.
    """
    from perfbudget.github.client import GitHubProblem, connect, policy_for
    from perfbudget.github.pull import confirm_pull, fetch_pull

    event_head = context.workflow_run_head_sha or (context.head_sha if context.pr_number is not None else "")
    if claimed is not None and event_head and claimed.head_sha != event_head:
        raise GitHubProblem(f"pr.json names commit {claimed.head_sha}, but the triggering run built {event_head}; refusing to comment")
    if claimed is not None and not args.pr and claimed.number != number:
        raise GitHubProblem(f"pr.json names pull request #{claimed.number}, but this run is for #{number}; refusing to comment")
    head_sha = event_head or (claimed.head_sha if claimed is not None else context.head_sha)
    head_repository = context.workflow_run_head_repository or context.head_repository
    owner, repo = context.owner_repo
    pull = fetch_pull(connect(context, policy_for(args.max_wait)), owner, repo, number)
    confirm_pull(pull, head_sha, head_repository, f"{owner}/{repo}#{number}")
    return pull.labels


def _read_body(path: str) -> str:
    import sys

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PerfBudgetError(f"cannot read the comment body {path}: {exc}") from exc


def _render(results: str, baseline: str | None, budgets: str | None, report_url: str | None, rootdir: Path) -> tuple[str, CiVerdict, str]:
    """Judge the results exactly like ``perfbudget compare`` and render the comment's Markdown."""
    from perfbudget.compare.judge import judge_results
    from perfbudget.github.comments import BODY_CHARS, NO_TARGET_BASELINE, existing
    from perfbudget.report.markdown import render_markdown

    comparison, _ = judge_results(
        results, rootdir=rootdir, budget_file=budgets, baseline=existing(baseline), no_baseline_note=NO_TARGET_BASELINE
    )
    body = render_markdown(comparison, report_url=report_url, max_chars=BODY_CHARS)
    return body, comparison.ci_verdict, comparison.summary_line()


def _post(
    args: argparse.Namespace, context: ActionsContext, number: int, body: str, markers: tuple[str, ...], verdict: CiVerdict
) -> CommentOutcome:
    """Connect and upsert the comment marked ``markers[0]`` (a pull request from artifacts was confirmed already)."""
    from perfbudget.github.client import connect, policy_for
    from perfbudget.github.comments import upsert_comment

    client = connect(context, policy_for(args.max_wait))
    owner, repo = context.owner_repo
    marker, *earlier = markers
    return upsert_comment(client, owner, repo, number, body, marker, args.mode, verdict, args.comment_author, tuple(earlier))
