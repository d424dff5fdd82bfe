"""Under pytest-xdist the records ride on the reports and only the controller writes.

Also the runs that end badly: a worker that dies mid-test and a Ctrl-C. These
need a real process (xdist spawns workers; KeyboardInterrupt ends the run), so
they use ``runpytest_subprocess``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.plugin import read_results, records_by_name

pytest_plugins = ["pytester"]
pytest.importorskip("xdist")

SUITE = """
    import http.client
    import urllib.request
    import pytest

    BASE = {base!r}

    class Tag(str):
        # Django hands out str subclasses (SafeString); execnet sends only exact built-ins.
        pass

    def get(path):
        urllib.request.urlopen(BASE + path, timeout=5).read()

    @pytest.fixture(scope="session")
    def warm():
        get("/warm")

    @pytest.mark.perf_budget(network_calls=2)
    def test_two_calls(warm):
        get("/a")
        get("/b")

    @pytest.mark.parametrize("n", [0, 1, 3])
    def test_n_calls(n):
        for _ in range(n):
            get("/n")

    def test_fails_after_a_call():
        get("/f")
        assert False

    @pytest.mark.xfail
    def test_xfail(warm):
        get("/x")
        assert False

    @pytest.mark.skip
    def test_skipped():
        pass

    def test_tagged_external_host():
        conn = http.client.HTTPConnection(Tag("api.example.com"))
        conn.putrequest("GET", Tag("/x"))  # recorded; nothing is sent
        conn.close()
"""


def _facts(results: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """What must not depend on how the run was distributed: everything but times."""
    return {
        t["node_id"]: (
            t["outcome"],
            t["file"],
            t["line"],
            t["metrics"]["network_calls"],
            t["call_metrics"].get("network_calls"),
            t["details"]["network_calls"],
            t["budget_marker"],
        )
        for t in results["tests"]
    }


def test_xdist_records_the_same_facts_as_a_serial_run(pytester: pytest.Pytester, local_server: str) -> None:
    pytester.makepyfile(test_suite=SUITE.format(base=local_server))
    serial = pytester.runpytest_subprocess("--perf-budget", "--perf-output", "serial.json", "-p", "no:randomly")
    serial.assert_outcomes(passed=5, failed=1, xfailed=1, skipped=1)
    distributed = pytester.runpytest_subprocess("--perf-budget", "--perf-output", "xdist/results.json", "-n", "2")
    distributed.assert_outcomes(passed=5, failed=1, xfailed=1, skipped=1)
    distributed.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert distributed.ret == serial.ret == pytest.ExitCode.TESTS_FAILED

    serial_results = read_results(pytester.path / "serial.json")
    xdist_results = read_results(pytester.path / "xdist" / "results.json")
    assert _facts(xdist_results) == _facts(serial_results)
    assert len(xdist_results["tests"]) == 8
    by_name = records_by_name(xdist_results)
    assert by_name["test_two_calls"]["metrics"]["network_calls"] == 2  # the session fixture's call is left out
    assert [by_name[f"test_n_calls[{n}]"]["metrics"]["network_calls"] for n in (0, 1, 3)] == [0, 1, 3]
    assert by_name["test_tagged_external_host"]["details"]["network_calls"][0]["host"] == "api.example.com"
    assert xdist_results["environment"]["xdist_workers"] == "2"
    assert serial_results["environment"]["xdist_workers"] == "0"
    # Only the controller wrote, once, atomically: no temporary files left behind.
    assert sorted(p.name for p in (pytester.path / "xdist").iterdir()) == ["results.json"]
    distributed.stdout.fnmatch_lines(["*= perfbudget =*", "8 tests recorded: *", "perfbudget: results written to *results.json"])


def test_a_crashing_worker_still_leaves_a_results_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        def test_before():
            pass

        def test_crash():
            os._exit(3)

        def test_after():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--perf-budget", "-n", "2", "--max-worker-restart", "2")
    result.assert_outcomes(passed=2, failed=1)
    tests = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    assert {name: t["outcome"] for name, t in tests.items()} == {
        "test_before": "passed",
        "test_crash": "failed",
        "test_after": "passed",
    }
    assert tests["test_crash"]["metrics"] == {}  # nothing was recorded but the outcome
    assert "duration" in tests["test_after"]["metrics"]


def test_ctrl_c_writes_what_was_recorded_and_marks_the_run_interrupted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_1_done():
            pass

        def test_2_interrupts():
            raise KeyboardInterrupt

        def test_3_never_runs():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    results = read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")
    assert results["interrupted"] is True
    # The interrupted test has no outcome, so it has no record; the one before it does.
    assert [t["node_id"] for t in results["tests"]] == [
        "test_ctrl_c_writes_what_was_recorded_and_marks_the_run_interrupted.py::test_1_done"
    ]
    result.stdout.fnmatch_lines(["1 tests recorded: 1 passed (interrupted: partial results)"])


def test_a_workers_perfbudget_problem_reaches_the_controllers_summary(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from perfbudget.collect import network

        def refuse(self):
            raise RuntimeError("socket patching refused")

        network.NetworkCollector.install = refuse
        """
    )
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    result = pytester.runpytest_subprocess("--perf-budget", "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["perfbudget: installing collectors failed: RuntimeError: socket patching refused"])
    # Two workers, one message.
    assert result.stdout.str().count("perfbudget: installing collectors failed") == 1
