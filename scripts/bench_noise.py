#!/usr/bin/env python
"""Does the regression rule cry wolf, and does it catch real change? A/A and A/B runs, quiet and under load.

For each suite (the example project, and a generated Django suite of
``--generated-tests`` tests) and each load (none, or two busy CPU loops beside
the runs), records a baseline run, then runs the suite again in these cases,
every run with ``--perf-baseline`` set to the baseline (so perfbudget can
confirm timing suspects in the session, where the revision does that):

* A/A: ``--runs`` runs with no change; every failing verdict is a false alarm.
* +1 query: one view runs one extra query.
* x1.5 CPU: one test's call phase does half as much CPU work again (a ~5 ms
  test in the generated suite).
* x1.5 wait: one view waits half its wall time again (a view that sleeps
  ~20 ms in the generated suite).
* x2 URL: one URL's view does its CPU work twice.

Each injected case runs ``--ab-runs`` times. A run is judged in this process
with the same perfbudget's ``compare()``; a detection is a failing verdict
(status in the comparison's ``fail_on``) on the injected subject (the test,
or the URL key) for the metric family the change moves (queries, or a time);
a failing verdict on any other subject is a false alarm, except on tests whose
requests went through the injected view. Verdicts of status "unconfirmed"
(slower, not confirmed: never failing), where the revision has it, are counted
apart. Also printed per case: the reruns' extra time (the results file's
``confirmation``: seconds rerunning over the main loop's seconds; "n/a" where
the revision writes none) and the runs' median wall time over the baseline's.

Neither the example nor the checkout is used in place: perfbudget of git
revision ``--rev`` is archived into a temporary directory, put first on the
runs' PYTHONPATH and imported from there by this script (every run reports
which perfbudget it loaded; another copy is an error), and the suites are
copied or written there too. The changes are injected by a pytest plugin
copied there (scripts/bench_noise_inject.py), loaded with ``-p`` and switched by
``BENCH_INJECT``.

    python scripts/bench_noise.py                                # both suites, quiet and busy, 20 A/A + 5 of each change
    python scripts/bench_noise.py --suite generated --load busy --runs 5 --ab-runs 2
    python scripts/bench_noise.py --rev HEAD~3 --history 3       # an older perfbudget, a 3-run baseline
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_harness import REPO, archive_perfbudget, busy_loops, import_perfbudget
from django_suites import write_timing_suite

TARGETS = (
    "targets: 0 failing false alarms in the A/A runs under load; 100 % of the count regressions caught; "
    ">= 90 % of the x1.5 and x2 timing regressions confirmed on a quiet machine"
)


@dataclass(frozen=True)
class Change:
    """One injected change: what ``BENCH_INJECT`` says, the subject that must be flagged, and for which metrics."""

    case: str
    inject: str  # "KIND FACTOR TARGET", see bench_noise_inject.py
    subject: str  # test node id, or URL key "GET /route/"
    family: str  # "queries" | "time"


@dataclass(frozen=True)
class Suite:
    name: str
    project: Path
    changes: tuple[Change, ...]


def view_changes(query: str, sleep: str, double: str) -> tuple[Change, ...]:
    """The three view changes, each given as "METHOD route" (route without its leading slash)."""
    (qm, qr), (sm, sr), (dm, dr) = (target.split(" ", 1) for target in (query, sleep, double))
    return (
        Change("+1 query", f"view-query 1 {qr}", f"{qm} /{qr}", "queries"),
        Change("x1.5 wait", f"view-sleep 1.5 {sr}", f"{sm} /{sr}", "time"),
        Change("x2 URL", f"view-cpu 2 {dr}", f"{dm} /{dr}", "time"),
    )


def example_suite(workdir: Path) -> Suite:
    """A copy of example/: /archive/ gets the query, the comment view (it calls the spam service) the wait, / the x2.

    The example has no 5 ms test and no 20 ms view: its own subjects take a few
    milliseconds, so its timing changes are mostly below any threshold. The extra
    query fails the /archive/ test that counts its queries exactly; the run is judged all the same.
    """
    ignore = shutil.ignore_patterns("__pycache__", ".perfbudget", ".pytest_cache", ".benchmarks", "db.sqlite3")
    project = Path(shutil.copytree(REPO / "example", workdir / "example", ignore=ignore))
    query, wait, double = view_changes("GET archive/", "POST api/posts/<int:pk>/comments/", "GET ")
    test = "blog/tests/test_pages.py::test_post_list_shows_newest_posts_with_authors_and_tags"
    return Suite("example", project, (query, Change("x1.5 CPU", f"test-cpu 1.5 {test}", test, "time"), wait, double))


def generated_suite(workdir: Path, count: int) -> Suite:
    """``count`` tests: quick ORM tests and client requests, a ~5 ms CPU test, a ~20 ms wait, a ~15 ms URL."""
    project = write_timing_suite(workdir / "generated", count)
    query, wait, double = view_changes("GET items/<int:pk>/", "GET stock/", "GET report/")
    test = "test_shop.py::test_price_table"
    return Suite("generated", project, (query, Change("x1.5 CPU", f"test-cpu 1.5 {test}", test, "time"), wait, double))


@dataclass
class Outcome:
    """One run of a suite: its results, wall time and what the injected plugin logged."""

    run: Any  # perfbudget.run.model.Run of the copy
    wall: float
    loaded: set[str]
    through: set[str]  # tests whose requests went through the injected view (or the slowed test)


class Runner:
    def __init__(self, workdir: Path, copy: Path, timeout: float):
        self.workdir, self.copy, self.timeout = workdir, copy, timeout
        self.count = 0
        plugins = workdir / "plugins"  # only the injected plugin: scripts/ holds modules of other benchmarks
        plugins.mkdir()
        shutil.copyfile(Path(__file__).with_name("bench_noise_inject.py"), plugins / "bench_inject.py")
        self.pythonpath = os.pathsep.join([str(copy), str(plugins)])

    def run(self, suite: Suite, output: Path, inject: str = "", baseline: Path | None = None) -> Outcome:
        from perfbudget.run.read import load_run

        self.count += 1
        log = self.workdir / f"run{self.count}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "PYTEST_", "DJANGO_SETTINGS"))}
        env.update(PYTHONPATH=self.pythonpath, BENCH_INJECT=inject, BENCH_LOG=str(log))
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-p",
            "bench_inject",
            "--perf-budget",
            f"--perf-output={output}",
        ]
        if baseline is not None:
            command.append(f"--perf-baseline={baseline}")
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=suite.project, env=env, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            sys.exit(f"bench_noise: {suite.name}: no result within {self.timeout:g} s: {shlex.join(command)}")
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1) or not output.exists():
            sys.exit(
                f"bench_noise: {suite.name}: the run failed ({done.returncode}): {shlex.join(command)}\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        loaded = {line.split(" ", 1)[1] for line in lines if line.startswith("loaded ")}
        expected = str(self.copy / "perfbudget" / "__init__.py")
        if loaded != {expected}:
            sys.exit(f"bench_noise: {suite.name}: the run loaded perfbudget from {sorted(loaded)}, not {expected}")
        through = {line.split(" ", 1)[1] for line in lines if line.startswith("request ")}
        return Outcome(load_run(output), wall, loaded, through)


@dataclass
class Tally:
    """One case's runs, judged."""

    case: str
    runs: int = 0
    alarm_runs: int = 0  # runs with any false alarm
    count_alarms: int = 0
    time_alarms: int = 0
    detected: int | None = None  # None: nothing injected (A/A)
    unconfirmed: int | None = None  # None: the revision has no such status
    extra: list[float] = field(default_factory=list)  # rerun seconds / main-loop seconds, per run that says
    walls: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


