"""Results files: streamed, versioned, one record a line, and validated when read.

A results file is NDJSON (gzip-compressed when its name ends in ``.gz``):

    {"type": "run", "schema_version": 2, "project": ..., "environment": {...}}   the header
    {"type": "test", "node_id": ..., "metrics": {...}, ...}                      one line per test
    {"type": "rerun", "subject_kind": "test", "subject": ..., "samples": {...}}  a timing suspect measured again
    {"type": "url", "method": "GET", "route": "/", ...}                          per-URL rollups
    {"type": "end", "finished": ..., "interrupted": false}                       the trailer

Tests are written as they finish (``ResultsWriter``), so a crash or Ctrl-C
leaves every finished test readable: a file without its ``end`` line reads
as an interrupted run, its URL rollups rebuilt from the tests' requests.
Values that say nothing (None, empty lists, default counts) are left out and
whole numbers are written without ``.0``; that keeps a test near 1 KB.

Every value read is checked: a wrong type, NaN or Infinity, a huge number,
a NUL byte or nesting where none belongs is one ``ResultsError`` naming the
file, line and field, never a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import os
import re
import shutil
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from perfbudget.run.aggregate import aggregate_urls, last_attempts
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
from perfbudget.run.model import (
    Confirmation,
    Details,
    RequestRecord,
    Reruns,
    Run,
    SqlGroup,
    TestRecord,
    UrlSummary,
)

# Schema history (a newer version is refused rather than guessed at):
#   1: one JSON document, ``results.json`` (perfbudget 0.1); still read, for one release.
#   2: NDJSON: header, one test a line, URL rollups, trailer; optionally gzip.
SCHEMA_VERSION = 2
OLDEST_READABLE = 1
GZIP_MAGIC = b"\x1f\x8b"


# --- writing -------------------------------------------------------------------


def _compact(value: float) -> float | int:
    """``3.0`` as ``3``: most metrics are counts, and the ``.0`` is a fifth of their bytes."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _metrics_out(metrics: dict[str, float]) -> dict[str, float | int]:
    return {name: _compact(metrics[name]) for name in sorted(metrics)}


def _details_out(details: Details) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if details.sql_groups:
        out["sql_groups"] = [_sql_out(group) for group in details.sql_groups]
    if details.network_calls:
        out["network_calls"] = [_drop_none(_fields(call)) for call in details.network_calls]
    if details.cache_ops:
        out["cache_ops"] = [_fields(op) for op in details.cache_ops]
    if details.templates:
        out["templates"] = [_fields(template) for template in details.templates]
    if details.signals:
        out["signals"] = dict(sorted(details.signals.items()))
    return out


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _sql_out(group: SqlGroup) -> dict[str, Any]:
    out: dict[str, Any] = {"sql": group.sql, "kind": group.kind, "database": group.database, "count": group.count,
                           "time_ms": group.time_ms}  # fmt: skip
    if group.duplicates:
        out["duplicates"] = group.duplicates
    if group.location is not None:
        out["location"] = group.location
    if group.n_plus_one:
        out["n_plus_one"] = True
    if group.n_plus_one_in_tests:
        out["n_plus_one_in_tests"] = True
    if group.warmup:
        out["warmup"] = True
    if group.params is not None:
        out["params"] = group.params
    return out


def test_to_dict(test: TestRecord) -> dict[str, Any]:
    """One test's line, without the values that say nothing."""
    out: dict[str, Any] = {"type": "test", "node_id": test.node_id, "file": test.file, "line": test.line,
                           "outcome": test.outcome, "metrics": _metrics_out(test.metrics)}  # fmt: skip
    if test.samples:
        out["samples"] = dict(sorted(test.samples.items()))
    if test.budget_marker is not None:
        out["budget_marker"] = test.budget_marker
    # The call phase's metrics, details and requests last: a light read (a baseline, compare)
    # cuts the line at the first of them, keys no metric is named after; "details" is
    # written, if only empty, whenever requests follow.
    if test.call_metrics:
        out["call_metrics"] = _metrics_out(test.call_metrics)
    details = _details_out(test.details)
    if details or test.requests:
        out["details"] = details
    if test.requests:
        out["requests"] = [_request_out(request) for request in test.requests]
    return out


