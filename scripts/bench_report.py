#!/usr/bin/env python
"""Time the reports of a big project at 1,000, 10,000 and 50,000 tests (tests/support/report.large_comparison).

For the PR comment (Markdown), the job summary, the annotations, the JSON and
the HTML report it prints, per size, the best and median wall time over the
rounds, the peak RSS and the output size. Each report runs in a process of
its own, so its peak RSS is its own; that includes the Comparison it renders,
whose size the header line gives, with compare() of the same run against a
baseline followed by the PR comment: the path of ``perfbudget report --format
markdown`` once the results are loaded. With several sizes, a last table
gives each figure per 1,000 tests: flat columns mean linear growth.

The comment must stay within GitHub's 65,536 characters and the HTML page
under 20 MB at 50,000 tests (issue 8); those are asserted in tests, timed here.

    python scripts/bench_report.py                          # 1,000 / 10,000 / 50,000 tests, a tenth as many URLs
    python scripts/bench_report.py --tests 5000 --urls 500 --rounds 5
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.support.report, the fixture shared with the tests

from perfbudget.compare.verdicts import Comparison  # noqa: E402
from perfbudget.run.model import Run  # noqa: E402

TARGETS = "targets at 50,000 tests: compare + PR comment < 5 s and < 500 MB; HTML page < 20 MB; linear growth"
CASES = {  # printed name -> what the child process renders
    "PR comment (markdown)": "comment",
    "job summary (markdown)": "summary",
    "annotations": "annotations",
    "json": "json",
    "html": "html",
}


def peak_mb() -> float:
    """This process's peak RSS so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def renderer(case: str, comparison: Comparison) -> Callable[[], str]:
    """What one case times; "compare" judges the run against ``baseline_of`` it, then writes the comment."""
    from perfbudget.budgets import Budgets
    from perfbudget.compare.baseline import Baseline
    from perfbudget.compare.engine import compare
    from perfbudget.report import reporter
    from perfbudget.report.markdown import render_job_summary, render_markdown

    if case == "compare":
        run, baseline = comparison.run, Baseline([baseline_of(comparison.run)], "bench")
        return lambda: render_markdown(compare(run, Budgets(), baseline))
    if case == "comment":
        return lambda: render_markdown(comparison, marker="perfbudget")
    if case == "summary":
        return lambda: render_job_summary(comparison)

    def render() -> str:
        out = io.StringIO()
        reporter(case)(comparison, out)
        return out.getvalue()

    return render


def baseline_of(run: Run) -> Run:
    """The run as its baseline saw it: every tenth test (those with an N+1) made 6 queries fewer."""
    tests = [
        dataclasses.replace(test, metrics={**test.metrics, "queries": max(test.metrics["queries"] - 6, 0.0)}) if index % 10 == 0 else test
        for index, test in enumerate(run.tests)
    ]
    return dataclasses.replace(run, commit="fedcba9876543210", branch="main", tests=tests)


def child(case: str, tests: int, urls: int, rounds: int) -> dict[str, Any]:
    """One case in this process: seconds (best, median), output size, peak RSS, and the Comparison's figures."""
    from tests.support.report import large_comparison

    start = time.perf_counter()
    comparison = large_comparison(tests, urls)
    figures: dict[str, Any] = {
        "built": time.perf_counter() - start,
        "verdicts": len(comparison.verdicts),
        "failing": len(comparison.failing),
        "comparison_mb": peak_mb(),
    }
    render = renderer(case, comparison)
    del comparison  # the compare case holds what the command does: the run and its baseline
    times, text = [], ""
    for _ in range(rounds):
        start = time.perf_counter()
        text = render()
        times.append(time.perf_counter() - start)
    return {
        **figures,
        "best": min(times),
        "median": statistics.median(times),
        "size": len(text),
        "bytes": len(text.encode("utf-8")),
        "peak_mb": peak_mb(),
    }


def measure(case: str, tests: int, urls: int, rounds: int) -> dict[str, Any]:
    """``child`` in a fresh interpreter, so that peak RSS is this case's alone."""
    command = [sys.executable, __file__, "--child", case, "--tests", str(tests), "--urls", str(urls), "--rounds", str(rounds)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def bench_size(tests: int, urls: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Print one size's block; returns its figures by case."""
    figures = {"compare": measure("compare", tests, urls, rounds)}
    head = figures["compare"]
    print(
        f"{tests:,} tests, {urls:,} URLs, {head['verdicts']:,} verdicts ({head['failing']:,} failing), "
        f"built in {head['built']:.2f} s, {head['comparison_mb']:.0f} MB; compare() + PR comment "
        f"{head['best']:.2f} s, peak {head['peak_mb']:.0f} MB; {rounds} rounds"
    )
    print(f"{'report':<24}{'best':>10}{'median':>10}{'peak RSS':>12}{'size':>17}")
    for name, case in CASES.items():
        figures[case] = measure(case, tests, urls, rounds)
        f = figures[case]
        print(f"{name:<24}{f['best']:>9.2f}s{f['median']:>9.2f}s{f['peak_mb']:>9.0f} MB{f['size']:>14,} ch")
    return figures


def per_thousand(sizes: list[tuple[int, dict[str, dict[str, Any]]]]) -> None:
    """Best seconds per 1,000 tests for every size (flat columns mean linear growth), and the page's size."""
    cases = ("compare", *CASES.values())
    print("\nbest seconds per 1,000 tests (flat columns mean linear growth):")
    print(f"{'tests':>8}" + "".join(f"{case:>13}" for case in cases) + f"{'html page':>14}{'B/test':>9}")
    for tests, figures in sizes:
        cells = "".join(f"{figures[case]['best'] / tests * 1000:>13.4f}" for case in cases)
        page = figures["html"]["bytes"]
        print(f"{tests:>8,}{cells}{page / 1e6:>11.1f} MB{page / tests:>9,.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default="1000,10000,50000", help="comma list of test counts (default: %(default)s)")
    parser.add_argument("--urls", help="comma list of URL counts, one per size (default: a tenth of each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["compare", *CASES.values()], help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.tests.split(",")]
    urls = [int(size) for size in args.urls.split(",")] if args.urls else [size // 10 for size in sizes]
    if len(urls) != len(sizes):
        parser.error("--urls needs one count per --tests size")
    if args.child:
        print(json.dumps(child(args.child, sizes[0], urls[0], args.rounds)))
        return 0
    if len(sizes) > 1:
        print(TARGETS + "\n")
    results = []
    for index, (tests, url_count) in enumerate(zip(sizes, urls, strict=True)):
        if index:
            print()
        results.append((tests, bench_size(tests, url_count, args.rounds)))
    if len(results) > 1:
        per_thousand(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
