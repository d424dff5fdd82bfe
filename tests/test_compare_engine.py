"""compare(): the verdict contract reporters rely on, end to end on synthetic runs."""

from __future__ import annotations

import json

import pytest

from perfbudget.budgets import Budgets, parse_budgets
from perfbudget.compare import compare, comparison_to_dict
from perfbudget.compare.baseline import Baseline
from perfbudget.compare.verdicts import Status
from perfbudget.report.terminal import render_comparison
from perfbudget.run.model import Confirmation, Reruns, TestRecord, UrlSummary
from tests.support.compare import record, run_of, url

A, B, C = "tests/test_app.py::test_a", "tests/test_app.py::test_b", "tests/test_app.py::test_c"


def statuses(comparison) -> list[tuple[str, str | None, str]]:  # type: ignore[no-untyped-def]
    return [(v.subject, v.metric, v.status.value) for v in comparison.verdicts]


def reran(subject: TestRecord | UrlSummary, calibration: list[float] | None = None, **samples: list[float]) -> TestRecord | UrlSummary:
    """``subject`` with the evidence of its reruns after the run: per metric, one value per round."""
    rounds = len(next(iter(samples.values())))
    subject.reruns = Reruns(samples=dict(samples), calibration=calibration or [2.0] * rounds)
    return subject


def test_every_subject_gets_a_verdict_new_removed_and_ok() -> None:
    head = run_of(record(A, queries=3), record(B, queries=1), urls=[url("/x/", tests=[B], queries=1)])
    base = run_of(record(A, queries=3), record(C, queries=1), urls=[url("/gone/", queries=1)])
    comparison = compare(head, Budgets(), Baseline([base], "base.json"))
    assert statuses(comparison) == [
        (A, None, "ok"),
        (B, None, "new"),
        (C, None, "removed"),
        ("GET /gone/", None, "removed"),
        ("GET /x/", None, "new"),
    ]
    url_verdict = comparison.verdicts[-1]
    assert (url_verdict.file, url_verdict.line) == ("tests/test_app.py", 10)  # the first test that hit it


def test_without_baseline_nothing_is_new_and_budgets_still_apply() -> None:
    head = run_of(record(A, queries=12), record(B, queries=1))
    budgets = parse_budgets("tests:\n  - match: '*'\n    queries: 10\n", "pb.yaml")
    comparison = compare(head, budgets)
    assert statuses(comparison) == [(A, "queries", "over_budget"), (B, None, "ok")]
    verdict = comparison.verdicts[0]
    assert verdict.reason == "queries 12 > budget 10 (tests rule #1 '*' in pb.yaml:2)"
    assert (verdict.value, verdict.limit, verdict.file, verdict.line) == (12, 10, "tests/test_app.py", 10)
    assert comparison.should_fail()


def test_a_new_subject_keeps_its_budget_verdicts() -> None:
    head = run_of(record(B, queries=12))
    budgets = parse_budgets("defaults:\n  tests: {queries: 10}\n")
    comparison = compare(head, budgets, Baseline([run_of()], "base.json"))
    assert statuses(comparison) == [(B, None, "new"), (B, "queries", "over_budget")]


def test_regressions_and_improvements_with_baseline_figures() -> None:
    head = run_of(reran(record(A, queries=4, duration=300), duration=[290, 300, 310, 295, 305]), record(B, queries=1, duration=50))
    base = run_of(record(A, queries=3, duration=200), record(B, queries=2, duration=50))
    comparison = compare(head, None, Baseline([base], "base.json"))
    assert statuses(comparison) == [
        (A, "duration", "regressed"),
        (A, "queries", "regressed"),
        (B, "queries", "improved"),
    ]
    queries = comparison.verdicts[1]
    assert (queries.value, queries.baseline, queries.delta) == (4, 3, 1)
    assert comparison.should_fail()
    assert not comparison.should_fail(())


def test_a_test_repeated_over_history_is_judged_on_the_median() -> None:
    history = [run_of(record(A, duration=d)) for d in (100, 104, 96, 250, 101)]  # one outlier run
    steady = compare(run_of(record(A, duration=118)), None, Baseline(history, "hist/"))
    assert statuses(steady) == [(A, None, "ok")]
    slow = compare(run_of(reran(record(A, duration=160), duration=[158, 160, 162])), None, Baseline(history, "hist/"))
    assert statuses(slow) == [(A, "duration", "regressed")]
    assert slow.verdicts[0].baseline == 101  # median of the history, not the latest or the mean