class Judge:
    """compare() of the perfbudget copy against one baseline; what already fails in the baseline is no alarm."""

    def __init__(self, baselines: list[Any], source: Path, project: Path):
        from perfbudget.budgets import load_project_budgets
        from perfbudget.compare import compare
        from perfbudget.compare.baseline import Baseline
        from perfbudget.compare.verdicts import Status
        from perfbudget.run.metrics import metric_kind

        self.compare, self.metric_kind = compare, metric_kind
        self.budgets = load_project_budgets(project)
        self.baseline = Baseline(baselines, str(source))
        self.unconfirmed = getattr(Status, "UNCONFIRMED", None)
        alone = compare(self.baseline.latest, self.budgets)
        self.known = {(v.subject, v.metric) for v in alone.verdicts if v.status in alone.fail_on}

    def add(self, tally: Tally, outcome: Outcome, base_wall: float, change: Change | None) -> None:
        comparison = self.compare(outcome.run, self.budgets, self.baseline)
        failing = [v for v in comparison.verdicts if v.status in comparison.fail_on and (v.subject, v.metric) not in self.known]
        affected = {change.subject} | outcome.through if change else set()
        alarms = [v for v in failing if v.subject not in affected]
        tally.runs += 1
        tally.alarm_runs += bool(alarms)
        tally.count_alarms += sum(1 for v in alarms if self.metric_kind(v.metric or "") == "count")
        tally.time_alarms += sum(1 for v in alarms if self.metric_kind(v.metric or "") != "count")
        for verdict in alarms[:5]:
            print(f"    {tally.case} run {tally.runs}: false alarm {verdict.subject} {verdict.metric}: {verdict.reason}")
        if self.unconfirmed is not None:
            tally.unconfirmed = (tally.unconfirmed or 0) + sum(1 for v in comparison.verdicts if v.status is self.unconfirmed)
        if change is not None:
            hit = any(v.subject == change.subject and self.family(v.metric) == change.family for v in failing)
            tally.detected = (tally.detected or 0) + hit
            if not hit:
                through = {v.subject for v in failing if v.subject in outcome.through and self.family(v.metric) == change.family}
                tests = f"; tests through it flagged: {len(through)}/{len(outcome.through)}" if change.inject.startswith("view-") else ""
                tally.missed.append(self.describe(comparison, change) + tests)
        ratio = rerun_ratio(outcome.run)
        if ratio is not None:
            tally.extra.append(ratio)
        tally.walls.append(outcome.wall / base_wall)

    def family(self, metric: str | None) -> str:
        if metric and (metric == "queries" or metric.startswith("queries.")):
            return "queries"
        return self.metric_kind(metric) if metric else ""

    def describe(self, comparison: Any, change: Change) -> str:
        """A missed change's subject: its figures for the family's metrics, baseline -> run, and what was said of it."""
        before, after = _metrics(self.baseline.latest, change.subject), _metrics(comparison.run, change.subject)
        shown = [
            f"{m} {before.get(m, 0):.4g} -> {value:.4g}"
            for m, value in sorted(after.items())
            if self.family(m) == change.family and value != before.get(m)
        ]
        said = [f"{v.metric}: {v.status.value}" for v in comparison.verdicts if v.subject == change.subject and v.metric]
        return f"{', '.join(shown) or 'unchanged'}; verdicts: {', '.join(said) or 'ok'}"


