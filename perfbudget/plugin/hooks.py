"""The plugin object ``pytest --perf-budget`` registers: pytest's hooks translated into the recording session's calls.

``perfbudget.plugin`` (the ``pytest11`` entry point) registers one
``PerfBudgetPlugin`` when recording is on. The recording lifecycle is
``collect.session.RecordingSession``'s and the end of the run
``frontend.finish``'s; this object only wires pytest's hooks to them and
keeps each test's state in ``item.stash``. Two companions live beside it:
``plugin/xdist.py`` (workers' streams and problems, for the controller) and
``plugin/reruns.py`` (``--perf-repeat`` and rerunning timing suspects).
Everything heavy is imported inside the hooks, once the feature is on.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfbudget.budgets import Budgets
    from perfbudget.collect.recording import CollectSettings
    from perfbudget.collect.session import RecordingSession, TestRecording
    from perfbudget.config.options import PerfOptions
    from perfbudget.frontend.suspects import TimingWatch
    from perfbudget.plugin.reruns import Reruns
    from perfbudget.plugin.xdist import XdistTransport
    from perfbudget.run.model import Confirmation, Run, TestRecord


class PerfBudgetWarning(pytest.PytestWarning):
    """perfbudget could not record or report something; the test run itself is unaffected."""


@dataclass
class ItemState:
    """One test's recording and the outcome of each phase so far, in ``item.stash``."""

    unit: TestRecording
    phases: dict[str, tuple[str, bool]] = field(default_factory=dict)  # when -> (outcome, was xfail)


ITEM_KEY: pytest.StashKey[ItemState] = pytest.StashKey()