def test_counts_use_the_latest_baseline_run_not_history() -> None:
    history = [run_of(record(A, queries=9)), run_of(record(A, queries=3))]
    assert statuses(compare(run_of(record(A, queries=3)), None, Baseline(history, "hist/"))) == [(A, None, "ok")]


def test_url_budgets_and_regressions() -> None:
    head = run_of(record(A), urls=[url("/api/posts/", tests=[A], queries=7)])
    base = run_of(record(A), urls=[url("/api/posts/", queries=5)])
    budgets = parse_budgets("urls:\n  - match: /api/*\n    method: GET\n    queries: 6\n", "pb.yaml")
    comparison = compare(head, budgets, Baseline([base], "b.json"))
    assert statuses(comparison) == [
        (A, None, "ok"),
        ("GET /api/posts/", "queries", "over_budget"),
        ("GET /api/posts/", "queries", "regressed"),
    ]


def test_ignored_skipped_and_disabled_metrics() -> None:
    head = run_of(
        record(A, queries=50),
        record(B, outcome="skipped", queries=0),
        record(C, cpu_time=900, cache_hits=9, queries=1),
    )
    base = run_of(record(A, queries=1), record(B, queries=5), record(C, cpu_time=100, cache_hits=1, queries=1))
    budgets = parse_budgets("ignore: ['*test_a']\nregression:\n  cpu_time: false\n", "pb.yaml")
    comparison = compare(head, budgets, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, None, "ok"), (B, None, "ok"), (C, None, "ok")]
    assert comparison.verdicts[0].reason == "ignored ('ignore' in pb.yaml:1)"
    assert comparison.verdicts[1].reason == "not judged: test skipped"
    # "unchanged" counts only what was compared: C; the ignored and the skipped are named apart.
    assert comparison.summary_line() == "0 regressions, 0 over budget, 1 unchanged, 2 not judged (skipped, xfailed or ignored)"
    data = comparison_to_dict(comparison)  # every report counts alike
    assert data["counts"]["ok"] == 1 and data["counts"]["not_judged"] == 2
    assert [v["judged"] for v in data["verdicts"]] == [False, False, True]


def test_limits_that_cannot_be_checked_and_bad_markers_are_warned() -> None:
    bad = record(B, queries=1)
    bad.budget_marker = {"querys": 0}
    head = run_of(record(A, duration=5), bad)
    budgets = parse_budgets("defaults:\n  tests: {peak_memory: 10MB, queries: 3}\n", "pb.yaml")
    comparison = compare(head, budgets)
    assert comparison.warnings == [
        "tests/test_app.py:10: @pytest.mark.perf_budget: unknown key 'querys'; did you mean 'queries'? (marker ignored)",
        "budget on 'peak_memory' not checked for 2 tests: the metric was not recorded "
        "(is its collector on, e.g. Django configured or --perf-memory?)",
        "budget on 'queries' not checked for 1 test: the metric was not recorded "
        "(is its collector on, e.g. Django configured or --perf-memory?)",
    ]


def test_timing_budgets_use_the_median_of_samples() -> None:
    test = reran(record(A, duration=900), duration=[171, 175, 180])
    test.samples["duration"] = [100, 120, 900]
    budgets = parse_budgets("defaults:\n  tests: {duration: 150ms}\n")
    assert statuses(compare(run_of(test), budgets)) == [(A, None, "ok")]
    test.samples["duration"] = [160, 170, 900]
    verdict = compare(run_of(test), budgets).verdicts[0]
    assert verdict.status is Status.OVER_BUDGET and verdict.value == 170
    assert verdict.reason.endswith(", median of 3 samples); confirmed by 3 reruns: quickest 171 ms > 150 ms")


