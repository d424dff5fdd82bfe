"""``perfbudget budgets tighten RESULTS...``: lower the budget file's limits to what the suite now uses, plus head-room.

Reads one or more results files (or a history directory: the most any run
used decides), prints the change as a unified diff and writes it back into
the YAML budget file, keeping its comments, layout, line endings and byte
order mark. ``--dry-run`` only prints. Limits are never raised. Exit 0 when
done (or nothing to do), 2 for a budget file it cannot read, parse or write
(the message names it; the file is then unchanged) and for results it cannot
read.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    tighten = actions.add_parser("tighten", help="lower limits to the most used plus head-room; print the diff")
    tighten.add_argument("results", nargs="+", metavar="RESULTS", help="results files, or directories of past results")
    tighten.add_argument("--budgets", metavar="FILE", help="the YAML budget file (default: perfbudget.yaml here)")
    tighten.add_argument("--headroom", default="10%", metavar="PERCENT", help="room above the most used count (default 10%%)")
    tighten.add_argument(
        "--time-headroom", default="50%", metavar="PERCENT", help="room above the most used time or size, which are noisy (default 50%%)"
    )
    tighten.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from perfbudget.budgets import BudgetError, find_budget_file, parse_budgets
    from perfbudget.budgets.source import read_budget_text, write_budget_text
    from perfbudget.budgets.tighten import apply, diff, plan
    from perfbudget.compare.baseline import load_baseline
    from perfbudget.report.escape import terminal_line

    path = find_budget_file(Path.cwd(), args.budgets)
    if path is None or path.suffix not in (".yaml", ".yml"):
        raise BudgetError(f"{path or 'perfbudget.yaml'}: tighten edits a YAML budget file; none found (pass --budgets FILE)")
    original = read_budget_text(path)  # line endings and a BOM as written: only the changed numbers differ
    text = original.text
    budgets = parse_budgets(text, str(path))
    runs = []
    for source in args.results:
        loaded = load_baseline(source)  # a file or a history directory, validated; problems are warnings
        for warning in loaded.warnings:
            print(terminal_line(f"perfbudget budgets: {warning}"), file=sys.stderr)
        runs.extend(loaded.baseline.runs if loaded.baseline else [])
    if not runs:
        raise BudgetError("no readable results to tighten from")
    changes = plan(budgets, text, runs, _percent(args.headroom, "--headroom"), _percent(args.time_headroom, "--time-headroom"))
    if not changes:
        print(f"perfbudget budgets: every limit in {path} is within its head-room of what the suite uses; nothing to tighten")
        return 0
    new_text = apply(text, changes)
    print(diff(text, new_text, os.path.relpath(path)), end="")
    if not args.dry_run:  # before the notes: a file that cannot be written is the one line on stderr
        write_budget_text(path, original, new_text)
    for change in changes:
        print(
            f"perfbudget budgets: {path}:{change.line} {change.metric}: most used {change.observed:g} by {change.subjects} subject(s)",
            file=sys.stderr,
        )
    if not args.dry_run:
        print(f"perfbudget budgets: tightened {len(changes)} limit(s) in {path}", file=sys.stderr)
    return 0


def _percent(text: str, option: str) -> float:
    from perfbudget.budgets import BudgetError

    try:
        value = float(text.strip().rstrip("%")) / 100
    except ValueError:
        raise BudgetError(f"{option}: expected a percentage such as 10%, got {text!r}") from None
    if value < 0:
        raise BudgetError(f"{option}: expected 0% or more, got {text!r}")
    return value
