"""The budget file on disk: read it safely as text, and write it back byte for byte but for what changed.

A budget file is written by hand, so a file that is not a small UTF-8 text
is a mistake to name, not to work around: a directory or a FIFO called
perfbudget.yaml (opening a FIFO would wait for a writer forever), a symlink
loop, a file of many megabytes (``MAX_BYTES``: reading and judging one took
minutes, issue 19), or another encoding. Line endings are kept as written
(YAML reads CRLF as well as LF) and a UTF-8 byte order mark is set apart, so
that YAML's columns count from the first character after it and ``budgets
tighten`` writes both back exactly as it found them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from perfbudget.budgets.model import BudgetError
from perfbudget.run.files import NotRegularFile, open_regular_file

MAX_BYTES = 1024 * 1024  # 1 MiB: a thousand times a large hand-written budget file
_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {b"\xff\xfe": "UTF-16 (or UTF-32)", b"\xfe\xff": "UTF-16", b"\x00\x00\xfe\xff": "UTF-32"}


@dataclass(frozen=True)
class BudgetText:
    """A budget file's text (line endings as written, no byte order mark) and whether it had a UTF-8 BOM."""

    text: str
    bom: bool = False

    def encode(self, text: str) -> bytes:
        """``text`` as this file's bytes: UTF-8, with the BOM if the file had one."""
        return (_UTF8_BOM if self.bom else b"") + text.encode("utf-8")


def read_budget_text(path: str | Path, name: str | None = None) -> BudgetText:
    """The file's text; BudgetError (exit code 2) naming ``name`` (default the path) for anything but a small UTF-8 file."""
    source = name or str(path)
    data = _read_capped(Path(path), source)
    bom = data.startswith(_UTF8_BOM)
    if not bom:
        for mark, encoding in _OTHER_BOMS.items():
            if data.startswith(mark):
                raise BudgetError(f"{source}: the budget file is {encoding} text; save it as UTF-8")
    body = data[len(_UTF8_BOM) :] if bom else data
    try:
        return BudgetText(body.decode("utf-8"), bom)
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BudgetError(
            f"{source}:{line}:{column}: the budget file is not UTF-8 text (byte 0x{body[exc.start]:02x}); save it as UTF-8"
        ) from exc


def _read_capped(path: Path, source: str) -> bytes:
    """At most MAX_BYTES of a regular file (``run/files.py`` opens it), so a FIFO is refused rather than waited on."""
    try:
        file = open_regular_file(path)
    except NotRegularFile as exc:
        raise BudgetError(f"{source}: the budget file is {exc.kind}, not a file") from exc
    except FileNotFoundError as exc:
        broken = " (a symlink to a file that does not exist)" if path.is_symlink() else ""
        raise BudgetError(f"{source}: budget file not found{broken}") from exc
    except OSError as exc:  # permission, a symlink loop, a name too long
        raise BudgetError(f"{source}: cannot read budget file ({exc.strerror or exc})") from exc
    with file:
        size = os.fstat(file.fileno()).st_size
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as exc:
            raise BudgetError(f"{source}: cannot read budget file ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise BudgetError(
            f"{source}: the budget file is {max(size, len(data)):,} bytes, more than the {MAX_BYTES // 1024 // 1024} MiB "
            "perfbudget reads; "
            "cover many tests with one glob rather than a rule each"
        )
    return data


def write_budget_text(path: Path, original: BudgetText, text: str) -> None:
    """Write ``text`` over the file ``original`` was read from, in place (a symlink's target, its mode kept).

    In place, not through a new file renamed over it: a read-only file stays
    refused rather than replaced, and a symlink stays a symlink. If writing
    fails half-way, the old bytes are put back. BudgetError (exit code 2) for
    a file that cannot be written, saying it is unchanged.
    """
    old, new = original.encode(original.text), original.encode(text)
    try:
        file = path.open("r+b")  # no truncation before we know we may write
    except OSError as exc:
        raise BudgetError(f"{path}: cannot write the budget file ({exc.strerror or exc}); it is unchanged") from exc
    with file:
        try:
            _overwrite(file, new)
        except OSError as exc:
            try:
                _overwrite(file, old)
            except OSError:
                raise BudgetError(f"{path}: writing the budget file failed ({exc.strerror or exc}); restore it from git") from exc
            raise BudgetError(f"{path}: cannot write the budget file ({exc.strerror or exc}); it is unchanged") from exc


def _overwrite(file: BinaryIO, data: bytes) -> None:
    file.seek(0)
    file.write(data)
    file.truncate()
    file.flush()
