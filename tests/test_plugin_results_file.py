"""The results file's layout: the same JSON document as before, one item per line, readable back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from perfbudget.results import (
    CacheOp,
    Details,
    NetworkCall,
    RequestRecord,
    Run,
    SqlGroup,
    TemplateStat,
    TestRecord,
    aggregate_urls,
    load_run,
    run_to_dict,
    write_run,
)


def _run() -> Run:
    details = Details(
        sql_groups=[
            SqlGroup(sql='SELECT "t"."id" FROM "t" WHERE "t"."a" = %s', kind="select", database="default", count=3,
                     time_ms=1.5, location="app/views.py:7", n_plus_one=True),
            SqlGroup(sql="INSERT INTO t VALUES (...)", kind="insert", database="other", count=1, time_ms=0.2,
                     params=["('é',)"]),
        ],
        network_calls=[NetworkCall(host="api.example.com", port=443, loopback=False, method="GET", url="https://api.example.com/x")],
        cache_ops=[CacheOp(operation="get", calls=2, hits=1, misses=1, time_ms=0.1)],
        templates=[TemplateStat(name="base.html", count=1, time_ms=2.0)],
        signals={"post_save": 1},
    )
    request = RequestRecord(method="GET", path="/items/3/", route="/items/<int:pk>/", view_name="item", status=200,
                            metrics={"queries": 3.0, "duration": 4.5}, details=details)
    tests = [
        TestRecord(node_id="test_a.py::test_one", file="test_a.py", line=3, outcome="passed",
                   metrics={"queries": 3.0, "duration": 9.0}, call_metrics={"queries": 3.0}, details=details,
                   requests=[request], samples={"benchmark": [1.0, 1.5, 2.0]}, budget_marker={"queries": 5}),
        TestRecord(node_id="test_a.py::test_two", file="test_a.py", line=9, outcome="skipped"),
    ]
    return Run(project="demo", started="2026-01-01T00:00:00Z", environment={"python": "3.11"}, tests=tests,
               urls=aggregate_urls(tests))


def test_results_file_reads_back_as_the_same_document(tmp_path: Path) -> None:
    run = _run()
    path = write_run(run, tmp_path / "results.json")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(run_to_dict(run)))
    assert run_to_dict(load_run(path)) == run_to_dict(run)


def test_one_item_per_line(tmp_path: Path) -> None:
    lines = write_run(_run(), tmp_path / "results.json").read_text(encoding="utf-8").splitlines()
    stripped = [line.strip() for line in lines]
    # A record of plain values is one line: it changes as one line in a diff.
    sql_lines = [line for line in stripped if line.startswith('{"sql": ')]
    assert len(sql_lines) == 4  # two groups, in the test's details and in its request's
    assert all(json.loads(line.rstrip(",")) for line in sql_lines)
    assert '{"operation": "get", "cache": "default", "calls": 2, "hits": 1, "misses": 1, "time_ms": 0.1}' in stripped
    # Each metric, tag and test name on its own line; numbers of a sample series together.
    assert '"duration": 9.0,' in stripped
    assert '"benchmark": [1.0, 1.5, 2.0]' in stripped
    assert '"test_a.py::test_one"' in stripped
    # Empty containers stay (a zero is a recorded fact) and stay short.
    assert '"samples": {},' in stripped
    assert '"network_calls": [],' in stripped
    assert "é" in "\n".join(lines)  # written as UTF-8, not \u escapes
    assert lines[0] == "{" and lines[-1] == "}"
