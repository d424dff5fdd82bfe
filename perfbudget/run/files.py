"""Opening what perfbudget reads from a results or baseline path: regular files only, never blocking, bounded in size.

A results file, a baseline directory's files and its ``selection.json`` may
come from a fork's artifact or a mistyped path. A FIFO there would block the
reader forever, a device (``/dev/zero``, or a symlink to it) would feed it
without end, and a gzip bomb would inflate to gigabytes: each is refused
with one ``ResultsError`` naming the file, before or while it is read. The
limits below are far above any real run's (a test's line is about 1 KB)
and are documented in the README ("The results file"); the number bound is ``run/decode.py``'s.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from perfbudget.run.decode import ResultsError

MiB = 1 << 20
MAX_LINE_BYTES = 64 * MiB  # one record of a stream; a test with 10,000 SQL groups is a few MB
MAX_RESULTS_BYTES = 2048 * MiB  # a whole results file, counted after decompression
MAX_LINES = 2_000_000  # records of one stream: 40 times a 50,000-test run, with room for reruns
MAX_DOCUMENT_BYTES = 256 * MiB  # a schema-1 results.json, read whole
MAX_SMALL_BYTES = 1 * MiB  # selection.json: a few hundred bytes when perfbudget wrote it


def size(limit: int) -> str:
    """A limit in words: ``64 MiB``."""
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it is no regular file ("a FIFO (named pipe)"), else None; a symlink is judged by its target."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreachable: opening it says why
    return None if stat.S_ISREG(mode) else _kind(mode)


def outside(path: Path, directory: Path) -> bool:
    """Whether ``path`` (a symbolic link, or under one) leads out of ``directory``: an artifact's paths stay inside it."""
    try:
        return not path.resolve().is_relative_to(directory.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return True


class NotRegularFile(OSError):
    """What ``open_regular_file`` refused to read: its ``kind`` says what it is instead ("a FIFO (named pipe)")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; NotRegularFile if it is not, the open's OSError if it fails.

    The one way perfbudget opens a file it did not write (a results file, a
    baseline's, a budget file), each caller wording the refusal for its own
    file. The type is checked before opening (opening some devices acts on
    them) and again on the open file (it may have been swapped meanwhile);
    the open never blocks, so a FIFO put there after the check cannot hang it.
    """
    kind = not_regular(path)
    if kind is not None:
        raise NotRegularFile(kind)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFile(_kind(mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def open_regular(path: str | os.PathLike[str], what: str = "results file") -> BinaryIO:
    """``path`` opened for reading, or a ResultsError when it is missing, unreadable or no regular file."""
    try:
        return open_regular_file(path)
    except NotRegularFile as exc:
        raise ResultsError(f"{os.fspath(path)}: {exc.kind}, not a {what}; refusing to read it") from exc
    except FileNotFoundError as exc:
        raise ResultsError(f"{os.fspath(path)}: {what} not found") from exc
    except OSError as exc:
        raise ResultsError(f"{os.fspath(path)}: cannot read the {what} ({exc.strerror or exc})") from exc


def copy_regular(source: Path, target: Path) -> None:
    """Copy a regular file (a ResultsError for anything else), never reading past ``MAX_RESULTS_BYTES``."""
    with open_regular(source) as handle:
        if os.fstat(handle.fileno()).st_size > MAX_RESULTS_BYTES:
            raise ResultsError(f"{source}: larger than {size(MAX_RESULTS_BYTES)}; refusing to copy it")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            shutil.copyfileobj(handle, out)


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "results file") -> bytes:
    """The whole of a regular file no larger than ``limit`` bytes; a ResultsError otherwise."""
    with open_regular(path, what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ResultsError(f"{os.fspath(path)}: larger than {size(limit)}; refusing to read it")
    return data
