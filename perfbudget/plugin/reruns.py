"""The rerun protocol: a test run again, set-up to teardown, unreported, for ``--perf-repeat`` and for timing suspects.

pytest's ``runtestprotocol`` runs an item with its fixtures; with
``log=False`` its reports reach no terminal, so the user sees each test
once. The record a rerun makes is captured here (``take``) instead of being
streamed. What is a suspect and how reruns are judged is
``frontend/confirm.py``'s; ``frontend/suspects.py`` drives them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perfbudget.collect.session import RecordingSession
    from perfbudget.frontend.suspects import TimingWatch
    from perfbudget.plugin.host import Host
    from perfbudget.run.model import Confirmation, TestRecord


class Reruns:
    """Runs tests again without reporting them, and holds a test's record until its repeats are done."""

    def __init__(self, plugin: Host) -> None:
        self.plugin = plugin
        self._capture: list[TestRecord] | None = None  # set while a test is rerun: its record is kept, not streamed
        self._held: dict[str, TestRecord | None] = {}  # --perf-repeat: a test's record, until its repeats are done
        self._first_failure: str | None = None  # the first rerun that failed, in one line

    def take(self, node_id: str, record: TestRecord) -> bool:
        """Keep ``record`` if it is a rerun's or waits for its repeats; False: stream it."""
        if self._capture is not None:
            self._capture.append(record)
            return True
        if node_id in self._held:
            self._held[node_id] = record
            return True
        return False

    def run_unreported(self, items: dict[str, pytest.Item], node_id: str, following: str | None) -> TestRecord | None:
        """Run one test again, set-up to teardown, without reporting it; its record is returned, not streamed."""
        from _pytest.runner import runtestprotocol

        item = items.get(node_id)
        if item is None:
            return None
        # What teardown keeps set up: the next test's chain. Before the same test again, its parent's:
        # keeping the test itself would skip its own teardown and then its set-up.
        following_node = items.get(following) if following else None
        if following == node_id:
            following_node = item.parent  # type: ignore[assignment]  # a collector: pytest's nextitem takes any node
        captured: list[TestRecord] = []
        self._capture = captured
        try:
            reports = runtestprotocol(item, log=False, nextitem=following_node)
        finally:
            self._capture = None
        failed = next((report for report in reports if report.failed), None)
        if failed is not None and self._first_failure is None:
            crash = getattr(failed.longrepr, "reprcrash", None)
            self._first_failure = f"{node_id} {failed.when}: {crash.message if crash else 'failed'}".splitlines()[0][:300]
        return captured[-1] if captured else None

    def confirm(self, session: pytest.Session, watch: TimingWatch, recording: RecordingSession, project: str | None) -> Confirmation:
        """After the loop: rerun this process's timing suspects, in the run's own order."""
        items = {item.nodeid: item for item in session.items}
        positions = {node_id: index for index, node_id in enumerate(items)}
        self._first_failure = None  # a --perf-repeat rerun's failure is not the reason these reruns fail
        return watch.confirm(
            recording,
            lambda node_id, following: self.run_unreported(items, node_id, following),
            lambda node_id: positions.get(node_id, 0),
            project,
            lambda: self._first_failure,
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        """Calibrate between tests now and then; with --perf-repeat, run the test again after its reported run."""
        watch = self.plugin.watch
        if watch is not None and self._capture is None:
            watch.tick()
        repeats = self._repeats(item)
        if repeats:
            self._held[item.nodeid] = None  # its record waits for the repeats
        yield
        if not repeats:
            return
        with self.plugin.guard("repeating a test"):
            from perfbudget.run.aggregate import last_attempts

            items = {item.nodeid: item, **({nextitem.nodeid: nextitem} if nextitem is not None else {})}
            records = [self.run_unreported(items, item.nodeid, item.nodeid) for _ in range(repeats - 1)]
            records.append(self.run_unreported(items, item.nodeid, nextitem.nodeid if nextitem else None))
            first = self._held.pop(item.nodeid, None)
            if first is not None:
                # The reported run's record, with every run's sampled values: it is the last "attempt".
                repeated = [record for record in records if record is not None and record.outcome == first.outcome]
                self.plugin.stream(last_attempts([*repeated, first])[0])
        self._held.pop(item.nodeid, None)

    def _repeats(self, item: pytest.Item) -> int:
        """How many more times --perf-repeat runs ``item`` (0: none)."""
        options = self.plugin.options
        if options.repeat <= 1 or not self.plugin.recording or self._capture is not None:
            return 0
        return options.repeat - 1 if options.repeat_match is None or options.repeat_match in item.nodeid else 0
