"""``perfbudget artifact paths``: print this build's key, directory, results, baseline and artifact name.

One ``name=value`` line each (key, shard, build-dir, results, baseline, artifact-name),
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
        "--key",
        default="",
        help="name of this leg or project: sets the artifact name perfbudget-KEY, the comment marker and section "
        "(default: the job, --working-directory and --matrix values)",
    )
    paths.add_argument(
        "--shard",
        default="",
        help="this job's shard of the key's suite, best as I/N (pytest-split's group of N): artifact perfbudget-KEY--shard-I-of-N",
    )
    paths.add_argument("--working-directory", default=".", metavar="DIR", help="for the default key")
    paths.add_argument("--matrix", default="", metavar="JSON", help="the matrix context as JSON, for the default key")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from perfbudget.github.artifacts import build_paths, clean_key, default_key, shard_id
    from perfbudget.github.context import read_context

    # Only the job, run id and attempt matter here; the steps that use the event warn about it.
    context = read_context()
    key = clean_key(args.key) if args.key.strip() else default_key(context.job, args.working_directory, args.matrix)
    shard = shard_id(args.shard) if args.shard.strip() else ""
    paths = build_paths(Path.cwd(), key, context.build_id, shard)
    outputs = {"key": key, "shard": shard, **paths.outputs()}
    lines = [f"{name}={_one_line(name, value)}" for name, value in outputs.items()]
    print("\n".join(lines))
    return 0


def _one_line(key: str, value: str) -> str:
    """A line break would end the value early and start a forged output of the caller's step."""
    from perfbudget.errors import PerfBudgetError

    if "\n" in value or "\r" in value:
        raise PerfBudgetError(f"{key} {value!r} contains a line break; run from a directory without one")
    return value
