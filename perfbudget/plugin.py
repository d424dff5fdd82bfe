"""pytest plugin: ``pytest --perf-budget`` records performance facts per test and URL.

This is the ``pytest11`` entry point, so it imports nothing heavy: the
module-level hooks add the options and the ``perf_budget`` marker and, only
when ``--perf-budget`` is on, register a ``PerfBudgetPlugin`` that does the
work. Collectors, Django support, the results model and the after-run
pipeline are imported inside its methods, once the feature is on.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfbudget.collect.recording import CollectSettings, Pause

REPORT_FORMATS = ("markdown", "html", "json")
DEFAULT_OUTPUT = Path(".perfbudget") / "results.json"
MARKER_HELP = (
    "perf_budget(**limits): performance budget of this test, overriding the budget file, "
    "e.g. @pytest.mark.perf_budget(queries=5, duration='200ms')"
)

_PLUGIN_KEY = pytest.StashKey["PerfBudgetPlugin"]()


@dataclass(frozen=True)
class PerfOptions:
    """The plugin's options, resolved: paths absolute, formats validated."""

    output: Path
    budget_file: str | None
    baseline: str | None
    report_only: bool
    report_formats: tuple[str, ...]
    memory: bool
    sql_params: bool


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbudget", "performance budgets (perfbudget)")
    group.addoption(
        "--perf-budget",
        action="store_true",
        default=False,
        help="record performance facts (queries, time, network...) per test and URL",
    )
    group.addoption(
        "--perf-output",
        metavar="PATH",
        default=None,
        help=f"results file (default: {DEFAULT_OUTPUT} under the rootdir; ini: perf_budget_output)",
    )
    group.addoption(
        "--perf-budget-file",
        metavar="PATH",
        default=None,
        help="budget file (default: perfbudget.yaml or [tool.perfbudget]; ini: perf_budget_file)",
    )
    group.addoption(
        "--perf-baseline",
        metavar="PATH",
        default=None,
        help="results file or directory of past results to compare with",
    )
    group.addoption(
        "--perf-budget-report-only",
        action="store_true",
        default=False,
        help="report budget violations and regressions without failing the run",
    )
    group.addoption(
        "--perf-report",
        metavar="FORMATS",
        default=None,
        help=f"also write reports next to the results: comma list of {', '.join(REPORT_FORMATS)} "
        "(ini: perf_budget_report)",
    )
    group.addoption(
        "--perf-memory",
        action="store_true",
        default=False,
        help="record peak Python memory per test with tracemalloc (slows allocation-heavy tests; "
        "ini: perf_budget_memory)",
    )
    group.addoption(
        "--perf-sql-params",
        action="store_true",
        default=False,
        help="store SQL parameter values in the results (they may hold personal data)",
    )
    parser.addini("perf_budget_output", "perfbudget results file, relative to the rootdir", default="")
    parser.addini("perf_budget_file", "perfbudget budget file, relative to the rootdir", default="")
    parser.addini("perf_budget_report", "perfbudget report formats (markdown,html,json)", default="")
    parser.addini("perf_budget_memory", "record peak memory per test (tracemalloc)", type="bool", default=False)


def _resolve(config: pytest.Config, option: str | None, ini_value: str) -> Path | None:
    """A command-line path is relative to the invocation directory, an ini path to the rootdir."""
    if option:
        return config.invocation_params.dir / option
    if ini_value:
        return config.rootpath / ini_value
    return None


