"""``perfbudget legs combine DIR``: join each key's shard artifacts in DIR into one leg.

The action's merge job runs it after downloading every leg's artifact, then
fetches each joined key's baseline into ``DIR/perfbudget-KEY/baseline`` and
comments. It prints the joined keys, one per line. A key whose shards cannot
be joined (one missing or without results) is a warning; its shards stay
legs of their own.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    combine = actions.add_parser("combine", help="join shard artifacts (perfbudget-KEY--shard-N) into perfbudget-KEY")
    combine.add_argument("directory", metavar="DIR", help="the downloaded artifacts, one directory each")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from perfbudget.github.legs import combine_shards
    from perfbudget.github.summary import warn

    keys, problems = combine_shards(Path(args.directory))
    for problem in problems:
        warn(problem)
    for key in keys:
        print(key)
    print(f"perfbudget legs: joined the shards of {len(keys)} key(s)", file=sys.stderr)
    return 0
