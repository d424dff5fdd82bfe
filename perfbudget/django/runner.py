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

import inspect
import os
import sys
import unittest
from pathlib import Path
from typing import Any

from django.test.runner import DiscoverRunner

from perfbudget.collect import metadata
from perfbudget.django.parallel import STREAMS_VARIABLE, RecordingParallelTestSuite
from perfbudget.django.session import RunnerSession

DEFAULT_OUTPUT = Path(".perfbudget") / "results.ndjson.gz"


class PerfBudgetRunner(DiscoverRunner):
    """Django's ``DiscoverRunner`` that records each test under ``--perf-budget`` (or ``PERFBUDGET=1``)."""

    parallel_test_suite = RecordingParallelTestSuite  # under --parallel the workers record (perfbudget/django/parallel.py)

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
        session = RunnerSession(Path.cwd(), self.perf_output, self.perf_baseline, self.perf_budget_file)
        parallel = isinstance(suite, RecordingParallelTestSuite)
        if parallel:  # the workers record; this process replays their results and merges their streams
            streams = self.perf_output.parent / f".{self.perf_output.name}.workers-{os.getpid()}"
            streams.mkdir(parents=True, exist_ok=True)
            os.environ[STREAMS_VARIABLE] = str(streams.resolve())
            if self.perf_budget_file:
                os.environ["PERFBUDGET_BUDGET_FILE"] = self.perf_budget_file
            session.run = metadata.new_run(Path.cwd(), workers=suite.processes)
            session.open(self.perf_output)
        else:
            session.start()
            self.perf_session = session  # get_resultclass records in this process
        interrupted = True
        try:
            result = super().run_suite(suite, **kwargs)
            interrupted = False
            return result
        finally:
            if parallel:
                session.merge(streams)
            self.perf_session = session
            session.finish(interrupted)

    def suite_result(self, suite: Any, result: Any, **kwargs: Any) -> int:
        failures = super().suite_result(suite, result, **kwargs)
        session = self.perf_session
        if session is not None and session.failed and not self.perf_report_only:
            return failures + 1  # budgets or regressions fail the run, as they fail pytest's
        return failures


def _on(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def recording_result(base: type, session: RunnerSession) -> type:
    """``base`` (Django's result class of the run) with each test recorded between startTest and stopTest."""

    class RecordingResult(base):  # type: ignore[misc, valid-type]
        def startTest(self, test: Any) -> None:
            session.start_test()
            super().startTest(test)

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            session.stop_test(*_where(test, session.rootdir))

        def addSuccess(self, test: Any) -> None:
            session.outcome("passed")
            super().addSuccess(test)

        def addFailure(self, test: Any, err: Any) -> None:
            session.outcome("failed")
            super().addFailure(test, err)

        def addError(self, test: Any, err: Any) -> None:
            session.outcome("failed")
            super().addError(test, err)

        def addSkip(self, test: Any, reason: str) -> None:
            session.outcome("skipped")
            super().addSkip(test, reason)

        def addExpectedFailure(self, test: Any, err: Any) -> None:
            session.outcome("xfailed")
            super().addExpectedFailure(test, err)

        def addUnexpectedSuccess(self, test: Any) -> None:
            session.outcome("xpassed")
            super().addUnexpectedSuccess(test)

        def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
            if err is not None:
                session.outcome("failed")
            super().addSubTest(test, subtest, err)

    return RecordingResult


def _where(test: Any, rootdir: Path) -> tuple[str, str, int | None]:
    """(node id, file, line) as pytest names the test: ``shop/tests.py::ShopTests::test_list``.

    A test without a method of its own (a class whose setUpClass failed) is
    named by its id.
    """
    cls = type(test)
    method = getattr(cls, getattr(test, "_testMethodName", ""), None)
    try:
        source = Path(inspect.getsourcefile(cls) or "")
        file = os.path.relpath(source, rootdir).replace(os.sep, "/") if source.is_absolute() else str(source)
        line = inspect.getsourcelines(method)[1] if method is not None else None
    except (TypeError, OSError):
        return test.id(), "", None
    if method is None:
        return test.id(), file, None
    return f"{file}::{cls.__qualname__.replace('.', '::')}::{test._testMethodName}", file, line
