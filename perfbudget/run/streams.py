"""Merging worker streams into one results file: xdist workers' for the pytest plugin, ``--parallel`` workers' for Django's runner.

Each worker streams its tests to a file of its own; only the controller
writes the results file (STYLE.md #4). Its own module because both front
ends call it and it is neither reading nor writing alone: it reads each
worker's lines (``run/read.py``) and copies them into a ``ResultsWriter``
(``run/write.py``) without re-encoding a record.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from perfbudget.run.decode import ResultsError
from perfbudget.run.model import TestRecord
from perfbudget.run.read import iter_test_lines
from perfbudget.run.write import ResultsWriter


def merge_streams(writer: ResultsWriter, directory: Path, on_record: Callable[[TestRecord], None]) -> list[str]:
    """Copy every worker stream (``*.ndjson``) in ``directory`` into ``writer``, then remove the directory.

    Each test record goes to ``on_record`` too (URL rollups, seen tests). A
    stream that cannot be read is a problem in words, returned, not raised:
    the other workers' tests are still merged. Shared by the pytest plugin
    (xdist workers) and Django's runner (``--parallel`` workers).
    """
    problems = []
    for stream in sorted(directory.glob("*.ndjson")) if directory.is_dir() else []:
        try:
            for record, line in iter_test_lines(stream):
                # Every attempt of a rerun test is kept, as a serial run keeps it; readers keep the last.
                writer.write_line(line)
                if record is not None:  # None: a rerun line, the timing evidence of a suspect
                    on_record(record)
        except ResultsError as exc:
            problems.append(f"perfbudget: part of a worker's results was lost: {exc}")
    shutil.rmtree(directory, ignore_errors=True)
    return problems
