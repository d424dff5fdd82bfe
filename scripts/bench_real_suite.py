#!/usr/bin/env python
"""Does perfbudget judge real Django test suites right? A/A, serial against xdist, and one injected query.

Downloads the sdists of well-known Django projects whose sdist ships its tests
(pinned, into a cache directory; the cache is never modified), unpacks each
into a temporary directory and runs its suite as the README says,
``pytest --perf-budget``, against a quiet serial baseline run:

* A/A: ``--runs`` unchanged runs, each with two busy CPU loops beside it
  (``--no-load``: none); every failing verdict is a false alarm.
* serial against xdist: one run with ``-n WORKERS``; every failing verdict is
  a false alarm.
* injected query: a pytest plugin written to the temporary directory wraps one
  view's URL pattern callback to run one extra ``SELECT`` through the ORM; the
  failing verdicts must name the tests whose requests went through it, and its
  URL, and nothing else.

Other people edit the checkout while this runs, so perfbudget is taken from a
git revision (``--rev``, default HEAD) with ``git archive`` and put first on
the runs' PYTHONPATH, ahead of the editable install; every run says which
copy it loaded, and a run that loaded another is an error. Verdicts are read
with that copy's ``perfbudget compare --format json``.

Each project's missing test requirements are pip-installed into the current
environment (and printed); nothing else is fetched.

    python scripts/bench_real_suite.py                       # both projects, 3 A/A runs each
    python scripts/bench_real_suite.py --projects django-filter --runs 1 --no-load
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_harness import archive_perfbudget, busy_loops

CACHE = Path.home() / ".cache" / "perfbudget-bench"
FAILING = ("over_budget", "regressed")  # perfbudget.compare.verdicts.FAILING, as the JSON report spells it


@dataclass(frozen=True)
class Project:
    name: str  # PyPI name
    version: str
    pytest_args: tuple[str, ...]  # what its suite needs beyond `pytest` (settings)
    requires: tuple[tuple[str, str], ...]  # (import name, pip requirement) its tests need
    urlconf: str  # module whose urlpatterns hold the injected view
    route: str  # str() of that URL pattern (one without converters: perfbudget names its URL "METHOD /route")


PROJECTS = {
    # Its tests are Django TestCases run by runtests.py upstream; pytest-django with its own settings runs them.
    # test_views.py requests FilterView at /books/ through the test client.
    "django-filter": Project(
        "django-filter",
        "25.1",
        ("--ds=tests.settings",),
        (("rest_framework", "djangorestframework"), ("pytz", "pytz")),
        "tests.urls",
        "books/",
    ),
    # ~1,560 tests; tests/conftest.py configures settings itself. The session-authentication tests
    # POST and PUT to /session/ through APIClient (an ORM-backed session and user lookup per request).
    "djangorestframework": Project(
        "djangorestframework",
        "3.16.1",
        (),
        (("inflection", "inflection"), ("uritemplate", "uritemplate")),
        "tests.authentication.test_authentication",
        "session/",
    ),
}

_INJECT = '''
"""Loaded by bench_real_suite.py in every run: which perfbudget is loaded; on request, one extra query in one view."""
import functools
import importlib
import os
import sys

import pytest

PROBE = os.environ.get("BENCH_PROBE")
URLCONF = os.environ.get("BENCH_INJECT_URLCONF")
ROUTE = os.environ.get("BENCH_INJECT_ROUTE")
LOG = os.environ.get("BENCH_INJECT_LOG")


def pytest_configure(config):
    if PROBE:
        module = sys.modules.get("perfbudget.plugin")
        with open(PROBE, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {getattr(module, '__file__', None)}\\n")


def _with_extra_query(view):
    @functools.wraps(view)  # keeps view_class, csrf_exempt: the same view name and behaviour
    def extra_query(request, *args, **kwargs):
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(pk=-1).exists()
        if LOG:
            test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
            with open(LOG, "a", encoding="utf-8") as handle:
                handle.write(f"{request.method} {request.path} {test}\\n")
        return view(request, *args, **kwargs)

    return extra_query


def pytest_collection_finish(session):
    # After collection Django is set up (the test modules imported its models), before any request.
    if not URLCONF:
        return
    patterns = importlib.import_module(URLCONF).urlpatterns
    found = [p for p in patterns if hasattr(p, "callback") and str(p.pattern) == ROUTE]
    if len(found) != 1:
        raise pytest.UsageError(f"bench_inject: {len(found)} URL patterns {ROUTE!r} in {URLCONF}, expected 1")
    found[0].callback = _with_extra_query(found[0].callback)
'''


@dataclass
class Result:
    label: str
    path: Path
    wall: float
    exit_code: int
    loaded: set[str] = field(default_factory=set)  # perfbudget.plugin files the run's processes loaded
    last_lines: list[str] = field(default_factory=list)  # pytest's closing lines: perfbudget's verdict, the outcome


class Bench:
    """One project's temporary copy, the perfbudget copy beside it, and the runs."""

    def __init__(self, project: Project, source: Path, workdir: Path, timeout: float):
        self.project, self.source, self.workdir, self.timeout = project, source, workdir, timeout
        self.pythonpath = os.pathsep.join([str(workdir / "perfbudget-rev"), str(workdir / "plugins"), str(source)])

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "PYTEST_", "DJANGO_SETTINGS"))}
        return dict(env, PYTHONPATH=self.pythonpath, **extra)

    def pytest(self, label: str, *args: str, perf: bool = True, inject: bool = False) -> Result:
        output = self.workdir / f"{self.project.name}-{label}.ndjson"
        probe = self.workdir / f"{self.project.name}-{label}.probe"
        extra = {"BENCH_PROBE": str(probe)}
        if inject:
            extra.update(
                BENCH_INJECT_URLCONF=self.project.urlconf, BENCH_INJECT_ROUTE=self.project.route, BENCH_INJECT_LOG=str(self.injected_log)
            )
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_inject", *self.project.pytest_args, *args]
        if perf:
            command += ["--perf-budget", f"--perf-output={output}"]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=self.source, env=self.env(**extra), capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            sys.exit(f"bench_real_suite: {self.project.name} {label}: no result within {self.timeout:g} s: {shlex.join(command)}")
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1) or (perf and not output.exists()):
            sys.exit(
                f"bench_real_suite: {self.project.name} {label} failed to run ({done.returncode}): {shlex.join(command)}\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        loaded = {line.split(" ", 1)[1] for line in probe.read_text(encoding="utf-8").splitlines()} if probe.exists() else set()
        expected = str(self.workdir / "perfbudget-rev" / "perfbudget" / "plugin" / "__init__.py")
        if loaded != {expected}:
            sys.exit(f"bench_real_suite: {self.project.name} {label} loaded perfbudget from {sorted(loaded)}, not {expected}")
        (self.workdir / f"{self.project.name}-{label}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        return Result(label, output, wall, done.returncode, loaded, [line for line in done.stdout.splitlines() if line.strip()][-2:])

    @property
    def injected_log(self) -> Path:
        return self.workdir / f"{self.project.name}-injected.requests"

    def compare(self, run: Result, base: Result) -> dict:
        command = [sys.executable, "-m", "perfbudget.cli", "compare", str(run.path), f"--baseline={base.path}", "--format=json"]
        done = subprocess.run(command, cwd=self.source, env=self.env(), capture_output=True, text=True, timeout=self.timeout)
        if done.returncode not in (0, 1):
            sys.exit(f"bench_real_suite: perfbudget compare exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return json.loads(done.stdout)


def fetch(project: Project) -> Path:
    """The cached sdist of ``project`` (downloaded from PyPI once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = f"{project.name.replace('-', '_')}-{project.version}"
    for name in (stem, f"{project.name}-{project.version}"):
        if (CACHE / f"{name}.tar.gz").exists():
            return CACHE / f"{name}.tar.gz"
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{project.name}=={project.version}",
        "-d",
        str(CACHE),
    ]
    print(f"downloading {project.name}=={project.version} into {CACHE}", flush=True)
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    found = sorted(CACHE.glob(f"*{project.version}.tar.gz"))
    found = [f for f in found if f.name.lower().replace("_", "-").startswith(project.name.lower())]
    if not found:
        sys.exit(f"bench_real_suite: pip download left no sdist of {project.name}=={project.version} in {CACHE}")
    return found[0]


def unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def ensure_requirements(project: Project) -> None:
    """pip-install what the project's tests import and this environment lacks; say so."""
    missing = [requirement for module, requirement in project.requires if importlib.util.find_spec(module) is None]
    if not missing:
        print(f"  test requirements present: {', '.join(r for _, r in project.requires)}")
        return
    print(f"  installing the missing test requirements: {' '.join(missing)}", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True, timeout=600)


def confirmation(path: Path) -> str:
    """The run-level ``confirmation`` (reruns of suspects) of a results file, or "n/a"."""
    opener = gzip.open if path.name.endswith(".gz") else open
    found = None
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(('{"type":"run"', '{"type":"end"')):
                found = json.loads(line).get("confirmation", found)
    if not found:
        return "n/a"
    shown = {key: found[key] for key in ("seconds", "loop_seconds", "tests", "rounds") if key in found}
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in (shown or found).items())


def failing(comparison: dict) -> list[dict]:
    return [v for v in comparison["verdicts"] if v["status"] in FAILING]


def report(case: str, run: Result, base: Result, comparison: dict, show: int) -> list[dict]:
    bad = failing(comparison)
    print(
        f"  {case}: {len(bad)} failing verdicts ({comparison['summary']}); wall {run.wall:.1f} s = "
        f"x{run.wall / base.wall:.2f} the baseline run; pytest exit {run.exit_code}; "
        f"confirmation: {confirmation(run.path)}"
    )
    if run.exit_code:
        print(f"    pytest ended: {' | '.join(run.last_lines)}")
    for verdict in bad[:show]:
        print(f"    {verdict['status']} {verdict['subject_kind']} {verdict['subject']} {verdict['metric']}: {verdict['reason']}")
    if len(bad) > show:
        print(f"    ... and {len(bad) - show} more")
    return bad


def judge_injection(bench: Bench, bad: list[dict]) -> bool:
    """Do the failing query verdicts name exactly the tests and URLs whose requests ran the extra query?

    The URLs are the route with every method the log saw (a view can serve POST and PUT).
    Failing verdicts on other metrics are counted apart: timing false alarms, as in an A/A run.
    """
    log = bench.injected_log.read_text(encoding="utf-8").splitlines() if bench.injected_log.exists() else []
    requests = [line.split(" ", 2) for line in log]
    tests = {test for _, _, test in requests}
    urls = {f"{method} /{bench.project.route}" for method, _, _ in requests}
    queries = [v for v in bad if (v["metric"] or "").startswith("queries")]
    named = {(v["subject_kind"], v["subject"]) for v in queries}
    named_tests, named_urls = {s for k, s in named if k == "test"}, {s for k, s in named if k == "url"}
    print(
        f"    injected into /{bench.project.route} ({bench.project.urlconf}): {len(requests)} requests by {len(tests)} tests; "
        f"query verdicts name {len(tests & named_tests)}/{len(tests)} of those tests and {len(urls & named_urls)}/{len(urls)} "
        f"URLs ({', '.join(sorted(urls))}), {len(named_tests - tests)} other tests, {len(named_urls - urls)} other URLs; "
        f"{len(bad) - len(queries)} failing verdicts on other metrics"
    )
    for kind, subject in sorted({("test", t) for t in tests - named_tests} | {("url", u) for u in urls - named_urls}):
        print(f"    not named: {kind} {subject}")
    for kind, subject in sorted({("test", t) for t in named_tests - tests} | {("url", u) for u in named_urls - urls}):
        print(f"    named but not injected: {kind} {subject}")
    return bool(tests) and named_tests == tests and named_urls == urls


def bench_project(project: Project, args: argparse.Namespace, workdir: Path) -> dict[str, int | str]:
    sdist = fetch(project)
    print(f"\n{project.name} {project.version} ({sdist.name})", flush=True)
    ensure_requirements(project)
    projdir = workdir / project.name
    projdir.mkdir()
    bench = Bench(project, unpack(sdist, projdir), workdir, args.timeout)
    plain = bench.pytest("plain", perf=False)
    base = bench.pytest("baseline")
    print(
        f"  plain pytest {plain.wall:.1f} s (exit {plain.exit_code}); baseline with --perf-budget {base.wall:.1f} s "
        f"= x{base.wall / plain.wall:.2f} plain; confirmation: {confirmation(base.path)}"
    )
    counts: dict[str, int | str] = {}

    alarms = 0
    load = 0 if args.no_load else 2
    with busy_loops(load):
        for index in range(args.runs):
            run = bench.pytest(f"aa{index + 1}", f"--perf-baseline={base.path}")
            comparison = bench.compare(run, base)
            alarms += len(report(f"A/A {index + 1} ({load} busy loops)", run, base, comparison, args.show))
    counts["A/A"] = alarms
    info = comparison["run"]
    print(f"  (suite: {info['tests']} tests, {info['urls']} URLs)")

    run = bench.pytest(f"xdist{args.workers}", f"-n={args.workers}", f"--perf-baseline={base.path}")
    counts[f"serial vs -n {args.workers}"] = len(report(f"serial vs -n {args.workers}", run, base, bench.compare(run, base), args.show))

    run = bench.pytest("injected", f"--perf-baseline={base.path}", inject=True)
    comparison = bench.compare(run, base)
    bad = report("injected query", run, base, comparison, args.show)
    counts["injected query named as expected"] = "yes" if judge_injection(bench, bad) else "no"
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default=",".join(PROJECTS), help="comma-separated, of: %(default)s")
    parser.add_argument("--runs", type=int, default=3, help="A/A runs per project (default: %(default)s)")
    parser.add_argument("--rev", default="HEAD", help="git revision of perfbudget to run (default: %(default)s)")
    parser.add_argument("--no-load", action="store_true", help="A/A runs without the two busy CPU loops")
    parser.add_argument("--workers", type=int, default=4, help="pytest-xdist workers of the xdist run (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (results files, logs)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds allowed to each pytest run (default: %(default)s)")
    parser.add_argument("--show", type=int, default=15, help="failing verdicts printed per case (default: %(default)s)")
    args = parser.parse_args()
    unknown = sorted(set(args.projects.split(",")) - set(PROJECTS))
    if unknown:
        parser.error(f"unknown project {unknown[0]!r}; choose from {', '.join(PROJECTS)}")

    workdir = Path(tempfile.mkdtemp(prefix="perfbudget-real-"))
    try:
        commit = archive_perfbudget(args.rev, workdir / "perfbudget-rev")
        (workdir / "plugins").mkdir()
        (workdir / "plugins" / "bench_inject.py").write_text(_INJECT, encoding="utf-8")
        print(f"perfbudget {args.rev} ({commit}), archived to {workdir / 'perfbudget-rev'}")
        totals = {name: bench_project(PROJECTS[name], args, workdir) for name in args.projects.split(",")}
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\nfailing verdicts (target: 0 for A/A and xdist; the injected query named as expected):")
    for name, counts in totals.items():
        print(f"  {name}: " + ", ".join(f"{case} {n}" for case, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
