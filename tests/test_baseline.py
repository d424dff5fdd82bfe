"""Loading baselines: files, history directories, and every way a baseline can be unusable."""

from __future__ import annotations

import json
from pathlib import Path

from perfbudget.compare.baseline import load_baseline
from perfbudget.run.encode import SCHEMA_VERSION
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of

A = "tests/test_app.py::test_a"


def test_a_results_file(tmp_path: Path) -> None:
    path = write_run(run_of(record(A, queries=3)), tmp_path / "base.json")
    loaded = load_baseline(path, project="demo")
    assert loaded.warnings == []
    assert loaded.baseline is not None and loaded.baseline.latest.test(A).metrics["queries"] == 3


def test_a_history_directory_gives_one_value_per_run_in_recorded_order(tmp_path: Path) -> None:
    for index, (duration, finished) in enumerate([(100, "2026-01-03"), (110, "2026-01-01"), (120, "2026-01-02")]):
        test = record(A, duration=duration, queries=index)
        if index == 0:
            test.samples["duration"] = [100, 102]
        write_run(run_of(test, finished=finished), tmp_path / "nested" / f"run{index}.json")
    loaded = load_baseline(tmp_path, project="demo")
    assert loaded.warnings == [] and loaded.baseline is not None
    assert [run.finished for run in loaded.baseline.runs] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert loaded.baseline.latest_test(A).metrics["queries"] == 0  # the newest run decides counts
    # One value per run: a run's own samples (here 100 and 102) are its median, not two independent runs.
    assert sorted(loaded.baseline.test_values(A, "duration")) == [101, 110, 120]


def test_missing_baseline_is_a_warning(tmp_path: Path) -> None:
    loaded = load_baseline(tmp_path / "nope.json")
    assert loaded.baseline is None
    assert loaded.warnings == [f"{tmp_path / 'nope.json'}: baseline not found; compared with budgets only"]


def test_truncated_and_corrupt_files_are_skipped_with_file_and_line(tmp_path: Path) -> None:
    good = write_run(run_of(record(A, queries=3)), tmp_path / "a-good.json")
    text = good.read_text()
    (tmp_path / "b-truncated.json").write_text(text[: len(text) // 2])
    (tmp_path / "c-garbage.json").write_text("not json at all")
    loaded = load_baseline(tmp_path)
    assert loaded.baseline is not None and len(loaded.baseline.runs) == 1
    assert len(loaded.warnings) == 2
    assert loaded.warnings[0].startswith(f"baseline ignored: {tmp_path / 'b-truncated.json'}:")
    assert "corrupt results file" in loaded.warnings[0]
    only_bad = load_baseline(tmp_path / "b-truncated.json")
    assert only_bad.baseline is None and only_bad.warnings[-1] == "no usable baseline; compared with budgets only"


def test_newer_schema_is_refused_older_accepted(tmp_path: Path) -> None:
    path = write_run(run_of(record(A, queries=3)), tmp_path / "base.ndjson")
    header, *rest = path.read_text().splitlines(keepends=True)
    data = json.loads(header)
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data) + "\n" + "".join(rest))
    loaded = load_baseline(path)
    assert loaded.baseline is None
    assert f"results schema version {SCHEMA_VERSION + 1} is not supported" in loaded.warnings[0]
    # The oldest version this perfbudget reads: schema 1, one JSON document (results.json).
    path.write_text(json.dumps({"schema_version": 1, "project": "demo", "tests": [{"node_id": A, "metrics": {"queries": 3}}]}))
    assert load_baseline(path).baseline is not None


def test_another_projects_results_are_ignored_unless_forced(tmp_path: Path) -> None:
    path = write_run(run_of(record(A), project="other"), tmp_path / "base.json")
    loaded = load_baseline(path, project="demo")
    assert loaded.baseline is None
    assert "is from project 'other', not 'demo'" in loaded.warnings[0]
    assert load_baseline(path, project="demo", force=True).baseline is not None
    assert load_baseline(path, project="").baseline is not None  # unknown name: nothing to compare