def _report_formats(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown:
        raise pytest.UsageError(
            f"--perf-report: unknown format {unknown[0]!r}; choose from {', '.join(REPORT_FORMATS)}"
        )
    return formats


def read_options(config: pytest.Config) -> PerfOptions:
    """Options from the command line, falling back to the ini file; UsageError on a mistake."""
    output = _resolve(config, config.getoption("perf_output"), str(config.getini("perf_budget_output")))
    budget_file = _resolve(config, config.getoption("perf_budget_file"), str(config.getini("perf_budget_file")))
    return PerfOptions(
        output=output or config.rootpath / DEFAULT_OUTPUT,
        budget_file=str(budget_file) if budget_file else None,
        baseline=str(config.invocation_params.dir / config.getoption("perf_baseline"))
        if config.getoption("perf_baseline")
        else None,
        report_only=bool(config.getoption("perf_budget_report_only")),
        report_formats=_report_formats(config.getoption("perf_report") or str(config.getini("perf_budget_report"))),
        memory=bool(config.getoption("perf_memory") or config.getini("perf_budget_memory")),
        sql_params=bool(config.getoption("perf_sql_params")),
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when recording is off, so the marker never warns.
    config.addinivalue_line("markers", MARKER_HELP)
    if not config.getoption("perf_budget"):
        return
    plugin = PerfBudgetPlugin(config, read_options(config))
    config.stash[_PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "perfbudget-recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN_KEY, None)
    if plugin is not None:
        plugin.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[_PLUGIN_KEY]


class PerfBudgetWarning(pytest.PytestWarning):
    """perfbudget could not record or report something; the test run itself is unaffected."""


# Where a test's record rides from the process that ran it to the one that
# writes the results: an attribute of its teardown report, as a JSON-able dict
# (xdist serialises every report attribute; pytest's reports.py:_report_to_json).
REPORT_ATTR = "perfbudget_record"
WORKER_PROBLEMS = "perfbudget_problems"  # workeroutput key: a worker's warnings, for the controller

_TEST_KEY = pytest.StashKey["_TestState"]()


@dataclass
class _TestState:
    """What is being recorded for one test, between its setup and its teardown report."""

    whole: Any  # Recording: setup + call + teardown
    between: Pause  # suspends the recorder between phases
    call: Any = None  # Recording of the call phase
    memory_baseline: int | None = None
    peak_memory: int | None = None
    benchmark: tuple[dict[str, float], dict[str, list[float]]] | None = None
    phases: dict[str, tuple[str, bool]] = field(default_factory=dict)  # when -> (outcome, was xfail)


def outcome_of(phases: dict[str, tuple[str, bool]]) -> str:
    """One word for a test from its phase reports, as pytest's summary would count it."""
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    if setup and setup[0] == "failed":
        return "error"
    if setup and setup[0] == "skipped":
        return "xfailed" if setup[1] else "skipped"
    if call:
        outcome, was_xfail = call
        if outcome == "skipped":
            return "xfailed" if was_xfail else "skipped"
        if outcome == "failed":
            return "failed"
        if was_xfail:
            return "xpassed"
    if teardown and teardown[0] == "failed":
        return "error"
    return "passed"


def _json_safe(value: Any) -> Any:
    """Marker kwargs as plain JSON (anything exotic becomes its string form)."""
    return json.loads(json.dumps(value, default=str))


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
        self.recorder: Any = None  # collect.recording.Recorder once installed
        self.settings: CollectSettings | None = None
        self._network: Any = None
        self._memory: Any = None
        self._uninstall: list[Callable[[], None]] = []
        self._run: Any = None  # results.Run, on the writing process
        self._records: dict[str, Any] = {}  # node id -> results.TestRecord
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
        import dataclasses

        from perfbudget.collect.memory import MemoryTracker
        from perfbudget.collect.network import NetworkCollector
        from perfbudget.collect.recording import CollectSettings, Recorder
        from perfbudget.collect.summary import optional_collector

        recorder = Recorder()
        settings = CollectSettings(
            rootdir=self.config.rootpath,
            store_sql_params=self.options.sql_params,
            memory=self.options.memory,
            django=_django_configured(),
        )
        network = NetworkCollector(recorder)
        network.install()
        self._uninstall.append(network.uninstall)
        if self.options.memory:
            self._memory = MemoryTracker()
            self._uninstall.append(self._memory.install())
        if settings.django:
            try:
                django = optional_collector("django")
                if django is not None:
                    self._uninstall.append(django.install(recorder, settings))
            except Exception as exc:  # record the rest; Django metrics would be false zeros
                self.warn(f"perfbudget: installing the Django collectors failed: {type(exc).__name__}: {exc}")
                settings = dataclasses.replace(settings, django=False)
        self._network, self.settings, self.recorder = network, settings, recorder

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
                self._network.refresh()  # HTTP libraries the tests imported since the last test
                from perfbudget.collect.recording import Pause

                state = _TestState(whole=self.recorder.start(), between=Pause(self.recorder))
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
                del item.stash[_TEST_KEY]
                record = self._build_record(item, state)
                if self.is_worker:
                    setattr(report, REPORT_ATTR, self._record_to_wire(record))
                else:  # this process writes the results: no need for a trip through JSON
                    self._records[record.node_id] = record

    def _build_record(self, item: pytest.Item, state: _TestState) -> Any:
        from perfbudget.collect.summary import summarise
        from perfbudget.results import TestRecord

        assert self.settings is not None
        metrics, details = summarise(state.whole, self.settings)
        call_metrics = summarise(state.call, self.settings)[0] if state.call is not None else {}
        if self.settings.django:
            metrics["requests"] = float(len(state.whole.requests))
        if state.peak_memory is not None:
            metrics["peak_memory"] = float(state.peak_memory)
        samples: dict[str, list[float]] = {}
        if state.benchmark is not None:
            metrics.update(state.benchmark[0])
            samples.update(state.benchmark[1])
        path, line, _ = item.location
        marker = item.get_closest_marker("perf_budget")
        return TestRecord(
            node_id=item.nodeid,
            file=path,
            line=None if line is None else line + 1,
            outcome=outcome_of(state.phases),
            metrics=metrics,
            call_metrics=call_metrics,
            details=details,
            requests=list(state.whole.requests),
            samples=samples,
            budget_marker=_json_safe(dict(marker.kwargs)) if marker is not None else None,
        )

    @staticmethod
    def _record_to_wire(record: Any) -> dict[str, Any]:
        from perfbudget.results import Run, run_to_dict

        # results.py owns the JSON form; a one-test run reuses it rather than a copy of it.
        # The JSON round trip turns str subclasses (Django's SafeString in a view
        # or template name) into plain str: execnet refuses them, and xdist
        # would fail the whole worker with an INTERNALERROR.
        return json.loads(json.dumps(run_to_dict(Run(tests=[record]))["tests"][0], default=str))

    @staticmethod
    def _record_from_wire(data: dict[str, Any]) -> Any:
        from perfbudget.results import SCHEMA_VERSION, run_from_dict

        return run_from_dict({"schema_version": SCHEMA_VERSION, "tests": [data]}, "test report").tests[0]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        with self.guard("receiving a test record"):
            data = getattr(report, REPORT_ATTR, None)
            if isinstance(data, dict):
                record = self._record_from_wire(data)
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

    def _finish_run(self, exitstatus: int) -> Any:
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


def _django_configured() -> bool:
    """Django is imported and its settings are configured (pytest-django or a conftest did it)."""
    conf = sys.modules.get("django.conf")
    if conf is None:
        return False
    try:
        return bool(conf.settings.configured)
    except Exception:  # a broken settings module is Django's error to report, not ours
        return False
