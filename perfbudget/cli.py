"""``perfbudget``: the same pipeline as the pytest plugin, outside pytest.

Each sub-command lives in ``perfbudget/commands/<name>.py`` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``, and is imported only when
used, so ``perfbudget show`` never pays for Jinja2 or github3.py.

Exit codes: 0 fine, 1 a budget was exceeded or a regression found (where the
command judges), 2 bad usage, 3 bad input (config, results, GitHub).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from perfbudget import __version__
from perfbudget.errors import EXIT_BAD_INPUT, PerfBudgetError

# name -> one-line help; the module perfbudget.commands.<name> implements it.
COMMANDS = {
    "show": "print the terminal summary of a results file",
    "merge": "merge results files (xdist workers, CI shards) into one",
    "compare": "compare results with budgets and a baseline",
    "report": "render a report (markdown, html, json, terminal)",
    "baseline": "fetch the target branch's results from GitHub Actions",
    "comment": "create or update the pull request comment",
    "artifact": "print this CI build's directory, file paths and artifact name",
    "legs": "join a matrix's shard artifacts into one leg per key (the action's merge job)",
    "budgets": "tighten the budget file's limits to what the suite uses (keeps comments)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfbudget", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"perfbudget {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        _command(name).add_arguments(sub)
    return parser


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"perfbudget.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_command(args.command).run(args))
    except PerfBudgetError as exc:
        from perfbudget.report.escape import terminal_line

        # One line: the message may quote a path, a field or a value read from an untrusted file.
        print(terminal_line(f"perfbudget {args.command}: {exc}"), file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "github3":
            raise
        # GitHub publishing is an extra, so a test environment does not pull in github3.py and cryptography.
        print(f"perfbudget {args.command}: this command talks to GitHub: pip install 'perfbudget[github]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
