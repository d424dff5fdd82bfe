"""Timing suspects rerun after the test loop: confirmed slowdowns fail, one-off hiccups do not (real pytest runs).

The suites sleep, so the slowdowns are waits: the machine's load cannot make
them, and cannot hide them either.
"""

from __future__ import annotations

import pytest

from tests.support.plugin import read_results, records_by_name

SUITE = """
import os
import time

FIRST = []


def test_steady():
    time.sleep(0.004)


def test_sleeper(tmp_path):  # a function-scoped fixture: set up again for every rerun
    assert not list(tmp_path.iterdir())
    (tmp_path / "used").write_text("x")
    time.sleep(float(os.environ.get("SLEEP_MS", "5")) / 1000)


def test_hiccup():
    # Slow on its first call in the process only, as a lazy import or a first-use cost is.
    if os.environ.get("HICCUP") and not FIRST:
        time.sleep(0.05)
    FIRST.append(1)
    time.sleep(0.004)
"""


def _run(pytester: pytest.Pytester, output: str, *args: str, **env: str) -> pytest.RunResult:
    for name in ("SLEEP_MS", "HICCUP"):
        pytester._monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        pytester._monkeypatch.setenv(name, value)
    return pytester.runpytest_subprocess("--perf-budget", f"--perf-output={output}", "-p", "no:randomly", *args)


@pytest.fixture
def baseline(pytester: pytest.Pytester) -> str:
    pytester.makepyfile(test_suite=SUITE)
    _run(pytester, "base.ndjson").assert_outcomes(passed=3)
    return "--perf-baseline=base.ndjson"


def _verdicts(pytester: pytest.Pytester, results: str) -> dict[tuple[str, str | None], str]:
    from perfbudget.budgets import Budgets
    from perfbudget.compare.judge import judge
    from perfbudget.run.read import load_run

    comparison = judge(load_run(pytester.path / results), Budgets(), pytester.path / "base.ndjson")
    return {(v.subject.rsplit("::", 1)[-1], v.metric): v.status.value for v in comparison.verdicts if v.status.value != "ok"}


def test_a_real_slowdown_is_rerun_confirmed_and_fails_the_run(pytester: pytest.Pytester, baseline: str) -> None:
    # A generous rerun budget: the default share of a run this short is about as long as the reruns (flaky).
    result = _run(pytester, "head.ndjson", baseline, "--perf-confirm-budget=10", SLEEP_MS="40")
    result.assert_outcomes(passed=3)  # the reruns are not reported as tests
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*timing: * confirmed by reruns; * rerun x5 in *"])
    results = read_results(pytester.path / "head.ndjson")
    sleeper = records_by_name(results)["test_sleeper"]
    assert len(sleeper["reruns"]["samples"]["duration"]) == 5
    assert all(sample >= 40 for sample in sleeper["reruns"]["samples"]["duration"])
    assert len(sleeper["reruns"]["calibration"]) == 5
    assert results["confirmation"]["tests"] >= 1 and results["confirmation"]["calibration_ms"] > 0
    assert _verdicts(pytester, "head.ndjson")[("test_sleeper", "duration")] == "regressed"


def test_a_first_use_cost_is_cleared_by_its_reruns(pytester: pytest.Pytester, baseline: str) -> None:
    # A generous rerun budget: on a loaded machine the default share of this short run may not reach the hiccup.
    result = _run(pytester, "head.ndjson", baseline, "--perf-confirm-budget=10", HICCUP="1")
    assert result.ret == pytest.ExitCode.OK
    hiccup = records_by_name(read_results(pytester.path / "head.ndjson"))["test_hiccup"]
    assert hiccup["metrics"]["duration"] >= 50  # the first run paid it...
    assert max(hiccup["reruns"]["samples"]["duration"]) < 40  # ...the reruns did not
    assert _verdicts(pytester, "head.ndjson")[("test_hiccup", "duration")] == "unconfirmed"
    # Not failing; the other two sleep a few ms, and may look slower too on a busy machine: never confirmed, never failing.
    result.stdout.fnmatch_lines(["perfbudget: 0 regressions, 0 over budget, 3 unchanged"])  # unconfirmed moves no headline


def test_under_xdist_each_worker_reruns_its_own_suspects(pytester: pytest.Pytester, baseline: str) -> None:
    result = _run(pytester, "head.ndjson", baseline, "-n", "2", "--perf-confirm-budget=10", SLEEP_MS="40")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    results = read_results(pytester.path / "head.ndjson")
    assert len(records_by_name(results)["test_sleeper"]["reruns"]["samples"]["duration"]) == 5
    assert results["confirmation"]["tests"] >= 1 and results["confirmation"]["loop_seconds"] > 0
    assert _verdicts(pytester, "head.ndjson")[("test_sleeper", "duration")] == "regressed"


