"""``manage.py test --parallel``: each worker process records its tests and streams them to a file the runner merges.

Django sends a worker one test class at a time (``RemoteTestRunner.run``)
and replays its results in the main process, where no query of the test
was made. So the worker records: it installs the collectors once, writes
each class's records to its own stream in the directory named by
``PERFBUDGET_WORKER_STREAMS`` (set by the runner before the pool starts, so
forked and spawned workers alike see it), and the runner merges the streams
into the one results file, as the pytest plugin merges xdist's.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from django.test.runner import ParallelTestSuite, RemoteTestResult, RemoteTestRunner

from perfbudget.collect import metadata
from perfbudget.django.results import recording_result
from perfbudget.django.session import RunnerSession

STREAMS_VARIABLE = "PERFBUDGET_WORKER_STREAMS"
_session: RunnerSession | None = None  # this worker process's collectors, installed at its first test class


def _worker_session() -> RunnerSession:
    global _session
    if _session is None:
        _session = RunnerSession(Path.cwd(), Path(os.devnull), None, os.environ.get("PERFBUDGET_BUDGET_FILE") or None)
        _session.install()
        _session.run = metadata.new_run(Path.cwd(), workers=0)  # once per worker: git and the environment probe cost
    return _session


class RecordingRemoteTestRunner(RemoteTestRunner):
    """Runs one test class in a worker, each test recorded to this class's own stream."""

    def run(self, test: Any) -> Any:
        if STREAMS_VARIABLE not in os.environ:  # not a recording run: Django's runner, unchanged
            return super().run(test)
        session = _worker_session()
        session.open(Path(os.environ[STREAMS_VARIABLE]) / f"{uuid.uuid4().hex}.ndjson")
        self.resultclass = recording_result(RemoteTestResult, session)
        try:
            return super().run(test)
        finally:
            session.writer.abandon()  # no trailer: the runner writes the one results file's


class RecordingParallelTestSuite(ParallelTestSuite):
    runner_class = RecordingRemoteTestRunner
