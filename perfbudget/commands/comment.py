"""``perfbudget comment``: create or update the pull request's perfbudget comment.

The body is a Markdown file (``--body``) or rendered from results
(``--results`` with ``--baseline`` and ``--budgets``). ``--from-artifact DIR``
is the second stage of the fork-PR pattern: a trusted ``workflow_run``
workflow reads the PR number and head sha the first stage saved in the
artifact, checks them against GitHub, and posts. When the token is read-only
or GitHub fails, the report goes to the job summary and the command exits 0
(unless ``--strict``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from perfbudget.errors import PerfBudgetError
from perfbudget.github.options import add_github_arguments

if TYPE_CHECKING:
    from perfbudget.github.artifacts import PrContext
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
        "body rendered from DIR/results.ndjson.gz (an older artifact's results.json; else DIR/report.md)",
    )
    parser.add_argument(
        "--mode",
        choices=("always", "on-change", "on-failure", "off"),
        default="always",
        help="when to comment; an existing comment is always kept up to date (default: always)",
    )
    parser.add_argument(
        "--verdict",
        choices=("fail", "changed", "ok"),
        help="with --body: the run's verdict, for --mode on-change/on-failure (default: changed)",
    )
    parser.add_argument("--pr", type=int, metavar="NUMBER", help="pull request number (default: from the event)")
    parser.add_argument("--report-url", metavar="URL", help="link to the full report (e.g. the run's artifacts)")
    parser.add_argument(
        "--summary-report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when the comment cannot be posted, copy the report into the job summary "
        "(the action passes --no-summary-report: it has written the summary already)",
    )
    add_github_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import sys

    from perfbudget.github.comments import marker_for
    from perfbudget.github.context import read_context
    from perfbudget.github.summary import fall_back, set_outputs, warn

    context = read_context()
    for problem in context.warnings:
        warn(problem)
    if args.mode == "off":
        print("perfbudget comment: --mode off; not commenting", file=sys.stderr)
        return 0
    body, verdict, pr = _inputs(args, context)  # bad input files: PerfBudgetError, exit 3
    if pr is None:
        print("perfbudget comment: not a pull request; nothing to comment on", file=sys.stderr)
        return 0
    number, head_sha, workflow, job = pr
    if context.is_fork and not args.from_artifact:
        reason = (
            f"pull request #{number} comes from a fork ({context.head_repository}); its token is read-only, so "
            "the report is in this job summary. To comment anyway, add the workflow_run stage "
            "(examples/perfbudget-fork-comment.yml)."
        )
        return fall_back(context, reason, strict=False, exit_code=0, report=body if args.summary_report else "")
    try:
        outcome = _post(args, context, number, head_sha, body, marker_for(workflow, job), verdict)
    except PerfBudgetError as exc:
        report = body if args.summary_report else ""
        return fall_back(context, f"PR comment not posted: {exc}", strict=args.strict, exit_code=exc.exit_code, report=report)
    if outcome.action == "skipped":
        print(f"perfbudget comment: --mode {args.mode} and verdict {verdict!r}: no comment needed", file=sys.stderr)
    else:
        extra = f", removed {outcome.removed_duplicates} duplicate(s)" if outcome.removed_duplicates else ""
        print(f"perfbudget comment: {outcome.action} comment {outcome.comment_id} on #{number}{extra}", file=sys.stderr)
    set_outputs(context, {"comment-action": outcome.action, "comment-url": outcome.url})
    return 0


def _inputs(args: argparse.Namespace, context: ActionsContext) -> tuple[str, str, tuple[int, str, str, str] | None]:
    """(body, verdict, (PR number, head sha, workflow, job) or None when this is not a PR)."""
    from perfbudget.github.artifacts import read_pr_context

    artifact: PrContext | None = read_pr_context(Path(args.from_artifact)) if args.from_artifact else None
    if args.body:
        body, verdict = _read_body(args.body), args.verdict or "changed"
    elif args.results:
        body, verdict = _render(args.results, args.baseline, args.budgets, args.report_url, Path.cwd())
    elif artifact is not None:
        body, verdict = _artifact_body(Path(args.from_artifact), artifact, args.report_url)
    else:
        raise PerfBudgetError("nothing to post: pass --body FILE, --results FILE or --from-artifact DIR")
    if artifact is not None:
        return body, verdict, (args.pr or artifact.number, artifact.head_sha, artifact.workflow, artifact.job)
    number = args.pr or context.pr_number
    if number is None:
        return body, verdict, None
    return body, verdict, (number, context.head_sha, context.workflow, context.job)


def _read_body(path: str) -> str:
    import sys

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PerfBudgetError(f"cannot read the comment body {path}: {exc}") from exc


def _render(
    results: str, baseline: str | None, budgets: str | None, report_url: str | None, rootdir: Path
) -> tuple[str, str]:
    """Judge the results exactly like ``perfbudget compare`` and render the comment's Markdown."""
    from perfbudget.compare.judge import judge_results
    from perfbudget.github.comments import BODY_CHARS, NO_TARGET_BASELINE, existing, verdict_of
    from perfbudget.report.markdown import render_markdown

    comparison, _ = judge_results(
        results, rootdir=rootdir, budget_file=budgets, baseline=existing(baseline), no_baseline_note=NO_TARGET_BASELINE
    )
    body = render_markdown(comparison, report_url=report_url, max_chars=BODY_CHARS)
    return body, verdict_of(comparison)


def _artifact_body(directory: Path, artifact: PrContext, report_url: str | None) -> tuple[str, str]:
    """Render from the artifact's results, baseline and budgets, else fall back to its report.md.

    Everything in a fork's artifact was written by the fork's code: rendering
    from the data puts every string through the renderer's escaping, where a
    report.md would be posted as the fork wrote it. An artifact of the
    previous release names its files the old way; ``find`` accepts both.
    """
    from perfbudget.github.artifacts import BASELINE_NAME, REPORT_NAME, RESULTS_NAME, find

    results, baseline, report = find(directory, RESULTS_NAME), find(directory, BASELINE_NAME), directory / REPORT_NAME
    if results is not None:
        try:
            return _render(str(results), str(baseline) if baseline else None, None, report_url, directory)
        except PerfBudgetError:
            if not report.is_file():
                raise
    if report.is_file():
        return _read_body(str(report)), artifact.verdict
    raise PerfBudgetError(f"{directory}: neither {RESULTS_NAME} nor {REPORT_NAME} in the artifact")


def _post(args, context, number: int, head_sha: str, body: str, marker: str, verdict: str):  # type: ignore[no-untyped-def]
    """Connect, check the PR (for artifacts: the sha must match the triggering run), upsert the comment."""
    from perfbudget.github.client import GitHubProblem, connect, policy_for
    from perfbudget.github.comments import upsert_comment, verify_pull_request

    client = connect(context, policy_for(args.max_wait))
    owner, repo = context.owner_repo
    if args.from_artifact:
        expected = context.workflow_run_head_sha or head_sha
        if context.workflow_run_head_sha and head_sha != context.workflow_run_head_sha:
            raise GitHubProblem(
                f"pr.json names commit {head_sha}, but the triggering run built {context.workflow_run_head_sha}; "
                "refusing to comment"
            )
        verify_pull_request(client, owner, repo, number, expected)
    return upsert_comment(client, owner, repo, number, body, marker, args.mode, verdict)
