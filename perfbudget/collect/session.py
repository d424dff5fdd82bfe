"""The one recording session every front end drives: collectors in, one recording per test, records streamed.

The pytest plugin, ``PerfBudgetRunner`` (and its ``--parallel`` workers),
and the crawl and load front ends to come only translate their own events
into these calls (STYLE.md #22, coverage's ``Coverage.start/stop/save``):

1. ``install`` puts the collectors in; Django's go in as soon as Django is
   imported (``install_django``, which a front end may call again before
   each test), so a project without Django never pays for importing it;
2. ``warm_up`` charges the process's one-off costs to no test;
3. ``begin`` opens a test's recording, ``begin_call``/``end_call`` its call
   phase where the front end has phases, ``end`` closes it, and ``record``
   builds its ``TestRecord``;
4. ``stream`` writes each finished record (and ``close_stream`` the
   trailer) so memory stays flat however long the run.

Nothing here may fail a test: a front end wraps the calls it makes inside a
test in its own guard and turns failures into warnings.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfbudget.collect import summary
from perfbudget.collect.memory import MemoryTracker
from perfbudget.collect.network import NetworkCollector
from perfbudget.collect.recording import CollectSettings, Pause, Recorder, Recording
from perfbudget.run.aggregate import UrlRollup
from perfbudget.run.decode import ResultsError
from perfbudget.run.model import Reruns, Run, TestRecord
from perfbudget.run.streams import merge_streams
from perfbudget.run.write import ResultsWriter


@dataclass
class TestRecording:
    """What is being recorded for one test, from its ``begin`` to its ``record``."""

    __test__ = False  # not a pytest test class, despite the name

    whole: Recording  # the whole test: setup, call and teardown
    between: Pause  # suspends the recorder between phases (front ends with phases)
    call: Recording | None = None  # the call phase, where the front end has one
    phased: bool = True  # False: the whole test is its call (unittest's setUp, test and tearDown)
    memory_baseline: int | None = None
    peak_memory: int | None = None
    benchmark: tuple[dict[str, float], dict[str, list[float]]] | None = None


class RecordingSession:
    """The collectors of one process and the stream its finished tests go to."""

    def __init__(self, settings: CollectSettings, warn: Callable[[str], None]) -> None:
        self.settings = settings  # as they apply to a test record: django=True once Django is configured
        self.warn = warn
        self.recorder: Recorder | None = None  # live once every collector is installed
        self.writer: ResultsWriter | None = None
        self.rollup = UrlRollup()  # per-URL figures of the tests streamed so far
        self._network: NetworkCollector | None = None
        self._memory: MemoryTracker | None = None
        self._uninstall: list[Callable[[], None]] = []
        self._django_tried = False
        self._django_settings: CollectSettings | None = None  # with django=True, once its collectors are in
        self.on_stream: list[Callable[[TestRecord], None]] = []  # told of each record streamed (reruns keep light copies)

    # --- collectors -------------------------------------------------------------

    def install(self) -> None:
        """Install the collectors; the recorder goes live only once they all are."""
        recorder = Recorder()
        network = NetworkCollector(recorder)
        network.install()
        self._uninstall.append(network.uninstall)
        if self.settings.memory:
            self._memory = MemoryTracker()
            self._uninstall.append(self._memory.install())
        self._network, self.recorder = network, recorder
        self.install_django()

    def install_django(self) -> None:
        """Install the Django collectors as soon as Django is imported, configured or not.

        Called at install and again before each test, so a project that imports
        Django or configures its settings later (a conftest, a fixture, another
        plugin) is recorded from then on. Whether a test's Django metrics are
        facts is decided when its record is built. A failure is said once.
        """
        if self._django_tried or self.recorder is None or "django" not in sys.modules:
            return
        self._django_tried = True
        django_settings = dataclasses.replace(self.settings, django=True)
        try:
            django = summary.optional_collector("django")
            if django is None:
                return
            self._uninstall.append(django.install(self.recorder, django_settings))
        except Exception as exc:  # record the rest; Django metrics would be false zeros
            self.warn(f"perfbudget: installing the Django collectors failed: {type(exc).__name__}: {exc}")
            return
        self._django_settings = django_settings

    def close(self) -> None:
        """Remove every patch; harmless to call again."""
        while self._uninstall:
            undo = self._uninstall.pop()
            try:
                undo()
            except Exception as exc:
                self.warn(f"perfbudget: removing collectors failed: {type(exc).__name__}: {exc}")
        self.recorder = None

    def warm_up(self) -> None:
        """Charge this process's one-off costs (URLconf, template engines, a collection) to no test."""
        from perfbudget.collect.warmup import warm_up

        warm_up()

    # --- one test -----------------------------------------------------------------

    def begin(self, *, phased: bool = True) -> TestRecording | None:
        """Open a test's recording; None when nothing is installed."""
        recorder = self.recorder
        if recorder is None:
            return None
        self.install_django()
        assert self._network is not None
        self._network.refresh()  # HTTP libraries the tests imported since the last test
        unit = TestRecording(whole=recorder.start(), between=Pause(recorder), phased=phased)
        if self._memory is not None:
            unit.memory_baseline = self._memory.begin()
        return unit

    def begin_call(self, unit: TestRecording) -> None:
        if self.recorder is not None:
            self.install_django()  # a fixture of this test may have set Django up
            unit.between.end()
            unit.call = self.recorder.start()

    def end_call(self, unit: TestRecording) -> None:
        if unit.call is not None and self.recorder is not None:
            self.recorder.stop(unit.call)
            unit.between.begin()

    def end(self, unit: TestRecording) -> None:
        """Close the test's recording (and read its memory peak)."""
        if self.recorder is None:
            return
        self.recorder.stop(unit.whole)
        if self._memory is not None and unit.memory_baseline is not None:
            unit.peak_memory = self._memory.peak_since(unit.memory_baseline)

    def pause(self) -> Pause | None:
        """A suspension for work that belongs to no test (a session-scoped fixture)."""
        return Pause(self.recorder) if self.recorder is not None else None

    def record(
        self, unit: TestRecording, *, node_id: str, file: str, line: int | None, outcome: str, budget_marker: dict[str, Any] | None = None
    ) -> TestRecord:
        """The test's record from its finished recordings.

        Django metrics are facts (reported even when zero) once the Django
        collectors are installed and its settings configured.
        """
        settings = self._settings_for_record()
        metrics, details = summary.summarise(unit.whole, settings)
        if settings.django:
            metrics["requests"] = float(len(unit.whole.requests))
        if unit.phased:
            call_metrics = summary.summarise(unit.call, settings)[0] if unit.call is not None else {}
        else:
            call_metrics = dict(metrics)
        if unit.peak_memory is not None:
            metrics["peak_memory"] = float(unit.peak_memory)
        samples: dict[str, list[float]] = {}
        if unit.benchmark is not None:
            metrics.update(unit.benchmark[0])
            samples.update(unit.benchmark[1])
        return TestRecord(
            node_id=node_id,
            file=file,
            line=line,
            outcome=outcome,
            metrics=metrics,
            call_metrics=call_metrics,
            details=details,
            requests=list(unit.whole.requests),
            samples=samples,
            budget_marker=budget_marker,
        )

    def _settings_for_record(self) -> CollectSettings:
        if self._django_settings is not None and not self.settings.django:
            from perfbudget.collect.django import django_configured

            if django_configured():
                self.settings = self._django_settings  # settings stay configured for the rest of the process
        return self.settings

    # --- the stream -----------------------------------------------------------------

    def open_stream(self, path: Path, run: Run) -> ResultsWriter:
        """Stream finished tests to ``path``: the results file, or a worker's own stream."""
        self.writer = ResultsWriter(path, run)  # it makes the directory
        self.rollup = UrlRollup()
        return self.writer

    def stream(self, record: TestRecord) -> None:
        """Write one finished test; the record is not kept."""
        if self.writer is None:
            return
        self.writer.write_test(record)
        self.rollup.add(record)
        for listener in self.on_stream:
            listener(record)

    def write_reruns(self, tests: dict[str, Reruns], urls: dict[str, Reruns]) -> None:
        """The timing evidence of this process's suspects, after its tests."""
        if self.writer is None:
            return
        for node_id, evidence in sorted(tests.items()):
            self.writer.write_rerun("test", node_id, evidence)
        for key, evidence in sorted(urls.items()):
            self.writer.write_rerun("url", key, evidence)

    def merge(self, streams: Path, note: Callable[[TestRecord], None] | None = None) -> None:
        """Copy the workers' streams in ``streams`` into this one (xdist, ``--parallel``), then drop them."""
        if self.writer is None:
            return

        def add(record: TestRecord) -> None:
            self.rollup.add(record)
            if note is not None:
                note(record)

        for problem in merge_streams(self.writer, streams, add):
            self.warn(problem)

    def close_stream(self, run: Run) -> Path | None:
        """Write the URL rollups and the trailer: the results file is complete.

        None in a process forked from the one that opened it (the parent
        finishes it); a ResultsError, once, when writes failed on the way.
        """
        if self.writer is None:
            return None
        writer, self.writer = self.writer, None
        return writer.close(run, self.rollup.summaries())

    def abandon_stream(self) -> None:
        """A worker's stream ends without a trailer: the controller writes the one results file's.

        Writes that failed on the way (a full disk) are said here, once, with
        their count: never raised, as a worker's own end must not fail.
        """
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.abandon()
            except ResultsError as exc:
                self.warn(f"perfbudget: {exc}")
