#!/usr/bin/env python
"""Does the regression rule cry wolf, and does it catch real change? A/A and A/B runs of the example suite.

Records a baseline of the example project's suite (one run, or ``--history``
runs as a history of the target branch would give), then:

* A/A: ``--runs`` more runs with no change, each compared with the baseline
  by perfbudget's own ``compare()``; every timing regression is a false alarm
  (count regressions are reported too: they should never move).
* A/B slowdown: ``--ab-runs`` runs in which an injected plugin stretches each
  test's call phase x1.5 (CPU work for half the call's time after it; with
  ``--slowdown-kind sleep`` a wait instead, which a single run cannot tell
  from a busy machine and reports as a warning).
* A/B query: ``--ab-runs`` runs in which the injected plugin issues one extra
  ``SELECT 1`` in every test that may touch the database.

A slowdown is "detectable" when it exceeds the documented thresholds (more
than both the relative threshold and the absolute floor over the baseline);
the detection rate is counted over those tests, with the raw figure beside it.
``--pad-ms`` adds the same CPU work to every test in every run (baseline too), to
model a suite of heavier tests, where more slowdowns clear the floor.

The example project is not modified: perfbudget and the example are copied to
a temporary directory (so a change to the checkout during the benchmark does
not show up as a regression), and the injection is a pytest plugin written
there and loaded with ``-p``.

    python scripts/bench_noise.py                  # 20 A/A runs, 5 of each A/B
    python scripts/bench_noise.py --pad-ms 30      # heavier tests
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example"
sys.path.insert(0, str(REPO))

from perfbudget.budgets import Budgets  # noqa: E402
from perfbudget.compare import compare  # noqa: E402
from perfbudget.compare.baseline import Baseline  # noqa: E402  (the repo, not an installed copy)
from perfbudget.compare.verdicts import Status  # noqa: E402
from perfbudget.run.metrics import kind_of  # noqa: E402
from perfbudget.run.model import Run
from perfbudget.run.store import load_run

_INJECT = '''
"""Injected by bench_noise.py: slow each test down, or add one query, on request."""
import os
import time

import pytest

PAD = float(os.environ.get("BENCH_PAD_MS", "0")) / 1000
SLOWDOWN = float(os.environ.get("BENCH_SLOWDOWN", "1"))
SLEEP = os.environ.get("BENCH_SLOWDOWN_KIND") == "sleep"
EXTRA_QUERY = os.environ.get("BENCH_EXTRA_QUERY") == "1"
LOG = os.environ.get("BENCH_LOG")


def _work(seconds, sleep):
    """Slower code: a fixed amount of CPU work by default (what most slowdowns are), or a wait.

    CPU work is measured in CPU time, so a busy machine makes it take longer
    on the wall clock but not cost more: the same work in every run.
    """
    if sleep:
        time.sleep(seconds)
        return
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    injected = False
    if EXTRA_QUERY:
        try:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            injected = True
        except Exception:  # no database access for this test: not injected, and the log says so
            injected = False
    started, cpu_started = time.perf_counter(), time.process_time()
    if PAD:
        _work(PAD, sleep=False)
    yield
    if SLOWDOWN != 1:
        # x SLOWDOWN of the call: more of its CPU work, or a wait as long as half its wall time.
        spent = (time.perf_counter() - started) if SLEEP else (time.process_time() - cpu_started)
        _work(spent * (SLOWDOWN - 1), sleep=SLEEP)
    if LOG and injected:
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(item.nodeid + "\\n")
'''


@dataclass
class Tally:
    timing: int = 0  # regressed time metrics
    counts: int = 0  # regressed count metrics
    runs_with_alarm: int = 0


def snapshot(workdir: Path) -> Path:
    """Copy perfbudget and the example into ``workdir``: every run measures the same code.

    The checkout may change while the benchmark runs (a collector fix would
    look like a regression between A/A runs). Returns the example's copy.
    """
    shutil.copytree(REPO / "perfbudget", workdir / "perfbudget", ignore=shutil.ignore_patterns("__pycache__"))
    ignore = shutil.ignore_patterns("__pycache__", ".perfbudget", ".pytest_cache", "db.sqlite3")
    return Path(shutil.copytree(EXAMPLE, workdir / "example", ignore=ignore))


def record(
    workdir: Path, name: str, pad_ms: float, slowdown: float = 1.0, extra_query: bool = False, kind: str = "cpu"
) -> Run:
    output = workdir / f"{name}.ndjson"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")]),
        BENCH_PAD_MS=str(pad_ms),
        BENCH_SLOWDOWN=str(slowdown),
        BENCH_SLOWDOWN_KIND=kind,
        BENCH_EXTRA_QUERY="1" if extra_query else "0",
        BENCH_LOG=str(workdir / f"{name}.injected"),
    )
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_inject",
        "--perf-budget", "--perf-budget-report-only", "--perf-output", str(output),
    ]
    done = subprocess.run(command, cwd=workdir / "example", env=env, capture_output=True, text=True, timeout=600)
    if done.returncode not in (0, 1) or not output.exists():
        sys.exit(f"bench_noise: the example suite failed to run ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return load_run(output)


def regressions(head: Run, base: Baseline, kinds: tuple[str, ...] = ("test",)) -> list[tuple[str, str, str, str]]:
    """(subject, metric, metric kind, reason) of every regressed metric of tests (and URLs if asked)."""
    comparison = compare(head, Budgets(), base)
    return [
        (v.subject, v.metric or "", kind_of(v.metric), v.reason)
        for v in comparison.verdicts
        if v.status is Status.REGRESSED and v.subject_kind in kinds
    ]


def _times(test: object) -> str:
    metrics = getattr(test, "metrics", {})
    return f"{metrics.get('duration', 0):.1f}/{metrics.get('cpu_time', 0):.1f} ms wall/cpu"


def detectable_slowdowns(base: Run, factor: float, metric: str, budgets: Budgets) -> set[str]:
    """Tests whose injected slowdown (factor x the baseline's call phase) clears the rule for ``metric``."""
    rule = budgets.regression_rule(metric)
    found = set()
    for test in base.tests:
        call, whole = test.call_metrics.get(metric), test.metrics.get(metric)
        if test.outcome == "passed" and call is not None and whole is not None:
            if call * (factor - 1) > rule.margin(whole):
                found.add(test.node_id)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="A/A runs after the baseline (default: %(default)s)")
    parser.add_argument("--ab-runs", type=int, default=5, help="runs of each A/B injection (default: %(default)s)")
    parser.add_argument(
        "--history", type=int, default=1, help="baseline runs (1: one target-branch run, as in CI; default: %(default)s)"
    )
    parser.add_argument("--pad-ms", type=float, default=0.0, help="CPU work added to every test in every run")
    parser.add_argument("--slowdown", type=float, default=1.5, help="factor of the injected slowdown")
    parser.add_argument(
        "--slowdown-kind", choices=("cpu", "sleep"), default="cpu",
        help="inject CPU work (default) or a wait, which single runs treat as noise",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="perfbudget-noise-") as tmp:
        workdir = Path(tmp)
        (workdir / "bench_inject.py").write_text(_INJECT, encoding="utf-8")
        snapshot(workdir)
        history = [record(workdir, f"baseline{index}", args.pad_ms) for index in range(args.history)]
        base = Baseline(history, "baseline")
        judged = [t for t in base.latest.tests if t.outcome == "passed"]
        print(
            f"example suite: {len(base.latest.tests)} tests ({len(judged)} passed), pad {args.pad_ms:g} ms, "
            f"baseline of {args.history} run{'s' if args.history > 1 else ''}"
        )

        aa = Tally()
        for index in range(args.runs):
            found = regressions(record(workdir, f"aa{index}", args.pad_ms), base, ("test", "url"))
            aa.timing += sum(1 for _, _, kind, _ in found if kind != "count")
            aa.counts += sum(1 for _, _, kind, _ in found if kind == "count")
            aa.runs_with_alarm += bool(found)
            for subject, _, _, reason in found:
                print(f"  A/A run {index + 1}: false alarm {subject}: {reason}")
        print(
            f"A/A: {args.runs} runs x {len(judged)} tests + {len(base.latest.urls)} URLs: {aa.timing} timing false alarms, "
            f"{aa.counts} count false alarms, {aa.runs_with_alarm} runs with any alarm"
        )

        # CPU work shows in cpu_time (and wall time when the machine is quiet); a wait only in wall time.
        witness = "duration" if args.slowdown_kind == "sleep" else "cpu_time"
        should = detectable_slowdowns(base.latest, args.slowdown, witness, Budgets())
        caught = flagged_total = 0
        for index in range(args.ab_runs):
            slow = record(workdir, f"slow{index}", args.pad_ms, slowdown=args.slowdown, kind=args.slowdown_kind)
            flagged = {s for s, metric, _, _ in regressions(slow, base) if metric in ("duration", "cpu_time")}
            caught += len(flagged & should)
            for node_id in sorted(should - flagged):
                before, after = base.latest.test(node_id), slow.test(node_id)
                print(f"  A/B run {index + 1}: missed {node_id}: {_times(before)} -> {_times(after)}")
            flagged_total += len(flagged)
        print(
            f"A/B x{args.slowdown:g} {args.slowdown_kind} slowdown: {caught}/{len(should) * args.ab_runs} detectable slowdowns caught "
            f"over {args.ab_runs} runs ({len(should)} of {len(judged)} tests slow down by more than +25 % "
            f"and +10 ms of {witness}; {flagged_total} tests flagged in all)"
        )

        if not any("queries" in t.metrics for t in base.latest.tests):
            print("A/B +1 query: skipped: this perfbudget records no SQL queries yet (collect/sql.py missing)")
            return 0
        caught = injected = 0
        for index in range(args.ab_runs):
            more = record(workdir, f"query{index}", args.pad_ms, extra_query=True)
            log = workdir / f"query{index}.injected"
            passed = {t.node_id for t in more.tests if t.outcome == "passed"}
            targets = (set(log.read_text().split()) if log.exists() else set()) & passed
            flagged = {s for s, metric, _, _ in regressions(more, base) if metric == "queries"}
            injected += len(targets)
            caught += len(flagged & targets)
        print(f"A/B +1 query: {caught}/{injected} injected queries caught over {args.ab_runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