def _request_out(request: RequestRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"method": request.method, "path": request.path, "route": request.route,
                           "view_name": request.view_name, "status": request.status,
                           "metrics": _metrics_out(request.metrics)}  # fmt: skip
    details = _details_out(request.details)
    if details:
        out["details"] = details
    return _drop_none(out)


def url_to_dict(url: UrlSummary) -> dict[str, Any]:
    return _drop_none({"type": "url", "method": url.method, "route": url.route, "view_name": url.view_name,
                       "hits": url.hits, "metrics": _metrics_out(url.metrics), "status_codes": url.status_codes,
                       "tests": url.tests, "samples": url.samples})  # fmt: skip


def header_to_dict(run: Run) -> dict[str, Any]:
    return {"type": "run", "schema_version": SCHEMA_VERSION, "project": run.project, "commit": run.commit,
            "branch": run.branch, "base_commit": run.base_commit, "build_id": run.build_id, "shard": run.shard,
            "started": run.started, "environment": dict(sorted(run.environment.items()))}  # fmt: skip


def trailer_to_dict(run: Run) -> dict[str, Any]:
    """The end line: what is known only once the run is over."""
    out = {"type": "end", "finished": run.finished, "interrupted": run.interrupted,
           "environment": dict(sorted(run.environment.items()))}  # fmt: skip
    if run.confirmation is not None:
        out["confirmation"] = confirmation_to_dict(run.confirmation)
    return out


def confirmation_to_dict(confirmation: Confirmation) -> dict[str, Any]:
    return _drop_none(_fields(confirmation))


def rerun_to_dict(kind: str, name: str, reruns: Reruns) -> dict[str, Any]:
    """A ``rerun`` line: written after the tests, by the process that reran the suspect."""
    out = {"type": "rerun", "subject_kind": kind, "subject": name, "samples": dict(sorted(reruns.samples.items())),
           "calibration": reruns.calibration}  # fmt: skip
    if reruns.control is not None:
        out["control"], out["control_samples"] = reruns.control, dict(sorted(reruns.control_samples.items()))
    if reruns.loop_calibration_ms is not None:
        out["loop_calibration_ms"] = reruns.loop_calibration_ms
    return out


# One encoder, built once (``json.dumps`` with options builds one per call);
# ensure_ascii=False keeps non-ASCII test names readable, allow_nan=False
# refuses to write what no reader would accept.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_line(data: dict[str, Any]) -> bytes:
    return (_encode(data) + "\n").encode("utf-8")


def check_output_path(path: Path) -> None:
    """Refuse to replace anything but a regular file: a symlink, a directory or a device node.

    Writing through a symlink would overwrite whatever it points to; a
    device or a directory is surely a mistyped ``--perf-output``.
    """
    try:
        info = os.lstat(path)
    except OSError:  # missing, or not reachable: writing it will say why
        return
    if not stat.S_ISREG(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ResultsError(f"{path}: refusing to replace it with results: it is {what}")


def _open_for_writing(path: Path) -> IO[bytes]:
    """Create or truncate ``path``, never following a symlink put there meanwhile."""
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write the results file ({exc.strerror})") from exc
    raw = os.fdopen(fd, "wb")
    if path.name.endswith(".gz"):
        # mtime=0: the same run gives the same bytes; the name is not stored.
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)  # type: ignore[return-value]
    return raw


