"""xdist transport: each worker streams its tests to a file of its own, and the controller merges them.

Per-test records do not ride on xdist's reports (a record can be large);
each worker writes them to ``WORKER_STREAMS``/``gwN.ndjson``, named by the
controller in ``pytest_configure_node``, and the controller copies them,
line by line, into the one results file at session finish. What a worker
knows of the whole session (its problems, what confirming its suspects
cost) travels in ``workeroutput``. The hooks are optional: without xdist
this plugin is never registered.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfbudget.plugin.host import Host
    from perfbudget.run.model import TestRecord

WORKER_PROBLEMS = "perfbudget_problems"  # workeroutput key: a worker's warnings, for the controller
WORKER_STREAMS = "perfbudget_streams"  # workerinput key: the directory each worker streams its tests into
WORKER_CONFIRMATION = "perfbudget_confirmation"  # workeroutput key: what confirming its suspects cost a worker


class XdistTransport:
    """The controller's and the workers' halves of moving records between processes."""

    def __init__(self, plugin: Host) -> None:
        self.plugin = plugin
        self.workers: set[str] = set()
        self._streams: Path | None = None  # controller: where the workers stream
        self._crashed: dict[str, TestRecord] = {}  # controller: tests whose worker died under them

    # --- controller ------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Count the workers and tell each where to stream its tests."""
        self.workers.add(str(getattr(getattr(node, "gateway", None), "id", len(self.workers))))
        if self._streams is None:
            output = self.plugin.options.output
            self._streams = output.parent / f".{output.name}.workers-{os.getpid()}"
        node.workerinput[WORKER_STREAMS] = str(self._streams)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A worker's perfbudget problems and rerun figures join the controller's.

        Warnings a worker raises outside a test (installing collectors) are
        not forwarded by xdist, so they travel in ``workeroutput``.
        """
        output = getattr(node, "workeroutput", {})
        for problem in output.get(WORKER_PROBLEMS, []):
            if problem not in self.plugin.problems:
                self.plugin.problems.append(problem)
        if WORKER_CONFIRMATION in output:
            with self.plugin.guard("reading a worker's rerun figures"):
                from perfbudget.run.decode import Where, confirmation_from_dict

                confirmation = confirmation_from_dict(Where("xdist worker", None), output[WORKER_CONFIRMATION])
                if confirmation is not None:
                    self.plugin.confirmations.append(confirmation)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.plugin.is_worker or report.when != "???" or not report.failed:
            return
        # xdist's report for a test whose worker crashed: nothing was recorded
        # but its outcome, which the results should still show.
        from perfbudget.run.model import TestRecord

        self._crashed.setdefault(report.nodeid, TestRecord(node_id=report.nodeid, file=report.location[0], line=None, outcome="failed"))

    def sweep_stale_streams(self) -> None:
        """Remove what workers of a killed earlier run left beside the results file."""
        output = self.plugin.options.output
        for stale in output.parent.glob(f".{output.name}.workers-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def merge(self) -> None:
        """Copy each worker's test lines into the results file; tests lost with a worker last."""
        session = self.plugin.session
        if session is None:
            return
        seen: set[str] = set()
        if self._streams is not None:
            session.merge(self._streams, lambda record: seen.add(record.node_id))
        for node_id, record in sorted(self._crashed.items()):
            if node_id not in seen:
                self.plugin.stream(record)

    # --- worker ------------------------------------------------------------------

    def worker_stream(self) -> Path:
        """This worker's own stream, in the directory the controller named."""
        workerinput = self.plugin.config.workerinput  # type: ignore[attr-defined]  # set by xdist on workers
        return Path(workerinput[WORKER_STREAMS]) / f"{workerinput.get('workerid', 'gw')}.ndjson"

    def worker_finish(self) -> None:
        """Close the stream without a trailer (the controller writes the one trailer) and hand over the problems."""
        plugin = self.plugin
        if plugin.session is not None:
            with plugin.guard("closing this worker's stream"):
                plugin.session.abandon_stream()
        workeroutput = plugin.config.workeroutput  # type: ignore[attr-defined]  # set by xdist on workers
        workeroutput[WORKER_PROBLEMS] = list(plugin.problems)
        if plugin.confirmations:
            from perfbudget.run.encode import confirmation_to_dict

            workeroutput[WORKER_CONFIRMATION] = confirmation_to_dict(plugin.confirmations[-1])
