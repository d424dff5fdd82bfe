"""``perfbudget baseline fetch -o DIR``: download the target branch's results from GitHub Actions.

Chooses the run of the PR's base commit, else its nearest ancestor with
results, else the newest run (see ``github/baseline_select``), among push,
schedule and workflow_dispatch runs of this repository whose artifact is
named exactly ``perfbudget-KEY``; then the runs before it, as history. DIR
gets their results and ``selection.json``. Finding none is not an error:
the command says why (also in ``selection.json``), exits 0, and every report
of the run then says "not compared" with that reason.
"""

from __future__ import annotations

import argparse

from perfbudget.github.options import DEFAULT_HISTORY, DEFAULT_HISTORY_SECONDS, add_github_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = actions.add_parser("fetch", help="save the PR base's results on the target branch (and their history) to DIR")
    fetch.add_argument("-o", "--output", required=True, metavar="DIR", help="directory to write the results and selection.json to")
    fetch.add_argument("--branch", help="target branch (default: the PR's base branch, else the default branch)")
    fetch.add_argument("--key", default="", help="the leg's or project's key: the artifact is perfbudget-KEY (default: from the job)")
    fetch.add_argument("--artifact-name", default="", metavar="NAME", help="the artifact's exact name (default: perfbudget-KEY)")
    fetch.add_argument("--base-sha", default="", metavar="SHA", help="the PR's base commit (default: from the event)")
    fetch.add_argument(
        "--history",
        type=int,
        default=DEFAULT_HISTORY,
        metavar="N",
        help=f"runs to fetch for timing history, the chosen one included (default {DEFAULT_HISTORY})",
    )
    fetch.add_argument(
        "--history-seconds",
        type=float,
        default=DEFAULT_HISTORY_SECONDS,
        metavar="S",
        help=f"stop downloading history after this long (default {DEFAULT_HISTORY_SECONDS:g})",
    )
    fetch.add_argument(
        "--workflow",
        help="workflow file name or id whose runs to search (default: this workflow, from GITHUB_WORKFLOW_REF)",
    )
    add_github_arguments(fetch)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from perfbudget.compare.origin import BaselineOrigin, write_origin
    from perfbudget.errors import PerfBudgetError
    from perfbudget.github.artifacts import artifact_name, default_key
    from perfbudget.github.baseline_fetch import BaselineQuery, fetch_baseline
    from perfbudget.github.client import connect, policy_for
    from perfbudget.github.context import ContextError, read_context
    from perfbudget.github.summary import fall_back, set_outputs, warn
    from perfbudget.report.escape import terminal_line

    context = read_context()
    for problem in context.warnings:
        warn(problem)
    output = Path(args.output)
    branch = args.branch or context.target_branch
    try:
        if not branch:
            raise ContextError("no target branch: pass --branch (GITHUB_BASE_REF and the event names none)")
        if args.history < 1:
            raise ContextError(f"--history must be 1 or more, got {args.history}")
        owner, repo = context.owner_repo
        query = BaselineQuery(
            owner,
            repo,
            branch,
            artifact_name=args.artifact_name or artifact_name(args.key or default_key(context.job)),
            workflow=args.workflow or context.workflow_file,
            workflow_name=context.workflow,
            exclude_run_id=context.run_id,
            base_sha=args.base_sha or context.base_sha,
            history=args.history,
            history_seconds=args.history_seconds,
        )
        outcome = fetch_baseline(connect(context, policy_for(args.max_wait)), query, output)
    except PerfBudgetError as exc:
        reason = f"baseline fetch failed: {exc}"
        write_origin(output, BaselineOrigin(found=False, reason=reason, branch=branch or ""))
        set_outputs(context, {"found": "false", "path": str(output), "reason": reason})
        return fall_back(context, f"{reason}; not compared with the target branch", strict=args.strict, exit_code=exc.exit_code)
    for note in outcome.notes:  # they name runs, branches and artifacts the API returned
        print(terminal_line(f"perfbudget baseline: {note}"), file=sys.stderr)
    print(terminal_line(f"perfbudget baseline: {outcome.message}"), file=sys.stderr)
    if not outcome.found:
        warn(f"not compared with {branch}: {outcome.origin.reason}")
    set_outputs(context, {"found": str(outcome.found).lower(), "path": str(output), "reason": outcome.origin.reason})
    return 0
