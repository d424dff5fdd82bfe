"""Golden files: each format's report of the fixed results pair, byte for byte.

A reporter change shows up as a diff of tests/golden/. After an intended
change, regenerate with ``PERFBUDGET_REGEN_GOLDEN=1 python -m pytest tests/test_report_golden.py``
and review the diff before committing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from perfbudget.report import reporter
from perfbudget.report.markdown import configured
from tests.support.report import fixed_comparison

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("PERFBUDGET_REGEN_GOLDEN") == "1"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.write_text(actual, encoding="utf-8", newline="\n")
    if not path.exists():
        pytest.fail(f"{path} is missing; run with PERFBUDGET_REGEN_GOLDEN=1 to create it")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden file; regenerate with PERFBUDGET_REGEN_GOLDEN=1 if intended"


@pytest.mark.parametrize(
    ("format_name", "golden"),
    [("markdown", "report.md"), ("html", "report.html"), ("json", "report.json"), ("annotations", "annotations.txt")],
)
def test_format_matches_golden(format_name: str, golden: str) -> None:
    out = io.StringIO()
    reporter(format_name)(fixed_comparison(), out)
    check_golden(golden, out.getvalue())


def test_pr_comment_matches_golden() -> None:
    out = io.StringIO()
    configured(marker="perfbudget-report", report_url="https://ci.example.com/runs/1234/report.html")(fixed_comparison(), out)
    check_golden("comment.md", out.getvalue())