def test_json_form_and_terminal_lines() -> None:
    head = run_of(record(A, queries=12), record(B, queries=1), commit="abc")
    base = run_of(record(A, queries=10), record(B, queries=1), commit="def")
    budgets = parse_budgets("defaults:\n  tests: {queries: 11}\n", "pb.yaml")
    comparison = compare(head, budgets, Baseline([base], "b.json"), ["a warning"])
    data = json.loads(json.dumps(comparison_to_dict(comparison)))
    assert set(data) >= {"summary", "counts", "verdicts", "warnings", "run", "baseline"}
    assert data["counts"]["over_budget"] == 1 and data["counts"]["ok"] == 1
    assert (data["run"]["commit"], data["baseline"]["commit"]) == ("abc", "def")
    assert data["failed"] is True and data["warnings"] == ["a warning"]
    assert data["verdicts"][0]["status"] == "over_budget" and data["verdicts"][0]["limit"] == 11
    assert render_comparison(comparison) == [
        "perfbudget: 0 regressions, 1 over budget, 1 unchanged",
        "perfbudget: compared with def",
        f"  {A} (tests/test_app.py:10)",
        "    OVER BUDGET queries 12 > budget 11 (defaults.tests in pb.yaml:2)",
        "    REGRESSED queries 10 -> 12 (+2; any increase regresses; default rule)",
        "perfbudget warning: a warning",
    ]


def test_terminal_groups_by_subject_and_shows_improvements_on_request() -> None:
    head = run_of(record(A, queries=2), urls=[url("/x/", tests=[A], queries=5)])
    base = run_of(record(A, queries=3), urls=[url("/x/", queries=4)])
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert render_comparison(comparison) == [
        "perfbudget: 1 regression, 0 over budget, 1 improved",
        "perfbudget: compared with a baseline of unknown commit",
        "  URL GET /x/ (first requested at tests/test_app.py:10)",
        "    REGRESSED queries 4 -> 5 (+1; any increase regresses; default rule)",
    ]
    assert render_comparison(comparison, show_improved=True)[2:4] == [
        f"  {A} (tests/test_app.py:10)",
        "    improved queries 3 -> 2 (-1; any decrease improves; default rule)",
    ]


def test_a_slower_time_without_reruns_is_unconfirmed_and_never_fails() -> None:
    base = run_of(record(A, duration=40, cpu_time=30, queries=2))
    head = run_of(record(A, duration=95, cpu_time=31, queries=2))
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, "duration", "unconfirmed")]
    assert not comparison.should_fail()
    assert comparison.verdicts[0].reason.endswith("; not confirmed: not rerun (recorded without --perf-baseline, or with --perf-confirm=0)")
    assert comparison.summary_line() == "0 regressions, 0 over budget, 1 unchanged"  # noise does not move the headline
    assert comparison.warnings == ["timing: 1 slower time, 0 confirmed by reruns"]


def test_reruns_confirm_a_real_slowdown_and_clear_a_hiccup() -> None:
    base = run_of(record(A, duration=40), record(B, duration=40))
    head = run_of(
        reran(record(A, duration=95), duration=[60, 61, 90, 62, 59]),  # every round slower: real
        reran(record(B, duration=95), duration=[41, 40, 88, 39, 42]),  # one slow round: the first run was a hiccup
        confirmation=Confirmation(calibration_ms=2.0, calibration_noise=0.05, tests=2, rounds=5, seconds=1.0, loop_seconds=4.0),
    )
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, "duration", "regressed"), (B, "duration", "unconfirmed")]
    assert comparison.verdicts[0].reason.endswith("confirmed by 5 reruns: quickest 59 ms > 48 ms")
    assert comparison.verdicts[1].reason.endswith("not confirmed: 5 reruns, quickest 39 ms <= 48 ms")
    assert comparison.warnings == [
        "timing: 2 slower times, 1 confirmed by reruns; 2 suspects rerun x5 in 1.0 s, +25% of the test loop; noise band +/-5%"
    ]


