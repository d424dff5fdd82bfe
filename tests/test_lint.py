"""The repository passes its own checks: ruff (lint and format) and mypy, configured in pyproject.toml.

Each tool runs as ``python -m TOOL`` from the repository root, the way a
contributor runs it, so what it checks (and what it leaves out) is the
configuration's choice, not this file's. Neither tool writes a cache into the
checkout. A tool that is not installed skips its test, naming the package.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (it is in the test extra: pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False)


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return f"python {' '.join(done.args[1:])} exited with {done.returncode}:\n{done.stdout}{done.stderr}"


def test_ruff_check_passes() -> None:
    done = _run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, _output(done)


def test_ruff_format_changes_nothing() -> None:
    done = _run("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, _output(done)


def test_mypy_passes() -> None:
    done = _run("mypy", f"--cache-dir={os.devnull}")  # the files to check come from [tool.mypy] in pyproject.toml
    assert done.returncode == 0, _output(done)
