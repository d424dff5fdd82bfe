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
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from perfbudget.run.decode import LIGHT_FIELDS, ResultsError, Where, describe
from perfbudget.run.files import MAX_LINE_BYTES, MAX_LINES, MAX_RESULTS_BYTES, open_regular, size

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


class _Overflow(Exception):
    """A line or a file past its limit (``run/files.py``): the caller names the line."""


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's lines, numbered from 1; a gzip stream cut short ends where it was cut.

    Bounded however the file was made: no line longer than
    ``MAX_LINE_BYTES``, no more than ``MAX_LINES`` of them nor
    ``MAX_RESULTS_BYTES`` in all (after decompression: a gzip bomb stops
    there, having held one line at a time). Past a limit is a ResultsError.
    """
    with open_regular(path) as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not gzipped and os.fstat(raw.fileno()).st_size > MAX_RESULTS_BYTES:
            raise ResultsError(f"{path}: larger than {size(MAX_RESULTS_BYTES)}; refusing to read it")
        number = total = 0
        try:
            for number, line in enumerate(_gunzipped_lines(raw) if gzipped else _plain_lines(raw), 1):
                total += len(line)
                if len(line) > MAX_LINE_BYTES or number > MAX_LINES or total > MAX_RESULTS_BYTES:
                    raise ResultsError(f"{path}:{number}: {_past_limit(len(line), number, gzipped)}; refusing to read it")
                yield number, line
        except _Overflow as exc:  # the line being read
            raise ResultsError(f"{path}:{number + 1}: {exc}; refusing to read it") from None
        except (EOFError, zlib.error):
            yield number + 1, _CUT


def _past_limit(length: int, number: int, gzipped: bool) -> str:
    if length > MAX_LINE_BYTES:
        return f"a line longer than {size(MAX_LINE_BYTES)}"
    if number > MAX_LINES:
        return f"more than {MAX_LINES:,} lines"
    return f"more than {size(MAX_RESULTS_BYTES)}{' once decompressed (a gzip bomb?)' if gzipped else ''}"


def _plain_lines(raw: IO[bytes]) -> Iterator[bytes]:
    """An uncompressed file's lines, none read past ``MAX_LINE_BYTES`` (a file without newlines is not read whole)."""
    while line := raw.readline(MAX_LINE_BYTES + 1):
        yield line


_CHUNK = 1 << 16  # compressed bytes: results inflate about 30-fold
_INFLATED = 1 << 20  # the most one step inflates: a bomb's chunk inflates a thousandfold


def _inflated(raw: IO[bytes]) -> Iterator[bytes]:
    """A gzip stream's bytes, at most ``_INFLATED`` at a time; several members (files joined with ``cat``) one after the other.

    ``gzip.GzipFile`` reads a line at a time through Python code, which was a
    fifth of reading a 50,000-test run. EOFError when the stream is cut short.
    """
    inflate = zlib.decompressobj(wbits=31)
    while chunk := raw.read(_CHUNK):
        while True:
            if inflate.eof and chunk:  # the next member starts here
                inflate = zlib.decompressobj(wbits=31)
            data = inflate.decompress(chunk, _INFLATED)
            if data:
                yield data
            chunk = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
            if not chunk and len(data) < _INFLATED:  # all of it read, and nothing held back for want of room
                break
    if not inflate.eof:
        raise EOFError("compressed stream cut short")


def _gunzipped_lines(raw: IO[bytes]) -> Iterator[bytes]:
    """The lines of a gzip stream; a line growing past ``MAX_LINE_BYTES`` is refused before it is held whole."""
    begun: list[bytes] = []  # the line being read, in pieces
    length = 0
    for data in _inflated(raw):
        *lines, rest = data.split(b"\n")
        if lines:
            lines[0] = b"".join((*begun, lines[0]))
            for line in lines:
                yield line + b"\n"
            begun, length = [rest], len(rest)
        else:
            begun.append(rest)
            length += len(rest)
        if length > MAX_LINE_BYTES:
            raise _Overflow(f"a line longer than {size(MAX_LINE_BYTES)}")
    if length:
        yield b"".join(begun)


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
        if text.startswith("\ufeff"):  # Windows tools write one; a JSON reader must not accept it (RFC 8259)
            raise ResultsError(
                f"{where.source}:{line}: corrupt results file (starts with a byte-order mark); write it as UTF-8 without one"
            ) from exc
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
# What a light read must keep, as each key is spelled in a line: a key missing before the cut must be nowhere after it.
_KEPT = tuple((name, f'"{name}"'.encode()) for name in LIGHT_FIELDS)


def _light(where: Where, line: bytes) -> dict[str, Any] | None:
    """A test's line decoded without its call-phase metrics, details and requests; None when it must be read whole.

    A quote inside a JSON string is escaped, so ``,"details":`` in the raw
    bytes is always a key; only a cut at the top level leaves valid JSON
    (any deeper one leaves a brace open). The whole line is read when the
    cut does not parse, and when the cut lost a key the light read needs:
    another tool wrote the keys in another order (``_kept_all``).
    """
    cuts = [index for index in map(line.find, _HEAVY_KEYS) if index > 0]
    if not cuts:
        return None
    cut = min(cuts)
    try:
        data = parse(where, line[:cut] + b"}")
    except ResultsError:
        return None
    return data if _kept_all(data, line, cut) else None


def _kept_all(data: dict[str, Any], line: bytes, cut: int) -> bool:
    """Whether every key a light read needs is before the cut, or nowhere in the line.

    perfbudget writes them first, so this costs a search or two for the
    optional ones (samples, a marker) it left out. A hit past the cut may be
    a nested key or a string of that name: the whole line is read then,
    which is only slower. No line with a ``\\u`` escape, the one other way
    to spell a key, is cut.
    """
    return all(name in data or line.find(quoted, cut) < 0 for name, quoted in _KEPT)


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
        # Not cut cleanly (None): the whole line is decoded, and judged, below.
        data = _light(where, line) if light and not where.escaped and line.startswith(b'{"type":"test"') else None
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