def test_a_machine_slower_during_the_reruns_is_divided_out() -> None:
    base = run_of(record(A, duration=40), confirmation=Confirmation(calibration_ms=2.0))
    # The machine ran the calibration loop twice as slowly as during the baseline: 70 ms is 35 ms there.
    head = run_of(reran(record(A, duration=80), [4.0] * 5, duration=[70, 72, 75, 71, 70]))
    verdict = compare(head, None, Baseline([base], "b.json")).verdicts[0]
    assert verdict.status is Status.UNCONFIRMED
    assert (
        "quickest 35 ms <= 72 ms, reruns x2.00 slower by drift or calibration, divided out (the bar raised by half of it)" in verdict.reason
    )
    quick = run_of(reran(record(A, duration=80), [1.0] * 5, duration=[70, 72, 75, 71, 70]))  # a faster machine tightens nothing
    assert compare(quick, None, Baseline([base], "b.json")).verdicts[0].status is Status.REGRESSED


def test_what_rerunning_alone_cost_the_control_is_taken_off() -> None:
    """Rerun alone, a test can be slower than in the loop (cold caches): its neighbour's reruns measure that, in time."""
    base = run_of(record(A, duration=40), record(B, duration=10))
    suspect = reran(record(A, duration=80), duration=[70, 72, 75, 71, 70])
    head = run_of(suspect, record(B, duration=12))  # B took 12 ms in this run's loop
    assert compare(head, None, Baseline([base], "b.json")).verdicts[0].status is Status.REGRESSED
    suspect.reruns.control, suspect.reruns.control_samples = B, {"duration": [40, 41, 39, 42, 42]}  # +29 ms rerun alone
    verdict = compare(head, None, Baseline([base], "b.json")).verdicts[0]
    assert verdict.status is Status.UNCONFIRMED
    assert "quickest 41 ms <= 48 ms, rerunning alone cost its neighbour +29 ms, taken off" in verdict.reason
    # The cost is time, not a ratio: a 10 ms neighbour paying +10 ms does not halve a 40 ms test's slowdown.
    suspect.reruns.control_samples = {"duration": [22, 22, 22, 22, 22]}
    verdict = compare(head, None, Baseline([base], "b.json")).verdicts[0]
    assert verdict.status is Status.REGRESSED and "quickest 60 ms > 48 ms, rerunning alone cost its neighbour +10 ms" in verdict.reason


def test_run_level_drift_is_reported_and_divided_out() -> None:
    names = [f"tests/test_app.py::test_{index}" for index in range(30)]
    base = run_of(*(record(name, duration=10) for name in names))
    head = run_of(
        *(reran(record(name, duration=16), duration=[16] * 5) for name in names[:-1]),
        reran(record(names[-1], duration=40), duration=[40] * 5),
    )
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert [v.subject for v in comparison.failing] == [names[-1]]
    assert "after dividing out the run's drift x1.60" in comparison.failing[0].reason
    assert comparison.warnings[0] == (
        "run-level drift: this runner was x1.60 slower than the baseline's across 30 tests (duration x1.60); "
        "each test's time is judged relative to it"
    )
    assert not any(v.status is Status.IMPROVED for v in comparison.verdicts)


def test_a_faster_runner_tightens_no_limit_and_improves_nothing_by_itself() -> None:
    names = [f"tests/test_app.py::test_{index}" for index in range(30)]
    base = run_of(*(record(name, duration=20) for name in names))
    head = run_of(*(record(name, duration=10) for name in names[:-1]), record(names[-1], duration=20))
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert "x2.00 faster" in comparison.warnings[0] and "limits are not tightened" in comparison.warnings[0]
    assert (names[-1], None, "ok") in statuses(comparison)  # unchanged, however much faster the rest


def test_an_interrupted_run_says_why_subjects_look_removed() -> None:
    head = run_of(record(A), interrupted=True)
    comparison = compare(head, None, Baseline([run_of(record(A), record(B))], "b.json"))
    assert statuses(comparison) == [(A, None, "ok"), (B, None, "removed")]
    assert comparison.warnings == ["the run was interrupted: 1 subjects of the baseline it did not reach show as removed"]


def test_a_dedicated_runner_can_trust_single_wall_time_measurements() -> None:
    base = run_of(record(A, duration=40, cpu_time=30))
    head = run_of(record(A, duration=95, cpu_time=31))
    budgets = parse_budgets("regression:\n  duration: {confirm: false}\n")
    comparison = compare(head, budgets, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, "duration", "regressed")] and comparison.warnings == []


