"""``perfbudget compare HEAD.json --baseline BASE.json``: judge a results file outside pytest.

The same judgement as ``pytest --perf-budget`` (budgets, then the baseline),
for results downloaded from CI. Exit 1 when a budget is exceeded or a
regression found (per ``fail_on``), unless ``--report-only``.
"""

from __future__ import annotations

import argparse

from perfbudget.commands import add_judging_arguments, judge


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_judging_arguments(parser, "judge")
    parser.add_argument("--format", choices=("terminal", "json"), default="terminal", help="output format")
    from perfbudget.config.options import REPORT_ONLY, add_cli_options

    add_cli_options(parser.add_argument, (REPORT_ONLY,))


def run(args: argparse.Namespace) -> int:
    from perfbudget.errors import EXIT_FAILED, EXIT_OK
    from perfbudget.report import write_report

    # The terminal names the causes of what changed, from the details of the tests behind it; the JSON has verdicts only.
    comparison = judge(args, "no --baseline given: compared with budgets only", details=args.format == "terminal")
    write_report(comparison, args.format, "-")  # the report layer's json and terminal reporters, to stdout
    failing = comparison.should_fail()
    return EXIT_FAILED if failing and not args.report_only else EXIT_OK
