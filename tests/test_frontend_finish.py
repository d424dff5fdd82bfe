"""frontend/finish.py's after_run: budgets + baseline + compare, as the plugin calls it; and the plugin path end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfbudget.report
from perfbudget.budgets import BudgetError, load_project_budgets
from perfbudget.config.options import PerfOptions
from perfbudget.frontend.finish import after_run
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of, write_budgets

A = "tests/test_app.py::test_a"


def judge(tmp_path: Path, head_queries: int = 4, **options):  # type: ignore[no-untyped-def]
    run = run_of(record(A, queries=head_queries))
    results = write_run(run, tmp_path / ".perfbudget" / "results.ndjson.gz")
    # What the plugin does: the budget file is read once, at configure time, and handed in.
    return after_run(run, results, load_project_budgets(tmp_path, None), PerfOptions(**options))


def test_no_budget_file_no_baseline_passes(tmp_path: Path) -> None:
    outcome = judge(tmp_path)
    assert outcome.lines == ["perfbudget: 0 regressions, 0 over budget, 1 ok -- not compared: no baseline given (--perf-baseline)"]
    assert not outcome.failed


def test_budget_file_at_rootdir_fails_the_run(tmp_path: Path) -> None:
    write_budgets(tmp_path, "defaults:\n  tests: {queries: 3}\n")
    outcome = judge(tmp_path)
    assert outcome.failed
    assert outcome.lines[1:3] == [
        f"  {A} (tests/test_app.py:10)",
        "    OVER BUDGET queries 4 > budget 3 (defaults.tests in perfbudget.yaml:2)",
    ]


def test_report_only_and_fail_on(tmp_path: Path) -> None:
    write_budgets(tmp_path, "defaults:\n  tests: {queries: 3}\n")
    outcome = judge(tmp_path, report_only=True)
    assert not outcome.failed and outcome.lines[-1] == "perfbudget: report-only: not failing the run"
    write_budgets(tmp_path, "defaults:\n  tests: {queries: 3}\nfail_on: [regressed]\n")
    assert not judge(tmp_path).failed


def test_a_broken_budget_file_is_refused_when_read_naming_file_line_and_key(tmp_path: Path) -> None:
    """Read once before any test runs (the plugin turns this into a usage error), never judged without it."""
    write_budgets(tmp_path, "defaults:\n  tests: {queries: 3ms}\n")
    with pytest.raises(BudgetError) as caught:
        judge(tmp_path)
    assert str(caught.value).startswith("perfbudget.yaml:2: defaults.tests")


def test_baseline_regression_and_baseline_problems(tmp_path: Path) -> None:
    base = write_run(run_of(record(A, queries=3)), tmp_path / "base.json")
    outcome = judge(tmp_path, baseline=str(base))
    assert outcome.failed and "    REGRESSED queries 3 -> 4 (+1; any increase regresses; default rule)" in outcome.lines
    own = tmp_path / ".perfbudget" / "results.ndjson.gz"
    outcome = judge(tmp_path, baseline=str(own))
    assert not outcome.failed
    assert "the baseline is the results file this run just wrote" in outcome.lines[-1]


def test_reports_are_handed_to_the_report_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def write_reports(comparison, directory: Path, formats: tuple[str, ...]) -> list[Path]:  # type: ignore[no-untyped-def]
        calls.append((comparison.run.tests[0].node_id, directory, formats))
        return [directory / "report.md"]

    monkeypatch.setattr(perfbudget.report, "write_reports", write_reports, raising=False)
    outcome = judge(tmp_path, report_formats=("markdown",))
    assert calls == [(A, tmp_path / ".perfbudget", ("markdown",))]
    assert outcome.written == [tmp_path / ".perfbudget" / "report.md"]

    def broken(comparison, directory, formats):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(perfbudget.report, "write_reports", broken)
    assert "perfbudget: writing reports failed: disk full" in judge(tmp_path, report_formats=("html",)).lines


def test_real_report_writers_write_next_to_the_results(tmp_path: Path) -> None:
    import json

    outcome = judge(tmp_path, report_formats=("json",))
    assert len(outcome.written) == 1 and outcome.written[0].parent == tmp_path / ".perfbudget"
    assert json.loads(outcome.written[0].read_text())["verdicts"][0]["subject"] == A
    assert f"perfbudget: wrote {outcome.written[0]}" in outcome.lines


NETWORK_TEST = """
import socket
import pytest

def _connect(times):
    with socket.create_server(("127.0.0.1", 0)) as server:
        for _ in range(times):
            socket.create_connection(server.getsockname(), timeout=5).close()

@pytest.mark.perf_budget(network_calls=1)
def test_marked():
    _connect(2)

def test_by_rule():
    _connect(3)

def test_fails_on_its_own():
    assert False
