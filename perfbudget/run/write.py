"""Writing results files: a run streamed a test at a time (``ResultsWriter``) or written whole (``write_run``).

Tests are written as they finish, so a crash or Ctrl-C leaves every finished
test readable: a file without its ``end`` line reads as an interrupted run
(``run/read.py``). This module owns the file (where it may be written, gzip,
flushing, atomic replacement); what a line holds is ``run/encode.py``'s job.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import stat
from pathlib import Path

from perfbudget.run.decode import ResultsError
from perfbudget.run.encode import encode_line, header_to_dict, rerun_to_dict, test_to_dict, trailer_to_dict, url_to_dict
from perfbudget.run.model import Reruns, Run, TestRecord, UrlSummary


def check_output_path(path: Path) -> None:
    """Refuse to replace anything but a regular file: a symlink, a directory or a device node.

    Writing through a symlink would overwrite whatever it points to; a
    device or a directory is surely a mistyped ``--perf-output``.
    """
    try:
        info = os.lstat(path)
    except OSError:  # missing, or not reachable: writing it will say why
        return
    except ValueError as exc:  # a NUL byte: no file can have that name
        raise ResultsError(f"{os.fspath(path)!r}: not a file name: it holds a NUL byte") from exc
    if not stat.S_ISREG(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ResultsError(f"{path}: refusing to replace it with results: it is {what}")


def _open_for_writing(path: Path) -> io.BufferedIOBase:
    """Create or truncate ``path``, never following a symlink put there meanwhile."""
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a directory should be, or no permission to create one
        reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        raise ResultsError(f"{path}: cannot create its directory {path.parent} ({reason})") from exc
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot write the results file ({exc.strerror})") from exc
    raw = os.fdopen(fd, "wb")
    if path.name.endswith(".gz"):
        # mtime=0: the same run gives the same bytes; the name is not stored.
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
    return raw


class ResultsWriter:
    """A results file being written: header at open, a line per test as each finishes, trailer at close.

    Each test's line reaches the operating system before ``write_test``
    returns, so a crash loses at most the test being written. Two failures
    are the writer's to contain, since every test would meet them again:
    a write that fails (a full disk) stops the writing, and the records
    lost are counted and reported once, at ``close``; and a process forked
    from the one that opened the file (a test that calls ``os.fork()`` and
    returns into pytest) writes nothing to it, so its lines and its
    trailer never land in the middle of the parent's.
    """

    def __init__(self, path: str | os.PathLike[str], run: Run) -> None:
        self.path = Path(path)
        self._raw = _open_for_writing(self.path)
        self._pid = os.getpid()  # the opener: the only process that writes this file
        self._file: io.BufferedIOBase = getattr(self._raw, "fileobj", None) or self._raw  # gzip writes into a file it does not close
        self._fd = self._file.fileno()
        self.failure: OSError | None = None  # the first write that failed; nothing is written after it
        self.written = self.lost = 0  # records (tests, reruns) written, and not written after a failure
        self._write(encode_line(header_to_dict(run)))

    def _write(self, data: bytes) -> bool:
        """Write and flush (gzip: a sync flush, so the stream decodes up to here); False when the file is no longer written."""
        if self.failure is not None or not self._ours():
            return False
        try:
            self._raw.write(data)
            self._raw.flush()
        except OSError as exc:
            self.failure = exc
            return False
        return True

    def _ours(self) -> bool:
        """True in the process that opened the file; in a forked child the file is let go (``_let_go``) and False."""
        if os.getpid() == self._pid:
            return True
        self._let_go()
        return False

    def _let_go(self) -> None:
        """In a forked child: point its copy of the descriptor at /dev/null, so not even closing (gzip's trailer) writes."""
        if self._pid == -1:
            return
        self._pid = -1
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)
            os.close(devnull)

    def write_test(self, test: TestRecord) -> None:
        self.write_line(encode_line(test_to_dict(test)))

    def write_line(self, line: bytes) -> None:
        """A test line already encoded (one a worker wrote), copied as is."""
        if self._write(line):
            self.written += 1
        elif self._pid != -1:
            self.lost += 1

    def write_rerun(self, kind: str, name: str, reruns: Reruns) -> None:
        self.write_line(encode_line(rerun_to_dict(kind, name, reruns)))

    def close(self, run: Run, urls: list[UrlSummary]) -> Path | None:
        """Write the URL rollups and the trailer: the file is complete. None in a forked child, which leaves it to its parent.

        A ResultsError, in one line, when writing failed on the way: the
        records lost are counted, not reported one by one.
        """
        if not self._ours():
            return None
        for line in [*map(encode_line, map(url_to_dict, urls)), encode_line(trailer_to_dict(run))]:
            self._write(line)
        self.abandon()
        return self.path

    def abandon(self) -> None:
        """Close without a trailer: the file reads as an interrupted run. A ResultsError when writing failed on the way."""
        if not self._ours():
            return
        for handle in dict.fromkeys((self._raw, self._file)):  # gzip's trailer first, then the file under it
            try:
                handle.close()
            except OSError as exc:
                self.failure = self.failure or exc
        if self.failure is not None:
            reason = self.failure.strerror or str(self.failure)
            lost = f": {self.lost} record{'s' if self.lost != 1 else ''} not written" if self.lost else ""
            raise ResultsError(
                f"{self.path}: writing failed ({reason}){lost}; the file keeps the {self.written} before, "
                "without an end line (it reads as an interrupted run)"
            )


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
        reruns = [("test", test.node_id, test.reruns) for test in run.tests] + [("url", url.key, url.reruns) for url in run.urls]
        for kind, name, rerun in reruns:
            if rerun is not None:
                writer.write_rerun(kind, name, rerun)
        writer.close(run, sorted(run.urls, key=lambda u: u.key))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
