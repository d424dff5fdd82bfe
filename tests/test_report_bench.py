"""scripts/bench_report.py runs and prints one line per report (figures themselves are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_report.py"


def test_bench_report_prints_a_line_per_report() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--tests", "300", "--urls", "30", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("300 tests, 30 URLs, 330 verdicts")
    names = [line[:24].strip() for line in lines[2:]]
    assert names == ["PR comment (markdown)", "job summary (markdown)", "annotations", "json", "html"]
    assert all(line.rstrip().endswith(" ch") for line in lines[2:])
