#!/usr/bin/env python
"""Time the reports of a big project: 50,000 tests and 5,000 URLs (tests/helpers_report.large_comparison).

Prints, for the PR comment (Markdown), the job summary, the annotations, the
JSON and the HTML report, the best and median wall time over the rounds and
the output size. The comment must stay within GitHub's 65,536 characters
whatever the size of the run; that is asserted in tests, timed here.

    python scripts/bench_report.py                       # 3 rounds, 50,000 tests, 5,000 URLs
    python scripts/bench_report.py --tests 5000 --urls 500 --rounds 5
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.helpers_report, the fixture shared with the tests

from perfbudget.report import reporter  # noqa: E402
from perfbudget.report.markdown import render_job_summary, render_markdown  # noqa: E402
from tests.helpers_report import large_comparison  # noqa: E402


def timed(render: Callable[[], str], rounds: int) -> tuple[float, float, int]:
    """(best, median) seconds and the output size in characters."""
    times, size = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        size = len(render())
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), size


def _with(format_name: str, comparison) -> Callable[[], str]:  # type: ignore[no-untyped-def]
    def render() -> str:
        out = io.StringIO()
        reporter(format_name)(comparison, out)
        return out.getvalue()

    return render


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50_000)
    parser.add_argument("--urls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    comparison = large_comparison(args.tests, args.urls)
    print(f"{args.tests:,} tests, {args.urls:,} URLs, {len(comparison.verdicts):,} verdicts "
          f"({len(comparison.failing):,} failing), built in {time.perf_counter() - start:.2f} s; {args.rounds} rounds")
    cases = [
        ("PR comment (markdown)", lambda: render_markdown(comparison, marker="perfbudget")),
        ("job summary (markdown)", lambda: render_job_summary(comparison)),
        ("annotations", _with("annotations", comparison)),
        ("json", _with("json", comparison)),
        ("html", _with("html", comparison)),
    ]
    print(f"{'report':<24}{'best':>10}{'median':>10}{'size':>16}")
    for name, render in cases:
        best, median, size = timed(render, args.rounds)
        print(f"{name:<24}{best:>9.2f}s{median:>9.2f}s{size:>14,} ch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
