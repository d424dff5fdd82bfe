"""``perfbudget show RESULTS.json``: print the run summary of a stored results file.

The same text ``pytest --perf-budget`` prints at the end of a run, for a file
downloaded from CI or kept from an earlier run.
"""

from __future__ import annotations

import argparse

from perfbudget.config.paths import DEFAULT_RESULTS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        nargs="?",
        default=str(DEFAULT_RESULTS),
        help="results file written by pytest --perf-budget (default: %(default)s)",
    )
    parser.add_argument("--top", type=int, default=5, metavar="N", help="entries per section, largest first; 0 shows all (default: 5)")


def run(args: argparse.Namespace) -> int:
    from perfbudget.report.summary import render_run_summary
    from perfbudget.run.read import load_run

    run_ = load_run(args.results)  # a ResultsError becomes the CLI's message and exit code 3
    top = args.top if args.top > 0 else None
    print(render_run_summary(run_, top, more=f"perfbudget show {args.results} --top 0 lists them all"), end="")
    return 0