class ResultsWriter:
    """A results file being written: header at open, a line per test as each finishes, trailer at close.

    Each test's line reaches the operating system before ``write_test``
    returns, so a crash loses at most the test being written.
    """

    def __init__(self, path: str | os.PathLike[str], run: Run) -> None:
        self.path = Path(path)
        self._raw = raw = _open_for_writing(self.path)
        self._gzip = isinstance(raw, gzip.GzipFile)
        raw.write(encode_line(header_to_dict(run)))
        self._flush()

    def _flush(self) -> None:
        self._raw.flush()  # gzip: a sync flush, so the compressed stream decodes up to here

    def write_test(self, test: TestRecord) -> None:
        self.write_line(encode_line(test_to_dict(test)))

    def write_line(self, line: bytes) -> None:
        """A test line already encoded (one a worker wrote), copied as is."""
        self._raw.write(line)
        self._flush()

    def write_rerun(self, kind: str, name: str, reruns: Reruns) -> None:
        self.write_line(encode_line(rerun_to_dict(kind, name, reruns)))

    def close(self, run: Run, urls: list[UrlSummary]) -> Path:
        """Write the URL rollups and the trailer; the file is complete."""
        for url in urls:
            self._raw.write(encode_line(url_to_dict(url)))
        self._raw.write(encode_line(trailer_to_dict(run)))
        self._raw.close()
        return self.path

    def abandon(self) -> None:
        """Close without a trailer: the file reads as an interrupted run."""
        self._raw.close()


def write_run(run: Run, path: str | os.PathLike[str]) -> Path:
    """Write a whole run at once, atomically: a reader sees the old file or the new one."""
    target = Path(path)
    check_output_path(target)
    # The temporary name ends like the target's, so a .gz target is compressed too.
    tmp = target.with_name(f".{os.getpid()}.tmp.{target.name}")
    try:
        writer = ResultsWriter(tmp, run)
        for test in sorted(run.tests, key=lambda t: t.node_id):
            writer.write_test(test)
        for kind, subjects in (("test", run.tests), ("url", run.urls)):
            for subject in subjects:
                if subject.reruns is not None:
                    writer.write_rerun(kind, subject.node_id if kind == "test" else subject.key, subject.reruns)  # type: ignore[union-attr]
        writer.close(run, sorted(run.urls, key=lambda u: u.key))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# --- reading -------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number perfbudget accepts")


_decode = json.JSONDecoder(parse_constant=_refuse_constant).decode


class _Refused:
    """A value the strict decoder refused, kept by the lenient one so that the field holding it can be named."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what


def _lenient_int(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return _Refused(f"an integer of {len(text)} digits")


# Only on the error path: a custom parse_int is slower than the decoder's own.
_decode_lenient = json.JSONDecoder(parse_constant=_Refused, parse_int=_lenient_int).decode


def _refused_field(text: str) -> tuple[str, str] | None:
    """The field holding the first value the strict decoder refused, and what it was, if the lenient one finds it.

    Fields are named as the readers name them: ``test.metrics.queries`` in a
    stream's test line, ``tests[0].metrics.queries`` in a schema-1 document.
    """
    try:
        data = _decode_lenient(text)
    except (ValueError, RecursionError):
        return None
    root = data.get("type") if type(data) is dict and data.get("type") in ("test", "url") else ""
    stack: list[tuple[str, Any]] = [(root, data)]
    while stack:  # a loop, not recursion: the value may be nested nearly as deep as the decoder allows
        field, value = stack.pop()
        if isinstance(value, _Refused):
            return field, value.what
        if type(value) is dict:
            stack.extend((f"{field}.{key}" if field else key, item) for key, item in reversed(value.items()))
        elif type(value) is list:
            stack.extend((f"{field}[{index}]", item) for index, item in reversed(list(enumerate(value))))
    return None


_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def _deepest_line(text: str) -> int:
    """The line where a document's nesting is deepest: where a RecursionError sent the reader."""
    depth = deepest = at = 0
    for match in _BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
        elif token in ("]", "}"):
            depth -= 1
    return text.count("\n", 0, at) + 1


_CUT = b"<cut>"  # yielded, by identity, where a compressed stream ends early


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's lines, numbered from 1; a gzip stream cut short ends where it was cut."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            yield from enumerate(raw, 1)
            return
        number = 0
        try:
            for number, line in enumerate(_gunzipped_lines(raw), 1):
                yield number, line
        except (EOFError, zlib.error):
            yield number + 1, _CUT


