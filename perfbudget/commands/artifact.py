"""``perfbudget artifact paths``: print this build's directory, results, baseline and artifact name.

One ``key=value`` line each (build-dir, results, baseline, artifact-name),
the form ``$GITHUB_OUTPUT`` takes, so ``action.yml`` appends them there and
never rebuilds a path in shell. The build directory is created under the
current directory; the build id comes from the Actions context (``local-1``
outside Actions).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    paths = actions.add_parser("paths", help="create the build directory; print its paths and the artifact name")
    paths.add_argument(
        "--prefix",
        default="perfbudget-",
        metavar="PREFIX",
        help="artifact name prefix; the build id is appended (default: perfbudget-)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from perfbudget.github.artifacts import build_paths
    from perfbudget.github.context import read_context

    # Only the run id and attempt matter here; the steps that use the event warn about it.
    paths = build_paths(Path.cwd(), args.prefix, read_context().build_id)
    lines = [f"{key}={_one_line(key, value)}" for key, value in paths.outputs().items()]
    print("\n".join(lines))
    return 0


def _one_line(key: str, value: str) -> str:
    """A line break would end the value early and start a forged output of the caller's step."""
    from perfbudget.errors import PerfBudgetError

    if "\n" in value or "\r" in value:
        raise PerfBudgetError(f"{key} {value!r} contains a line break; run from a directory without one")
    return value
