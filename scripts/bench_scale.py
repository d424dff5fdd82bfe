#!/usr/bin/env python
"""How perfbudget scales: results size, recording, compare, reports and merge at 1,000 to 50,000 tests.

A real Django project is generated with N tests, each making a few ORM
queries and one test-client request. Up to ``--real-max`` tests it is run
for real, with and without ``--perf-budget``; larger sizes are synthetic
results of the same shape (the largest real run's records, repeated under new
node ids). Every command runs in its own process, so its peak RSS is its own.

Printed per size: the results file per test (compressed and not), then wall
time and peak RSS of recording, compare, the Markdown and HTML reports and
an 8-shard merge, each also as a ratio to a plain ``json.loads`` of the same
(decompressed) file, and recording as a ratio to plain ``pytest``.

    python scripts/bench_scale.py                          # 1,000 / 10,000 / 50,000; real runs up to 10,000
    python scripts/bench_scale.py --sizes 1000 --real-max 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django_suites import write_shop_project

from perfbudget.run.model import Run
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run

TARGETS = "targets at 50,000 tests: compare + markdown < 5 s and < 500 MB; results < 2 KB per test; linear growth"

# Resident memory at the end of the test loop, before any plugin's session-finish work
# (perfbudget's reading back and judging), so the figure is what the recording holds.
CONFTEST = """
import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    path = os.environ.get("BENCH_RSS_FILE")
    if path:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        with open(path, "w") as out:
            out.write(str(pages * os.sysconf("SC_PAGE_SIZE")))
"""
TESTS = """
import pytest
from shop.models import Category, Item

@pytest.mark.django_db
@pytest.mark.parametrize("n", range({count}))
def test_items(client, n):
    category = Category.objects.create(name=f"c{{n}}")
    Item.objects.create(name="a", category=category)
    Item.objects.create(name="b", category=category)
    assert Item.objects.filter(category=category).count() == 2
    assert client.get("/items/").status_code == 200
"""


def make_project(root: Path, count: int) -> Path:
    """A throwaway Django project with ``count`` tests; returns its directory."""
    tests = {"test_shop.py": TESTS.format(count=count), "conftest.py": CONFTEST}
    return write_shop_project(root / f"project-{count}", tests)


# A child's ru_maxrss counts what it inherited from this (large) process before exec;
# this small launcher starts the command from a fresh interpreter and reports the command's own.
LAUNCHER = (
    "import os,subprocess,sys; p=subprocess.Popen(sys.argv[1:]); _,s,u=os.wait4(p.pid,0); "
    "print(u.ru_maxrss, file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(s))"
)


def measure(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one command in its own process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    stderr = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{stderr[-2000:]}")
    return elapsed, int(stderr.strip().splitlines()[-1]) / 1024


def measure_pytest(command: list[str], project: Path, work: Path) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, RSS MB at the end of the test loop) of a pytest run."""
    marker = work / "rss"
    wall, peak = measure(command, project, {**os.environ, "BENCH_RSS_FILE": str(marker)})
    return wall, peak, int(marker.read_text()) / 1e6


def json_reference(path: Path) -> tuple[float, float]:
    """Wall time and peak RSS of a plain ``json.loads`` of every line of the decompressed file."""
    code = "import gzip,json,sys; data=gzip.decompress(open(sys.argv[1],'rb').read()); [json.loads(line) for line in data.splitlines()]"
    return measure([sys.executable, "-c", code, str(path)])


def synthetic(template: Run, count: int) -> Run:
    """``count`` tests shaped like ``template``'s, under new node ids."""
    run = dataclasses.replace(template, tests=[], urls=[])
    for index in range(count):
        source = template.tests[index % len(template.tests)]
        run.tests.append(dataclasses.replace(source, node_id=f"test_shop.py::test_items[{index}]"))
    run.urls = template.urls
    return run


def perfbudget(*args: str) -> list[str]:
    return [sys.executable, "-m", "perfbudget.cli", *args]


