"""Builders of hostile results files and baselines (issue 19), and the CLI run as a bounded subprocess.

A hostile input must end in one line, never a hang or a blown memory: the
subprocess runs under an address-space limit (``RLIMIT_AS``), a file-size
limit (``RLIMIT_FSIZE``: a reader that copies ``/dev/zero`` is stopped
before it fills the disk) and a timeout far above what a correct reader
needs, so a test fails by the bound being crossed, never by the machine
being slow.
"""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from perfbudget.run.model import Run, TestRecord
from perfbudget.run.write import write_run
from tests.support import REPO_ROOT

MEMORY_LIMIT = 1 << 30  # bytes of address space: reading any results file stays well under it
FILE_LIMIT = 256 << 20  # bytes in any one file written: a copy of /dev/zero stops here, not at a full disk
HANG_TIMEOUT = 60  # seconds: a correct reader answers in under one, a blocked one never


def good_run(project: str = "shop", queries: float = 2, tests: int = 1) -> Run:
    run = Run(project=project, commit="c" * 40, branch="main")
    run.tests = [TestRecord(f"tests/test_a.py::test_{n}", "tests/test_a.py", 3 + n, "passed", {"queries": queries}) for n in range(tests)]
    return run


def good_results(path: Path, **kwargs: object) -> Path:
    """A valid results file at ``path`` (gzip when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_run(good_run(**kwargs), path)  # type: ignore[arg-type]


def gzip_bomb(unit: bytes, copies: int) -> bytes:
    """One gzip member that inflates to ``unit`` repeated ``copies`` times, built without compressing all of it.

    After a full flush the compressor starts afresh, so every copy of the
    unit compresses to the same bytes: the block is repeated, and the
    trailer's CRC is worked out over the copies.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(unit, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # no name, no mtime, Unix
    return header + first + block * (copies - 1) + end + struct.pack("<II", crc, len(unit) * copies & 0xFFFFFFFF)


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def perfbudget(*args: str, cwd: Path, env: dict[str, str] | None = None, module: str = "perfbudget") -> subprocess.CompletedProcess[str]:
    """``python -m perfbudget ARGS`` (or another module) in ``cwd``, bounded in memory, file size and time; ``env`` replaces the environment."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        preexec_fn=_bounded,
        check=False,
    )
