"""Writing results files: a run streamed a test at a time (``ResultsWriter``) or written whole (``write_run``).

Tests are written as they finish, so a crash or Ctrl-C leaves every finished
test readable: a file without its ``end`` line reads as an interrupted run
(``run/read.py``). This module owns the file (where it may be written, gzip,
flushing, atomic replacement); what a line holds is ``run/encode.py``'s job.
"""

from __future__ import annotations

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
    returns, so a crash loses at most the test being written.
    """

    def __init__(self, path: str | os.PathLike[str], run: Run) -> None:
        self.path = Path(path)
        self._raw = _open_for_writing(self.path)
        self._raw.write(encode_line(header_to_dict(run)))
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