def test_the_runs_own_results_file_is_not_its_baseline(tmp_path: Path) -> None:
    own = write_run(run_of(record(A)), tmp_path / "results.json")
    loaded = load_baseline(own, exclude=own)
    assert loaded.baseline is None and "the results file this run just wrote" in loaded.warnings[0]
    write_run(run_of(record(A)), tmp_path / "history" / "old.json")
    write_run(run_of(record(A)), tmp_path / "history" / "results.json")
    in_dir = load_baseline(tmp_path / "history", exclude=tmp_path / "history" / "results.json")
    assert in_dir.baseline is not None and len(in_dir.baseline.runs) == 1


def test_an_empty_directory(tmp_path: Path) -> None:
    loaded = load_baseline(tmp_path)
    assert loaded.baseline is None
    assert loaded.warnings == [
        f"{tmp_path}: no results files (*.ndjson, *.ndjson.gz, *.json) in the baseline directory",
        "no usable baseline; compared with budgets only",
    ]


def test_an_interrupted_run_is_no_baseline(tmp_path: Path) -> None:
    """Stopped with Ctrl-C, its missing tests would all look new against it."""
    path = write_run(run_of(record(A), interrupted=True), tmp_path / "base.ndjson")
    loaded = load_baseline(path)
    assert loaded.baseline is None and "is an interrupted run" in loaded.warnings[0]


def test_a_fetched_directory_puts_the_chosen_run_last_and_carries_its_origin(tmp_path: Path) -> None:
    from perfbudget.compare.origin import BaselineOrigin, write_origin

    write_run(run_of(record(A, queries=1), finished="2026-01-09"), tmp_path / "01-run-2.ndjson.gz")  # history, dated later
    write_run(run_of(record(A, queries=2), finished="2026-01-01"), tmp_path / "00-run-1.ndjson.gz")
    write_origin(tmp_path, BaselineOrigin(found=True, how="base", commit="c" * 40, chosen="00-run-1.ndjson.gz", history=2))
    loaded = load_baseline(tmp_path, project="demo")
    assert loaded.baseline is not None and loaded.baseline.latest.test(A).metrics["queries"] == 2
    assert loaded.baseline.origin is not None and loaded.baseline.origin.how == "base"
    assert loaded.warnings == []  # selection.json is no results file


def test_a_refused_chosen_run_drops_the_origin_so_no_report_names_it(tmp_path: Path) -> None:
    from perfbudget.compare.origin import BaselineOrigin, write_origin

    write_run(run_of(record(A), project="other"), tmp_path / "00-run-1.ndjson.gz")
    write_run(run_of(record(A)), tmp_path / "01-run-2.ndjson.gz")
    write_origin(tmp_path, BaselineOrigin(found=True, how="base", commit="c" * 40, chosen="00-run-1.ndjson.gz"))
    loaded = load_baseline(tmp_path, project="demo")
    assert loaded.baseline is not None and loaded.baseline.origin is None
    assert any("the run the fetch chose (00-run-1.ndjson.gz) was not usable" in w for w in loaded.warnings)


def test_a_fetch_that_found_nothing_gives_its_reason(tmp_path: Path) -> None:
    from perfbudget.compare.origin import BaselineOrigin, write_origin

    write_origin(tmp_path, BaselineOrigin(found=False, reason="no finished push run of this workflow on 'main' yet"))
    loaded = load_baseline(tmp_path, project="demo")
    assert loaded.baseline is None and loaded.reason == "no finished push run of this workflow on 'main' yet"
    (tmp_path / "selection.json").write_text('{"found": "yes", "how": 3}')  # not the expected shape: ignored
    assert load_baseline(tmp_path, project="demo").reason.endswith(
        "no results files (*.ndjson, *.ndjson.gz, *.json) in the baseline directory"
    )
