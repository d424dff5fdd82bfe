"""``perfbudget merge A.json B.json -o OUT.json``: one results file from shards.

CI matrix jobs and separate pytest invocations each write a results file;
merging gives the one run that compare and the reports expect.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="RESULTS", help="results files to merge")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="merged results file to write")


def run(args: argparse.Namespace) -> int:
    import sys

    from perfbudget.report.escape import terminal_line
    from perfbudget.run.aggregate import merge_runs
    from perfbudget.run.decode import ResultsError
    from perfbudget.run.read import load_run
    from perfbudget.run.write import write_run

    runs = [load_run(path) for path in args.inputs]  # ResultsError: message and exit code 3
    projects = sorted({run.project for run in runs if run.project})
    if len(projects) > 1:
        raise ResultsError(f"refusing to merge results of different projects: {', '.join(projects)}")
    commits = sorted({run.commit for run in runs if run.commit})
    if len(commits) > 1:
        print(terminal_line(f"perfbudget merge: warning: the inputs come from different commits ({', '.join(commits)})"), file=sys.stderr)
    merged = merge_runs(runs)
    path = write_run(merged, args.output)
    print(f"Wrote {len(merged.tests)} tests and {len(merged.urls)} URLs from {len(runs)} files to {path}")
    return 0
