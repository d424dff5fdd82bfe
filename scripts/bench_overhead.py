#!/usr/bin/env python
"""Measure what ``--perf-budget`` costs: the same suites with and without it.

Runs the example project's suite and a generated suite of Django tests (each
creates rows, queries and makes a test-client request, reusing the example's
settings), alternating plugin off/on in every round so that a slow moment of
the machine hits both sides, then prints the median wall time of each and the
overhead ratio. Three figures per run: the whole process's wall time (what a
user waits for, interpreter and Django start-up included), pytest's own
session time (the "in 1.23s" it prints), and the CPU time the process used
(user + system), which a busy machine disturbs much less than wall time.

    python scripts/bench_overhead.py                 # 5 rounds, both suites
    python scripts/bench_overhead.py --repeats 9 --suite example
    python scripts/bench_overhead.py --generated-tests 600 --extra-args="-n 2"
    python scripts/bench_overhead.py --plugin-args=--perf-memory   # what memory tracing adds

``--per-query`` instead times one SQL query in this process, on an
in-memory SQLite database: the same cursor ``execute`` with no hook,
under a bare counting ``execute_wrapper``, under Django's
``CaptureQueriesContext`` (what ``assertNumQueries`` uses), and under
perfbudget's collectors with one open recording (a test) and with three
(a test, its call phase and a test-client request). perfbudget's figures
include summarising the recordings, amortised per query, since that is part
of what recording a query costs. Wall and CPU time are both shown; on a
busy machine the CPU time is the steadier of the two.

    python scripts/bench_overhead.py --per-query                  # 20,000 queries x 9 interleaved rounds
    python scripts/bench_overhead.py --per-query --queries 50000 --repeats 15
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example"
_SESSION_TIME = re.compile(r" in (\d+(?:\.\d+)?)s")

_GENERATED_TEST = """
def test_post_{n}(client, db, django_assert_num_queries):
    author = Author.objects.create(name="Author {n}", email="a{n}@example.com")
    post = Post.objects.create(author=author, title="Post {n}", body="Body {n}.")
    with django_assert_num_queries(5):
        response = client.get(f"/posts/{{post.pk}}/")
    assert response.status_code == 200
    assert Post.objects.filter(author=author).count() == 1
