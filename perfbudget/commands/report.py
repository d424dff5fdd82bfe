"""``perfbudget report RESULTS.json --format html -o report.html``: render a report outside pytest.

Judges the results exactly as ``perfbudget compare`` does (budgets, then the
baseline) and writes one report. It renders; it does not gate: the exit code
is 0 whenever the inputs are readable (use ``compare`` to fail a job).
"""

from __future__ import annotations

import argparse

FORMATS = ("markdown", "html", "json", "terminal", "annotations")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="results file of the run to report on")
    parser.add_argument("--baseline", metavar="PATH", help="results file, or directory of past results, to compare with")
    parser.add_argument("--budgets", metavar="FILE", help="budget file (default: perfbudget.yaml or [tool.perfbudget] here)")
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="report format (default: markdown)")
    parser.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write it; '-' is stdout (default)")
    parser.add_argument("--report-url", metavar="URL", help="link to the full report, shown in the Markdown footer")
    parser.add_argument("--marker", default="", help="hidden marker that starts the Markdown (finds the PR comment again)")
    parser.add_argument("--max-chars", type=int, metavar="N", help="size limit of the Markdown (default: GitHub's 65536)")
    parser.add_argument("--force-baseline", action="store_true", help="use a baseline even when it is from another project")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from perfbudget.cli import EXIT_OK
    from perfbudget.pipeline import judge_results
    from perfbudget.report import write_report

    comparison, _ = judge_results(
        args.results,
        rootdir=Path.cwd(),
        budget_file=args.budgets,
        baseline=args.baseline,
        no_baseline_note="no baseline given: compared with budgets only",
        force_baseline=args.force_baseline,
    )
    if args.format == "markdown":
        from perfbudget.report.markdown import configured

        limit = {"max_chars": args.max_chars} if args.max_chars else {}
        write_report(comparison, configured(marker=args.marker, report_url=args.report_url, **limit), args.output)
    else:
        write_report(comparison, args.format, args.output)
    if args.output != "-":
        print(f"Wrote {args.format} report to {args.output}")
    return EXIT_OK
