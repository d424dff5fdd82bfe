"""scripts/bench_overhead.py runs end to end and prints the figures it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.example import clean_env

pytest.importorskip("pytest_django", reason="the benchmark runs Django test suites")

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_overhead.py"


def test_bench_times_a_generated_suite_with_and_without_the_plugin() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--suite", "generated", "--generated-tests", "12", "--repeats", "1"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cell = r"\s+[\d.]+s ->\s*[\d.]+s\s+[+-][\d.]+ %"  # median off -> on, and the overhead
    row = re.search(rf"^generated\s+(\d+){cell}{cell}{cell}$", done.stdout, re.M)  # wall, session, CPU
    assert row, done.stdout
    assert row.group(1) == "12"  # every generated test ran and passed


def test_bench_refuses_nonsense_options() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--repeats and --generated-tests must be at least 1" in done.stderr
