"""``PerfBudgetRunner``: Django's own test runner (``manage.py test``), recording what ``pytest --perf-budget`` records.

Set it with ``TEST_RUNNER = "perfbudget.django.PerfBudgetRunner"`` (or
``manage.py test --testrunner perfbudget.django.PerfBudgetRunner``) and
switch recording on with ``--perf-budget`` or ``PERFBUDGET=1``; without
either it is Django's ``DiscoverRunner``, unchanged. The other options can
come from the environment too (``PERFBUDGET_OUTPUT``, ``PERFBUDGET_BASELINE``,
``PERFBUDGET_BUDGET_FILE``, ``PERFBUDGET_REPORT_ONLY``): the action sets
them for whatever test command it runs.

Each test (``setUp``, the test, ``tearDown``) is one recording of the same
collectors the pytest plugin installs (SQL, test-client requests, cache,
templates, signals, network), and its record carries a pytest-style node id
(``shop/tests.py::ShopTests::test_list``), so a baseline recorded under
either runner compares with the other. The results file is the plugin's, so
``perfbudget compare``, the reports and the action work unchanged. The run is
judged once at the end, and failing budgets or regressions fail the run
unless ``--perf-budget-report-only``.

Under ``--parallel``, Django runs test classes in worker processes: each
worker records its tests to a stream of its own and the runner merges them
into the one results file (``perfbudget/django/parallel.py``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.test.runner import DiscoverRunner

from perfbudget.collect import metadata
from perfbudget.django.parallel import STREAMS_VARIABLE, RecordingParallelTestSuite
from perfbudget.django.results import recording_result
from perfbudget.django.session import RunnerSession

DEFAULT_OUTPUT = Path(".perfbudget") / "results.ndjson.gz"


class PerfBudgetRunner(DiscoverRunner):
    """Django's ``DiscoverRunner`` that records each test under ``--perf-budget`` (or ``PERFBUDGET=1``)."""

    def __init__(
        self,
        *args: Any,
        perf_budget: bool = False,
        perf_output: str | None = None,
        perf_baseline: str | None = None,
        perf_budget_file: str | None = None,
        perf_budget_report_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        env = os.environ
        self.perf_enabled = perf_budget or _on(env.get("PERFBUDGET"))
        # The options, or the variables the action sets for any test command (pytest reads PYTEST_ADDOPTS instead).
        output = perf_output or env.get("PERFBUDGET_OUTPUT")
        self.perf_output = Path(output) if output else DEFAULT_OUTPUT
        self.perf_baseline = perf_baseline or env.get("PERFBUDGET_BASELINE") or None
        self.perf_budget_file = perf_budget_file or env.get("PERFBUDGET_BUDGET_FILE") or None
        self.perf_report_only = perf_budget_report_only or _on(env.get("PERFBUDGET_REPORT_ONLY"))
        if self.perf_enabled:  # under --parallel the workers record (perfbudget/django/parallel.py)
            self.parallel_test_suite = RecordingParallelTestSuite
        self.perf_session: RunnerSession | None = None

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        super().add_arguments(parser)
        group = parser.add_argument_group("perfbudget")
        group.add_argument("--perf-budget", action="store_true", help="record SQL, requests, time and more per test (or PERFBUDGET=1)")
        group.add_argument("--perf-output", metavar="PATH", help=f"results file (default {DEFAULT_OUTPUT})")
        group.add_argument("--perf-baseline", metavar="PATH", help="results file or directory of past results to compare with")
        group.add_argument("--perf-budget-file", metavar="FILE", help="budget file (default perfbudget.yaml, or [tool.perfbudget])")
        group.add_argument("--perf-budget-report-only", action="store_true", help="report budgets and regressions without failing the run")

    def get_resultclass(self) -> Any:
        base = super().get_resultclass() or unittest.TextTestResult
        if not self.perf_enabled or self.perf_session is None:
            return base
        return recording_result(base, self.perf_session)

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        if not self.perf_enabled:
            return super().run_suite(suite, **kwargs)
        if self.perf_output.is_dir():  # before any collector is installed: a usage mistake, said in one line
            raise SystemExit(f"perfbudget: --perf-output {self.perf_output} is a directory; give a file such as {DEFAULT_OUTPUT}")
        session = RunnerSession(Path.cwd(), self.perf_output, self.perf_baseline, self.perf_budget_file)
        parallel = isinstance(suite, RecordingParallelTestSuite)
        saved = {name: os.environ.get(name) for name in (STREAMS_VARIABLE, "PERFBUDGET_BUDGET_FILE")}
        streams = None
        if parallel:  # the workers record; this process replays their results and merges their streams
            parent = self.perf_output.parent
            parent.mkdir(parents=True, exist_ok=True)
            for stale in parent.glob(f".{self.perf_output.name}.workers-*"):  # a killed run's leftovers
                shutil.rmtree(stale, ignore_errors=True)
            streams = Path(tempfile.mkdtemp(prefix=f".{self.perf_output.name}.workers-", dir=parent))
            os.environ[STREAMS_VARIABLE] = str(streams.resolve())
            if self.perf_budget_file:
                os.environ["PERFBUDGET_BUDGET_FILE"] = self.perf_budget_file
            session.run = metadata.new_run(Path.cwd(), workers=suite.processes)
            session.open(self.perf_output)
        else:
            session.start()
            self.perf_session = session  # get_resultclass records in this process
        result = None
        try:
            result = super().run_suite(suite, **kwargs)
            return result
        finally:
            for name, value in saved.items():  # nothing of this run leaks into a later one
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            # Stopped early by Ctrl-C (unittest's handler only asks the run to stop), not by --failfast.
            interrupted = result is None or (result.shouldStop and not self.failfast)
            self.perf_session = session
            _guarded("merging the workers' results", lambda: session.merge(streams) if streams is not None else None)
            _guarded("writing and judging the results", lambda: session.finish(interrupted))

    def suite_result(self, suite: Any, result: Any, **kwargs: Any) -> int:
        failures = super().suite_result(suite, result, **kwargs)
        session = self.perf_session
        if session is not None and session.failed and not self.perf_report_only:
            return failures + 1  # budgets or regressions fail the run, as they fail pytest's
        return failures


def _on(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def _guarded(doing: str, step: Callable[[], object]) -> None:
    """perfbudget's own problems are a warning line; they never replace Django's result."""
    try:
        step()
    except Exception as exc:
        print(f"perfbudget: {doing} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
