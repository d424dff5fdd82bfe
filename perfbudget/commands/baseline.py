"""``perfbudget baseline fetch -o PATH``: download the target branch's results from GitHub Actions.

Looks for the newest successful run of this workflow on the target branch
and saves the results file from its perfbudget artifact. Finding none is not
an error: the command says why, writes no file, exits 0, and the comparison
then runs with budgets only.
"""

from __future__ import annotations

import argparse

from perfbudget.github.options import add_github_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = actions.add_parser("fetch", help="save the target branch's newest results to PATH")
    fetch.add_argument("-o", "--output", required=True, metavar="PATH", help="where to write the results file (gzip when PATH ends in .gz)")
    fetch.add_argument("--branch", help="target branch (default: the PR's base branch, else the default branch)")
    fetch.add_argument(
        "--artifact-prefix",
        "--artifact-name",
        dest="artifact_prefix",
        default="perfbudget-",
        metavar="PREFIX",
        help="name prefix of the results artifact (default: perfbudget-)",
    )
    fetch.add_argument(
        "--workflow",
        help="workflow file name or id whose runs to search (default: this workflow, from GITHUB_WORKFLOW_REF)",
    )
    add_github_arguments(fetch)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from perfbudget.errors import PerfBudgetError
    from perfbudget.github.baseline_fetch import BaselineQuery, fetch_baseline
    from perfbudget.github.client import connect, policy_for
    from perfbudget.github.context import ContextError, read_context
    from perfbudget.github.summary import fall_back, set_outputs, warn

    context = read_context()
    for problem in context.warnings:
        warn(problem)
    output = Path(args.output)
    branch = args.branch or context.target_branch
    try:
        if not branch:
            raise ContextError("no target branch: pass --branch (GITHUB_BASE_REF and the event names none)")
        owner, repo = context.owner_repo
        query = BaselineQuery(
            owner,
            repo,
            branch,
            artifact_prefix=args.artifact_prefix,
            workflow=args.workflow or context.workflow_file,
            workflow_name=context.workflow,
            exclude_run_id=context.run_id,
        )
        outcome = fetch_baseline(connect(context, policy_for(args.max_wait)), query, output)
    except PerfBudgetError as exc:
        message = f"baseline fetch failed: {exc}; comparing with budgets only"
        set_outputs(context, {"found": "false", "path": ""})
        return fall_back(context, message, strict=args.strict, exit_code=exc.exit_code)
    if outcome.path is not None:
        for note in outcome.notes:
            print(f"perfbudget baseline: skipped {note}", file=sys.stderr)
    print(f"perfbudget baseline: {outcome.message}", file=sys.stderr)
    if outcome.path is None:
        print("perfbudget baseline: no baseline; comparing with budgets only", file=sys.stderr)
    found = outcome.path is not None
    set_outputs(context, {"found": str(found).lower(), "path": str(outcome.path or "")})
    return 0
