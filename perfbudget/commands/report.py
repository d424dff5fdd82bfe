"""``perfbudget report RESULTS.json --format html -o report.html``: render a report outside pytest.

Judges the results exactly as ``perfbudget compare`` does (budgets, then the
baseline) and writes one report. It renders; it does not gate: the exit code
is 0 whenever the inputs are readable (use ``compare`` to fail a job).
"""

from __future__ import annotations

import argparse

from perfbudget.commands import add_judging_arguments, judge

FORMATS = ("markdown", "html", "json", "terminal", "annotations")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_judging_arguments(parser, "report on")
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="report format (default: markdown)")
    parser.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write it; '-' is stdout (default)")
    parser.add_argument("--report-url", metavar="URL", help="link to the full report, shown in the Markdown footer")
    parser.add_argument("--marker", default="", help="hidden marker that starts the Markdown (finds the PR comment again)")
    parser.add_argument("--max-chars", type=int, metavar="N", help="size limit of the Markdown (default: GitHub's 65536)")


def run(args: argparse.Namespace) -> int:
    from perfbudget.errors import EXIT_OK
    from perfbudget.report import write_report

    comparison = judge(args, "no baseline given: compared with budgets only")
    if args.format == "markdown":
        from perfbudget.report.markdown import configured

        limit = {"max_chars": args.max_chars} if args.max_chars else {}
        write_report(comparison, configured(marker=args.marker, report_url=args.report_url, **limit), args.output)
    else:
        write_report(comparison, args.format, args.output)
    if args.output != "-":
        print(f"Wrote {args.format} report to {args.output}")
    return EXIT_OK
