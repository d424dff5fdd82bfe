"""The example project works on its own: from a fresh clone, with perfbudget off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.example import EXAMPLE, EXPECTED_OUTCOMES, clean_env, run_example

pytest.importorskip("pytest_django", reason="the example project needs pytest-django")

_REPORT_WORDS = {"PASSED": "passed", "XFAIL": "xfailed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped"}


def outcomes_from_output(output: str) -> dict[str, str]:
    """Node id -> outcome, from the ``-rA`` short summary lines."""
    outcomes = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in _REPORT_WORDS and "::" in rest:
            outcomes[rest.split(" - ")[0].strip()] = _REPORT_WORDS[word]
    return outcomes


def _stat(path: Path) -> tuple[int, int] | None:
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None


def test_example_suite_passes_without_the_plugin(tmp_path: Path) -> None:
    default_results = EXAMPLE / ".perfbudget" / "results.ndjson.gz"
    before = _stat(default_results)  # a user's own earlier --perf-budget run may have left one
    result = run_example(tmp_path)
    assert result.returncode == 0, result.output
    assert outcomes_from_output(result.output) == EXPECTED_OUTCOMES
    assert "26 passed, 1 xfailed" in result.output
    assert not result.results_path.exists()
    assert _stat(default_results) == before  # the plugin is off unless asked for


def test_example_migrations_are_committed() -> None:
    """A fresh clone needs no makemigrations: the models and migrations agree."""
    done = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=EXAMPLE,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout
