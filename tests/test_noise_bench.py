"""scripts/bench_noise.py runs end to end on a perfbudget archived from git and prints the table it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.example import clean_env

pytest.importorskip("pytest_django", reason="the benchmark runs Django test suites")

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "bench_noise.py"


def test_bench_counts_alarms_and_detections_on_a_small_generated_suite() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("the benchmark archives perfbudget from a git revision of this checkout")
    command = [
        sys.executable,
        str(SCRIPT),
        "--suite",
        "generated",
        "--generated-tests",
        "10",
        "--runs",
        "1",
        "--ab-runs",
        "1",
        "--load",
        "none",
    ]
    done = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # The runs loaded the archived copy, not the checkout's editable install.
    assert re.search(r"^  10 tests, 4 URLs; .*; perfbudget \S+/perfbudget-rev/perfbudget/__init__\.py$", out, re.M), out
    alarms = r"\d+/1 runs, (\d+) count, \d+ time"
    assert re.search(rf"^  A/A\s+1\s+{alarms}\s+-\s", out, re.M), out
    assert re.search(rf"^  A/A\s+1\s+{alarms}", out, re.M).group(1) == "0"  # counts are facts: no A/A count alarm
    # One extra query in GET /items/<int:pk>/ is a count regression: always caught.
    assert re.search(rf"^  \+1 query\s+1\s+{alarms}\s+1/1 \(100%\)\s", out, re.M), out
    for case in ("x1.5 CPU", "x1.5 wait", "x2 URL"):
        assert re.search(rf"^  {re.escape(case)}\s+1\s+{alarms}\s+[01]/1 \(\d+%\)\s+\S+\s+(n/a|[\d.]+%.*)\s+x[\d.]+$", out, re.M), out


def test_bench_refuses_nonsense_options() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--runs", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--runs, --ab-runs and --history must be at least 1" in done.stderr