@pytest.mark.parametrize(
    ("key", "before", "after", "named"),
    [
        ("python", "3.11.7", "3.12.1", "Python 3.11.7 -> 3.12.1"),
        ("django", "5.2.8", "6.0", "Django 5.2.8 -> 6.0"),
        ("cpu_model", "AMD EPYC 7763", "Intel Xeon 8370C", "CPU AMD EPYC 7763 -> Intel Xeon 8370C"),
        ("database", "sqlite 3.45.1", "postgresql 16.4", "database sqlite 3.45.1 -> postgresql 16.4"),
    ],
)
def test_another_environment_makes_time_verdicts_warnings_and_still_judges_counts(key: str, before: str, after: str, named: str) -> None:
    env = {"python": "3.11.7", "django": "5.2.8", "cpu_model": "AMD EPYC 7763", "database": "sqlite 3.45.1", "os": "Linux"}
    base = run_of(record(A, duration=40, queries=3), record(B, duration=90), environment=env)
    head = run_of(record(A, duration=95, queries=4), record(B, duration=30), environment={**env, key: after, "os": "Linux 6.8"})
    budgets = parse_budgets("regression:\n  duration: {confirm: false}\n")
    comparison = compare(head, budgets, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, "duration", "unconfirmed"), (A, "queries", "regressed"), (B, "duration", "ok")]
    assert comparison.should_fail()  # the count regression still fails
    slower = next(v for v in comparison.verdicts if v.metric == "duration" and v.subject == A)
    assert slower.reason.endswith(f"; not judged: the environment changed ({named})")
    assert (
        f"the baseline ran elsewhere ({named}): times are not compared, counts are; 2 time changes shown as warnings" in comparison.warnings
    )


def test_the_same_environment_or_an_unknown_one_changes_nothing() -> None:
    base = run_of(record(A, duration=40), environment={"python": "3.11.7"})
    for environment in ({"python": "3.11.7", "os": "other"}, {}):
        head = run_of(record(A, duration=95), environment=environment)
        comparison = compare(head, parse_budgets("regression:\n  duration: {confirm: false}\n"), Baseline([base], "b.json"))
        assert statuses(comparison) == [(A, "duration", "regressed")]


def test_the_comparison_carries_the_budget_files_fail_on() -> None:
    head = run_of(record(A, queries=12))
    comparison = compare(head, parse_budgets("defaults:\n  tests: {queries: 10}\nfail_on: [regressed]\n"))
    assert not comparison.should_fail()
    assert comparison_to_dict(comparison)["failed"] is False
    assert comparison.should_fail((Status.OVER_BUDGET,))


def test_a_urls_hits_in_one_run_are_not_independent_samples() -> None:
    """Four slow hits under a loaded runner are one measurement: only the reruns of its tests confirm it."""
    base_url = url("/api/posts/", tests=[A], duration=10.0)
    base_url.samples = {"duration": [10.0, 10.0, 10.0, 10.0]}
    head_url = url("/api/posts/", tests=[A], duration=30.0)
    head_url.samples = {"duration": [30.0, 30.0, 30.0, 30.0]}
    comparison = compare(run_of(record(A), urls=[head_url]), None, Baseline([run_of(record(A), urls=[base_url])], "base"))
    assert statuses(comparison) == [(A, None, "ok"), ("GET /api/posts/", "duration", "unconfirmed")]
    reran(head_url, duration=[29.0, 31.0, 30.0])
    comparison = compare(run_of(record(A), urls=[head_url]), None, Baseline([run_of(record(A), urls=[base_url])], "base"))
    assert [v.metric for v in comparison.failing] == ["duration"]


def _scattered_run(names: list[str], ratios: list[float], last: float) -> tuple[object, object]:
    """30 tests of 10 ms whose times scatter by ``ratios`` between two runs; the last one slowed to ``last`` ms."""
    base = run_of(*(record(name, duration=10) for name in names))
    head = run_of(
        *(reran(record(name, duration=10 * ratio), duration=[10 * ratio] * 5) for name, ratio in zip(names[:-1], ratios, strict=True)),
        reran(record(names[-1], duration=last), duration=[last] * 5),
    )
    return base, head