class PerfBudgetPlugin:
    """Records every test run in this process and streams each finished test; the controller judges.

    A serial run streams to the results file itself; an xdist worker to its
    own file, merged by the controller at session finish. Nothing here may
    fail or change a test: every step is guarded and a failure becomes a
    ``PerfBudgetWarning``.
    """

    def __init__(self, config: pytest.Config, options: PerfOptions, budgets: Budgets) -> None:
        self.config, self.options, self.budgets = config, options, budgets  # budgets read once, at configure time
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = False  # known at session start, once xdist has configured itself
        self.session: RecordingSession | None = None
        self.run: Run | None = None  # the run's identity, then the run as read back
        self.xdist: XdistTransport | None = None
        self.reruns: Reruns | None = None
        self.watch: TimingWatch | None = None  # timing evidence, in each process that runs tests
        self.confirmations: list[Confirmation] = []  # this process's, or each worker's (controller)
        self.results_path: Path | None = None
        self.problems: list[str] = []
        self._stream_failed = False  # it could not be opened: the run goes on unrecorded
        self._summary: list[str] = []
        self._pipeline_lines: list[str] = []
        self._verdict_failed = False  # the first pipeline line is the verdict: red when it fails the run

    # --- guarding ---------------------------------------------------------

    def warn(self, message: str) -> None:
        """One line, in perfbudget's section and pytest's warnings summary; control characters shown as escapes."""
        from perfbudget.report.escape import terminal_line

        message = terminal_line(message)  # it may quote a test id, a path or a value read from a file
        self.problems.append(message)
        with contextlib.suppress(Exception):  # -W error: the message is still in the terminal summary
            warnings.warn(PerfBudgetWarning(message), stacklevel=2)

    @contextlib.contextmanager
    def guard(self, doing: str) -> Iterator[None]:
        """Turn any perfbudget failure into a warning; the test run goes on."""
        try:
            yield
        except Exception as exc:
            self.warn(f"perfbudget: {doing} failed: {type(exc).__name__}: {exc}")

    @property
    def recording(self) -> bool:
        return self.session is not None and self.session.recorder is not None

    # --- session ------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from perfbudget.collect.session import RecordingSession
        from perfbudget.plugin.reruns import Reruns
        from perfbudget.plugin.xdist import XdistTransport

        # xdist registers its distributed session only when workers will run the tests.
        self.is_controller = not self.is_worker and self.config.pluginmanager.has_plugin("dsession")
        self.session = RecordingSession(self._collect_settings(), self.warn)
        if self.is_worker or self.is_controller:
            self.xdist = XdistTransport(self)
            self.config.pluginmanager.register(self.xdist, "perfbudget-xdist")
        if not self.is_worker:
            with self.guard("reading run metadata"):
                from perfbudget.collect import metadata

                self.run = metadata.new_run(self.config.rootpath, workers=0)
            if not self.config.option.collectonly:  # --collect-only runs nothing: the last results stay
                with self.guard(f"starting {self.options.output}"):
                    # Now, not at the first test: a run killed before its end must not leave
                    # the previous run's file looking like its own.
                    self.ensure_stream()
                    if self.xdist is not None:
                        self.xdist.sweep_stale_streams()
        if not self.is_controller:
            with self.guard("installing collectors"):
                self.session.install()
            self.reruns = Reruns(self)
            self.config.pluginmanager.register(self.reruns, "perfbudget-reruns")

    def _collect_settings(self) -> CollectSettings:
        from perfbudget.collect.recording import CollectSettings

        return CollectSettings(
            rootdir=self.config.rootpath,
            store_sql_params=self.options.sql_params,
            memory=self.options.memory,
            n_plus_one_threshold=self.budgets.n_plus_one_threshold,
            warmup_functions=self.budgets.warmup_functions,
            test_files=(*self.config.getini("python_files"), "conftest.py"),
        )

    def close(self) -> None:
        """Remove every patch; runs at session finish and again (harmlessly) at unconfigure."""
        if self.session is not None:
            self.session.close()
        for name in ("perfbudget-xdist", "perfbudget-reruns"):
            companion = self.config.pluginmanager.get_plugin(name)
            if companion is not None:
                self.config.pluginmanager.unregister(companion)

    # --- the test loop: warm-up before, timing suspects rerun after (plugin/reruns.py) ------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, None]:
        runs_tests = self.recording and not self.config.option.collectonly
        if runs_tests:
            with self.guard("warming up"):
                from perfbudget.frontend.suspects import TimingWatch

                assert self.session is not None
                if self.options.warm_up:
                    self.session.warm_up()
                self.watch = TimingWatch(self.options, self.budgets, self.warn)
                self.session.on_stream.append(self.watch.note)
                self.watch.start()
        outcome = yield
        if not runs_tests or outcome.excinfo is not None or session.shouldfail or session.shouldstop:
            return
        with self.guard("rerunning timing suspects"):
            if self.watch is not None and self.reruns is not None and self.session is not None:
                project = self.run.project if self.run is not None else None
                self.confirmations.append(self.reruns.confirm(session, self.watch, self.session, project))

    # --- per test -------------------------------------------------------------

    # A test's recording spans its three phases and nothing between them:
    # pytest's own reporting (tracebacks, terminal output) runs suspended.

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        state = None
        if self.session is not None and self.recording:
            with self.guard("starting a recording"):
                unit = self.session.begin()
                if unit is not None:
                    state = item.stash[ITEM_KEY] = ItemState(unit)
        yield
        if state is not None:
            state.unit.between.begin()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(ITEM_KEY, None)
        if state is not None and self.session is not None:
            with self.guard("installing the Django collectors"):
                self.session.begin_call(state.unit)
        yield
        if state is not None and self.session is not None:
            self.session.end_call(state.unit)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(ITEM_KEY, None)
        if state is not None:
            state.unit.between.end()
        yield
        if state is not None and self.session is not None:
            with self.guard("stopping a recording"):
                self.session.end(state.unit)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, None, None]:
        """Leave broader-scoped fixtures (test database creation...) out of the test that happens to run first.

        Their setup runs suspended; for their teardown, one finalizer added
        after the fixture's own suspends and one added before resumes
        (finalizers run last-in, first-out).
        """
        pause = self.session.pause() if self.session is not None and fixturedef.scope != "function" else None
        if pause is None:
            yield
            return
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
        state = item.stash.get(ITEM_KEY, None)
        if state is None or self.session is None:
            return
        with self.guard("building a test record"):
            report = outcome.get_result()
            state.phases[report.when] = (report.outcome, hasattr(report, "wasxfail"))
            if report.when == "call":
                fixture = getattr(item, "funcargs", {}).get("benchmark")
                if fixture is not None:
                    from perfbudget.collect import benchmark

                    state.unit.benchmark = benchmark.summarise(fixture)
            elif report.when == "teardown":
                from perfbudget.plugin.records import build_record

                del item.stash[ITEM_KEY]
                record = build_record(item, state.unit, state.phases, self.session)
                if self.reruns is None or not self.reruns.take(item.nodeid, record):
                    self.stream(record)

    def stream(self, record: TestRecord) -> None:
        """Write one finished test to this process's stream; a stream that cannot be opened is reported once."""
        if self.ensure_stream() and self.session is not None:
            self.session.stream(record)

    def ensure_stream(self) -> bool:
        """This process's stream, opened on first need; False once opening it failed (raised once, then quiet)."""
        if self.session is None:
            return False
        if self.session.writer is None and not self._stream_failed:
            self._stream_failed = True  # until the open below succeeds
            if self.xdist is not None and self.is_worker:
                from perfbudget.collect import metadata

                self.session.open_stream(self.xdist.worker_stream(), metadata.new_run(self.config.rootpath, workers=0))
            else:
                assert self.run is not None
                self.session.open_stream(self.options.output, self.run)
            self._stream_failed = False
        return self.session.writer is not None

    # --- end of the run --------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.session is not None:
            self.session.close()
        if self.is_worker:
            if self.xdist is not None:
                self.xdist.worker_finish()
            return
        if self.config.option.collectonly:
            return  # --collect-only ran nothing: keep the last real results
        with self.guard(f"writing {self.options.output}"):
            self.results_path = self._finish_results(int(exitstatus))
        if self.results_path is None:
            return
        from perfbudget.frontend.finish import finish_run

        more = f"perfbudget show {self.results_path} --top 0 lists them all; --perf-report=html for the full report"
        finished = finish_run(self.results_path, self.budgets, self.options, self.warn, more=more)
        self.run, self._summary = finished.run, finished.summary
        if finished.outcome is not None:
            self._pipeline_lines = list(finished.outcome.lines)
            self._verdict_failed = finished.outcome.failed
            if finished.outcome.failed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish_results(self, exitstatus: int) -> Path | None:
        """Complete the results file: the workers' streams merged in (xdist), URL rollups, the trailer."""
        from perfbudget.collect import metadata

        if self.run is None:
            self.run = metadata.new_run(self.config.rootpath, workers=0)
        run = self.run
        run.finished = metadata.utc_now()
        run.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        run.environment["xdist_workers"] = str(len(self.xdist.workers) if self.xdist is not None else 0)
        run.environment.update(metadata.database_fingerprint())
        if self.confirmations:
            from perfbudget.frontend.confirm import combine

            run.confirmation = combine(self.confirmations)
        assert self.session is not None
        if self.session.writer is None:
            if self._stream_failed:  # said once, at the start: no test was recorded, so there is nothing to write
                return None
            self.session.open_stream(self.options.output, run)
        if self.xdist is not None:
            self.xdist.merge()
        return self.session.close_stream(run)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        with self.guard("printing the summary"):
            terminalreporter.section("perfbudget")
            for line in self._summary:
                terminalreporter.write_line(line)
            for index, line in enumerate(self._pipeline_lines):
                terminalreporter.write_line(line, red=index == 0 and self._verdict_failed)
            for problem in self.problems:
                terminalreporter.write_line(problem, yellow=True)