"""

_GENERATED_CONFTEST = """
import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # the sidebar is cached; every test starts cold, as in the example
"""


@dataclass
class Suite:
    name: str
    cwd: Path
    tests: int = 0
    off: list[tuple[float, float, float]] = field(default_factory=list)  # (process s, session s, CPU s)
    on: list[tuple[float, float, float]] = field(default_factory=list)


def write_generated_suite(root: Path, count: int, per_file: int = 50) -> None:
    """``count`` Django tests in files of ``per_file``, run with the example's settings."""
    (root / "pytest.ini").write_text(
        "[pytest]\n"
        "DJANGO_SETTINGS_MODULE = blogsite.settings\n"
        "django_find_project = false\n"
        f"pythonpath = {EXAMPLE}\n"
        "testpaths = gen_tests\n",
        encoding="utf-8",
    )
    tests = root / "gen_tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(_GENERATED_CONFTEST, encoding="utf-8")
    for start in range(0, count, per_file):
        body = "from blog.models import Author, Post\n" + "".join(
            _GENERATED_TEST.format(n=n) for n in range(start, min(start + per_file, count))
        )
        (tests / f"test_gen_{start // per_file:03d}.py").write_text(body, encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(suite: Suite, plugin: list[str] | None, output: Path, extra: list[str]) -> tuple[float, float, float]:
    """One run; ``plugin`` is None for the plugin off, else the extra plugin arguments."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    if plugin is not None:
        cmd += ["--perf-budget", f"--perf-output={output}", *plugin]
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, cwd=suite.cwd, capture_output=True, text=True, env=_env())
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode != 0:
        sys.exit(f"{suite.name}: {shlex.join(cmd)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    match = _SESSION_TIME.findall(done.stdout.strip().splitlines()[-1])
    passed = re.search(r"(\d+) passed", done.stdout)
    suite.tests = int(passed.group(1)) if passed else 0
    return elapsed, float(match[-1]) if match else elapsed, cpu


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)  # measure the plain command
    # Bytecode caches stay on: the warm-up run fills them, as a user's earlier runs would.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def overhead(off: tuple[float, ...], on: tuple[float, ...]) -> str:
    base = statistics.median(off)
    return f"{(statistics.median(on) / base - 1) * 100:+.1f} %" if base else "n/a"


def report(suites: list[Suite], repeats: int) -> None:
    print(f"\nmedian of {repeats} interleaved runs, plugin off -> on")
    header = f"{'suite':<12}{'tests':>6}  {'process wall':>28}  {'pytest session':>28}  {'process CPU':>28}"
    print(header)
    print("-" * len(header))
    for suite in suites:
        cells = []
        for off, on in zip(zip(*suite.off, strict=True), zip(*suite.on, strict=True), strict=True):
            cells.append(f"{statistics.median(off):6.2f}s ->{statistics.median(on):6.2f}s {overhead(off, on):>9}")
        print(f"{suite.name:<12}{suite.tests:>6}  " + "  ".join(f"{cell:>28}" for cell in cells))


# --- per-query microbenchmark ----------------------------------------------------


def configure_django() -> None:
    """Django on one in-memory SQLite database, configured in this process, no apps needed."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()


def run_queries(count: int) -> None:
    """The measured work: ``count`` executions of one parametrised statement, each with its own parameter.

    The cursor is made inside the hook: ``CaptureQueriesContext`` works by
    making new cursors the logging kind.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        execute = cursor.execute
        for number in range(count):
            execute("SELECT %s", [number])


# A hook is set up, then timed: the queries, then the ``finish`` it yields
# (perfbudget's summaries; nothing for the others). Installing perfbudget's
# collectors is left out: a session does it once, not once per query.
Finish = Callable[[], None]
Hook = Callable[[], contextlib.AbstractContextManager[Finish]]


def _nothing_to_finish() -> None:
    """Django's own hooks keep what they caught as they go."""


@contextlib.contextmanager
def no_hook() -> Iterator[Finish]:
    yield _nothing_to_finish


@contextlib.contextmanager
def counting_wrapper() -> Iterator[Finish]:
    """The cheapest hook Django offers: an ``execute_wrapper`` that only counts."""
    from django.db import connection

    calls = [0]

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        calls[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield _nothing_to_finish


@contextlib.contextmanager
def capture_queries() -> Iterator[Finish]:
    """What ``assertNumQueries`` and pytest-django's ``django_assert_num_queries`` run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection):
        yield _nothing_to_finish


def perfbudget_recording(nested: int) -> Hook:
    """perfbudget's Django collectors with ``nested`` recordings open; finishing stops and summarises them all."""

    @contextlib.contextmanager
    def hook() -> Iterator[Finish]:
        from perfbudget.collect import django as django_collectors
        from perfbudget.collect.recording import CollectSettings, Recorder
        from perfbudget.collect.summary import summarise

        settings = CollectSettings(rootdir=REPO, django=True)
        recorder = Recorder()
        uninstall = django_collectors.install(recorder, settings)
        try:
            recordings = [recorder.start() for _ in range(nested)]

            def finish() -> None:
                for recording in reversed(recordings):  # innermost first, as a request ends before its test
                    recorder.stop(recording)
                    summarise(recording, settings)

            yield finish
        finally:
            uninstall()

    return hook


PER_QUERY_HOOKS: dict[str, Hook] = {
    "nothing": no_hook,
    "counting execute_wrapper": counting_wrapper,
    "CaptureQueriesContext": capture_queries,
    "perfbudget, 1 recording": perfbudget_recording(1),
    "perfbudget, 3 recordings": perfbudget_recording(3),
}


def time_hook(hook: Hook, count: int) -> tuple[float, float]:
    """Wall and CPU µs per query of one round: ``count`` queries under ``hook``, and its ``finish``."""
    with hook() as finish:
        wall, cpu = time.perf_counter(), time.process_time()
        run_queries(count)
        finish()
        return (time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6


def per_query(count: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) µs per query of every hook, ``repeats`` rounds each, the hooks' order rotated every round.

    Rotating spreads a slow moment of the machine (and the garbage collector's
    rhythm) over all hooks instead of charging it to whichever runs at that time.
    """
    from django.db import connection

    configure_django()
    connection.ensure_connection()  # an open connection, as in a test, for the collectors to instrument
    names = list(PER_QUERY_HOOKS)
    for name in names:
        time_hook(PER_QUERY_HOOKS[name], count)  # warm-up: code paths, caches, allocator
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_no in range(repeats):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(time_hook(PER_QUERY_HOOKS[name], count))
        print(f"per-query: round {round_no + 1}/{repeats} done", file=sys.stderr, flush=True)
    return samples


def report_per_query(samples: dict[str, list[tuple[float, float]]], count: int, repeats: int) -> None:
    """Median wall and CPU µs per query of each hook, and what each adds to "nothing".

    CPU time (``time.process_time``) leaves out the time other processes held
    the CPU, so it is the steadier figure on a busy machine.
    """
    wall_base, cpu_base = (statistics.median(column) for column in zip(*samples["nothing"], strict=True))
    print(f"\nmedian of {repeats} interleaved rounds of {count:,} cursor queries (SELECT %s), in-memory SQLite, µs per query")
    header = f"{'hook':<28}{'wall':>8}{'overhead':>10}{'CPU':>8}{'overhead':>10}"
    print(header)
    print("-" * len(header))
    for name, rounds in samples.items():
        wall, cpu = (statistics.median(column) for column in zip(*rounds, strict=True))
        print(f"{name:<28}{wall:>8.2f}{wall - wall_base:>+10.2f}{cpu:>8.2f}{cpu - cpu_base:>+10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, help="rounds of off+on per suite (default 5), of all hooks with --per-query (default 9)")
    parser.add_argument("--suite", choices=["example", "generated", "all"], default="all")
    parser.add_argument("--generated-tests", type=int, default=300, help="size of the generated suite (default 300)")
    parser.add_argument("--extra-args", default="", help="more pytest arguments for both sides, e.g. '-n 2'")
    parser.add_argument("--plugin-args", default="", help="more arguments for the plugin-on side only, e.g. '--perf-memory'")
    parser.add_argument("--per-query", action="store_true", help="time one SQL query under each hook, in process, instead of the suites")
    parser.add_argument("--queries", type=int, default=20_000, help="queries per round with --per-query (default 20,000)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 9 if args.per_query else 5
    if args.repeats < 1 or args.generated_tests < 1:
        parser.error("--repeats and --generated-tests must be at least 1")
    if args.queries < 1:
        parser.error("--queries must be at least 1")
    if args.per_query:
        report_per_query(per_query(args.queries, args.repeats), args.queries, args.repeats)
        return 0
    extra, plugin_args = shlex.split(args.extra_args), shlex.split(args.plugin_args)
    with tempfile.TemporaryDirectory(prefix="perfbudget-bench-") as tmp:
        work = Path(tmp)
        suites = []
        if args.suite in ("example", "all"):
            suites.append(Suite("example", EXAMPLE))
        if args.suite in ("generated", "all"):
            generated = work / "generated"
            generated.mkdir()
            write_generated_suite(generated, args.generated_tests)
            suites.append(Suite("generated", generated))
        for suite in suites:
            run_once(suite, plugin_args, work / "warmup.ndjson", extra)  # fill OS and bytecode caches before timing
            for round_no in range(args.repeats):
                # alternate which side goes first, so drift over time hits both equally
                for plugin in (False, True) if round_no % 2 == 0 else (True, False):
                    sample = run_once(suite, plugin_args if plugin else None, work / f"{suite.name}.ndjson", extra)
                    (suite.on if plugin else suite.off).append(sample)
                print(f"{suite.name}: round {round_no + 1}/{args.repeats} done", file=sys.stderr)
        report(suites, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