def test_a_slowdown_within_the_tests_scatter_is_no_suspect() -> None:
    """Between two processes, tests of a size scatter; a time must beat that scatter, which reruns cannot see."""
    names = [f"tests/test_app.py::test_{index}" for index in range(30)]
    quiet = [1.0 + (0.02 if index % 2 else -0.02) for index in range(29)]  # +/-2 %: a quiet machine
    base, head = _scattered_run(names, quiet, last=16)
    assert [v.subject for v in compare(head, None, Baseline([base], "b.json")).failing] == [names[-1]]
    noisy = [1.0 + (0.25 if index % 2 else -0.25) for index in range(29)]  # +/-25 %: x1.6 is within 3 robust SDs
    base, head = _scattered_run(names, noisy, last=16)
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert not any(v.status in (Status.REGRESSED, Status.UNCONFIRMED) for v in comparison.verdicts)
    assert (  # the user is told what the scatter hides, and what would help
        "timing noise: tests of 8 ms-16 ms scatter +/-46% between runs here, so a slowdown under x3.11 cannot be told "
        "from noise against 1 baseline run; a history of 3 or more judges each test by its own spread"
    ) in comparison.warnings
    base, head = _scattered_run(names, noisy, last=40)  # x4 is far beyond it
    failing = compare(head, None, Baseline([base], "b.json")).failing
    assert [v.subject for v in failing] == [names[-1]] and "noise band +" in failing[0].reason


def test_a_subjects_own_history_replaces_the_tests_scatter() -> None:
    names = [f"tests/test_app.py::test_{index}" for index in range(30)]
    noisy = [1.0 + (0.25 if index % 2 else -0.25) for index in range(29)]
    base, head = _scattered_run(names, noisy, last=16)
    # The scattered tests scatter in their history too; the last one is steady at 10 ms, so its x1.6 is real.
    history = [
        run_of(
            *(record(name, duration=10 * (1 + 0.25 * (-1) ** (run + index))) for index, name in enumerate(names[:-1])),
            record(names[-1], duration=10 + 0.1 * run),
        )
        for run in range(3)
    ]
    failing = compare(head, None, Baseline([*history, base], "history/")).failing
    assert [v.subject for v in failing] == [names[-1]]
    assert "vs median of 4 baseline runs" in failing[0].reason and "noise band" not in failing[0].reason


def test_one_preempted_calibration_pass_does_not_decide() -> None:
    """The machine's slowdown during the reruns is the median of their calibration passes, not the worst one."""
    base = run_of(record(A, duration=40), confirmation=Confirmation(calibration_ms=2.0))
    loop = Confirmation(calibration_ms=2.0)  # this run's loop: as fast as the baseline's
    # Round 3's pass took x6 the others': dividing by it would hide a real slowdown.
    head = run_of(reran(record(A, duration=80), [2.0, 2.0, 12.0, 2.0, 2.0], duration=[70, 72, 75, 71, 70]), confirmation=loop)
    verdict = compare(head, None, Baseline([base], "b.json")).verdicts[0]
    assert verdict.status is Status.REGRESSED and verdict.reason.endswith("confirmed by 5 reruns: quickest 70 ms > 48 ms")


def test_a_slower_runner_and_busier_reruns_stack() -> None:
    """The drift measures the loop against the baseline, the calibration the reruns against the loop: both divide."""
    names = [f"tests/test_app.py::test_{index:02d}" for index in range(40)]
    base = run_of(*(record(name, duration=10.0) for name in names), confirmation=Confirmation(calibration_ms=1.0))
    tests = [record(name, duration=16.0) for name in names]  # the runner is x1.6 slower
    tests[7].metrics["duration"] = 40.0  # a hiccup in unchanged code
    tests[7].reruns = Reruns(samples={"duration": [25.6] * 5}, calibration=[1.6] * 5)  # reruns x1.6 busier than the loop
    head = run_of(*tests, confirmation=Confirmation(calibration_ms=1.0))
    verdict = next(v for v in compare(head, None, Baseline([base], "b.json")).verdicts if v.subject == names[7])
    assert verdict.status is Status.UNCONFIRMED and "reruns x2.56 slower by drift or calibration" in verdict.reason


