"""``PerfBudgetRunner``: Django's own test runner (``manage.py test``), recording what ``pytest --perf-budget`` records.

Set it with ``TEST_RUNNER = "perfbudget.django.PerfBudgetRunner"`` (or
``manage.py test --testrunner perfbudget.django.PerfBudgetRunner``) and
switch recording on with ``--perf-budget`` or ``PERFBUDGET=1``; without
either it is Django's ``DiscoverRunner``, unchanged. Its options are the
pytest plugin's, declared once in ``perfbudget.config.options``; some can
come from the environment too (``PERFBUDGET_OUTPUT``, ``PERFBUDGET_BASELINE``,
``PERFBUDGET_BUDGET_FILE``, ``PERFBUDGET_REPORT_ONLY``, ``PERFBUDGET_REPORT``):
the action sets them for whatever test command it runs. As under pytest, a
mistake in them (a bad number, a ``--perf-output`` that is a symlink, a
directory or a device, a broken budget file) is one line before any test
runs, and exits 2 (``manage.py test``'s usage error); a results file that
cannot be written (a read-only directory) is a warning, and the tests run
unrecorded with their own exit code.

Each test (``setUp``, the test, ``tearDown``) is one recording of the same
collectors the pytest plugin installs (SQL, test-client requests, cache,
templates, signals, network), and its record carries a pytest-style node id
(``shop/tests.py::ShopTests::test_list``), so a baseline recorded under
either runner compares with the other. The results file is the plugin's, so
``perfbudget compare``, the reports and the action work unchanged. The run is
judged once at the end, and failing budgets or regressions fail the run
unless ``--perf-budget-report-only``. As under pytest, the process is
warmed up before its first test, and timing suspects are rerun after the
tests (serial runs: under ``--parallel`` the test databases of the workers
are gone by then, so their times are judged without reruns).

Under ``--parallel``, Django runs test classes in worker processes: each
worker records its tests to a stream of its own and the runner merges them
into the one results file (``perfbudget/django/parallel.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.test.runner import DiscoverRunner

from perfbudget.collect import metadata
from perfbudget.config import options as shared
from perfbudget.django.parallel import OPTIONS_VARIABLE, STREAMS_VARIABLE, RecordingParallelTestSuite, worker_options
from perfbudget.django.results import recording_result
from perfbudget.django.session import RunnerSession, usage_error, warn
from perfbudget.run.decode import ResultsError
from perfbudget.run.write import check_output_path


class PerfBudgetRunner(DiscoverRunner):
    """Django's ``DiscoverRunner`` that records each test under ``--perf-budget`` (or ``PERFBUDGET=1``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ours by dest (perf_output...), the command line's first, else the variables the action sets.
        given = {option.dest: kwargs.pop(option.dest, None) for option in shared.RECORDING}
        super().__init__(*args, **kwargs)
        values = {**shared.from_environment(os.environ), **{dest: value for dest, value in given.items() if not shared.is_unset(value)}}
        self.perf_enabled = bool(values.get(shared.SWITCH.dest))
        try:
            self.perf_options = shared.read_options(values, base=Path())  # paths stay as given: relative to here
        except shared.OptionError as exc:
            raise usage_error(str(exc)) from None
        if self.perf_enabled:  # under --parallel the workers record (perfbudget/django/parallel.py)
            try:  # before the test databases are made: a symlink, directory or device is a usage mistake, as under pytest
                check_output_path(self.perf_options.output)
            except ResultsError as exc:
                raise usage_error(f"perfbudget: --perf-output {exc}") from None
            self.parallel_test_suite = RecordingParallelTestSuite
        self.perf_session: RunnerSession | None = None

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        super().add_arguments(parser)
        shared.add_options(parser.add_argument_group("perfbudget").add_argument, shared.RECORDING)

    def get_resultclass(self) -> Any:
        base = super().get_resultclass() or unittest.TextTestResult
        if not self.perf_enabled or self.perf_session is None:
            return base
        return recording_result(base, self.perf_session)

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        if not self.perf_enabled:
            return super().run_suite(suite, **kwargs)
        session = RunnerSession(Path.cwd(), self.perf_options)
        parallel = isinstance(suite, RecordingParallelTestSuite)
        saved = {name: os.environ.get(name) for name in (STREAMS_VARIABLE, OPTIONS_VARIABLE)}
        streams = None
        try:
            if parallel:  # the workers record; this process replays their results and merges their streams
                session.run = metadata.new_run(Path.cwd(), workers=suite.processes)
                streams = self._start_parallel(session)
            else:
                session.start()
                session.remember(suite)
                self.perf_session = session  # get_resultclass records in this process
        except ResultsError as exc:
            # As under pytest: a results file that cannot be written is a warning, the tests run unrecorded
            # and the exit code is theirs. (Nothing was installed: the file is opened first.)
            warn(f"perfbudget: --perf-output {exc}; the tests run unrecorded")
            session.recording.abandon_stream()
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
            if not parallel and result is not None and not result.shouldStop:  # neither interrupted nor --failfast
                quiet = recording_result(unittest.TestResult, session)
                _guarded("rerunning timing suspects", lambda: session.confirm(quiet))
            self.perf_session = session
            _guarded("merging the workers' results", lambda: session.merge(streams) if streams is not None else None)
            _guarded("writing and judging the results", lambda: session.finish(interrupted))

    def _start_parallel(self, session: RunnerSession) -> Path:
        """Open the results file, then the workers' stream directory beside it, and tell the workers (their environment)."""
        output = self.perf_options.output
        session.recording.open_stream(output, session.run)  # it makes the directory
        for stale in output.parent.glob(f".{output.name}.workers-*"):  # a killed run's leftovers
            shutil.rmtree(stale, ignore_errors=True)
        try:
            streams = Path(tempfile.mkdtemp(prefix=f".{output.name}.workers-", dir=output.parent))
        except OSError as exc:
            raise ResultsError(f"{output}: cannot make the workers' stream directory beside it ({exc.strerror})") from exc
        os.environ[STREAMS_VARIABLE] = str(streams.resolve())
        os.environ[OPTIONS_VARIABLE] = worker_options(self.perf_options)
        return streams

    def suite_result(self, suite: Any, result: Any, **kwargs: Any) -> int:
        failures = super().suite_result(suite, result, **kwargs)
        session = self.perf_session
        if session is not None and session.failed:
            return failures + 1  # budgets or regressions fail the run (after_run already heeds report-only)
        return failures


def _guarded(doing: str, step: Callable[[], object]) -> None:
    """perfbudget's own problems are a warning line; they never replace Django's result."""
    try:
        step()
    except Exception as exc:
        warn(f"perfbudget: {doing} failed: {type(exc).__name__}: {exc}")
