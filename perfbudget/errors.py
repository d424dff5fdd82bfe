"""The package's base exception and the CLI's exit codes: a user-facing problem with a message, never a traceback.

The CLI prints ``str(exc)`` and exits with ``exc.exit_code``; the plugin turns
configuration errors into ``pytest.UsageError`` and data errors into warnings.
The exit codes live here, the bottom layer, so a command can name them
without importing the CLI that imports it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a budget was exceeded or a regression found, where the command judges
# 2: bad usage, as argparse exits on its own
EXIT_BAD_INPUT = 3  # config, results, GitHub


class PerfBudgetError(Exception):
    """A problem the user can fix; the message says what, where and what to do."""

    exit_code = EXIT_BAD_INPUT
