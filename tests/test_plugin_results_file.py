"""The results file: NDJSON (optionally gzip), one test a line, read back unchanged, and readable after a crash."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from perfbudget.run.aggregate import aggregate_urls
from perfbudget.run.decode import ResultsError
from perfbudget.run.encode import SCHEMA_VERSION
from perfbudget.run.model import CacheOp, Details, NetworkCall, RequestRecord, Run, SqlGroup, TemplateStat, TestRecord
from perfbudget.run.read import load_run
from perfbudget.run.write import ResultsWriter, write_run


def _run() -> Run:
    details = Details(
        sql_groups=[
            SqlGroup(
                sql='SELECT "t"."id" FROM "t" WHERE "t"."a" = %s',
                kind="select",
                database="default",
                count=3,
                time_ms=1.5,
                location="app/views.py:7",
                n_plus_one=True,
            ),
            SqlGroup(sql="INSERT INTO t VALUES (...)", kind="insert", database="other", count=1, time_ms=0.2, params=["('é',)"]),
        ],
        network_calls=[NetworkCall(host="api.example.com", port=443, loopback=False, method="GET", url="https://api.example.com/x")],
        cache_ops=[CacheOp(operation="get", calls=2, hits=1, misses=1, time_ms=0.1)],
        templates=[TemplateStat(name="base.html", count=1, time_ms=2.0)],
        signals={"post_save": 1},
    )
    request = RequestRecord(
        method="GET",
        path="/items/3/",
        route="/items/<int:pk>/",
        view_name="item",
        status=200,
        metrics={"queries": 3.0, "duration": 4.5},
        details=details,
    )
    tests = [
        TestRecord(
            node_id="test_a.py::test_one",
            file="test_a.py",
            line=3,
            outcome="passed",
            metrics={"queries": 3.0, "duration": 9.0},
            call_metrics={"queries": 3.0},
            details=details,
            requests=[request],
            samples={"benchmark.median": [1.0, 1.5, 2.0]},
            budget_marker={"queries": 5},
        ),
        TestRecord(node_id="test_a.py::test_two", file="test_a.py", line=9, outcome="skipped"),
    ]
    return Run(project="demo", started="2026-01-01T00:00:00Z", environment={"python": "3.11"}, tests=tests, urls=aggregate_urls(tests))


def test_results_file_reads_back_as_the_same_run(tmp_path: Path) -> None:
    run = _run()
    for name in ("results.ndjson", "results.ndjson.gz"):
        assert load_run(write_run(run, tmp_path / name)) == run


def test_one_test_a_line_between_a_header_and_a_trailer(tmp_path: Path) -> None:
    lines = write_run(_run(), tmp_path / "results.ndjson").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["type"] for r in records] == ["run", "test", "test", "url", "end"]
    assert records[0]["schema_version"] == SCHEMA_VERSION and records[0]["project"] == "demo"
    one, two = records[1], records[2]
    assert one["node_id"] == "test_a.py::test_one" and one["metrics"] == {"duration": 9, "queries": 3}
    assert one["details"]["cache_ops"] == [{"operation": "get", "cache": "default", "calls": 2, "hits": 1, "misses": 1, "time_ms": 0.1}]
    # Values that say nothing are left out; what is left reads back to the same record.
    assert two == {"type": "test", "node_id": "test_a.py::test_two", "file": "test_a.py", "line": 9, "outcome": "skipped", "metrics": {}}
    assert "é" in lines[1]  # written as UTF-8, not \u escapes


def test_a_gzip_file_is_much_smaller_and_reads_the_same(tmp_path: Path) -> None:
    run = _run()
    run.tests = [dataclasses.replace(run.tests[0], node_id=f"test_a.py::test_{n}") for n in range(200)]
    plain = write_run(run, tmp_path / "results.ndjson")
    packed = write_run(run, tmp_path / "results.ndjson.gz")
    assert packed.read_bytes()[:2] == b"\x1f\x8b" and packed.stat().st_size * 5 < plain.stat().st_size
    assert load_run(packed) == load_run(plain)


def test_a_stream_cut_short_keeps_every_finished_test(tmp_path: Path) -> None:
    """What a crash leaves: the header and the tests written so far, the last one perhaps half written."""
    run = _run()
    for name in ("results.ndjson", "results.ndjson.gz"):
        writer = ResultsWriter(tmp_path / name, run)
        writer.write_test(run.tests[0])
        writer.write_test(run.tests[1])
        # No close(): the process died. What reached the OS is all there is.
        copy = tmp_path / f"crashed-{name}"
        shutil.copyfile(tmp_path / name, copy)
        with open(copy, "ab") as handle:
            handle.write(b'{"type":"test","node_id":"half')
        read = load_run(copy)
        assert [t.node_id for t in read.tests] == [t.node_id for t in run.tests] and read.interrupted
        assert read.urls == aggregate_urls(run.tests)  # rebuilt from the tests' requests
        with pytest.raises(ResultsError, match="corrupt results file"):
            load_run(copy, allow_partial=False)
        writer.abandon()
