"""``perfbudget budgets tighten`` on hostile files, as a table: only the changed numbers differ, or one line and exit 2 (issue 19).

Before, an unwritable file ended in a PermissionError traceback, CRLF files
came back LF, and a file starting with a byte order mark had the wrong
characters rewritten (YAML's columns count from after the mark, the text
did not). Now the bytes written are the bytes read with the numbers changed
(line endings and the mark kept), a file that cannot be written is one line
naming it and stays as it was, and a symlink is written through.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perfbudget.budgets.source import MAX_BYTES
from perfbudget.run.write import write_run
from tests.support import REPO_ROOT
from tests.support.compare import record, run_of
from tests.support.github import cli

LF = b"# reviewed every release\ndefaults:\n  tests:\n    queries: 20   # keep an eye on this\n    duration: 500ms\n"
TIGHT = LF.replace(b"queries: 20", b"queries: 8").replace(b"500ms", b"30ms")  # 7 queries +10 %, 20 ms +50 %


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _mixed(data: bytes) -> bytes:
    lines = data.split(b"\n")
    return b"".join(line + (b"\r\n" if n % 2 else b"\n") for n, line in enumerate(lines[:-1]))


BOM = b"\xef\xbb\xbf"
FLOW = b"defaults: {tests: {queries: 20, duration: 500ms}}\r\n"
UNICODE = "# café\ntests:\n  - {match: 'tésts/*', queries: 40}   # ünïcode before the value\n".encode()
# (bytes of the budget file, the bytes expected after tightening): everything but the numbers as it was.
KEPT = [
    pytest.param(LF, TIGHT, id="LF"),
    pytest.param(_crlf(LF), _crlf(TIGHT), id="CRLF"),
    pytest.param(LF.replace(b"\n", b"\r"), TIGHT.replace(b"\n", b"\r"), id="CR"),
    pytest.param(_mixed(LF), _mixed(TIGHT), id="mixed line endings"),
    pytest.param(BOM + LF, BOM + TIGHT, id="BOM"),
    pytest.param(BOM + _crlf(LF), BOM + _crlf(TIGHT), id="BOM and CRLF"),
    pytest.param(BOM + FLOW, BOM + FLOW.replace(b"20", b"8").replace(b"500ms", b"30ms"), id="BOM and a value on the first line"),
    pytest.param(
        FLOW.replace(b"\r\n", b""), FLOW.replace(b"\r\n", b"").replace(b"20", b"8").replace(b"500ms", b"30ms"), id="no newline at end"
    ),
    pytest.param(UNICODE, UNICODE.replace(b"40", b"8"), id="non-ASCII before the value"),
    pytest.param(_crlf(UNICODE), _crlf(UNICODE.replace(b"40", b"8")), id="non-ASCII and CRLF"),
    pytest.param(
        b"defaults:\r\n  tests:\r\n    queries: \"20\"  # quoted\r\n    # a comment\r\n    duration: '500ms'\r\n",
        b"defaults:\r\n  tests:\r\n    queries: \"8\"  # quoted\r\n    # a comment\r\n    duration: '30ms'\r\n",
        id="quotes and comments with CRLF",
    ),
]


def _results(tmp_path: Path) -> Path:
    run = run_of(record("tests/test_a.py::t", queries=7, duration=20.0), record("tésts/test_b.py::t", queries=7, duration=20.0))
    return write_run(run, tmp_path / "results.ndjson")


@pytest.mark.parametrize(("before", "after"), KEPT)
def test_only_the_numbers_change(tmp_path: Path, capsys: pytest.CaptureFixture[str], before: bytes, after: bytes) -> None:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(before)
    assert cli("budgets", "tighten", str(_results(tmp_path)), "--budgets", str(path)) == 0
    assert path.read_bytes() == after
    assert "Traceback" not in capsys.readouterr().err


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Make a file or directory immutable (chattr +i: root too is refused); undone afterwards so tmp_path can go."""
    made: list[Path] = []

    def make(path: Path) -> None:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here (no e2fsprogs, or no CAP_LINUX_IMMUTABLE)")
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _read_only(path: Path, immutable: Callable[[Path], None]) -> None:
    path.chmod(0o444)
    if os.geteuid() == 0:  # root writes a 0444 file anyway: only the immutable flag stops it
        immutable(path)