def test_reruns_are_held_against_their_own_process_loop() -> None:
    """Under xdist each worker's calibration loop runs at its own speed: reruns compare with their worker's."""
    names = [f"tests/test_app.py::test_{index:02d}" for index in range(30)]
    base = run_of(*(record(name, duration=10.0) for name in names))
    tests = [record(name, duration=10.0) for name in names]
    tests[0].metrics["duration"] = 30.0
    # The run's median loop took 1 ms; this worker's took 2 ms, and its reruns took 2 ms too: no busier.
    tests[0].reruns = Reruns(samples={"duration": [30.0] * 5}, calibration=[2.0] * 5, loop_calibration_ms=2.0)
    head = run_of(*tests, confirmation=Confirmation(calibration_ms=1.0))
    verdict = next(v for v in compare(head, None, Baseline([base], "b.json")).verdicts if v.subject == names[0])
    assert verdict.status is Status.REGRESSED and verdict.reason.endswith("confirmed by 5 reruns: quickest 30 ms > 12 ms")
    tests[0].reruns.loop_calibration_ms = None  # an older file: the run's calibration stands in
    verdict = next(v for v in compare(head, None, Baseline([base], "b.json")).verdicts if v.subject == names[0])
    assert "reruns x2.00 slower by drift or calibration" in verdict.reason


def test_a_urls_reruns_take_off_no_test_level_rerun_cost() -> None:
    base = run_of(record(A, duration=10), record(B, duration=10), urls=[url("/x/", tests=[A], duration=6)])
    head = run_of(record(A, duration=10), record(B, duration=12), urls=[url("/x/", tests=[A], duration=12)])
    head.urls[0].reruns = Reruns(
        samples={"duration": [12.0] * 5}, calibration=[2.0] * 5, control=B, control_samples={"duration": [18.0] * 5}
    )
    verdict = next(v for v in compare(head, None, Baseline([base], "b.json")).verdicts if v.subject == "GET /x/")
    assert verdict.status is Status.REGRESSED and "taken off" not in verdict.reason


def test_a_faster_time_against_one_baseline_run_is_not_confirmed_and_moves_no_headline() -> None:
    """Noise only adds time: the one baseline run may have been the slow one, so faster is no improvement yet."""
    base = run_of(record(A, duration=95, queries=2))
    head = run_of(record(A, duration=40, queries=2))
    comparison = compare(head, None, Baseline([base], "b.json"))
    assert statuses(comparison) == [(A, "duration", "faster_unconfirmed")]
    assert comparison.verdicts[0].reason.endswith(
        "; not confirmed: faster than the baseline's 1 run, which noise may have slowed; a history of 3 runs confirms it"
    )
    assert comparison.summary_line() == "0 regressions, 0 over budget, 1 unchanged"
    assert comparison.causes == [] and not comparison.should_fail()


def test_a_faster_time_against_a_history_is_an_improvement() -> None:
    history = [run_of(record(A, duration=duration, queries=2)) for duration in (94, 95, 96)]
    head = run_of(record(A, duration=40, queries=2))
    comparison = compare(head, None, Baseline(history, "history/"))
    assert statuses(comparison) == [(A, "duration", "improved")]
    assert comparison.summary_line() == "0 regressions, 0 over budget, 1 improved"


def test_three_identical_runs_give_one_headline_whatever_the_noise() -> None:
    """Run 1: one test measured fast; run 2: one measured slow and not confirmed by reruns; run 3: quiet."""
    names = [f"tests/test_app.py::test_{index}" for index in range(5)]
    base = run_of(*(record(name, duration=50, queries=3) for name in names))
    noisy = [{names[0]: 20.0}, {names[1]: 150.0}, {}]
    headlines = set()
    for durations in noisy:
        head = run_of(*(reran(record(n, duration=durations.get(n, 50.0), queries=3), duration=[50.0] * 5) for n in names))
        comparison = compare(head, None, Baseline([base], "b.json"))
        assert not comparison.should_fail()
        headlines.add(comparison.summary_line())
    assert headlines == {"0 regressions, 0 over budget, 5 unchanged"}


