"""A downloaded artifact is checked whole before anything in it is read: every path stays inside it.

The workflow_run stage and the merge job read artifacts a fork's code may
have written, with a token that can write. A symbolic link in one
(``perfbudget.yaml -> /home/runner/.credentials``) would make them read, and
maybe print, a file outside; a FIFO named ``pr.json`` would block the read
for ever; a sparse file of a terabyte would be read whole. So the tree is
walked once, without following links, and refused at its first entry that
is not a regular file or a directory, a link that does not resolve to one
inside it, a file larger than any artifact file perfbudget writes, a name
with a control character (upload-artifact refuses those; a line break in a
name would forge a line of the log), or the 10,001st entry. Its messages name the entry, never its target or contents.
Nothing else writes to the tree while the job runs, so what the walk saw is
what the readers find.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from perfbudget.errors import PerfBudgetError

MAX_ENTRIES = 10_000  # files and directories: a leg holds about a dozen, with 10 history runs
MAX_FILE_BYTES = 200 * 1024 * 1024  # as for a downloaded baseline archive's results member
REFUSING = "refusing to read the artifact"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ArtifactError(PerfBudgetError):
    """An artifact name that GitHub would refuse, or an artifact directory or pr.json that is missing, malformed or unsafe."""


def check_tree(root: Path) -> None:
    """Raise ArtifactError naming the first entry under ``root`` that a reader must not follow or open."""
    top = os.path.realpath(root)
    if not os.path.isdir(top):
        return  # the readers say that nothing is there
    pending, seen = [top], 0
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        raise ArtifactError(f"{root}: more than {MAX_ENTRIES} files and directories; not a perfbudget artifact, {REFUSING}")
                    if _CONTROL.search(entry.name):  # upload-artifact refuses them: one would break a message's line
                        raise ArtifactError(f"{root}: an entry named {entry.name!r}, with a control character; {REFUSING}")
                    if _check_entry(Path(entry.path), top):
                        pending.append(entry.path)
        except OSError as exc:  # unreadable: a directory without permissions, a name too long
            raise ArtifactError(f"{directory}: cannot be read ({exc.strerror or exc}); {REFUSING}") from exc


def _check_entry(path: Path, top: str) -> bool:
    """Whether ``path`` is a directory to walk into; raises for anything a reader must not touch."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        if not _within(target, top) or not os.path.exists(target):  # out, dangling, or a loop
            raise ArtifactError(f"{path}: a symbolic link out of the artifact (or to nothing); {REFUSING}")
        info = os.stat(target)
        if stat.S_ISDIR(info.st_mode):
            return False  # its target is inside, and walked as itself
    if stat.S_ISDIR(info.st_mode):
        return True
    if not stat.S_ISREG(info.st_mode):
        raise ArtifactError(f"{path}: not a regular file or directory (a FIFO, socket or device); {REFUSING}")
    if info.st_size > MAX_FILE_BYTES:
        raise ArtifactError(f"{path}: {info.st_size} bytes, more than an artifact file may hold ({MAX_FILE_BYTES}); {REFUSING}")
    return False


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def regular_file(path: Path, max_bytes: int) -> Path | None:
    """``path`` when it is a regular file of at most ``max_bytes``; None when absent; ArtifactError otherwise.

    For the files whose reader would take a directory or a huge file badly;
    ``check_tree`` has already refused links out and special files.
    """
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise ArtifactError(f"{path}: not a regular file; {REFUSING}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ArtifactError(f"{path}: {size} bytes, more than a {path.name} may hold ({max_bytes}); {REFUSING}")
    return path
