"""Command-line options shared by the commands that call GitHub (``baseline``, ``comment``).

Import-light on purpose: ``perfbudget --help`` builds every sub-parser, and
github3.py is only imported once a command actually runs.
"""

from __future__ import annotations

import argparse

DEFAULT_HISTORY = 10  # target-branch runs fetched for timing history, the baseline included
DEFAULT_HISTORY_SECONDS = 60.0  # no more history downloads after this long


def add_github_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit non-zero when GitHub cannot be reached or refuses (default: warn, write the job summary, exit 0)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        metavar="SECONDS",
        default=None,
        help="total time to spend waiting between retries of GitHub API calls (default 60, or $PERFBUDGET_GITHUB_MAX_WAIT)",
    )
