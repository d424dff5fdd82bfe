"""``perfbudget compare HEAD.json --baseline BASE.json``: judge a results file outside pytest.

The same judgement as ``pytest --perf-budget`` (budgets, then the baseline),
for results downloaded from CI. Exit 1 when a budget is exceeded or a
regression found (per ``fail_on``), unless ``--report-only``.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="results file of the run to judge")
    parser.add_argument(
        "--baseline", metavar="PATH", help="results file, or directory of past results, to compare with"
    )
    parser.add_argument(
        "--budgets", metavar="FILE", help="budget file (default: perfbudget.yaml or [tool.perfbudget] here)"
    )
    parser.add_argument("--format", choices=("terminal", "json"), default="terminal", help="output format")
    parser.add_argument("--report-only", action="store_true", help="always exit 0 when the inputs are readable")
    parser.add_argument(
        "--force-baseline", action="store_true", help="use a baseline even when it is from another project"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from perfbudget.cli import EXIT_FAILED, EXIT_OK
    from perfbudget.compare import comparison_to_dict
    from perfbudget.pipeline import judge_results
    from perfbudget.report.terminal import render_comparison

    # ResultsError exits 3, BudgetError 2, with their messages (cli.main).
    comparison, _ = judge_results(
        args.results,
        rootdir=Path.cwd(),
        budget_file=args.budgets,
        baseline=args.baseline,
        no_baseline_note="no --baseline given: compared with budgets only",
        force_baseline=args.force_baseline,
    )
    if args.format == "json":
        json.dump(comparison_to_dict(comparison), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print("\n".join(render_comparison(comparison, show_improved=True)))
    failing = comparison.should_fail()
    return EXIT_FAILED if failing and not args.report_only else EXIT_OK