def _metrics(run: Any, subject: str) -> dict[str, float]:
    found = [t.metrics for t in run.tests if t.node_id == subject] + [u.metrics for u in run.urls if u.key == subject]
    return found[0] if found else {}


def rerun_ratio(run: Any) -> float | None:
    """The run-level ``confirmation``'s seconds rerunning over the main loop's seconds, None when absent."""
    found = getattr(run, "confirmation", None)
    if found is None:
        return None
    seconds, loop = (found.get(name) if isinstance(found, dict) else getattr(found, name, None) for name in ("seconds", "loop_seconds"))
    return seconds / loop if seconds is not None and loop else None


def bench(suite: Suite, load: int, args: argparse.Namespace, runner: Runner) -> list[Tally]:
    """Baseline, A/A and every change of ``suite`` with ``load`` busy loops beside the runs."""
    condition = f"{load} busy loops" if load else "quiet"
    print(f"\n{suite.name}, {condition}:", flush=True)
    base_dir = runner.workdir / f"{suite.name}-{load}-baseline"
    base_dir.mkdir()
    base_load = 0 if args.baseline_load == "none" else load
    with busy_loops(base_load):
        history = [runner.run(suite, base_dir / f"baseline{index}.ndjson") for index in range(args.history)]
    base_wall = statistics.median(outcome.wall for outcome in history)
    base_path = base_dir if args.history > 1 else base_dir / "baseline0.ndjson"
    judge = Judge([outcome.run for outcome in history], base_path, suite.project)
    latest = history[-1].run
    print(
        f"  {len(latest.tests)} tests, {len(latest.urls)} URLs; baseline of {args.history} run(s) "
        f"({'quiet' if not base_load else condition}), {base_wall:.1f} s; perfbudget {next(iter(history[-1].loaded))}"
    )
    subjects = {test.node_id for test in latest.tests} | {url.key for url in latest.urls}
    for change in suite.changes:
        if change.subject not in subjects:
            sys.exit(f"bench_noise: {suite.name}: {change.subject!r} ({change.case}) is not in the baseline run")
    tallies = []
    with busy_loops(load):
        for change, runs in [(None, args.runs)] + [(change, args.ab_runs) for change in suite.changes]:
            tally = Tally(change.case if change else "A/A")
            for index in range(runs):
                output = runner.workdir / f"{suite.name}-{load}-{tally.case.replace('/', '').replace(' ', '')}-{index}.ndjson"
                outcome = runner.run(suite, output, change.inject if change else "", base_path)
                judge.add(tally, outcome, base_wall, change)
            for missed in tally.missed[:3]:
                print(f"    {tally.case}: missed {change.subject if change else ''}: {missed}")
            tallies.append(tally)
    table(f"{suite.name}, {condition}", tallies)
    return tallies


