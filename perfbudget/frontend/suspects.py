"""One process's timing evidence: calibrated while its tests run, suspects rerun after them.

A front end that can rerun a test (pytest's protocol, unittest's suites)
keeps one ``TimingWatch`` per process that runs tests: it ``start``s it
before the loop, ``tick``s it between tests, and after the loop calls
``confirm`` with a function that reruns one test unreported. The rules of
what is a suspect and how reruns are taken are ``confirm.py``'s; this
module only drives them, for every front end alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from perfbudget.budgets import Budgets
from perfbudget.collect.session import RecordingSession
from perfbudget.compare.baseline import Baseline
from perfbudget.config.options import PerfOptions
from perfbudget.frontend.confirm import Calibrator, Confirmer, RunOnce, light_copy, plan, process_age
from perfbudget.run.model import Confirmation, TestRecord


class TimingWatch:
    """The calibration loop, every test's times (kept light) and, after the loop, the reruns of its suspects."""

    def __init__(self, options: PerfOptions, budgets: Budgets, warn: Callable[[str], None]) -> None:
        self.options, self.budgets, self.warn = options, budgets, warn
        self.calibrator = Calibrator()
        self.timings: list[TestRecord] = []
        self.confirmation: Confirmation | None = None  # once the loop is over
        self._process_started = time.perf_counter()
        self._loop_started = 0.0

    def start(self) -> None:
        """Before the first test: warm the calibration loop."""
        self.calibrator.warm()
        self._loop_started = time.perf_counter()

    def tick(self) -> None:
        self.calibrator.tick()

    def note(self, record: TestRecord) -> None:
        """Every streamed test's times, to find the suspects among them after the loop."""
        if self.options.confirm_rounds:
            self.timings.append(light_copy(record))

    def confirm(
        self,
        session: RecordingSession,
        run_once: RunOnce,
        position: Callable[[str], int],
        project: str | None,
        first_failure: Callable[[], str | None] = lambda: None,
    ) -> Confirmation:
        """Rerun this process's timing suspects and stream the evidence; returns what it cost.

        ``first_failure`` names the first rerun that failed, in one line, for the warning when none passed.
        """
        loop_seconds = time.perf_counter() - self._loop_started
        confirmation = Confirmation(
            calibration_ms=self.calibrator.speed(), calibration_noise=self.calibrator.noise(), loop_seconds=loop_seconds
        )
        self.confirmation = confirmation
        rounds = self.options.confirm_rounds
        if not rounds or session.writer is None or not self.timings:
            return confirmation
        baseline = self._baseline(project)
        budget = self.options.confirm_budget * process_age(time.perf_counter() - self._process_started)
        work = plan(self.timings, session.rollup.summaries(), self.budgets, baseline, confirmation, budget * 1000.0, rounds)
        confirmation.rounds, confirmation.not_rerun = rounds, work.not_rerun
        if not work.tests:
            return confirmation
        confirmer = Confirmer(run_once, rounds, budget, confirmation.calibration_ms)
        confirmer.confirm(work, position)
        if confirmer.failed and not confirmer.passed:
            why = first_failure()
            self.warn(
                f"perfbudget: timing suspects could not be rerun, so none is confirmed "
                f"(the first {confirmer.failed} reruns failed{f': {why}' if why else ''})"
            )
        confirmation.tests, confirmation.seconds = len(confirmer.tests), confirmer.seconds
        session.write_reruns(confirmer.tests, confirmer.urls)
        return confirmation

    def _baseline(self, project: str | None) -> Baseline | None:
        """The baseline the suspects are found with (read light), None without one; its problems are the verdict's to report."""
        if not self.options.baseline:
            return None
        from perfbudget.compare.baseline import load_baseline

        return load_baseline(self.options.baseline, project=project, exclude=self.options.output).baseline
