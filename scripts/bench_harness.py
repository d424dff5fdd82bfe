"""What benchmarks need around the suites they run: perfbudget from a git revision, and a busy machine.

The checkout changes while a benchmark runs (others edit it), so the runs
and the benchmark's own judging use ``perfbudget/`` of one git revision,
archived into a temporary directory: ``archive_perfbudget`` writes it,
``import_perfbudget`` imports it into this process (refusing any other copy).
``busy_loops`` runs CPU-bound processes beside the measurements.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def archive_perfbudget(rev: str, into: Path) -> str:
    """``perfbudget/`` of git revision ``rev`` into ``into`` (created), byte-compiled; returns the short commit."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", f"{rev}^{{commit}}"], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "perfbudget"], check=True, capture_output=True, timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=120)
    # Byte-compiled now, so the first (baseline) run does not pay for it and the later runs do not.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "perfbudget")], check=True, timeout=300)
    return commit


def import_perfbudget(copy: Path) -> ModuleType:
    """Import the ``perfbudget`` package archived under ``copy``, ahead of the editable install of the checkout."""
    if "perfbudget" in sys.modules:
        raise RuntimeError(f"perfbudget was imported before its copy could be: {sys.modules['perfbudget'].__file__}")
    sys.path.insert(0, str(copy))
    import perfbudget

    if not Path(perfbudget.__file__).resolve().is_relative_to(copy.resolve()):
        raise RuntimeError(f"imported perfbudget from {perfbudget.__file__}, not from the copy in {copy}")
    return perfbudget


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes spinning on a CPU each, ended however the block ends, or when this process dies.

    A benchmark killed with SIGTERM runs no ``finally``: each loop also
    watches its parent and exits once it is gone, so no orphan keeps
    loading the machine (and every later measurement) after a kill.
    """
    watch = f"import os\nparent = {os.getpid()}\nwhile os.getppid() == parent:\n    for _ in range(100_000): pass"
    loops = [subprocess.Popen([sys.executable, "-c", watch]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait(timeout=30)
