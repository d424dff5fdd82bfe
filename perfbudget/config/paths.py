"""The default paths, in one place: every front end, command and the action name the same files."""

from __future__ import annotations

from pathlib import Path

RESULTS_NAME = "results.ndjson.gz"  # write_run and the writer compress by the suffix
RESULTS_DIR = Path(".perfbudget")
DEFAULT_RESULTS = RESULTS_DIR / RESULTS_NAME  # relative to the rootdir (pytest) or the working directory
BUDGET_FILE = "perfbudget.yaml"  # found beside pyproject.toml's [tool.perfbudget]
