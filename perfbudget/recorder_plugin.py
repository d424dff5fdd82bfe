"""The recording session: the plugin object ``pytest --perf-budget`` registers.

``plugin.py`` (the ``pytest11`` entry point) registers one ``PerfBudgetPlugin``
when recording is on. It installs the collectors, opens and closes a
recording around each test, carries per-test records from xdist workers to
the controller, writes the results, runs the after-run pipeline and prints the
terminal summary. Collectors, Django support, the results model and the
pipeline are imported inside its methods, once the feature is on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfbudget.collect.memory import MemoryTracker
    from perfbudget.collect.network import NetworkCollector
    from perfbudget.collect.per_test import TestState
    from perfbudget.collect.recording import CollectSettings, Recorder
    from perfbudget.plugin import PerfOptions
    from perfbudget.results import Run, TestRecord

# Where a test's record rides from the process that ran it to the one that
# writes the results: an attribute of its teardown report, as a JSON-able dict
# (xdist serialises every report attribute; pytest's reports.py:_report_to_json).
REPORT_ATTR = "perfbudget_record"
WORKER_PROBLEMS = "perfbudget_problems"  # workeroutput key: a worker's warnings, for the controller

_TEST_KEY: pytest.StashKey[TestState] = pytest.StashKey()


class PerfBudgetWarning(pytest.PytestWarning):
    """perfbudget could not record or report something; the test run itself is unaffected."""


class PerfBudgetPlugin:
    """Records every test run in this process; the writing process also writes the results.

    An xdist worker attaches each test's record to its teardown report and
    the controller collects them in ``pytest_runtest_logreport``; a serial
    run keeps its records directly. Only the controller (or the serial run)
    writes the results file, at session finish. Nothing here may fail or
    change a test: every step is guarded and a failure becomes a
    ``PerfBudgetWarning``.
    """

    def __init__(self, config: pytest.Config, options: PerfOptions) -> None:
        self.config = config
        self.options = options
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = False  # known at session start, once xdist has configured itself
        self.recorder: Recorder | None = None  # once the collectors are installed
        self.settings: CollectSettings | None = None  # as they apply to a test record
        self._django_tried = False
        self._django_settings: CollectSettings | None = None  # with django=True, once its collectors are in
        self._network: NetworkCollector | None = None
        self._memory: MemoryTracker | None = None
        self._uninstall: list[Callable[[], None]] = []
        self._run: Run | None = None  # on the writing process
        self._records: dict[str, TestRecord] = {}  # node id -> record
        self._workers: set[str] = set()
        self._problems: list[str] = []
        self._pipeline_lines: list[str] = []
        self.results_path: Path | None = None

    # --- guarding ---------------------------------------------------------

    def warn(self, message: str) -> None:
        self._problems.append(message)
        try:
            warnings.warn(PerfBudgetWarning(message), stacklevel=2)
        except Exception:  # -W error: the message is still in the terminal summary
            pass

    @contextlib.contextmanager
    def guard(self, doing: str) -> Iterator[None]:
        """Turn any perfbudget failure into a warning; the test run goes on."""
        try:
            yield
        except Exception as exc:
            self.warn(f"perfbudget: {doing} failed: {type(exc).__name__}: {exc}")

    # --- session ------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # xdist registers its distributed session only when workers will run the tests.
        self.is_controller = not self.is_worker and self.config.pluginmanager.has_plugin("dsession")
        if not self.is_worker:
            with self.guard("reading run metadata"):
                from perfbudget.collect import metadata

                self._run = metadata.new_run(self.config.rootpath, workers=0)
        if not self.is_controller:
            with self.guard("installing collectors"):
                self._install()

    def _install(self) -> None:
        """Install the collectors; the recorder goes live only once they all are."""
        from perfbudget.collect.memory import MemoryTracker
        from perfbudget.collect.network import NetworkCollector
        from perfbudget.collect.recording import CollectSettings, Recorder

        recorder = Recorder()
        settings = CollectSettings(
            rootdir=self.config.rootpath, store_sql_params=self.options.sql_params, memory=self.options.memory
        )
        network = NetworkCollector(recorder)
        network.install()
        self._uninstall.append(network.uninstall)
        if self.options.memory:
            self._memory = MemoryTracker()
            self._uninstall.append(self._memory.install())
        self._network, self.settings, self.recorder = network, settings, recorder
        self._install_django()

    def _install_django(self) -> None:
        """Install the Django collectors as soon as Django is imported, configured or not.

        Checked at session start and before each test's setup and call, so a
        project that imports Django or configures its settings later (a
        conftest, a fixture, another plugin's ``pytest_configure``) is
        recorded from then on; a project without Django never pays for
        importing it. Whether a test's Django metrics are facts is decided
        when its record is built.
        """
        if self._django_tried or self.recorder is None or self.settings is None or "django" not in sys.modules:
            return
        self._django_tried = True  # a failure is reported once, not retried at every test
        from perfbudget.collect.summary import optional_collector

        django_settings = dataclasses.replace(self.settings, django=True)
        try:
            django = optional_collector("django")
            if django is None:
                return
            self._uninstall.append(django.install(self.recorder, django_settings))
        except Exception as exc:  # record the rest; Django metrics would be false zeros
            self.warn(f"perfbudget: installing the Django collectors failed: {type(exc).__name__}: {exc}")
            return
        self._django_settings = django_settings

    def _settings_for_record(self) -> CollectSettings:
        """The settings a test record is summarised with: with Django metrics once Django is set up."""
        assert self.settings is not None
        if self._django_settings is not None and not self.settings.django:
            # Already imported: the Django collectors are installed.
            from perfbudget.collect.django import django_configured

            if django_configured():
                self.settings = self._django_settings  # settings stay configured for the rest of the process
        return self.settings

    def close(self) -> None:
        """Remove every patch; runs at session finish and again (harmlessly) at unconfigure."""
        while self._uninstall:
            with self.guard("removing collectors"):
                self._uninstall.pop()()
        self.recorder = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: count the workers for the run's environment."""
        self._workers.add(str(getattr(getattr(node, "gateway", None), "id", len(self._workers))))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker's perfbudget problems join the controller's summary.

        Warnings a worker raises outside a test (installing collectors) are
        not forwarded by xdist, so they travel in ``workeroutput``.
        """
        for problem in getattr(node, "workeroutput", {}).get(WORKER_PROBLEMS, []):
            if problem not in self._problems:
                self._problems.append(problem)

    # --- per test -------------------------------------------------------------

    # A test's recording spans its three phases and nothing between them:
    # pytest's own reporting (tracebacks, terminal output) runs suspended.

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        state = None
        if self.recorder is not None:
            with self.guard("starting a recording"):
                self._install_django()
                assert self._network is not None
                self._network.refresh()  # HTTP libraries the tests imported since the last test
                from perfbudget.collect.per_test import TestState
                from perfbudget.collect.recording import Pause

                state = TestState(whole=self.recorder.start(), between=Pause(self.recorder))
                if self._memory is not None:
                    state.memory_baseline = self._memory.begin()
                item.stash[_TEST_KEY] = state
        yield
        if state is not None:
            state.between.begin()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(_TEST_KEY, None)
        if state is not None and self.recorder is not None:
            with self.guard("installing the Django collectors"):
                self._install_django()  # a fixture of this test may have set Django up
            state.between.end()
            state.call = self.recorder.start()
        yield
        if state is not None and state.call is not None and self.recorder is not None:
            self.recorder.stop(state.call)
            state.between.begin()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(_TEST_KEY, None)
        if state is not None:
            state.between.end()
        yield
        if state is not None and self.recorder is not None:
            with self.guard("stopping a recording"):
                self.recorder.stop(state.whole)
                if self._memory is not None and state.memory_baseline is not None:
                    state.peak_memory = self._memory.peak_since(state.memory_baseline)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, None, None]:
        """Leave broader-scoped fixtures (test database creation...) out of the test that happens to run first.

        Their setup runs suspended; for their teardown, one finalizer added
        after the fixture's own suspends and one added before resumes
        (finalizers run last-in, first-out).
        """
        recorder = self.recorder
        if recorder is None or fixturedef.scope == "function":
            yield
            return
        from perfbudget.collect.recording import Pause

        pause = Pause(recorder)
        fixturedef.addfinalizer(pause.end)
        pause.begin()
        try:
            yield
        finally:
            pause.end()
            fixturedef.addfinalizer(pause.begin)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        state = item.stash.get(_TEST_KEY, None)
        if state is None:
            return
        with self.guard("building a test record"):
            report = outcome.get_result()
            state.phases[report.when] = (report.outcome, hasattr(report, "wasxfail"))
            if report.when == "call":
                fixture = getattr(item, "funcargs", {}).get("benchmark")
                if fixture is not None:
                    from perfbudget.collect import benchmark

                    state.benchmark = benchmark.summarise(fixture)
            elif report.when == "teardown":
                from perfbudget.collect import per_test

                del item.stash[_TEST_KEY]
                record = per_test.build_record(item, state, self._settings_for_record())
                if self.is_worker:
                    setattr(report, REPORT_ATTR, per_test.to_wire(record))
                else:  # this process writes the results: no need for a trip through JSON
                    self._records[record.node_id] = record

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        with self.guard("receiving a test record"):
            data = getattr(report, REPORT_ATTR, None)
            if isinstance(data, dict):
                from perfbudget.collect.per_test import from_wire

                record = from_wire(data)
                self._records[record.node_id] = record
            elif report.when == "???" and report.failed:
                # xdist's report for a test whose worker crashed: nothing was
                # recorded but its outcome, which the results should still show.
                from perfbudget.results import TestRecord

                self._records.setdefault(
                    report.nodeid, TestRecord(node_id=report.nodeid, file=report.location[0], line=None, outcome="failed")
                )

    # --- end of the run --------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.close()
        if self.is_worker:
            self.config.workeroutput[WORKER_PROBLEMS] = list(self._problems)  # type: ignore[attr-defined]
            return
        if self.config.option.collectonly:
            return  # --collect-only ran nothing: keep the last real results
        run = None
        with self.guard(f"writing {self.options.output}"):
            run = self._finish_run(int(exitstatus))
            from perfbudget.results import write_run

            self.results_path = write_run(run, self.options.output)
        if run is None or self.results_path is None:
            return
        with self.guard("the after-run pipeline"):
            from perfbudget.pipeline import PipelineOptions, after_run

            outcome = after_run(
                run,
                self.results_path,
                PipelineOptions(
                    budget_file=self.options.budget_file,
                    baseline=self.options.baseline,
                    report_only=self.options.report_only,
                    report_formats=self.options.report_formats,
                    rootdir=self.config.rootpath,
                ),
            )
            self._pipeline_lines = list(outcome.lines)
            if outcome.failed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish_run(self, exitstatus: int) -> Run:
        from perfbudget.collect import metadata
        from perfbudget.results import aggregate_urls

        run = self._run if self._run is not None else metadata.new_run(self.config.rootpath, workers=0)
        self._run = run
        run.finished = metadata.utc_now()
        run.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        run.environment["xdist_workers"] = str(len(self._workers))
        run.tests = [self._records[node_id] for node_id in sorted(self._records)]
        run.urls = aggregate_urls(run.tests)
        return run

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        with self.guard("printing the summary"):
            terminalreporter.section("perfbudget")
            if self._run is not None and self.results_path is not None:
                from perfbudget.report.summary import render_run_summary

                for line in render_run_summary(self._run).splitlines():
                    terminalreporter.write_line(line)
                terminalreporter.write_line(f"perfbudget: results written to {self.results_path}")
            for line in self._pipeline_lines:
                terminalreporter.write_line(line)
            for problem in self._problems:
                terminalreporter.write_line(problem, yellow=True)