def test_the_terminal_says_one_cause_once_however_many_tests_it_moved() -> None:
    """1,000 tests moved by one added query: a handful of lines, not two per test (issue 20)."""
    from tests.support.report import added_query_comparison

    lines = render_comparison(added_query_comparison(), show_improved=True)
    assert len(lines) < 40
    assert lines[0] == "perfbudget: 1,001 regressions, 0 over budget"
    assert "  (994 tests and 1 URL moved only by the causes above: not listed one by one)" in lines  # 6 slower besides
    assert sum("+1 SELECT shop_category at shop/views.py:8, new, in 1,000 tests and 1 URL" in line for line in lines) == 1


def test_the_terminal_lists_at_most_twenty_subjects_and_counts_the_rest() -> None:
    names = [f"tests/test_app.py::test_{index:02d}" for index in range(25)]
    base = run_of(*(record(name, queries=2) for name in names))
    head = run_of(*(record(name, queries=3 + index) for index, name in enumerate(names)))  # no details: no cause
    lines = render_comparison(compare(head, None, Baseline([base], "b.json")))
    assert sum(line.startswith("  tests/test_app.py::") for line in lines) == 20
    assert "  ... not listed: 5 tests (perfbudget compare --format json, or the HTML report, lists every one)" in lines


@pytest.mark.parametrize("line", ["²", "9" * 5000, "", "12a", "٣"])
def test_a_call_sites_line_that_is_no_plain_number_is_no_line(line: str) -> None:
    """A results file's location "views.py:²" or 5,000 digits must not crash pairing: the location is kept whole, line 0."""
    from perfbudget.run.model import split_location

    assert split_location(f"blog/views.py:{line}") == (f"blog/views.py:{line}", 0)


def test_a_finding_no_query_explains_keeps_its_own_lines_beside_a_shared_cause() -> None:
    """Five tests moved by one query; one of them also calls the network past its budget: that test is listed on its own."""
    from perfbudget.report.markdown import render_markdown
    from perfbudget.run.model import Details, SqlGroup

    names = [f"tests/test_app.py::test_{index}" for index in range(5)]

    def run(count: int, network: float) -> object:
        tests = []
        for index, name in enumerate(names):
            test = record(name, queries=count, external_network_calls=network if index == 0 else 0)
            test.details = Details(
                sql_groups=[SqlGroup('SELECT "t"."id" FROM "t"', "select", "default", count, 0.1, location="app/views.py:3")]
            )
            tests.append(test)
        return run_of(*tests)

    budgets = parse_budgets("defaults:\n  tests: {external_network_calls: 0}\n")
    comparison = compare(run(2, 4), budgets, Baseline([run(1, 0)], "b.json"))
    terminal = render_comparison(comparison)
    assert "  (4 tests moved only by the causes above: not listed one by one)" in terminal
    assert any(line.startswith("    OVER BUDGET external_network_calls 4") for line in terminal)
    comment = render_markdown(comparison)
    assert "external\\_network\\_calls 0 → 4" in comment.split("#### What broke", 1)[1]  # its own row


def test_the_terminal_lists_the_subjects_of_causes_it_did_not_print() -> None:
    """Twelve causes of four tests each: the two past the tenth are not printed, so their tests keep their blocks."""
    from perfbudget.run.model import Details, SqlGroup

    def run(extra: bool) -> object:
        tests = []
        for cause in range(12):
            for index in range(4):
                groups = [SqlGroup('SELECT "t"."id" FROM "t"', "select", "default", 1, 0.1, location="app/views.py:1")]
                if extra:
                    groups.append(
                        SqlGroup(
                            f'SELECT "u{cause}"."id" FROM "u{cause}"', "select", "default", 1, 0.1, location=f"app/views.py:{10 + cause}"
                        )
                    )
                test = record(f"tests/test_app.py::test_{cause:02d}_{index}", queries=len(groups))
                test.details = Details(sql_groups=groups)
                tests.append(test)
        return run_of(*tests)

    lines = render_comparison(compare(run(True), None, Baseline([run(False)], "b.json")))
    assert "  ... and 2 more (the HTML report's panels have each test's queries)" in lines
    assert "  (40 tests moved only by the causes above: not listed one by one)" in lines
    assert sum(line.startswith("  tests/test_app.py::") for line in lines) == 8
