"""The recording session: the plugin object ``pytest --perf-budget`` registers.

``perfbudget.plugin`` (the ``pytest11`` entry point) registers one
``PerfBudgetPlugin`` when recording is on. It installs the collectors, opens
and closes a recording around each test and streams each finished test to a
results file, so memory stays flat however long the run. Under xdist each
worker streams to its own file and the controller merges them, line by line,
into the one results file; it then judges the run and prints the summary.
Collectors, Django support, storage and judging are imported inside its
methods, once the feature is on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfbudget.budgets import Budgets
    from perfbudget.collect.memory import MemoryTracker
    from perfbudget.collect.network import NetworkCollector
    from perfbudget.collect.recording import CollectSettings, Recorder
    from perfbudget.plugin.confirm import Calibrator
    from perfbudget.plugin.options import PerfOptions
    from perfbudget.plugin.records import TestState
    from perfbudget.run.aggregate import UrlRollup
    from perfbudget.run.model import Confirmation, Run, TestRecord
    from perfbudget.run.write import ResultsWriter

WORKER_PROBLEMS = "perfbudget_problems"  # workeroutput key: a worker's warnings, for the controller
WORKER_STREAMS = "perfbudget_streams"  # workerinput key: the directory each worker streams its tests into
WORKER_CONFIRMATION = "perfbudget_confirmation"  # workeroutput key: what confirming its suspects cost a worker

_TEST_KEY: pytest.StashKey[TestState] = pytest.StashKey()


class PerfBudgetWarning(pytest.PytestWarning):
    """perfbudget could not record or report something; the test run itself is unaffected."""


class PerfBudgetPlugin:
    """Records every test run in this process and streams each finished test to a file.

    A serial run streams to the results file itself; an xdist worker to its
    own file in the directory the controller named (``WORKER_STREAMS``), which
    the controller merges into the results file at session finish. Nothing
    here may fail or change a test: every step is guarded and a failure
    becomes a ``PerfBudgetWarning``.
    """

    def __init__(self, config: pytest.Config, options: PerfOptions, budgets: Budgets) -> None:
        self.config = config
        self.options = options
        self.budgets = budgets  # read once, at configure time
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = False  # known at session start, once xdist has configured itself
        self.recorder: Recorder | None = None  # once the collectors are installed
        self.settings: CollectSettings | None = None  # as they apply to a test record
        self._django_tried = False
        self._django_settings: CollectSettings | None = None  # with django=True, once its collectors are in
        self._network: NetworkCollector | None = None
        self._memory: MemoryTracker | None = None
        self._uninstall: list[Callable[[], None]] = []
        self._run: Run | None = None  # the run's identity, then the run as written
        self._writer: ResultsWriter | None = None  # opened at the first finished test
        self._stream_failed = False  # it could not be opened: the run goes on unrecorded
        self._rollup: UrlRollup | None = None  # per-URL figures of the tests streamed so far
        self._crashed: dict[str, TestRecord] = {}  # xdist: tests whose worker died under them
        self._streams: Path | None = None  # xdist controller: where the workers stream
        self._workers: set[str] = set()
        self._problems: list[str] = []
        self._pipeline_lines: list[str] = []
        self._rerun_failure: str | None = None  # the first rerun that failed, in one line: said when no rerun passed
        self._verdict_failed = False  # the first pipeline line is the verdict: red when it fails the run
        self.results_path: Path | None = None
        # Timing evidence (plugin/confirm.py), in each process that runs tests.
        self._calibrator: Calibrator | None = None
        self._timings: list[TestRecord] = []  # every test's times, kept light, to find the suspects
        self._capture: list[TestRecord] | None = None  # set while a test is rerun: its record is kept, not streamed
        self._held: dict[str, TestRecord] = {}  # --perf-repeat: a test's record, until its repeats are done
        self._confirmations: list[Confirmation] = []  # this process's, or each worker's (controller)
        self._session_started = time.perf_counter()  # again at session start: the reruns' budget is a share of the run

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
        self._session_started = time.perf_counter()
        # xdist registers its distributed session only when workers will run the tests.
        self.is_controller = not self.is_worker and self.config.pluginmanager.has_plugin("dsession")
        if not self.is_worker:
            with self.guard("reading run metadata"):
                from perfbudget.collect import metadata

                self._run = metadata.new_run(self.config.rootpath, workers=0)
            if not self.config.option.collectonly:  # --collect-only runs nothing: the last results stay
                with self.guard(f"starting {self.options.output}"):
                    # Now, not at the first test: a run killed before its end must not leave
                    # the previous run's file looking like its own.
                    self._ensure_writer()
                    if self.is_controller:
                        self._sweep_stale_worker_streams()
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
            rootdir=self.config.rootpath,
            store_sql_params=self.options.sql_params,
            memory=self.options.memory,
            n_plus_one_threshold=self.budgets.n_plus_one_threshold,
            warmup_functions=self.budgets.warmup_functions,
            test_files=(*self.config.getini("python_files"), "conftest.py"),
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
        """xdist controller: count the workers and tell each where to stream its tests."""
        self._workers.add(str(getattr(getattr(node, "gateway", None), "id", len(self._workers))))
        if self._streams is None:
            output = self.options.output
            self._streams = output.parent / f".{output.name}.workers-{os.getpid()}"
        node.workerinput[WORKER_STREAMS] = str(self._streams)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: a worker's perfbudget problems join the controller's summary.

        Warnings a worker raises outside a test (installing collectors) are
        not forwarded by xdist, so they travel in ``workeroutput``.
        """
        output = getattr(node, "workeroutput", {})
        for problem in output.get(WORKER_PROBLEMS, []):
            if problem not in self._problems:
                self._problems.append(problem)
        if WORKER_CONFIRMATION in output:
            with self.guard("reading a worker's rerun figures"):
                from perfbudget.run.decode import Where, confirmation_from_dict

                confirmation = confirmation_from_dict(Where("xdist worker", None), output[WORKER_CONFIRMATION])
                if confirmation is not None:
                    self._confirmations.append(confirmation)

    # --- the test loop: warm-up before, timing suspects rerun after -------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, None, None]:
        runs_tests = self.recorder is not None and not self.config.option.collectonly
        if runs_tests:
            with self.guard("warming up"):
                from perfbudget.plugin.confirm import Calibrator
                from perfbudget.plugin.warmup import warm_up

                if self.options.warm_up:
                    warm_up()
                self._calibrator = Calibrator()
                self._calibrator.warm()
        started = time.perf_counter()
        outcome = yield
        if not runs_tests or outcome.excinfo is not None or session.shouldfail or session.shouldstop:
            return
        with self.guard("rerunning timing suspects"):
            from perfbudget.plugin.confirm import process_age

            self._confirm(session, time.perf_counter() - started, process_age(time.perf_counter() - self._session_started))

    def _confirm(self, session: pytest.Session, loop_seconds: float, session_seconds: float) -> None:
        """Rerun this process's timing suspects (plugin/confirm.py) and stream the evidence."""
        from perfbudget.plugin.confirm import Confirmer, plan
        from perfbudget.run.model import Confirmation

        assert self._calibrator is not None
        confirmation = Confirmation(
            calibration_ms=self._calibrator.speed(), calibration_noise=self._calibrator.noise(), loop_seconds=loop_seconds
        )
        self._confirmations.append(confirmation)
        rounds = self.options.confirm_rounds
        writer = self._writer
        if not rounds or writer is None or not self._timings:
            return
        baseline = self._baseline_for_confirming()
        urls = self._rollup.summaries() if self._rollup is not None else []
        budget = self.options.confirm_budget * session_seconds
        work = plan(self._timings, urls, self.budgets, baseline, confirmation, budget * 1000.0, rounds)
        confirmation.rounds, confirmation.not_rerun = rounds, work.not_rerun
        if not work.tests:
            return
        items = {item.nodeid: item for item in session.items}
        positions = {node_id: index for index, node_id in enumerate(items)}
        confirmer = Confirmer(
            lambda node_id, following: self._run_unreported(items, node_id, following), rounds, budget, confirmation.calibration_ms
        )
        self._rerun_failure = None  # a --perf-repeat rerun's failure is not the reason these reruns fail
        confirmer.confirm(work, lambda node_id: positions.get(node_id, 0))
        if confirmer.failed and not confirmer.passed:
            why = f": {self._rerun_failure}" if self._rerun_failure else ""
            self.warn(
                f"perfbudget: timing suspects could not be rerun, so none is confirmed (the first {confirmer.failed} reruns failed{why})"
            )
        confirmation.tests, confirmation.seconds = len(confirmer.tests), confirmer.seconds
        for node_id, evidence in sorted(confirmer.tests.items()):
            writer.write_rerun("test", node_id, evidence)
        for key, evidence in sorted(confirmer.urls.items()):
            writer.write_rerun("url", key, evidence)

    def _baseline_for_confirming(self) -> Any:
        """The baseline the suspects are found with (read light), None without one; its problems are the verdict's to report."""
        if not self.options.baseline:
            return None
        from perfbudget.compare.baseline import load_baseline

        project = self._run.project if self._run is not None else None
        return load_baseline(self.options.baseline, project=project, exclude=self.options.output).baseline

    def _run_unreported(self, items: dict[str, pytest.Item], node_id: str, following: str | None) -> TestRecord | None:
        """Run one test again, set-up to teardown, without reporting it; its record is returned, not streamed."""
        from _pytest.runner import runtestprotocol

        item = items.get(node_id)
        if item is None:
            return None
        # What teardown keeps set up: the next test's chain. Before the same test again, its parent's:
        # keeping the test itself would skip its own teardown and then its set-up.
        following_node: pytest.Item | pytest.Collector | None = items.get(following) if following else None
        if following == node_id:
            following_node = item.parent
        captured: list[TestRecord] = []
        self._capture = captured
        try:
            reports = runtestprotocol(item, log=False, nextitem=following_node)  # type: ignore[arg-type]
        finally:
            self._capture = None
        failed = next((report for report in reports if report.failed), None)
        if failed is not None and self._rerun_failure is None:
            crash = getattr(failed.longrepr, "reprcrash", None)
            self._rerun_failure = f"{node_id} {failed.when}: {crash.message if crash else 'failed'}".splitlines()[0][:300]
        return captured[-1] if captured else None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        """Calibrate between tests now and then; with --perf-repeat, run the test again after its reported run."""
        if self._calibrator is not None and self._capture is None:
            self._calibrator.tick()
        repeats = self._repeats(item)
        if repeats:
            self._held[item.nodeid] = None  # type: ignore[assignment]  # its record waits for the repeats
        yield
        if not repeats:
            return
        with self.guard("repeating a test"):
            from perfbudget.run.aggregate import last_attempts

            items = {item.nodeid: item, **({nextitem.nodeid: nextitem} if nextitem is not None else {})}
            records = [self._run_unreported(items, item.nodeid, item.nodeid) for _ in range(repeats - 1)]
            records.append(self._run_unreported(items, item.nodeid, nextitem.nodeid if nextitem else None))
            first = self._held.pop(item.nodeid, None)
            if first is not None:
                # The reported run's record, with every run's sampled values: it is the last "attempt".
                repeated = [record for record in records if record is not None and record.outcome == first.outcome]
                merged = last_attempts([*repeated, first])[0]
                self._stream(merged)
        self._held.pop(item.nodeid, None)

    def _repeats(self, item: pytest.Item) -> int:
        """How many more times --perf-repeat runs ``item`` (0: none)."""
        if self.options.repeat <= 1 or self.recorder is None or self._capture is not None:
            return 0
        match = self.options.repeat_match
        return self.options.repeat - 1 if match is None or match in item.nodeid else 0

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
                from perfbudget.collect.recording import Pause
                from perfbudget.plugin.records import TestState

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
                from perfbudget.plugin import records

                del item.stash[_TEST_KEY]
                record = records.build_record(item, state, self._settings_for_record())
                if self._capture is not None:
                    self._capture.append(record)
                elif item.nodeid in self._held:
                    self._held[item.nodeid] = record
                else:
                    self._stream(record)

    def _stream(self, record: TestRecord) -> None:
        """Write one finished test to this process's stream; the record is not kept.

        A stream that cannot be opened is reported once, not at every test.
        """
        writer = self._ensure_writer()
        if writer is None:
            return
        writer.write_test(record)
        if self._rollup is not None:
            self._rollup.add(record)
        if self._calibrator is not None and self.options.confirm_rounds:
            from perfbudget.plugin.confirm import light_copy

            self._timings.append(light_copy(record))

    def _ensure_writer(self) -> ResultsWriter | None:
        """This process's stream, opened on first need; None once opening it failed (raised once, then quiet)."""
        if self._writer is None and not self._stream_failed:
            self._stream_failed = True  # until the open below succeeds
            self._writer = self._open_stream()
            self._stream_failed = False
        return self._writer

    def _open_stream(self) -> ResultsWriter:
        from perfbudget.collect import metadata
        from perfbudget.run.aggregate import UrlRollup
        from perfbudget.run.write import ResultsWriter

        self._rollup = UrlRollup()  # a worker's: its suspect URLs; the controller's: the run's
        if self.is_worker:
            worker = str(self.config.workerinput.get("workerid", "gw"))  # type: ignore[attr-defined]
            directory = Path(self.config.workerinput[WORKER_STREAMS])  # type: ignore[attr-defined]
            return ResultsWriter(directory / f"{worker}.ndjson", metadata.new_run(self.config.rootpath, workers=0))
        assert self._run is not None
        return ResultsWriter(self.options.output, self._run)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or not self.is_controller:
            return
        if report.when == "???" and report.failed:
            # xdist's report for a test whose worker crashed: nothing was
            # recorded but its outcome, which the results should still show.
            from perfbudget.run.model import TestRecord

            self._crashed.setdefault(report.nodeid, TestRecord(node_id=report.nodeid, file=report.location[0], line=None, outcome="failed"))

    # --- end of the run --------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.close()
        if self.is_worker:
            if self._writer is not None:
                with self.guard("closing this worker's stream"):
                    self._writer.abandon()  # the controller writes the one trailer
            self.config.workeroutput[WORKER_PROBLEMS] = list(self._problems)  # type: ignore[attr-defined]
            if self._confirmations:
                from perfbudget.run.encode import confirmation_to_dict

                self.config.workeroutput[WORKER_CONFIRMATION] = confirmation_to_dict(self._confirmations[-1])  # type: ignore[attr-defined]
            return
        if self.config.option.collectonly:
            return  # --collect-only ran nothing: keep the last real results
        with self.guard(f"writing {self.options.output}"):
            self.results_path = self._finish_results(int(exitstatus))
        if self.results_path is None:
            return
        written, self._run = self._run, None  # judged and summarised only once read back
        with self.guard(f"reading back {self.results_path}"):
            from perfbudget.run.read import load_run

            self._run = load_run(self.results_path, details=False)  # after_run reads the details it shows
        if self._run is None and written is not None:
            self.warn(f"perfbudget: not judged: {self.results_path} could not be read back")
        if self._run is None:
            return
        with self.guard("the after-run pipeline"):
            from perfbudget.plugin.finish import after_run

            outcome = after_run(self._run, self.results_path, self.budgets, self.options)
            self._pipeline_lines = list(outcome.lines)
            self._verdict_failed = outcome.failed
            if outcome.failed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish_results(self, exitstatus: int) -> Path:
        """Complete the results file: the workers' streams merged in (xdist), URL rollups, the trailer."""
        from perfbudget.collect import metadata

        if self._run is None:
            self._run = metadata.new_run(self.config.rootpath, workers=0)
        run = self._run
        run.finished = metadata.utc_now()
        run.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        run.environment["xdist_workers"] = str(len(self._workers))
        run.environment.update(metadata.database_fingerprint())
        if self._confirmations:
            from perfbudget.plugin.confirm import combine

            run.confirmation = combine(self._confirmations)
        if self._writer is None:
            self._writer = self._open_stream()
        if self.is_controller:
            self._merge_worker_streams()
        assert self._rollup is not None
        return self._writer.close(run, self._rollup.summaries())

    def _sweep_stale_worker_streams(self) -> None:
        """Remove what workers of a killed earlier run left beside the results file."""
        output = self.options.output
        for stale in output.parent.glob(f".{output.name}.workers-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def _merge_worker_streams(self) -> None:
        """Copy each worker's test lines into the results file; tests lost with a worker last.

        One record is in memory at a time; a line a dying worker left half
        written is skipped, and a file that cannot be read is a warning.
        """
        from perfbudget.run.streams import merge_streams

        assert self._writer is not None and self._rollup is not None
        seen: set[str] = set()
        rollup = self._rollup

        def note(record: TestRecord) -> None:
            seen.add(record.node_id)
            rollup.add(record)

        if self._streams is not None:
            for problem in merge_streams(self._writer, self._streams, note):
                self.warn(problem)
        for node_id, record in sorted(self._crashed.items()):
            if node_id not in seen:
                self._stream(record)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        with self.guard("printing the summary"):
            terminalreporter.section("perfbudget")
            if self._run is not None and self.results_path is not None:
                from perfbudget.report.summary import render_run_summary

                more = f"perfbudget show {self.results_path} --top 0 lists them all; --perf-report=html for the full report"
                for line in render_run_summary(self._run, more=more).splitlines():
                    terminalreporter.write_line(line)
                terminalreporter.write_line(f"perfbudget: results written to {self.results_path}")
            for index, line in enumerate(self._pipeline_lines):
                terminalreporter.write_line(line, red=index == 0 and self._verdict_failed)
            for problem in self._problems:
                terminalreporter.write_line(problem, yellow=True)