_CHUNK = 1 << 16  # compressed bytes: results inflate about 30-fold


def _gunzipped_lines(raw: IO[bytes]) -> Iterator[bytes]:
    """The lines of a gzip stream, inflated a chunk at a time.

    ``gzip.GzipFile`` reads a line at a time through Python code, which was a
    fifth of reading a 50,000-test run. Several members (files joined with
    ``cat``) are read one after the other; EOFError when the stream is cut short.
    """
    inflate = zlib.decompressobj(wbits=31)
    rest = b""
    while chunk := raw.read(_CHUNK):
        data = inflate.decompress(chunk)
        while inflate.eof and inflate.unused_data:  # the next member starts in this chunk
            left = inflate.unused_data
            inflate = zlib.decompressobj(wbits=31)
            data += inflate.decompress(left)
        *lines, rest = (rest + data).split(b"\n")
        for line in lines:
            yield line + b"\n"
    if not inflate.eof:
        raise EOFError("compressed stream cut short")
    if rest:
        yield rest


def _parse(where: Where, line: bytes) -> Any:
    try:
        text = line.decode("utf-8")
        return _decode(text)
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{where.source}:{where.line}: corrupt results file (not UTF-8: {exc.reason})") from exc
    except RecursionError as exc:
        raise ResultsError(f"{where.source}:{where.line}: corrupt results file (nested too deeply)") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{where.source}:{where.line}: corrupt results file ({_problem(exc)}); delete it or record a new one") from exc
    except ValueError as exc:  # NaN/Infinity, an integer of thousands of digits
        raise _refusal(where, text, exc) from exc


def _problem(exc: json.JSONDecodeError) -> str:
    """``Invalid control character at column 12``: json's own words end in "at" for a raw NUL or newline."""
    return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"


def _refusal(where: Where, text: str, exc: ValueError) -> ResultsError:
    """The error for a value the decoder refused, naming its field when the lenient decoder can find it."""
    found = _refused_field(text)
    if found is None:
        return ResultsError(f"{where.at}: corrupt results file ({exc}); delete it or record a new one")
    field, what = found
    return where.error(field, f"{what} is not a number perfbudget accepts")


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
        with source.open("rb") as probe:
            head = probe.read(2)
            probe.seek(0)
            first = probe.readline(1 << 20)
    except FileNotFoundError as exc:
        raise ResultsError(f"{source}: results file not found") from exc
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


class _Torn(Exception):
    """The stream ended in the middle of a line: a crash while writing, or a cut copy."""


# Where a light read cuts a test's line: call metrics, details and requests come last in it (test_to_dict).
_HEAVY_KEYS = (b',"call_metrics":', b',"details":')


def _light(line: bytes) -> bytes | None:
    """A test's line without its call-phase metrics, details and requests, or None when it has none of them.

    A quote inside a JSON string is escaped, so ``,"details":`` in the raw
    bytes is always a key; only a cut at the top level leaves valid JSON
    (any deeper one leaves a brace open), and the caller falls back to the
    whole line when the cut does not parse.
    """
    cuts = [index for index in map(line.find, _HEAVY_KEYS) if index > 0]
    return line[: min(cuts)] + b"}" if cuts else None