def bench_size(work: Path, count: int, real_max: int, template: Run | None) -> tuple[dict[str, tuple[float, float]], Run]:
    figures: dict[str, tuple[float, float]] = {}
    results = work / f"results-{count}.ndjson.gz"
    if count <= real_max:
        project = make_project(work, count)
        plain = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        *figures["pytest"], plain_rss = measure_pytest(plain, project, work)
        *figures["recording"], perf_rss = measure_pytest([*plain, "--perf-budget", f"--perf-output={results}"], project, work)
        figures["rss in run"] = (plain_rss, perf_rss)
        template = load_run(results)
    else:
        assert template is not None
        write_run(synthetic(template, count), results)
    base = work / f"base-{count}.ndjson.gz"
    run = load_run(results)
    write_run(dataclasses.replace(run, build_id="baseline"), base)
    figures["json.loads"] = json_reference(results)
    figures["compare"] = measure(perfbudget("compare", str(results), "--baseline", str(base), "--report-only"))
    figures["markdown"] = measure(
        perfbudget("report", str(results), "--baseline", str(base), "--format", "markdown", "-o", str(work / "report.md"))
    )
    figures["html"] = measure(
        perfbudget("report", str(results), "--baseline", str(base), "--format", "html", "-o", str(work / "report.html"))
    )
    figures["html size MB"] = ((work / "report.html").stat().st_size / 1e6, 0.0)
    shards = []
    for shard in range(8):
        part = dataclasses.replace(run, tests=run.tests[shard::8], urls=[])
        shards.append(str(write_run(part, work / f"shard-{count}-{shard}.ndjson.gz")))
    figures["merge"] = measure(perfbudget("merge", *shards, "-o", str(work / f"merged-{count}.ndjson.gz")))
    plain_size = len(gzip.decompress(results.read_bytes()))
    figures["bytes/test"] = (results.stat().st_size / count, plain_size / count)
    return figures, template


def report(count: int, figures: dict[str, tuple[float, float]]) -> None:
    packed, plain = figures["bytes/test"]
    print(
        f"\n{count:,} tests: results {packed:,.0f} B/test gzip ({plain:,.0f} B/test uncompressed); "
        f"HTML page {figures['html size MB'][0]:.1f} MB"
    )
    ref_time, _ = figures["json.loads"]
    print(f"  {'step':<12}{'wall s':>9}{'peak MB':>10}{'x json.loads':>14}{'x pytest':>10}")
    for step in ("json.loads", "pytest", "recording", "compare", "markdown", "html", "merge"):
        if step not in figures:
            continue
        wall, rss = figures[step][:2]
        vs_pytest = f"{wall / figures['pytest'][0]:.2f}" if step == "recording" and "pytest" in figures else ""
        print(f"  {step:<12}{wall:>9.2f}{rss:>10.0f}{wall / ref_time:>14.1f}{vs_pytest:>10}")
    if "rss in run" in figures:
        plain_rss, perf_rss = figures["rss in run"]
        print(
            f"  resident at the end of the test loop: pytest {plain_rss:.0f} MB, with perfbudget {perf_rss:.0f} MB "
            f"({(perf_rss - plain_rss) * 1e6 / count / 1000:.1f} KB a test, fixed costs included)"
        )
    both = figures["compare"][0] + figures["markdown"][0]
    print(f"  compare + markdown: {both:.2f} s, peak {max(figures['compare'][1], figures['markdown'][1]):.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma list of test counts")
    parser.add_argument("--real-max", type=int, default=10_000, help="largest size run for real (larger: synthetic)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    print(TARGETS)
    work = Path(tempfile.mkdtemp(prefix="perfbudget-scale-"))
    template: Run | None = None
    per_test: list[tuple[int, dict[str, tuple[float, float]]]] = []
    for count in sizes:
        figures, template = bench_size(work, count, args.real_max, template)
        report(count, figures)
        per_test.append((count, figures))
    real = [(count, figures["rss in run"]) for count, figures in per_test if "rss in run" in figures]
    if len(real) > 1:
        (small, (plain_a, perf_a)), (large, (plain_b, perf_b)) = real[0], real[-1]
        slope = ((perf_b - plain_b) - (perf_a - plain_a)) * 1e6 / (large - small)
        print(f"\nmemory the recording holds per test while the run goes on ({small:,} -> {large:,} tests): {slope / 1000:.1f} KB")
    if len(per_test) > 1:
        print("\nper 1,000 tests (linear growth keeps these flat):")
        for count, figures in per_test:
            row = ", ".join(f"{step} {figures[step][0] / count * 1000:.3f} s" for step in ("compare", "markdown", "html", "merge"))
            print(f"  {count:>7,}: {row}")
    if args.keep:
        print(f"\nwork directory kept: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