def test_without_reruns_a_slower_time_never_fails(pytester: pytest.Pytester, baseline: str) -> None:
    result = _run(pytester, "head.ndjson", baseline, "--perf-confirm=0", SLEEP_MS="40")
    assert result.ret == pytest.ExitCode.OK
    assert records_by_name(read_results(pytester.path / "head.ndjson"))["test_sleeper"]["reruns"] is None
    assert _verdicts(pytester, "head.ndjson")[("test_sleeper", "duration")] == "unconfirmed"


def test_the_rerun_budget_bounds_the_cost(pytester: pytest.Pytester, baseline: str) -> None:
    result = _run(pytester, "head.ndjson", baseline, "--perf-confirm-budget=0.0001", SLEEP_MS="40")
    assert result.ret == pytest.ExitCode.OK
    results = read_results(pytester.path / "head.ndjson")
    assert results["confirmation"]["tests"] == 0 and results["confirmation"]["not_rerun"] >= 1
    result.stdout.fnmatch_lines(["*not rerun (budget spent)*"])


def test_perf_repeat_keeps_every_sample_and_reports_each_test_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = _run(pytester, "repeat.ndjson", "--perf-repeat=3", "--perf-repeat-match=sleeper")
    result.assert_outcomes(passed=3)
    tests = records_by_name(read_results(pytester.path / "repeat.ndjson"))
    assert len(tests["test_sleeper"]["samples"]["duration"]) == 3
    assert "duration" not in tests["test_steady"]["samples"]  # not matched: measured once


def test_bad_rerun_options_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = _run(pytester, "x.ndjson", "--perf-repeat=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-repeat = 0: expected 1 to 1000*"])


def test_a_control_is_a_neighbour_whose_baseline_was_typical() -> None:
    """A neighbour whose baseline was a hiccup would measure the hiccup, not what rerunning alone costs."""
    from perfbudget.budgets import Budgets
    from perfbudget.compare.baseline import Baseline
    from perfbudget.frontend.confirm import plan
    from perfbudget.run.model import Confirmation
    from tests.support.compare import record, run_of

    names = [f"test_app.py::test_{index}" for index in range(6)]
    base = run_of(*(record(name, duration=50 if index == 2 else 10) for index, name in enumerate(names)))
    head = [record(name, duration=40 if index == 3 else 10) for index, name in enumerate(names)]
    work = plan(head, [], Budgets(), Baseline([base], "b.json"), Confirmation(), budget_ms=10_000, rounds=5)
    assert work.tests == [names[3]]
    assert work.controls == {names[3]: names[4]}  # not test_2, nearer but 50 ms in its baseline for 10 ms now


def test_a_control_is_like_the_suspect_in_size() -> None:
    """A 20 ms neighbour says nothing of what rerunning alone costs a 2 ms test: a nearby test of its size is taken."""
    from perfbudget.budgets import Budgets
    from perfbudget.compare.baseline import Baseline
    from perfbudget.frontend.confirm import plan
    from perfbudget.run.model import Confirmation
    from tests.support.compare import record, run_of

    sizes = [20, 2, 20, 20, 2, 2]
    names = [f"test_app.py::test_{index}" for index in range(len(sizes))]
    base = run_of(*(record(name, duration=size) for name, size in zip(names, sizes, strict=True)))
    head = [record(name, duration=10 if index == 1 else size) for index, (name, size) in enumerate(zip(names, sizes, strict=True))]
    work = plan(head, [], Budgets(), Baseline([base], "b.json"), Confirmation(), budget_ms=10_000, rounds=5)
    assert work.tests == [names[1]] and work.controls == {names[1]: names[4]}


ONCE = """
import os
import time

import pytest

SET_UP = []


@pytest.fixture(scope="session")
def database():
    # Like a test database whose models cannot be created twice in one process.
    if SET_UP:
        raise RuntimeError("the test database cannot be created again")
    SET_UP.append(1)
    yield


def test_sleeper(database):
    time.sleep(float(os.environ.get("SLEEP_MS", "5")) / 1000)
"""


def test_reruns_that_cannot_run_stop_early_and_say_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=ONCE)
    _run(pytester, "base.ndjson").assert_outcomes(passed=1)
    result = _run(pytester, "head.ndjson", "--perf-baseline=base.ndjson", SLEEP_MS="40")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK  # never confirmed, so never failing
    result.stdout.fnmatch_lines(
        [
            "perfbudget: timing suspects could not be rerun, so none is confirmed (the first 3 reruns failed: "
            "test_suite.py::test_sleeper setup: RuntimeError: the test database cannot be created again)"
        ]
    )
    assert read_results(pytester.path / "head.ndjson")["confirmation"]["tests"] == 0
