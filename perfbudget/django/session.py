"""One ``manage.py test`` run under perfbudget: collectors, one recording per test, the results file, the verdict.

The same parts as the pytest plugin's: ``collect`` records, ``run.write``
writes the streamed results file, ``compare.judge`` judges, ``report``
prints the summary and the verdict. Problems while recording are printed as
warnings and never change a test's outcome.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfbudget.budgets import BudgetError, Budgets, find_budget_file, load_budgets
from perfbudget.collect import metadata, summary
from perfbudget.collect.network import NetworkCollector
from perfbudget.collect.recording import CollectSettings, Recorder, Recording
from perfbudget.django.names import where
from perfbudget.run.aggregate import UrlRollup
from perfbudget.run.model import TestRecord
from perfbudget.run.streams import merge_streams
from perfbudget.run.write import ResultsWriter

# Django's test modules: tests.py and tests/ packages as well as pytest's names.
TEST_FILES = ("tests.py", "test_*.py", "*_test.py", "*_tests.py", "conftest.py")


class RunnerSession:
    def __init__(self, rootdir: Path, output: Path, baseline: str | None, budget_file: str | None) -> None:
        self.rootdir, self.output, self.baseline = rootdir, output, baseline
        try:
            path = find_budget_file(rootdir, budget_file)
            self.budgets = load_budgets(path) if path else Budgets()
        except BudgetError as exc:  # as with pytest: a broken budget file is the user's first fix
            raise SystemExit(f"perfbudget: {exc}") from exc
        self.failed = False
        self._undo: list[Callable[[], None]] = []
        self._current: Recording | None = None
        self._outcome = "passed"

    def start(self) -> None:
        """Install the collectors and open the results file before the first test."""
        self.install()
        self.run = metadata.new_run(self.rootdir, workers=0)
        self.open(self.output)

    def install(self) -> None:
        """The collectors, once per process (a --parallel worker keeps them for every test class it runs)."""
        self.recorder = Recorder()
        self.settings = CollectSettings(
            rootdir=self.rootdir,
            django=True,
            n_plus_one_threshold=self.budgets.n_plus_one_threshold,
            warmup_functions=self.budgets.warmup_functions,
            test_files=TEST_FILES,
        )
        network = NetworkCollector(self.recorder)
        network.install()
        self._undo.append(network.uninstall)
        self._network = network
        django = summary.optional_collector("django")
        if django is not None:
            self._undo.append(django.install(self.recorder, self.settings))

    def open(self, output: Path) -> None:
        """Stream test records to ``output`` (the results file, or a --parallel worker's stream)."""
        output.parent.mkdir(parents=True, exist_ok=True)
        self.writer = ResultsWriter(output, getattr(self, "run", None) or metadata.new_run(self.rootdir, workers=0))
        self.rollup = UrlRollup()

    def start_test(self) -> None:
        self._network.refresh()  # patch HTTP libraries imported since (as the plugin does before each test)
        self._current, self._outcome = self.recorder.start(), "passed"

    def outcome(self, outcome: str) -> None:
        """The test's outcome as pytest would count it; a failure is not undone by a later subtest's pass."""
        if self._outcome == "passed" or outcome == "failed":
            self._outcome = outcome

    def stop_test(self, test: Any) -> None:
        if self._current is None:
            return
        try:
            recording, self._current = self.recorder.stop(self._current), None
            node_id, file, line = where(test, self.rootdir)
            metrics, details = summary.summarise(recording, self.settings)
            metrics["requests"] = float(len(recording.requests))
            record = TestRecord(
                node_id=node_id, file=file, line=line, outcome=self._outcome, metrics=metrics,
                call_metrics=dict(metrics), details=details, requests=list(recording.requests),
            )  # fmt: skip
            self.writer.write_test(record)
            self.rollup.add(record)
        except Exception as exc:  # never a test's problem: say it and go on
            self._current = None
            print(f"perfbudget: recording {getattr(test, 'id', lambda: '?')()} failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def merge(self, streams: Path) -> None:
        """Copy the --parallel workers' test lines into the results file, then drop their streams."""
        for problem in merge_streams(self.writer, streams, self.rollup.add):
            print(problem, file=sys.stderr)

    def finish(self, interrupted: bool) -> None:
        """Remove the collectors, complete the results file, judge it and print the summary and the verdict."""
        while self._undo:
            self._undo.pop()()
        self.run.finished = metadata.utc_now()
        self.run.interrupted = interrupted
        self.run.environment.update(metadata.database_fingerprint())
        path = self.writer.close(self.run, self.rollup.summaries())
        from perfbudget.compare.judge import judge, read_change_details
        from perfbudget.report.summary import render_run_summary, tests_shown_in_detail
        from perfbudget.report.terminal import render_comparison
        from perfbudget.run.read import load_run

        run = load_run(path, details=False)
        comparison = judge(run, self.budgets, self.baseline, exclude=path)
        read_change_details(comparison, path, also=tests_shown_in_detail(run))
        print("\n" + render_run_summary(run).rstrip(), file=sys.stderr)
        print(f"perfbudget: results written to {path}", file=sys.stderr)
        for line in render_comparison(comparison):
            print(line, file=sys.stderr)
        self.failed = comparison.should_fail()
