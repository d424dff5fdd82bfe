"""Reading a run light (metrics only), then the details of what changed: what compare and the reports do at scale."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from perfbudget.collect import benchmark
from perfbudget.compare.judge import judge_results
from perfbudget.compare.verdicts import Status
from perfbudget.run.aggregate import aggregate_urls
from perfbudget.run.decode import ResultsError
from perfbudget.run.model import Details, RequestRecord, Reruns, Run, SqlGroup, TestRecord
from perfbudget.run.read import load_details, load_run
from perfbudget.run.write import ResultsWriter, write_run

N_PLUS_ONE = SqlGroup(
    'SELECT "t"."id" FROM "t" WHERE "t"."a" = %s', "select", "default", 5, 1.0, location="app/views.py:7", n_plus_one=True
)


def _test(index: int, queries: int = 3) -> TestRecord:
    details = Details(sql_groups=[dataclasses.replace(N_PLUS_ONE, count=queries)], signals={"post_save": 1})
    request = RequestRecord(
        "GET", f"/items/{index}/", "/items/<int:pk>/", "item", 200, {"queries": float(queries), "duration": 4.0}, details
    )
    return TestRecord(
        node_id=f"tests/test_items.py::test_{index}",
        file="tests/test_items.py",
        line=index + 1,
        outcome="passed",
        metrics={"queries": float(queries), "requests": 1.0, "duration": 5.0},
        call_metrics={"queries": float(queries)},
        details=details,
        requests=[request],
    )


def _run(tests: list[TestRecord]) -> Run:
    return Run(project="demo", tests=tests, urls=aggregate_urls(tests))


def test_a_light_read_has_every_metric_and_url_but_no_details(tmp_path: Path) -> None:
    run = _run([_test(n) for n in range(5)])
    path = write_run(run, tmp_path / "results.ndjson.gz")
    light = load_run(path, details=False)
    assert [t.metrics for t in light.tests] == [t.metrics for t in run.tests]
    assert light.urls == run.urls
    assert all(t.details == Details() and t.requests == [] and t.call_metrics == {} for t in light.tests)


def test_a_metric_named_like_a_cut_key_falls_back_to_the_whole_line(tmp_path: Path) -> None:
    """The light read cuts a line at its "call_metrics"/"details" key; the same text elsewhere must not fool it."""
    odd = _test(0)
    odd.metrics["details"] = 1.0  # not a catalogue metric, but a results file may hold any name
    odd.samples = {"call_metrics": [1.0, 2.0]}
    path = write_run(_run([odd]), tmp_path / "results.ndjson")
    [read] = load_run(path, details=False).tests
    assert read.metrics == odd.metrics and read.samples == odd.samples


def test_details_are_read_only_for_the_tests_asked_for(tmp_path: Path) -> None:
    run = _run([_test(n) for n in range(5)])
    path = write_run(run, tmp_path / "results.ndjson.gz")
    found = load_details(path, {run.tests[1].node_id, "tests/test_items.py::missing"})
    assert list(found) == [run.tests[1].node_id] and found[run.tests[1].node_id] == run.tests[1]


def test_judging_a_file_reads_the_details_of_what_changed_only(tmp_path: Path) -> None:
    base = write_run(_run([_test(n) for n in range(4)]), tmp_path / "base.ndjson.gz")
    head_tests = [_test(n) for n in range(4)]
    head_tests[2] = _test(2, queries=9)  # the N+1 grew in one test
    head = write_run(_run(head_tests), tmp_path / "head.ndjson.gz")
    comparison, _ = judge_results(head, rootdir=tmp_path, budget_file=None, baseline=str(base), no_baseline_note="")
    regressed = {v.subject for v in comparison.verdicts if v.status is Status.REGRESSED}
    assert regressed == {head_tests[2].node_id, "GET /items/<int:pk>/"}
    with_details = {t.node_id for t in comparison.run.tests if t.details.sql_groups}
    # The regressed test, and every test behind the regressed URL (here: all of them).
    assert with_details == {t.node_id for t in head_tests}
    assert comparison.run.tests[2].details.sql_groups[0].count == 9
    quiet, _ = judge_results(base, rootdir=tmp_path, budget_file=None, baseline=str(base), no_baseline_note="")
    assert not any(t.details.sql_groups for t in quiet.run.tests)  # nothing changed: no details read


def test_benchmark_rounds_are_judged_as_samples_of_benchmark_median(tmp_path: Path) -> None:
    """The rounds used to be stored under "benchmark", a key compare never looked up, so one value was judged."""

    def record(rounds: list[float]) -> TestRecord:
        fixture = SimpleNamespace(
            stats=SimpleNamespace(
                stats=SimpleNamespace(
                    data=rounds,
                    min=min(rounds),
                    max=max(rounds),
                    mean=sum(rounds) / len(rounds),
                    median=sorted(rounds)[len(rounds) // 2],
                    stddev=0.0,
                )
            )
        )
        metrics, samples = benchmark.summarise(fixture)
        return TestRecord("tests/test_b.py::test_sum", "tests/test_b.py", 3, "passed", metrics=metrics, samples=samples)

    base = write_run(Run(project="demo", tests=[record([0.100, 0.101, 0.102, 0.100, 0.101])]), tmp_path / "base.ndjson")
    slower = record([0.200, 0.201, 0.199, 0.202, 0.200])
    head = write_run(Run(project="demo", tests=[slower]), tmp_path / "head.ndjson")
    comparison, _ = judge_results(head, rootdir=tmp_path, budget_file=None, baseline=str(base), no_baseline_note="")
    [median] = [v for v in comparison.verdicts if v.metric == "benchmark.median"]
    # Rounds of one run are no independent repeats: without reruns the slowdown is a suspect only.
    assert median.status is Status.UNCONFIRMED
    assert "median of 5 runs" in median.reason  # the rounds steady the figure; the baseline is one run
    slower.reruns = Reruns({"benchmark.median": [200.0, 199.0, 201.0]}, [2.0, 2.0, 2.0])
    head = write_run(Run(project="demo", tests=[slower]), tmp_path / "head.ndjson")  # the evidence travels in the file
    comparison, _ = judge_results(head, rootdir=tmp_path, budget_file=None, baseline=str(base), no_baseline_note="")
    [median] = [v for v in comparison.verdicts if v.metric == "benchmark.median"]
    assert median.status is Status.REGRESSED and "confirmed by 3 reruns" in median.reason


def test_a_crashed_stream_read_light_still_has_its_url_rollups(tmp_path: Path) -> None:
    """A run cut short never wrote its URL lines: they are rebuilt from the requests, light read or not."""
    run = _run([_test(0), _test(1)])
    writer = ResultsWriter(tmp_path / "results.ndjson", run)
    for test in run.tests:
        writer.write_test(test)
    writer.abandon()
    light = load_run(tmp_path / "results.ndjson", details=False)
    assert light.interrupted and light.urls == run.urls


def test_a_rerun_test_is_its_last_attempt_with_the_earlier_ones_as_samples(tmp_path: Path) -> None:
    """pytest-rerunfailures runs a test again: each attempt is streamed, the last one counts."""
    failed, passed = _test(0), _test(0)
    failed.outcome, failed.metrics["duration"], passed.metrics["duration"] = "failed", 50.0, 20.0
    writer = ResultsWriter(tmp_path / "results.ndjson", Run(project="demo"))
    writer.write_test(failed)
    writer.write_test(passed)
    writer.close(Run(project="demo"), aggregate_urls([passed]))
    for details in (True, False):
        [read] = load_run(tmp_path / "results.ndjson", details=details).tests
        assert read.outcome == "passed" and read.metrics["duration"] == 20.0 and read.samples["duration"] == [50.0, 20.0]
    assert load_details(tmp_path / "results.ndjson", {passed.node_id})[passed.node_id].outcome == "passed"


def test_details_of_a_malformed_node_id_are_never_looked_up(tmp_path: Path) -> None:
    path = tmp_path / "results.ndjson"
    path.write_text('{"type":"run","schema_version":2}\n{"type":"test","node_id":["a"],"metrics":{}}\n')
    assert load_details(path, {"a"}) == {}


def test_rerun_evidence_round_trips_with_its_process_loop_calibration(tmp_path: Path) -> None:
    test = _test(0)
    test.reruns = Reruns({"duration": [5.0, 6.0, 5.5]}, [1.0, 1.1, 0.9], "tests/test_items.py::test_1", {"duration": [4.0] * 3}, 0.95)
    write_run(_run([test, _test(1)]), tmp_path / "r.ndjson")
    assert load_run(tmp_path / "r.ndjson").test(test.node_id).reruns == test.reruns  # type: ignore[union-attr]
    text = (tmp_path / "r.ndjson").read_text(encoding="utf-8").replace('"loop_calibration_ms":0.95', '"loop_calibration_ms":0')
    (tmp_path / "bad.ndjson").write_text(text, encoding="utf-8")
    with pytest.raises(ResultsError, match=r"loop_calibration_ms.*must be positive"):
        load_run(tmp_path / "bad.ndjson")
