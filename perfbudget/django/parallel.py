"""``manage.py test --parallel``: each worker process records its tests and streams them to a file the runner merges.

Django sends a worker one test class at a time (``RemoteTestRunner.run``)
and replays its results in the main process, where no query of the test
was made. So the worker records: it installs the collectors and warms up
once, writes each class's records to its own stream in the directory named
by ``PERFBUDGET_WORKER_STREAMS``, and the runner merges the streams into
the one results file, as the pytest plugin merges xdist's. The runner sets
that variable and ``PERFBUDGET_WORKER_OPTIONS`` (what the workers record
with) before the pool starts, so forked and spawned workers alike see them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from pathlib import Path
from typing import Any

from django.test.runner import ParallelTestSuite, RemoteTestResult, RemoteTestRunner

from perfbudget.config.options import PerfOptions
from perfbudget.django.results import recording_result
from perfbudget.django.session import RunnerSession

STREAMS_VARIABLE = "PERFBUDGET_WORKER_STREAMS"
OPTIONS_VARIABLE = "PERFBUDGET_WORKER_OPTIONS"
_WORKER_FIELDS = ("budget_file", "memory", "sql_params", "warm_up")  # what a worker records with; it judges nothing
_session: RunnerSession | None = None  # this worker process's collectors, installed at its first test class


def worker_options(options: PerfOptions) -> str:
    """The options a worker needs, for ``OPTIONS_VARIABLE``."""
    return json.dumps({name: getattr(options, name) for name in _WORKER_FIELDS})


def _worker_session() -> RunnerSession:
    global _session
    if _session is None:
        try:
            given = json.loads(os.environ.get(OPTIONS_VARIABLE) or "{}")
        except ValueError:
            given = {}
        known = {name: given[name] for name in _WORKER_FIELDS if name in given}
        options = dataclasses.replace(PerfOptions(output=Path(os.devnull), confirm_rounds=0), **known)
        _session = RunnerSession(Path.cwd(), options)
        _session.install()
    return _session


class RecordingRemoteTestRunner(RemoteTestRunner):
    """Runs one test class in a worker, each test recorded to this class's own stream."""

    def run(self, test: Any) -> Any:
        if STREAMS_VARIABLE not in os.environ:  # not a recording run: Django's runner, unchanged
            return super().run(test)
        session = _worker_session()
        session.recording.open_stream(Path(os.environ[STREAMS_VARIABLE]) / f"{uuid.uuid4().hex}.ndjson", session.run)
        self.resultclass = recording_result(RemoteTestResult, session)
        try:
            return super().run(test)
        finally:
            session.recording.abandon_stream()  # no trailer: the runner writes the one results file's


class RecordingParallelTestSuite(ParallelTestSuite):
    runner_class = RecordingRemoteTestRunner
