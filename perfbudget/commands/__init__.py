"""Sub-commands of the perfbudget CLI, one module each (see cli.py).

``compare`` and ``report`` judge a results file the same way; the arguments
and the call they share live here so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfbudget.compare.verdicts import Comparison


def add_judging_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """The results file, its baseline and budgets; ``what`` completes "results file of the run to ..."."""
    from perfbudget.config.options import BASELINE, BUDGET_FILE, add_cli_options

    parser.add_argument("results", help=f"results file of the run to {what}")
    add_cli_options(parser.add_argument, (BASELINE, BUDGET_FILE))  # declared once for every front end
    parser.add_argument("--force-baseline", action="store_true", help="use a baseline even when it is from another project")


def judge(args: argparse.Namespace, no_baseline_note: str, details: bool = True) -> Comparison:
    """Judge ``args.results``; ResultsError exits 3 and BudgetError 2 with their messages (cli.main).

    ``details``: read the details of what is not OK (a report shows them; a verdict does not need them).
    """
    from pathlib import Path

    from perfbudget.compare.judge import judge_results

    comparison, _ = judge_results(
        args.results,
        rootdir=Path.cwd(),
        budget_file=args.budgets,
        baseline=args.baseline,
        no_baseline_note=no_baseline_note,
        force_baseline=args.force_baseline,
        details=details,
    )
    return comparison
