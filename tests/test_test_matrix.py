"""scripts/test-matrix.sh: its plan names every interpreter present and says why a combination cannot run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_plan_lists_each_python_and_django_with_a_reason_for_each_skip() -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "test-matrix.sh"), "--plan"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["python", "django", "result"]
    rows = {tuple(line.split()[:2]): line for line in lines[1:]}
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert {version for version, _ in rows} == {"3.10", "3.11", "3.12", "3.13"}
    for django in ("4.2", "5.2"):  # every Python in the matrix runs the two LTS releases
        assert "would run" in rows[(this, django)]
    for line in lines[1:]:
        assert "would run (" in line or "skip: " in line  # a skip always says why
    if sys.version_info < (3, 12):  # Django 6 needs Python 3.12
        assert rows[(this, "6.0")].endswith(f"skip: pip cannot install Django 6.0 for Python {this}")
