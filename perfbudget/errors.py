"""The package's base exception: a user-facing problem with a message, never a traceback.

The CLI prints ``str(exc)`` and exits with ``exc.exit_code``; the plugin turns
configuration errors into ``pytest.UsageError`` and data errors into warnings.
"""

from __future__ import annotations


class PerfBudgetError(Exception):
    """A problem the user can fix; the message says what, where and what to do."""

    exit_code = 3