"""


def test_plugin_fails_the_run_naming_test_metric_limit_and_value(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_net=NETWORK_TEST)
    pytester.makefile(".yaml", perfbudget="tests:\n  - match: '*test_by_rule'\n    network_calls: 2\n")
    result = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)  # perfbudget does not rewrite a test's own outcome
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "perfbudget: 0 regressions, 2 over budget, 1 ok -- not compared: no baseline given (--perf-baseline)",
            "  test_net.py::test_by_rule (test_net.py:*)",
            "    OVER BUDGET network_calls 3 > budget 2 (tests rule #1 '*test_by_rule' in perfbudget.yaml:2)",
            "  test_net.py::test_marked (test_net.py:*)",
            "    OVER BUDGET network_calls 2 > budget 1 (@perf_budget marker)",
        ]
    )


def test_the_verdict_line_is_red_when_it_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_net=NETWORK_TEST)
    pytester.makefile(".yaml", perfbudget="tests:\n  - match: '*test_by_rule'\n    network_calls: 2\n")
    failing = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider", "--color=yes")
    assert "\x1b[31mperfbudget: 0 regressions, 2 over budget, 1 ok" in failing.stdout.str()
    reported = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider", "--color=yes", "--perf-budget-report-only")
    assert "\x1b[31mperfbudget: 0 regressions" not in reported.stdout.str()
    assert "perfbudget: 0 regressions, 2 over budget, 1 ok" in reported.stdout.str()


def test_plugin_report_only_keeps_a_green_run_green(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_net=NETWORK_TEST.replace("assert False", "pass"))
    result = pytester.runpytest_inprocess("--perf-budget", "--perf-budget-report-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["  test_net.py::test_marked *", "    OVER BUDGET network_calls 2 > budget 1 *", "*report-only: not failing the run"]
    )
    strict = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED


def test_plugin_compares_with_a_previous_run_named_by_perf_baseline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_net=NETWORK_TEST.replace("assert False", "pass").replace("@pytest.mark.perf_budget(network_calls=1)", ""))
    first = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider")
    assert first.ret == pytest.ExitCode.OK
    (pytester.path / ".perfbudget" / "results.ndjson.gz").rename(pytester.path / "base.json")
    pytester.makepyfile(test_net=NETWORK_TEST.replace("assert False", "pass").replace("_connect(2)", "_connect(4)"))
    second = pytester.runpytest_inprocess("--perf-budget", "--perf-baseline=base.json", "-p", "no:cacheprovider")
    assert second.ret == pytest.ExitCode.TESTS_FAILED
    second.stdout.fnmatch_lines(
        [
            # A subject counts once, under its worst status; the others' times may move on a busy machine, and never fail.
            "perfbudget: 0 regressions, 1 over budget, *",
            "  test_net.py::test_marked (test_net.py:*)",
            "    OVER BUDGET network_calls 4 > budget 1 (@perf_budget marker)",
            "    REGRESSED network_calls 2 -> 4 (+2; any increase regresses; default rule)",
        ]
    )
    rerun = pytester.runpytest_inprocess(
        "--perf-budget", "--perf-baseline=base.json", "--perf-budget-report-only", "-p", "no:cacheprovider"
    )
    rerun.stdout.fnmatch_lines(["*REGRESSED network_calls 2 -> 4*"])


def test_plugin_under_xdist_judges_once_on_the_controller(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist runs the scenario on two workers")
    pytester.makepyfile(test_net=NETWORK_TEST.replace("assert False", "pass"))
    result = pytester.runpytest_subprocess("--perf-budget", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["perfbudget: 0 regressions, 1 over budget, 2 ok -- not compared: *", "    OVER BUDGET network_calls 2 > budget 1 *"]
    )
    assert result.stdout.str().count("perfbudget: 0 regressions") == 1


@pytest.mark.parametrize(
    ("budget_text", "expected"),
    [
        ("defaults:\n  tests: {queries: 3ms}\n", "perfbudget: perfbudget.yaml:2: defaults.tests*"),
        ("tests:\n  - match: '*'\n    querys: 3\n", "perfbudget: perfbudget.yaml:3:*querys*queries*"),
        ("tests: [\n", "perfbudget: perfbudget.yaml:*"),
    ],
)
def test_plugin_refuses_a_broken_budget_file_before_any_test_runs(pytester: pytest.Pytester, budget_text: str, expected: str) -> None:
    pytester.makepyfile(test_never_runs="def test_a():\n    raise AssertionError('must not run')\n")
    pytester.makefile(".yaml", perfbudget=budget_text)
    result = pytester.runpytest_inprocess("--perf-budget", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + expected])
    result.stdout.no_fnmatch_line("*must not run*")
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (pytester.path / ".perfbudget" / "results.ndjson.gz").exists()


def test_plugin_with_a_broken_budget_file_but_recording_off_runs_normally(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_a():\n    pass\n")
    pytester.makefile(".yaml", perfbudget="tests: [\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
