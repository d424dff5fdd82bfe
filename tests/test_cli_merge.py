"""``perfbudget merge``: shards into one results file."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of


@pytest.fixture(autouse=True)
def _only_these_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", {name: cli.COMMANDS[name] for name in ("compare", "merge")})


def test_merges_shards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(run_of(record("tests/a.py::t", queries=1)), tmp_path / "a.json")
    b = write_run(run_of(record("tests/b.py::t", queries=2)), tmp_path / "b.json")
    assert cli.main(["merge", str(a), str(b), "-o", str(tmp_path / "out" / "all.json")]) == 0
    merged = load_run(tmp_path / "out" / "all.json")
    assert [t.node_id for t in merged.tests] == ["tests/a.py::t", "tests/b.py::t"]
    assert "Wrote 2 tests and 0 URLs from 2 files" in capsys.readouterr().out


def test_refuses_other_projects_and_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(run_of(record("tests/a.py::t"), project="one"), tmp_path / "a.json")
    b = write_run(run_of(record("tests/b.py::t"), project="two"), tmp_path / "b.json")
    assert cli.main(["merge", str(a), str(b), "-o", str(tmp_path / "out.json")]) == 3
    assert "refusing to merge results of different projects: one, two" in capsys.readouterr().err
    (tmp_path / "c.json").write_text('{"schema_version": 1, "tests": [{}]}')
    assert cli.main(["merge", str(a), str(tmp_path / "c.json"), "-o", str(tmp_path / "out.json")]) == 3
    assert "malformed results file" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_warns_when_commits_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(run_of(record("tests/a.py::t"), commit="aaa"), tmp_path / "a.json")
    b = write_run(run_of(record("tests/b.py::t"), commit="bbb"), tmp_path / "b.json")
    assert cli.main(["merge", str(a), str(b), "-o", str(tmp_path / "out.json")]) == 0
    assert "different commits (aaa, bbb)" in capsys.readouterr().err


def test_reruns_keep_the_samples_of_every_measured_metric(tmp_path: Path) -> None:
    """What is a time is the catalogue's word: benchmark.* and duration_p95 used to lose their rerun samples."""
    first = record("tests/a.py::t", queries=3, duration=10.0, benchmark_median=2.0, peak_memory=1_000_000.0)
    again = record("tests/a.py::t", queries=3, duration=12.0, benchmark_median=2.5, peak_memory=1_200_000.0)
    a = write_run(run_of(first), tmp_path / "a.ndjson")
    b = write_run(run_of(again), tmp_path / "b.ndjson")
    assert cli.main(["merge", str(a), str(b), "-o", str(tmp_path / "all.ndjson")]) == 0
    [merged] = load_run(tmp_path / "all.ndjson").tests
    assert merged.samples == {"benchmark.median": [2.0, 2.5], "duration": [10.0, 12.0], "peak_memory": [1_000_000.0, 1_200_000.0]}
    assert "queries" not in merged.samples  # counts are facts, not samples
