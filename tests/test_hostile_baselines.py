"""Hostile baselines and history directories, as tables (issue 19): what a fork's artifact or a stray file may put there.

A baseline is advice: whatever is in it, the run is judged (on its budgets
if need be) and the problem is one line. ``selection.json`` may be a FIFO, a
link to ``/dev/zero`` or out of the directory, huge, or say something too
long to show; a history directory may hold devices, links out and thousands
of broken files; a results file in it may hold numbers no command could
compute with. Each command, and the action's judging step, is run on them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.compare.baseline import load_baseline
from perfbudget.compare.origin import MAX_TEXT, BaselineOrigin, write_origin
from perfbudget.run.write import write_run
from tests.support.hostile_results import good_results, good_run, perfbudget
from tests.test_hostile_results import LAYOUTS, write_numbers


def _selection(directory: Path, text: str | bytes) -> Path:
    path = directory / "selection.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _chosen(directory: Path, **fields: object) -> Path:
    """A fetched directory: the chosen run, and ``selection.json`` with ``fields`` over a good choice."""
    good_results(directory / "00-run-1.ndjson.gz")
    good = {"found": True, "how": "base", "commit": "c" * 40, "chosen": "00-run-1.ndjson.gz", "history": 1, "searched": 1}
    return _selection(directory, json.dumps(good | fields))


def _fifo(directory: Path) -> None:
    os.mkfifo(directory / "selection.json")


LONG = "x" * (MAX_TEXT + 100)

# How to make the baseline directory -> a fragment of the one warning, and whether the chosen run is still compared with.
SELECTIONS: dict[str, tuple[Callable[[Path], object], str, bool]] = {
    "FIFO": (lambda d: (good_results(d / "00-run-1.ndjson.gz"), _fifo(d)), "selection.json: a FIFO (named pipe)", True),
    "symlink to /dev/zero": (
        lambda d: (good_results(d / "00-run-1.ndjson.gz"), (d / "selection.json").symlink_to("/dev/zero")),
        "selection.json: a symbolic link out of the baseline directory",
        True,
    ),
    "symlink out to JSON": (
        lambda d: (good_results(d / "00-run-1.ndjson.gz"), (d / "selection.json").symlink_to(_chosen(d.parent / "elsewhere"))),
        "selection.json: a symbolic link out of the baseline directory",
        True,
    ),
    "a directory": (
        lambda d: (good_results(d / "00-run-1.ndjson.gz"), (d / "selection.json").mkdir()),
        "selection.json: a directory",
        True,
    ),
    "2 MB": (lambda d: (_chosen(d), _selection(d, " " * (2 << 20) + "{}")), "selection.json: larger than 1 MiB", True),
    "not JSON": (lambda d: (_chosen(d), _selection(d, "{found: yes")), "selection.json: not valid JSON", True),
    "empty": (lambda d: (_chosen(d), _selection(d, "")), "selection.json: not valid JSON", True),
    "BOM": (lambda d: (_chosen(d), _selection(d, b"\xef\xbb\xbf{}")), "selection.json: not valid JSON", True),
    "not UTF-8": (lambda d: (_chosen(d), _selection(d, b'{"found": "\xff"}')), "selection.json: not valid JSON", True),
    "deep nesting": (lambda d: (_chosen(d), _selection(d, "[" * 100_000 + "]" * 100_000)), "selection.json: not valid JSON", True),
    "5000-digit number": (lambda d: (_chosen(d), _selection(d, '{"found": true, "behind": ' + "9" * 5000 + "}")), "not valid JSON", True),
    "found not a bool": (lambda d: _chosen(d, found="yes"), "expected an object with true or false as 'found'", True),
    "an array": (lambda d: (_chosen(d), _selection(d, "[true]")), "expected an object with true or false as 'found'", True),
    "310-digit behind": (lambda d: _chosen(d, behind=int("9" * 310)), "selection.json: behind not understood", True),
    "behind past 1e15": (lambda d: _chosen(d, behind=10**15 + 1), "selection.json: behind not understood", True),
    "negative history": (lambda d: _chosen(d, history=-1), "selection.json: history not understood", True),
    "bool searched": (lambda d: _chosen(d, searched=True), "selection.json: searched not understood", True),
    "float behind": (lambda d: _chosen(d, behind=1.5), "selection.json: behind not understood", True),
    "unknown how": (lambda d: _chosen(d, how="guessed"), "selection.json: how not understood", True),
    "commit a number": (lambda d: _chosen(d, commit=12345), "selection.json: commit not understood", True),
    "no chosen run": (lambda d: _chosen(d, chosen=None), "selection.json: names no chosen run", True),
    "chosen too long": (lambda d: _chosen(d, chosen=LONG), f"the run the fetch chose ({'x' * MAX_TEXT}…) was not usable", True),
}


@pytest.mark.parametrize("case", SELECTIONS)
def test_a_hostile_selection_json_is_one_warning_and_the_results_are_still_compared(tmp_path: Path, case: str) -> None:
    """Before, a FIFO hung ``compare`` forever and a link to /dev/zero ended in MemoryError; bad fields went unsaid."""
    make, fragment, compared = SELECTIONS[case]
    base = tmp_path / "base"
    base.mkdir()
    make(base)
    head = good_results(tmp_path / "head.ndjson")
    done = perfbudget("compare", str(head), "--baseline", str(base), cwd=tmp_path)  # bounded: a hang or a blow-up fails it
    assert done.returncode == 0 and "Traceback" not in done.stderr + done.stdout, done.stderr
    warned = [line for line in done.stdout.splitlines() if fragment in line and line.startswith("perfbudget warning: ")]
    assert len(warned) == 1, done.stdout
    assert ("not compared" not in done.stdout.splitlines()[0]) is compared, done.stdout


REASONS = {  # selection.json of a fetch that found nothing -> what "not compared: ..." must say
    "long reason": ({"found": False, "reason": LONG}, "x" * MAX_TEXT + "…"),
    "100 kB reason": ({"found": False, "reason": "y" * 100_000}, "y" * MAX_TEXT + "…"),
    "no reason": ({"found": False}, "selection.json: the fetch found no baseline and did not say why"),
    "reason not a string": ({"found": False, "reason": ["a"]}, "selection.json: the fetch found no baseline and did not say why"),
    "reason of exactly the limit": ({"found": False, "reason": "z" * MAX_TEXT}, "z" * MAX_TEXT),
}


@pytest.mark.parametrize("case", REASONS)
def test_why_there_is_no_baseline_is_said_truthfully_whatever_its_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Before, a reason over 500 characters was dropped and every report said "no baseline given": untrue."""
    data, said = REASONS[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base").mkdir()
    _selection(tmp_path / "base", json.dumps(data))
    head = good_results(tmp_path / "head.ndjson")
    assert cli.main(["compare", str(head), "--baseline", str(tmp_path / "base")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "-- not compared: " in first and first.endswith(said) and "no baseline given" not in first, first
    assert load_baseline(tmp_path / "base").reason.endswith(said)


# --- what a history directory may hold -----------------------------------------------------------------------------------------


def _link(target: Path | str, name: str) -> Callable[[Path], object]:
    return lambda d: (d / name).symlink_to(target if isinstance(target, str) else d.parent / target)


def _outside(d: Path) -> None:
    good_results(d.parent / "outside.ndjson")
    (d / "01-out.ndjson").symlink_to(d.parent / "outside.ndjson")


ENTRIES: dict[str, tuple[Callable[[Path], object], str]] = {  # beside one good run -> the one warning's fragment ("" none)
    "FIFO": (lambda d: os.mkfifo(d / "01-pipe.ndjson"), "01-pipe.ndjson: a FIFO (named pipe), not a results file"),
    "symlink to /dev/zero": (_link("/dev/zero", "01-zero.ndjson"), "01-zero.ndjson: a symbolic link out of the baseline directory"),
    "symlink to /dev/null": (_link("/dev/null", "01-null.json"), "01-null.json: a symbolic link out of the baseline directory"),
    "symlink out to results": (_outside, "01-out.ndjson: a symbolic link out of the baseline directory"),
    "dangling symlink": (_link("gone.ndjson", "01-gone.ndjson"), "01-gone.ndjson: results file not found"),
    "symlink loop": (lambda d: (d / "01-loop.ndjson").symlink_to(d / "01-loop.ndjson"), "01-loop.ndjson: a symbolic link out"),
    "symlink inside": (lambda d: (d / "01-again.ndjson.gz").symlink_to(d / "00-run-1.ndjson.gz"), ""),
    "empty file": (lambda d: (d / "01-empty.ndjson").write_bytes(b""), "01-empty.ndjson: empty results file"),
    "a directory named like results": (lambda d: (d / "01-dir.ndjson").mkdir(), ""),
    "truncated gzip": (
        lambda d: (d / "01-cut.ndjson.gz").write_bytes((d / "00-run-1.ndjson.gz").read_bytes()[:-12]),
        "compressed stream cut short",
    ),
    "a huge number": (lambda d: write_numbers(d, "results.ndjson", "metric_count", "9" * 310), "test.metrics.queries: 99"),
}


@pytest.mark.parametrize("case", ENTRIES)
def test_a_hostile_entry_of_a_history_directory_is_one_warning_and_the_good_run_is_compared(tmp_path: Path, case: str) -> None:
    make, fragment = ENTRIES[case]
    base = tmp_path / "base"
    good_results(base / "00-run-1.ndjson.gz", queries=2)
    make(base)
    head = good_results(tmp_path / "head.ndjson", queries=2)
    done = perfbudget("compare", str(head), "--baseline", str(base), cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "not compared" not in done.stdout.splitlines()[0], done.stdout
    warnings = [line for line in done.stdout.splitlines() if line.startswith("perfbudget warning: ")]
    assert len(warnings) == (1 if fragment else 0) and all(
        f"baseline ignored: {base}/" in line and fragment in line for line in warnings
    ), done.stdout


def _given(make: Callable[[Path], object], name: str = "base.ndjson") -> Callable[[Path], Path]:
    """Make ``name`` in the directory with ``make``, and give its path."""
    return lambda d: (make(d / name), d / name)[1]


GIVEN: dict[str, tuple[Callable[[Path], Path], str]] = {  # --baseline PATH itself -> the warning's fragment
    "FIFO": (_given(os.mkfifo), "base.ndjson: a FIFO (named pipe), not a results file"),
    "symlink to /dev/zero": (_given(lambda path: path.symlink_to("/dev/zero")), "a device, not a results file"),
    "/dev/null": (lambda d: Path("/dev/null"), "/dev/null: a device, not a results file"),
    "an empty directory": (_given(Path.mkdir, "base"), "no results files (*.ndjson, *.ndjson.gz, *.json)"),
    "an empty file": (_given(lambda path: path.write_bytes(b"")), "base.ndjson: empty results file"),
}


@pytest.mark.parametrize("case", GIVEN)
def test_a_hostile_baseline_path_is_one_warning_and_the_run_is_judged_on_its_budgets(tmp_path: Path, case: str) -> None:
    make, fragment = GIVEN[case]
    base = make(tmp_path)
    done = perfbudget("compare", str(good_results(tmp_path / "head.ndjson")), "--baseline", str(base), cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    first, *rest = done.stdout.splitlines()
    assert "-- not compared: " in first and fragment in first, done.stdout
    assert len([line for line in rest if fragment in line]) == 1, done.stdout


def test_thousands_of_broken_files_are_one_line_per_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, 3,000 broken files printed 3,000 warnings (600 KB); now each kind of refusal is one line with a count."""
    base = tmp_path / "base"
    good_results(base / "000-good.ndjson")
    for n in range(3000):
        (base / f"{n:04d}-broken.ndjson").write_text("{not json\n")
    for n in range(40):
        write_run(good_run(project="other"), base / f"foreign-{n:02d}.ndjson")
        os.mkfifo(base / f"pipe-{n:02d}.ndjson")
    loaded = load_baseline(base, project="shop")
    assert loaded.baseline is not None and len(loaded.baseline.runs) == 1
    assert len(loaded.warnings) == 3, loaded.warnings
    kinds = ("cannot be read", "are not regular files", "are of another project")
    broken, pipes, foreign = (next(line for line in loaded.warnings if kind in line) for kind in kinds)
    assert broken.startswith(f"baseline ignored: 3000 files cannot be read ({base}/0000-broken.ndjson, {base}/0001-broken.ndjson, ")
    assert f"; the first: {base}/0000-broken.ndjson:1: corrupt results file" in broken
    assert pipes.startswith("baseline ignored: 40 files are not regular files (") and "a FIFO (named pipe)" in pipes
    assert foreign.startswith("baseline ignored: 40 files are of another project (") and "(pass --force-baseline" in foreign
    assert sum(map(len, loaded.warnings)) < 2000
    head = good_results(tmp_path / "head.ndjson")
    assert cli.main(["compare", str(head), "--baseline", str(base)]) == 0
    assert capsys.readouterr().out.count("perfbudget warning: ") == 3


def test_three_of_a_kind_are_still_named_one_a_line(tmp_path: Path) -> None:
    base = tmp_path / "base"
    for n in range(3):
        (base / f"{n}-broken.ndjson").parent.mkdir(exist_ok=True)
        (base / f"{n}-broken.ndjson").write_text("{not json\n")
    loaded = load_baseline(base)
    assert [line.split(":")[0:2] for line in loaded.warnings[:3]] == [["baseline ignored", f" {base}/{n}-broken.ndjson"] for n in range(3)]
    assert loaded.reason.startswith(f"3 baseline files were unusable ({base}/0-broken.ndjson:1: corrupt")


# --- a huge-number baseline given to every command that takes one ---------------------------------------------------------------


def _huge_baseline(tmp_path: Path, layout: str, as_directory: bool) -> Path:
    directory = tmp_path / "base"
    directory.mkdir()
    path = write_numbers(directory, layout, "metric_count", "9" * 310)
    return directory if as_directory else path


def _github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [key for key in os.environ if key.startswith("GITHUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))


BASELINE_COMMANDS = {  # argv with H for the good results, B for the hostile baseline; the exit code; where the warning goes
    "compare": (["compare", "H", "--baseline", "B"], 0, "out"),
    "compare json": (["compare", "H", "--baseline", "B", "--format", "json"], 0, "out"),
    "report markdown": (["report", "H", "--baseline", "B"], 0, "out"),
    "report html": (["report", "H", "--baseline", "B", "--format", "html"], 0, "out"),
    "comment --results": (["comment", "--results", "H", "--baseline", "B", "--pr", "7"], 0, "summary"),
    "budgets tighten": (["budgets", "tighten", "H", "B", "--dry-run"], 0, "err"),
}


@pytest.mark.parametrize("as_directory", [False, True], ids=["file", "directory"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("command", BASELINE_COMMANDS)
def test_every_command_judges_on_with_a_huge_number_baseline(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    layout: str,
    as_directory: bool,
) -> None:
    _github_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 100\n")
    head = good_results(tmp_path / "head.ndjson")
    base = _huge_baseline(tmp_path, layout, as_directory)
    argv, code, where = BASELINE_COMMANDS[command]
    assert cli.main([str(head) if arg == "H" else str(base) if arg == "B" else arg for arg in argv]) == code
    out, err = capsys.readouterr()
    text = {"out": out, "err": err, "summary": (tmp_path / "summary.md").read_text() if where == "summary" else ""}[where]
    assert "queries" in text and "out of range" in text and "Traceback" not in out + err, out + err  # Markdown escapes the dots


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_fork_stage_comment_judges_on_with_a_huge_number_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    from perfbudget.github.artifacts import PrContext, write_pr_context

    _github_env(monkeypatch, tmp_path)
    leg = tmp_path / "artifact"
    good_results(leg / "results.ndjson.gz")
    write_pr_context(leg, PrContext("acme/shop", 7, "a" * 40, "CI", "tests", "ok"))
    (leg / "baseline").mkdir()
    write_numbers(leg / "baseline", layout, "metric_count", "9" * 310)
    write_origin(leg / "baseline", BaselineOrigin(found=True, how="base", commit="b" * 40, chosen=layout, history=1))
    assert cli.main(["comment", "--from-artifact", str(leg)]) == 0  # no token: the comment goes to the job summary
    summary = (tmp_path / "summary.md").read_text()
    assert "not compared" in summary and "out of range" in summary and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("as_directory", [False, True], ids=["file", "directory"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_actions_judge_step_judges_on_with_a_huge_number_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, as_directory: bool
) -> None:
    """Before, the baseline's OverflowError failed the job before its tests were judged, on every PR until the artifact expired."""
    from perfbudget.github.action import main
    from tests.support.fakegithub.runner import read_outputs

    _github_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 1\n")
    head = good_results(tmp_path / "head.ndjson", queries=2)
    base = _huge_baseline(tmp_path, layout, as_directory)
    assert main(["--results", str(head), "--build-dir", str(tmp_path / "build"), "--baseline", str(base)]) == 0
    outputs = read_outputs(tmp_path / "output")
    assert outputs["verdict"] == "fail" and outputs["count-over-budget"] == "1"  # judged on its budgets
    assert outputs["baseline-found"] == "false" and "out of range" in outputs["baseline-reason"]


def test_the_actions_artifact_carries_only_the_baselines_regular_files(tmp_path: Path) -> None:
    """Before, copying the baseline into the artifact read /dev/zero without end, copied files from outside, and failed on a FIFO.

    Run as a subprocess whose files may not grow past ``FILE_LIMIT``: the copy that never ends is stopped there.
    """
    from tests.support.fakegithub.runner import read_outputs

    base = tmp_path / "base"
    _chosen(base)
    good_results(base / "older" / "01-run-0.ndjson")
    os.mkfifo(base / "pipe.ndjson")
    (base / "zero.ndjson").symlink_to("/dev/zero")
    (tmp_path / "secret.json").write_text('{"token": "hunter2"}')
    (base / "secret.json").symlink_to(tmp_path / "secret.json")
    (base / "notes.txt").write_text("not read, not copied")
    head = good_results(tmp_path / "head.ndjson")
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env |= {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    args = ["--results", str(head), "--build-dir", str(tmp_path / "build"), "--baseline", str(base)]
    done = perfbudget(*args, cwd=tmp_path, env=env, module="perfbudget.github.action")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert read_outputs(tmp_path / "output")["verdict"] == "ok"
    copied = sorted(str(path.relative_to(tmp_path / "build" / "baseline")) for path in (tmp_path / "build" / "baseline").rglob("*"))
    assert copied == ["00-run-1.ndjson.gz", "older", "older/01-run-0.ndjson", "selection.json"]


def test_a_gzip_bomb_in_a_history_directory_is_one_warning(tmp_path: Path) -> None:
    from tests.support.hostile_results import gzip_bomb

    base = tmp_path / "base"
    good_results(base / "00-run-1.ndjson.gz")
    (base / "01-bomb.ndjson.gz").write_bytes(gzip_bomb(b"\0" * (1 << 20), 2100))
    done = perfbudget("compare", str(good_results(tmp_path / "head.ndjson")), "--baseline", str(base), cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert (
        f"perfbudget warning: baseline ignored: {base}/01-bomb.ndjson.gz:1: a line longer than 64 MiB; refusing to read it" in done.stdout
    )