@pytest.mark.parametrize(
    ("setup", "code", "fragment"),
    [
        pytest.param(_read_only, 2, "cannot write the budget file (Operation not permitted); it is unchanged", id="read-only file"),
        pytest.param(lambda path, immutable: immutable(path), 2, "cannot write the budget file", id="immutable file"),
        pytest.param(lambda path, immutable: immutable(path.parent), 0, "tightened 2 limit(s)", id="immutable directory"),
        pytest.param(lambda path, immutable: path.parent.chmod(0o555), 0, "tightened 2 limit(s)", id="read-only directory"),
    ],
)
def test_an_unwritable_file_is_one_line_and_stays_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], immutable: Callable[[Path], None], setup, code: int, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    results = _results(tmp_path)
    folder = tmp_path / "budgets"
    folder.mkdir()
    path = folder / "perfbudget.yaml"
    path.write_bytes(_crlf(LF))
    setup(path, immutable)
    try:
        assert cli("budgets", "tighten", str(results), "--budgets", str(path)) == code
    finally:
        with contextlib.suppress(PermissionError):  # an immutable directory is made mutable again by the fixture
            folder.chmod(0o755)
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err, err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith(f"perfbudget budgets: {path}: "), err
        assert path.read_bytes() == _crlf(LF)
    else:
        assert path.read_bytes() == _crlf(TIGHT)


def test_a_dry_run_writes_nothing_so_an_unwritable_file_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], immutable: Callable[[Path], None]
) -> None:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(LF)
    _read_only(path, immutable)
    assert cli("budgets", "tighten", str(_results(tmp_path)), "--budgets", str(path), "--dry-run") == 0
    assert "+    queries: 8   # keep an eye on this" in capsys.readouterr().out and path.read_bytes() == LF


def test_a_symlinked_budget_file_is_written_through_the_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config").mkdir()
    target = tmp_path / "config" / "budgets.yaml"
    target.write_bytes(_crlf(LF))
    target.chmod(0o640)
    link = tmp_path / "perfbudget.yaml"
    link.symlink_to(target)
    assert cli("budgets", "tighten", str(_results(tmp_path)), "--budgets", str(link)) == 0
    assert link.is_symlink() and target.read_bytes() == _crlf(TIGHT) and stat.S_IMODE(target.stat().st_mode) == 0o640


def _loop(path: Path) -> None:
    path.symlink_to(path.parent / "other.yaml")
    (path.parent / "other.yaml").symlink_to(path)


BAD = [
    pytest.param(lambda path: path.mkdir(), None, "the budget file is a directory, not a file", id="directory"),
    pytest.param(_loop, None, "cannot read budget file (Too many levels of symbolic links)", id="symlink loop"),
    pytest.param(
        lambda path: path.write_bytes(b"defaults:\n  tests:\n    queries: 2\xe90\n"), 3, "not UTF-8 text (byte 0xe9)", id="latin-1"
    ),
    pytest.param(lambda path: path.write_bytes(LF.decode().encode("utf-16")), None, "UTF-16 (or UTF-32) text", id="UTF-16"),
    pytest.param(lambda path: path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n"), None, "more than the 1 MiB", id="too big"),
    pytest.param(lambda path: path.write_bytes(b"defaults:\r\n\ttests: {}\r\n"), 2, "malformed YAML", id="tab with CRLF"),
    pytest.param(
        lambda path: path.write_bytes(b"defaults:\r\n  tests:\r\n    querys: 20\r\n"), 3, "unknown key 'querys'", id="typo with CRLF"
    ),
]


@pytest.mark.parametrize(("make", "line", "fragment"), BAD)
def test_a_budget_file_tighten_cannot_read_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, line: int | None, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "perfbudget.yaml"
    make(path)
    assert cli("budgets", "tighten", str(_results(tmp_path)), "--budgets", str(path)) == 2
    err = capsys.readouterr().err
    where = f"{path}:{line}" if line else f"{path}: "
    assert err.count("\n") == 1 and err.startswith(f"perfbudget budgets: {where}") and fragment in err, err


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """In its own process with a timeout: opening a FIFO to read waits for a writer, forever."""
    os.mkfifo(tmp_path / "perfbudget.yaml")
    results = _results(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "perfbudget", "budgets", "tighten", str(results)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert "perfbudget.yaml: the budget file is a FIFO (named pipe), not a file" in done.stderr


@pytest.mark.parametrize("data", [BOM + FLOW, _crlf(BOM + FLOW)], ids=["BOM", "BOM and CRLF"])
def test_the_comments_suggestion_reads_the_file_as_tighten_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """The PR comment's tightened lines: with a BOM, the value on the first line was cut one character off."""
    from perfbudget.github.action import main

    for key in ("GITHUB_EVENT_PATH", "GITHUB_BASE_REF"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_bytes(data)
    baseline = write_run(run_of(record("tests/test_a.py::t", queries=9, duration=20.0)), tmp_path / "base.ndjson")
    results = _results(tmp_path)
    assert main(["--results", str(results), "--build-dir", str(tmp_path / "b"), "--baseline", str(baseline)]) == 0
    report = (tmp_path / "b" / "report.md").read_text(encoding="utf-8")
    assert "# perfbudget.yaml:1: queries, most used 7\ndefaults: {tests: {queries: 8, duration: 30ms}}\n" in report, report
