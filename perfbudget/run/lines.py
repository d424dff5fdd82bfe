"""The results file as JSON objects: its lines read (gzip or not) and parsed strictly, a bad value named.

The first half of reading a results file, below ``run/read.py`` (which makes
a run of the objects) and ``run/decode.py`` (which checks each one's fields).
Kept apart because it is the part that meets the raw bytes: a compressed
stream inflated a chunk at a time, a torn last line (a crash mid-write) told
from corruption, NaN, Infinity and integers of thousands of digits refused
with the field that held them, and a test's line cut before its details for
a light read. Every failure is one ``ResultsError`` naming the file and line.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from perfbudget.run.decode import ResultsError, Where, describe

GZIP_MAGIC = b"\x1f\x8b"


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
    root = data["type"] if type(data) is dict and data.get("type") in ("test", "url") else ""
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


def parse(where: Where, data: bytes) -> Any:
    """One line of a stream, or a whole schema-1 document (``where.line`` None), as JSON; refused values named.

    A document's errors give the line in it where the parser stopped (the
    deepest one for nesting); a line's give its number in the stream.
    """
    try:
        text = data.decode("utf-8")
        return _decode(text)
    except UnicodeDecodeError as exc:
        if where.line is None:
            raise where.error("file", f"not UTF-8 text ({exc.reason})") from exc
        raise ResultsError(f"{where.at}: corrupt results file (not UTF-8: {exc.reason})") from exc
    except RecursionError as exc:
        line = _deepest_line(text) if where.line is None else where.line
        raise ResultsError(f"{where.source}:{line}: corrupt results file (nested too deeply)") from exc
    except json.JSONDecodeError as exc:
        line = exc.lineno if where.line is None else where.line
        raise ResultsError(f"{where.source}:{line}: corrupt results file ({_problem(exc)}); delete it or record a new one") from exc
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


class Torn(Exception):
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


def records(path: Path, light: bool = False) -> Iterator[tuple[Where, dict[str, Any], bytes]]:
    """Each line of a stream as a JSON object, with its bytes; a bad line is an error, or ``Torn`` when it is the last.

    ``light``: test lines are decoded without their call-phase metrics,
    details and requests (most of a line), which a baseline and compare never read.
    """
    pending: ResultsError | None = None
    for number, line in _lines(path):
        if pending is not None:
            raise pending
        where = Where(str(path), number, b"\\u" in line)
        if line is _CUT:
            raise Torn(f"{path}:{number}: corrupt results file (compressed stream cut short)")
        if not line.strip():
            continue
        cut = _light(line) if light and line.startswith(b'{"type":"test"') else None
        try:
            data = parse(where, cut) if cut is not None else None
        except ResultsError:
            data = None  # not cut cleanly: the whole line is decoded, and judged, below
        try:
            if data is None:
                data = parse(where, line)
        except ResultsError as exc:
            if line.endswith(b"\n"):  # a whole line that does not parse is corruption, not a crash mid-write
                raise
            pending = exc  # fatal, unless nothing follows it
            continue
        if type(data) is not dict:
            raise where.error("line", f"expected an object, got {describe(data)}")
        yield where, data, line
    if pending is not None:
        raise Torn(str(pending))
