"""Reading results files: a whole run (``load_run``), a few tests in full (``load_details``), a worker's tests (``iter_test_lines``).

A run is read light by default where that is all a caller needs (a baseline,
compare): tests without their call-phase metrics, details and requests, the
most of each line; ``load_details`` then fetches in full the few tests a
report shows. A stream cut short (no ``end`` line: the run crashed) reads as
an interrupted run, its URL rollups rebuilt from the tests' requests. Every
value read is checked: a wrong type, NaN or Infinity, a huge number, a NUL
byte or nesting where none belongs is one ``ResultsError`` naming the file,
line and field, never a traceback. The bytes and JSON are ``run/lines.py``'s
job, each record's fields ``run/decode.py``'s; this module puts a run
together from the records and checks their order.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perfbudget.run.aggregate import aggregate_urls, attach_reruns, last_attempts
from perfbudget.run.decode import (
    ResultsError,
    Where,
    apply_header,
    checked_list,
    confirmation_from_dict,
    describe,
    environment,
    flag,
    opt_str,
    rerun_from_dict,
    test_from_dict,
    url_from_dict,
)
from perfbudget.run.encode import OLDEST_READABLE, SCHEMA_VERSION, encode_line
from perfbudget.run.files import MAX_DOCUMENT_BYTES, open_regular, read_bounded
from perfbudget.run.lines import GZIP_MAGIC, Torn, parse, records
from perfbudget.run.model import Reruns, Run, TestRecord, UrlSummary


def check_version(where: Where, data: dict[str, Any]) -> None:
    """Refuse, rather than guess at, a schema this perfbudget cannot read."""
    version = data.get("schema_version")
    if type(version) is not int or not OLDEST_READABLE <= version <= SCHEMA_VERSION:
        raise ResultsError(
            f"{where.source}: results schema version {describe(version)} is not supported (this perfbudget "
            f"reads versions {OLDEST_READABLE} to {SCHEMA_VERSION}); upgrade perfbudget or re-record"
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run is read or judged.

    Both build millions of small objects and no cycles; the collector, run
    again and again over the growing heap, took a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _is_stream(source: Path) -> bool:
    """NDJSON (schema 2, maybe gzip) rather than one JSON document (schema 1)."""
    try:
        with open_regular(source) as probe:  # a FIFO or a device is refused here, before anything waits on it
            head = probe.read(2)
            probe.seek(0)
            first = probe.readline(1 << 20)
    except OSError as exc:
        raise ResultsError(f"{source}: cannot read results file ({exc.strerror})") from exc
    return head == GZIP_MAGIC or first.lstrip().startswith(b'{"type"')


def load_run(path: str | os.PathLike[str], *, allow_partial: bool = True, details: bool = True) -> Run:
    """Read a results file of any readable schema; every failure is a ResultsError naming the file.

    A stream cut short (no end line: the run crashed) reads as an
    interrupted run of the tests it finished, unless ``allow_partial`` is
    False (a baseline must be complete). ``details=False`` reads tests
    without their call-phase metrics, details and requests: what a
    baseline and compare need. Tests come sorted by node id.
    """
    source = Path(path)
    try:
        with collector_paused():
            run = _read_stream(source, allow_partial, details) if _is_stream(source) else _read_document(source, details)
    except OSError as exc:
        raise ResultsError(f"{source}: cannot read results file ({exc.strerror or exc})") from exc
    run.tests.sort(key=lambda test: test.node_id)
    return run


def load_details(path: str | os.PathLike[str], node_ids: set[str]) -> dict[str, TestRecord]:
    """The full records of the tests named, decoding in full only their lines.

    Reports show details only for what changed: a run is read light, judged,
    and then this fetches the details of the few tests that need them.
    """
    source = Path(path)
    if not node_ids:
        return {}
    if not _is_stream(source):
        return {test.node_id: test for test in load_run(source).tests if test.node_id in node_ids}
    found: dict[str, TestRecord] = {}
    try:
        for where, data, line in records(source, light=True):
            node_id = data.get("node_id")
            if data.get("type") == "test" and type(node_id) is str and node_id in node_ids:
                found[node_id] = test_from_dict(where, parse(where, line))  # the last attempt wins, as in load_run
    except Torn:
        pass  # a run cut short: what it finished is there
    return found


def _read_stream(path: Path, allow_partial: bool, details: bool) -> Run:
    run = Run()
    urls: list[UrlSummary] = []
    reruns: list[tuple[str, str, Reruns]] = []
    ended = header = False
    torn: str | None = None
    try:
        for where, data, _ in records(path, light=not details):
            kind = data.get("type")
            if ended:
                raise where.error("type", "a record after the end line")
            if not header:
                if kind != "run":
                    raise where.error("type", "not a perfbudget results file (no header line)")
                check_version(where, data)
                if data["schema_version"] != SCHEMA_VERSION:
                    raise where.error("schema_version", f"a stream is schema {SCHEMA_VERSION}, not {describe(data['schema_version'])}")
                apply_header(where, run, data)
                header = True
            elif kind == "run":
                raise where.error("type", "a second header line (two files joined?)")
            elif kind == "test":
                run.tests.append(test_from_dict(where, data, details=details))
            elif kind == "url":
                urls.append(url_from_dict(where, data))
            elif kind == "rerun":
                reruns.append(rerun_from_dict(where, data))
            elif kind == "end":
                run.finished = opt_str(where, data.get("finished"), "finished")
                run.interrupted = flag(where, data.get("interrupted"), "interrupted")
                run.environment.update(environment(where, data.get("environment", {})))
                run.confirmation = confirmation_from_dict(where, data.get("confirmation"))
                ended = True
            else:
                raise where.error("type", f"unknown record type {describe(kind)}")
    except Torn as exc:
        torn = str(exc)
    if not header:
        raise ResultsError(torn or f"{path}: empty results file; delete it or record a new one")
    if not ended:
        if not allow_partial:
            raise ResultsError(torn or f"{path}: incomplete results file (no end line: the run was cut short)")
        if not details:  # its URL rollups were never written: they are rebuilt from the requests
            return _read_stream(path, allow_partial, details=True)
        run.interrupted = True  # what it finished is kept, and it says so
    elif torn:
        raise ResultsError(torn)
    run.tests = last_attempts(run.tests)
    run.urls = urls if ended else aggregate_urls(run.tests)
    attach_reruns(run, reruns)
    return run


def _read_document(path: Path, details: bool) -> Run:
    """Schema 1: the whole run as one JSON document."""
    where = Where(str(path), None)  # one document: fields are named by their path in it
    text = read_bounded(path, MAX_DOCUMENT_BYTES)  # one document: read whole, so bounded
    if not text.strip():
        raise ResultsError(f"{path}: empty results file; delete it or record a new one")
    data = parse(where, text)
    if type(data) is not dict or "schema_version" not in data:
        raise ResultsError(f"{path}: not a perfbudget results file (no schema_version)")
    check_version(where, data)  # refuses what this perfbudget cannot read (a bool or a float too)
    if data["schema_version"] != 1:
        raise ResultsError(f"{path}: a schema {data['schema_version']} results file must be NDJSON")
    run = Run()
    apply_header(where, run, data)
    run.interrupted = flag(where, data.get("interrupted"), "interrupted")
    tests = checked_list(where, data.get("tests", []), "tests")
    run.tests = [test_from_dict(where, test, f"tests[{index}]", details) for index, test in enumerate(tests)]
    urls = checked_list(where, data.get("urls", []), "urls")
    run.urls = [url_from_dict(where, url, f"urls[{index}]") for index, url in enumerate(urls)]
    return run


def iter_test_lines(path: str | os.PathLike[str]) -> Iterator[tuple[TestRecord | None, bytes]]:
    """Each test of a stream (a worker's file) with its line re-encoded compactly, for merging.

    A ``rerun`` line comes with None for its record (checked, copied as is).
    A torn last line (the worker died mid-write) ends the stream; any other
    bad line is a ResultsError.
    """
    try:
        for where, data, _ in records(Path(path)):
            kind = data.get("type")
            if kind == "test":
                yield test_from_dict(where, data), encode_line(data)
            elif kind == "rerun":
                rerun_from_dict(where, data)
                yield None, encode_line(data)
    except Torn:
        return