def _records(path: Path, light: bool = False) -> Iterator[tuple[Where, dict[str, Any], bytes]]:
    """Each line of a stream as a JSON object, with its bytes; a bad line is an error, or ``_Torn`` when it is the last.

    ``light``: test lines are decoded without their call-phase metrics,
    details and requests (most of a line), which a baseline and compare never read.
    """
    pending: ResultsError | None = None
    for number, line in _lines(path):
        if pending is not None:
            raise pending
        where = Where(str(path), number, b"\\u" in line)
        if line is _CUT:
            raise _Torn(f"{path}:{number}: corrupt results file (compressed stream cut short)")
        if not line.strip():
            continue
        cut = _light(line) if light and line.startswith(b'{"type":"test"') else None
        try:
            data = _parse(where, cut) if cut is not None else None
        except ResultsError:
            data = None  # not cut cleanly: the whole line is decoded, and judged, below
        try:
            if data is None:
                data = _parse(where, line)
        except ResultsError as exc:
            if line.endswith(b"\n"):  # a whole line that does not parse is corruption, not a crash mid-write
                raise
            pending = exc  # fatal, unless nothing follows it
            continue
        if type(data) is not dict:
            raise where.error("line", f"expected an object, got {describe(data)}")
        yield where, data, line
    if pending is not None:
        raise _Torn(str(pending))


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
        for where, data, line in _records(source, light=True):
            node_id = data.get("node_id")
            if data.get("type") == "test" and type(node_id) is str and node_id in node_ids:
                found[node_id] = test_from_dict(where, _parse(where, line))  # the last attempt wins, as in load_run
    except _Torn:
        pass  # a run cut short: what it finished is there
    return found


def _read_stream(path: Path, allow_partial: bool, details: bool) -> Run:
    run = Run()
    urls: list[UrlSummary] = []
    reruns: list[tuple[str, str, Reruns]] = []
    ended = header = False
    torn: str | None = None
    try:
        for where, data, _ in _records(path, light=not details):
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
    except _Torn as exc:
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


def attach_reruns(run: Run, reruns: list[tuple[str, str, Reruns]]) -> None:
    """Give each rerun subject its evidence; rounds of one URL from several processes (xdist) are pooled."""
    if not reruns:
        return
    subjects: dict[tuple[str, str], TestRecord | UrlSummary] = {("test", t.node_id): t for t in run.tests}
    subjects.update((("url", u.key), u) for u in run.urls)
    for kind, name, evidence in reruns:
        subject = subjects.get((kind, name))
        if subject is None:
            continue  # rerun, then lost with its test's line: nothing to attach to
        if subject.reruns is None:
            subject.reruns = evidence
            continue
        for metric, series in evidence.samples.items():
            subject.reruns.samples.setdefault(metric, []).extend(series)
        subject.reruns.calibration.extend(evidence.calibration)
        if subject.reruns.control is None:
            subject.reruns.control, subject.reruns.control_samples = evidence.control, evidence.control_samples
        if subject.reruns.loop_calibration_ms is None:
            subject.reruns.loop_calibration_ms = evidence.loop_calibration_ms


def _read_document(path: Path, details: bool) -> Run:
    """Schema 1: the whole run as one JSON document."""
    where = Where(str(path), None)  # one document: fields are named by their path in it
    try:
        text = path.read_bytes().decode("utf-8")
        data = _decode(text)
    except UnicodeDecodeError as exc:
        raise where.error("file", f"not UTF-8 text ({exc.reason})") from exc
    except RecursionError as exc:
        raise ResultsError(f"{path}:{_deepest_line(text)}: corrupt results file (nested too deeply)") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}:{exc.lineno}: corrupt results file ({_problem(exc)}); delete it or record a new one") from exc
    except ValueError as exc:  # NaN/Infinity, an integer of thousands of digits
        raise _refusal(where, text, exc) from exc
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


def iter_test_lines(path: str | os.PathLike[str]) -> Iterator[tuple[TestRecord | None, bytes]]:
    """Each test of a stream (a worker's file) with its line re-encoded compactly, for merging.

    A ``rerun`` line comes with None for its record (checked, copied as is).
    A torn last line (the worker died mid-write) ends the stream; any other
    bad line is a ResultsError.
    """
    try:
        for where, data, _ in _records(Path(path)):
            kind = data.get("type")
            if kind == "test":
                yield test_from_dict(where, data), encode_line(data)
            elif kind == "rerun":
                rerun_from_dict(where, data)
                yield None, encode_line(data)
    except _Torn:
        return