def table(title: str, tallies: list[Tally]) -> None:
    header = ("case", "runs", "false alarms: runs / count / time", "detected", "unconfirmed", "rerun time", "wall vs base")
    rows = [header]
    for t in tallies:
        detected = "-" if t.detected is None else f"{t.detected}/{t.runs} ({t.detected / t.runs:.0%})"
        extra = f"{statistics.median(t.extra):.1%} (max {max(t.extra):.1%})" if t.extra else "n/a"
        rows.append(
            (
                t.case,
                str(t.runs),
                f"{t.alarm_runs}/{t.runs} runs, {t.count_alarms} count, {t.time_alarms} time",
                detected,
                "n/a" if t.unconfirmed is None else str(t.unconfirmed),
                extra,
                f"x{statistics.median(t.walls):.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"\n  {title}")
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("example", "generated", "both"), default="both")
    parser.add_argument(
        "--load",
        choices=("none", "busy", "both"),
        default="both",
        help="busy: two CPU-bound processes beside the runs (default: %(default)s)",
    )
    parser.add_argument(
        "--baseline-load",
        choices=("same", "none"),
        default="same",
        help="record the baseline under the runs' load (default) or on a quiet machine",
    )
    parser.add_argument("--runs", type=int, default=20, help="A/A runs (default: %(default)s)")
    parser.add_argument("--ab-runs", type=int, default=5, help="runs of each injected change (default: %(default)s)")
    parser.add_argument("--history", type=int, default=1, help="baseline runs (1: one target-branch run, as in CI)")
    parser.add_argument("--generated-tests", type=int, default=300, help="tests of the generated suite (default: %(default)s)")
    parser.add_argument("--rev", default="HEAD", help="git revision of perfbudget to run (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed to each pytest run (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (results files, logs)")
    args = parser.parse_args()
    if min(args.runs, args.ab_runs, args.history) < 1 or args.generated_tests < 10:
        parser.error("--runs, --ab-runs and --history must be at least 1, --generated-tests at least 10")

    workdir = Path(tempfile.mkdtemp(prefix="perfbudget-noise-"))
    try:
        copy = workdir / "perfbudget-rev"
        commit = archive_perfbudget(args.rev, copy)
        import_perfbudget(copy)
        print(f"perfbudget {args.rev} ({commit}), archived to {copy}\n{TARGETS}")
        runner = Runner(workdir, copy, args.timeout)
        suites = []  # written before any load starts: the generated suite calibrates its CPU loops
        if args.suite in ("example", "both"):
            suites.append(example_suite(workdir))
        if args.suite in ("generated", "both"):
            suites.append(generated_suite(workdir, args.generated_tests))
        loads = {"none": [0], "busy": [2], "both": [0, 2]}[args.load]
        for suite in suites:
            for load in loads:
                bench(suite, load, args, runner)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
