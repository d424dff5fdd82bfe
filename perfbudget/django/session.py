"""``manage.py test`` under perfbudget: unittest's events translated into the one recording session's calls.

The recording is ``collect.session.RecordingSession``'s, the end of the run
``frontend.finish``'s and the timing reruns ``frontend.suspects``', as for
``pytest --perf-budget``: the same warm-up, ``--perf-memory``,
``--perf-report`` and confirmation by rerunning suspects. This module only
knows unittest: a test's outcome, its pytest-style node id, and how to run
one test again. Problems while recording are printed as warnings and never
change a test's outcome.
"""

from __future__ import annotations

import sys
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfbudget.budgets import BudgetError, load_project_budgets
from perfbudget.collect import metadata
from perfbudget.collect.recording import CollectSettings
from perfbudget.collect.session import RecordingSession, TestRecording
from perfbudget.config.options import PerfOptions
from perfbudget.django.names import where
from perfbudget.report.escape import terminal_line
from perfbudget.run.model import Confirmation, TestRecord

if TYPE_CHECKING:
    from perfbudget.frontend.suspects import TimingWatch

# Django's test modules: tests.py and tests/ packages as well as pytest's names.
TEST_FILES = ("tests.py", "test_*.py", "*_test.py", "*_tests.py", "conftest.py")


def warn(message: str) -> None:
    """One line on stderr: it may quote a test id, a path or a value read from a file, so control characters are shown as escapes."""
    print(terminal_line(message), file=sys.stderr)


def usage_error(message: str) -> SystemExit:
    """A perfbudget usage mistake under ``manage.py test``: one line, and exit 2 before any test runs.

    2 is what ``manage.py test`` exits with for a bad option of its own
    (argparse), so it tells a mistake from failing tests (1); pytest's
    plugin exits with pytest's usage error (4) for the same mistakes.
    """
    warn(message)
    return SystemExit(2)


class RunnerSession:
    """One process's recording under Django's runner: the main process of a serial run, or a ``--parallel`` worker."""

    def __init__(self, rootdir: Path, options: PerfOptions) -> None:
        self.rootdir, self.options = rootdir, options
        try:
            self.budgets = load_project_budgets(rootdir, options.budget_file)
        except BudgetError as exc:  # as with pytest: a broken budget file is the user's first fix
            raise usage_error(f"perfbudget: {exc}") from exc
        settings = CollectSettings(
            rootdir=rootdir,
            django=True,
            store_sql_params=options.sql_params,
            memory=options.memory,
            n_plus_one_threshold=self.budgets.n_plus_one_threshold,
            warmup_functions=self.budgets.warmup_functions,
            test_files=TEST_FILES,
        )
        self.recording = RecordingSession(settings, warn)
        self.run = metadata.new_run(rootdir, workers=0)
        self.failed = False
        self.watch: TimingWatch | None = None  # in a serial run with reruns on
        self.confirmation: Confirmation | None = None
        self._unit: TestRecording | None = None
        self._outcome = "passed"
        self._capture: list[TestRecord] | None = None  # set while a test is rerun: its record is kept, not streamed
        self._tests: dict[str, tuple[type[unittest.TestCase], str]] = {}  # node id -> (class, method), to rerun

    def install(self) -> None:
        """The collectors and the warm-up, once per process (a --parallel worker keeps them for every test class it runs)."""
        self.recording.install()
        if self.options.warm_up:
            self.recording.warm_up()

    def start(self) -> None:
        """Before the first test of a serial run: the results file, collectors, warm-up, the calibration loop.

        ``ResultsError`` when the results file cannot be written, before anything is installed.
        """
        self.recording.open_stream(self.options.output, self.run)
        self.install()
        if self.options.confirm_rounds:
            from perfbudget.frontend.suspects import TimingWatch

            self.watch = TimingWatch(self.options, self.budgets, warn)
            self.recording.on_stream.append(self.watch.note)
            self.watch.start()

    # --- per test (called by django/results.py's result class) ---------------------

    def start_test(self) -> None:
        if self.watch is not None and self._capture is None:
            self.watch.tick()
        self._unit, self._outcome = self.recording.begin(phased=False), "passed"

    def outcome(self, outcome: str) -> None:
        """The test's outcome as pytest would count it; a failure is not undone by a later subtest's pass."""
        if self._outcome == "passed" or outcome == "failed":
            self._outcome = outcome

    def stop_test(self, test: Any) -> None:
        unit, self._unit = self._unit, None
        if unit is None:
            return
        try:
            self.recording.end(unit)
            node_id, file, line = where(test, self.rootdir)
            record = self.recording.record(unit, node_id=node_id, file=file, line=line, outcome=self._outcome)
            if self._capture is not None:
                self._capture.append(record)
            else:
                self.recording.stream(record)
        except Exception as exc:  # never a test's problem: say it and go on
            warn(f"perfbudget: recording {getattr(test, 'id', lambda: '?')()} failed: {type(exc).__name__}: {exc}")

    # --- after the tests ---------------------------------------------------------------

    def remember(self, suite: Any) -> None:
        """Before the run: which test is which, for rerunning suspects (unittest drops each test from its suite once run)."""
        if self.watch is not None:
            self._tests = {where(test, self.rootdir)[0]: (type(test), test._testMethodName) for test in _flatten(suite)}

    def confirm(self, result_class: type) -> None:
        """Rerun this run's timing suspects, each test alone with its class's set-up, unreported."""
        if self.watch is None:
            return
        tests = self._tests
        positions = {node_id: index for index, node_id in enumerate(tests)}

        def run_once(node_id: str, following: str | None) -> TestRecord | None:
            if node_id not in tests:
                return None
            case, method = tests[node_id]
            captured: list[TestRecord] = []
            self._capture = captured
            try:
                # A fresh instance of the test, in a suite of its own: setUpClass (and a TestCase's
                # setUpTestData) runs again around it, as it would for that class alone.
                unittest.TestSuite([case(method)]).run(result_class())
            finally:
                self._capture = None
            return captured[-1] if captured else None

        self.confirmation = self.watch.confirm(self.recording, run_once, lambda node_id: positions.get(node_id, 0), self.run.project)

    def merge(self, streams: Path) -> None:
        """Copy the --parallel workers' test lines into the results file, then drop their streams."""
        self.recording.merge(streams)

    def finish(self, interrupted: bool) -> None:
        """Remove the collectors, complete the results file, judge it and print the summary and the verdict."""
        from perfbudget.frontend.finish import finish_run

        self.recording.close()
        self.run.finished = metadata.utc_now()
        self.run.interrupted = interrupted
        self.run.environment.update(metadata.database_fingerprint())
        if self.confirmation is not None:
            self.run.confirmation = self.confirmation
        path = self.recording.close_stream(self.run)
        if path is None:
            return
        finished = finish_run(path, self.budgets, self.options, warn)
        print("\n" + "\n".join(finished.summary), file=sys.stderr)
        if finished.outcome is not None:
            for line in finished.outcome.lines:
                print(line, file=sys.stderr)
            self.failed = finished.outcome.failed


def _flatten(suite: Any) -> Iterator[unittest.TestCase]:
    """Every test case of a (possibly nested, possibly parallel) suite, in run order."""
    for test in getattr(suite, "subsuites", None) or suite:
        if test is None:  # already run and dropped
            continue
        if isinstance(test, unittest.TestCase):
            yield test
        else:
            yield from _flatten(test)
