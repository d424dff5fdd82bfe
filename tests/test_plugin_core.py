"""``pytest --perf-budget`` as users run it: options, outcomes, per-test metrics, results file, summary.

Inner runs use ``pytester.runpytest_inprocess`` and read the results JSON the
way a user (or the compare step) would. Assertions name the metrics they
check, since Django metrics join in when another test configured Django.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from perfbudget.budgets import Budgets
from perfbudget.config.options import PerfOptions
from perfbudget.frontend.finish import PipelineOutcome
from perfbudget.run.encode import SCHEMA_VERSION
from tests.support.plugin import read_results, records_by_name

pytest_plugins = ["pytester"]


def _live(module: str) -> ModuleType:
    """The module an in-process run will use: the one in sys.modules.

    pytester drops modules an earlier inner run imported, so a dotted-path
    monkeypatch could patch a stale copy still reachable from its package.
    """
    return importlib.import_module(module)


OUTCOMES = """
    import pytest

    @pytest.fixture
    def broken_setup():
        raise RuntimeError("setup fails")

    @pytest.fixture
    def broken_teardown():
        yield
        raise RuntimeError("teardown fails")

    def test_passes():
        assert True

    @pytest.mark.perf_budget(queries=3, duration="200ms")
    def test_fails():
        assert 1 == 2

    def test_raises():
        raise ValueError("boom")

    def test_setup_error(broken_setup):
        pass

    def test_teardown_error(broken_teardown):
        pass

    @pytest.mark.skip(reason="not today")
    def test_skipped():
        pass

    def test_skips_inside():
        pytest.skip("later")

    @pytest.mark.xfail(reason="known")
    def test_xfailed():
        assert False

    @pytest.mark.xfail(reason="fixed meanwhile")
    def test_xpassed():
        pass
"""


def test_off_by_default_marker_registered_nothing_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.perf_budget(queries=1)
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest_inprocess("--strict-markers")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".perfbudget").exists()
    result.stdout.no_fnmatch_line("*= perfbudget =*")


def test_every_outcome_is_recorded_and_the_run_outcome_is_unchanged(pytester: pytest.Pytester) -> None:
    source = pytester.makepyfile(test_outcomes=OUTCOMES).read_text().splitlines()
    result = pytester.runpytest_inprocess("--perf-budget")
    result.assert_outcomes(passed=2, failed=2, errors=2, skipped=2, xfailed=1, xpassed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*= perfbudget =*",
            "9 tests recorded: 2 error, 2 failed, 1 passed, 2 skipped, 1 xfailed, 1 xpassed*",  # "; 0 URLs" once Django is set up in-process
            "Slowest tests:",
            f"perfbudget: results written to {pytester.path / '.perfbudget' / 'results.ndjson.gz'}",
        ]
    )
    results = read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")
    tests = records_by_name(results)
    assert {name: t["outcome"] for name, t in tests.items()} == {
        "test_passes": "passed",
        "test_fails": "failed",
        "test_raises": "failed",
        "test_setup_error": "error",
        "test_teardown_error": "error",
        "test_skipped": "skipped",
        "test_skips_inside": "skipped",
        "test_xfailed": "xfailed",
        "test_xpassed": "xpassed",
    }
    assert [t["node_id"] for t in results["tests"]] == sorted(t["node_id"] for t in results["tests"])
    assert tests["test_passes"]["file"] == "test_outcomes.py"
    assert tests["test_passes"]["line"] == source.index("def test_passes():") + 1  # 1-based def line
    assert tests["test_fails"]["budget_marker"] == {"queries": 3, "duration": "200ms"}
    assert tests["test_passes"]["budget_marker"] is None
    for test in results["tests"]:
        for name in ("duration", "cpu_time", "network_calls", "external_network_calls"):
            assert name in test["metrics"], (test["node_id"], name)
        assert test["metrics"]["duration"] >= 0
    # The call phase is part of the whole test, so never longer.
    passed = tests["test_passes"]
    assert passed["call_metrics"]["duration"] <= passed["metrics"]["duration"]
    # Setup failed: no call phase was recorded.
    assert tests["test_setup_error"]["call_metrics"] == {}
    assert results["schema_version"] == SCHEMA_VERSION and results["interrupted"] is False
    assert results["started"] <= results["finished"]


def test_network_calls_per_test_and_phase_session_fixtures_left_out(pytester: pytest.Pytester, local_server: str) -> None:
    pytester.makepyfile(
        f"""
        import http.client
        import urllib.request
        import pytest

        BASE = {local_server!r}

        def get(path):
            urllib.request.urlopen(BASE + path, timeout=5).read()

        @pytest.fixture(scope="session")
        def warm_cache():
            for _ in range(3):
                get("/session")
            yield
            get("/session-teardown")

        @pytest.fixture
        def per_test():
            get("/fixture")
            yield
            get("/fixture-teardown")

        def test_first_uses_session_fixture(warm_cache):
            get("/one")

        def test_fixture_and_call(per_test):
            get("/two")

        def test_external():
            conn = http.client.HTTPSConnection("api.example.com")
            conn.putrequest("POST", "/pay")  # recorded; nothing is sent
            conn.close()

        def test_quiet():
            pass
        """
    )
    result = pytester.runpytest_inprocess("--perf-budget", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    tests = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    counts = {name: (t["metrics"]["network_calls"], t["call_metrics"]["network_calls"]) for name, t in tests.items()}
    assert counts == {
        "test_first_uses_session_fixture": (1, 1),  # not the 3 + 1 of the session fixture
        "test_fixture_and_call": (3, 1),
        "test_external": (1, 1),
        "test_quiet": (0, 0),
    }
    assert tests["test_fixture_and_call"]["details"]["network_calls"] == [
        {
            "host": "127.0.0.1",
            "port": int(local_server.rsplit(":", 1)[1]),
            "loopback": True,
            "method": "GET",
            "url": local_server + path,
            "count": 1,
        }
        for path in ("/fixture", "/fixture-teardown", "/two")
    ]
    assert tests["test_external"]["metrics"]["external_network_calls"] == 1
    assert tests["test_fixture_and_call"]["metrics"]["external_network_calls"] == 0
    result.stdout.fnmatch_lines(
        [
            "Tests calling outside hosts:",
            "  test_*.py::test_external: POST https://api.example.com/pay (1x)",
        ]
    )


def test_peak_memory_only_with_perf_memory(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_allocates():
            block = bytearray(5_000_000)
            assert len(block) == 5_000_000

        def test_small():
            pass
        """
    )
    pytester.runpytest_inprocess("--perf-budget").assert_outcomes(passed=2)
    plain = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    assert "peak_memory" not in plain["test_allocates"]["metrics"]

    pytester.runpytest_inprocess("--perf-budget", "--perf-memory").assert_outcomes(passed=2)
    traced = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    assert traced["test_allocates"]["metrics"]["peak_memory"] >= 5_000_000
    assert traced["test_small"]["metrics"]["peak_memory"] < 5_000_000


def test_benchmark_rounds_become_metrics_and_samples(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_benchmark")
    pytester.makepyfile(
        """
        def test_sum(benchmark):
            benchmark.pedantic(sum, args=(range(1000),), rounds=5, iterations=1)

        def test_plain():
            pass
        """
    )
    pytester.runpytest_inprocess("--perf-budget", "--benchmark-disable-gc").assert_outcomes(passed=2)
    tests = records_by_name(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz"))
    metrics = tests["test_sum"]["metrics"]
    assert metrics["benchmark.rounds"] == 5
    assert len(tests["test_sum"]["samples"]["benchmark.median"]) == 5
    assert metrics["benchmark.min"] <= metrics["benchmark.median"] <= metrics["benchmark.max"]
    assert min(tests["test_sum"]["samples"]["benchmark.median"]) == pytest.approx(metrics["benchmark.min"])
    assert {"benchmark.mean", "benchmark.stddev"} <= set(metrics)
    assert not any(name.startswith("benchmark.") for name in tests["test_plain"]["metrics"])
    assert tests["test_plain"]["samples"] == {}


def test_output_path_from_option_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.runpytest_inprocess("--perf-budget", "--perf-output", "out/run.json").assert_outcomes(passed=1)
    assert len(read_results(pytester.path / "out" / "run.json")["tests"]) == 1

    pytester.makeini("[pytest]\nperf_budget_output = perf/results-ini.json\n")
    pytester.runpytest_inprocess("--perf-budget").assert_outcomes(passed=1)
    assert len(read_results(pytester.path / "perf" / "results-ini.json")["tests"]) == 1
    assert not (pytester.path / ".perfbudget").exists()


def test_collect_only_keeps_the_last_results(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.runpytest_inprocess("--perf-budget").assert_outcomes(passed=1)
    results = pytester.path / ".perfbudget" / "results.ndjson.gz"
    before = results.read_bytes()
    result = pytester.runpytest_inprocess("--perf-budget", "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    assert results.read_bytes() == before
    result.stdout.no_fnmatch_line("perfbudget: results written to *")


def test_unknown_report_format_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget", "--perf-report", "markdown,pdf")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-report: unknown format 'pdf'; choose from markdown, html, json*"])


def test_pipeline_gets_the_options_and_can_fail_a_green_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, Path, Budgets, PerfOptions]] = []

    def judging(run, results_path, budgets, options):  # type: ignore[no-untyped-def]
        seen.append((len(run.tests), results_path, budgets, options))
        return PipelineOutcome(lines=["perfbudget: 1 budget exceeded (test_one: queries 3 > 1)"], failed=True)

    monkeypatch.setattr(_live("perfbudget.frontend.finish"), "after_run", judging)
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.makefile(".yaml", budgets="")  # must exist: the plugin checks the budget file at configure time
    result = pytester.runpytest_inprocess(
        "--perf-budget",
        "--perf-budget-file",
        "budgets.yaml",
        "--perf-baseline",
        "base.json",
        "--perf-report",
        "markdown,html",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["perfbudget: 1 budget exceeded (test_one: queries 3 > 1)"])
    [(count, path, budgets, options)] = seen
    assert count == 1 and path == pytester.path / ".perfbudget" / "results.ndjson.gz"
    assert budgets.source == "budgets.yaml"  # read once, at configure time, and handed over
    assert options == PerfOptions(
        output=path,
        budget_file=str(pytester.path / "budgets.yaml"),
        baseline=str(pytester.path / "base.json"),
        report_only=False,
        report_formats=("markdown", "html"),
    )


def test_a_crashing_pipeline_is_a_warning_not_a_failure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashing(run, results_path, budgets, options):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(_live("perfbudget.frontend.finish"), "after_run", crashing)
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["perfbudget: the after-run pipeline failed: RuntimeError: boom"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert len(read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")["tests"]) == 1


def test_an_internal_error_while_recording_never_changes_outcomes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(recording, settings):  # type: ignore[no-untyped-def]
        raise KeyError("no such metric")

    monkeypatch.setattr(_live("perfbudget.collect.summary"), "summarise", broken)
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    assert False\n")
    result = pytester.runpytest_inprocess("--perf-budget", "-W", "error")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["perfbudget: building a test record failed: KeyError: 'no such metric'"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")["tests"] == []


def test_unwritable_results_path_is_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    (pytester.path / "blocker").write_text("a file, not a directory")
    result = pytester.runpytest_inprocess("--perf-budget", "--perf-output", "blocker/results.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"perfbudget: starting {pytester.path / 'blocker' / 'results.json'} failed: *a file is in the way*"])


def test_an_unwritable_stream_is_reported_once_not_per_test(pytester: pytest.Pytester) -> None:
    """Tests are streamed as they finish: a results path that cannot be opened must not warn at every test."""
    pytester.makepyfile("import pytest\n\n@pytest.mark.parametrize('n', range(5))\ndef test_n(n):\n    pass\n")
    (pytester.path / "blocker").write_text("a file, not a directory")
    result = pytester.runpytest_inprocess("--perf-budget", "--perf-output", "blocker/results.ndjson")
    result.assert_outcomes(passed=5)
    # In perfbudget's own section (pytest's warnings summary shows the same warning once more):
    # once when the session starts, then nothing at each test, nor again at the end.
    own = [line for line in result.stdout.lines if line.startswith("perfbudget: ") and "failed" in line]
    assert [line.split(" failed")[0] for line in own] == [f"perfbudget: starting {pytester.path / 'blocker' / 'results.ndjson'}"]


def test_without_django_only_the_plain_metrics(pytester: pytest.Pytester) -> None:
    """A project without Django: a fresh process with pytest-django disabled."""
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("--perf-budget", "-p", "no:django", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    [test] = read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")["tests"]
    assert sorted(test["metrics"]) == ["cpu_time", "duration", "external_network_calls", "network_calls"]
    assert test["details"] == {"sql_groups": [], "network_calls": [], "cache_ops": [], "templates": [], "signals": {}}


def test_a_path_option_written_with_a_space_is_flagged(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> None:
    """pytest reads ``--perf-baseline /elsewhere/base.json`` as a test path when choosing the rootdir."""
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "base.json"
    elsewhere.write_text("{}", encoding="utf-8")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    spaced = pytester.runpytest_inprocess("--perf-budget", "--perf-baseline", str(elsewhere), "test_one.py")
    spaced.stdout.fnmatch_lines(
        [f"*perfbudget: write --perf-baseline={elsewhere} (with '='): pytest chose its rootdir ({pytester.path}) before*"]
    )
    joined = pytester.runpytest_inprocess("--perf-budget", f"--perf-baseline={elsewhere}", "test_one.py")
    joined.stdout.no_fnmatch_line("*with '='*")
    joined.stdout.fnmatch_lines([f"rootdir: {pytester.path}*"])
    joined.assert_outcomes(passed=1)


def test_the_results_file_is_started_when_the_session_starts(pytester: pytest.Pytester) -> None:
    """A run killed half way must not leave the previous run's results looking like its own."""
    pytester.makepyfile(test_old="def test_old():\n    pass\n")
    pytester.runpytest_inprocess("--perf-budget", "--perf-output=results.ndjson").assert_outcomes(passed=1)
    (pytester.path / "test_old.py").unlink()
    pytester.makepyfile(
        test_new="""
        from pathlib import Path

        def test_reads_the_file_mid_run():
            text = Path("results.ndjson").read_text()
            assert text.startswith('{"type":"run"') and "test_old" not in text
        """
    )
    pytester.runpytest_inprocess("--perf-budget", "--perf-output=results.ndjson").assert_outcomes(passed=1)


def test_a_marker_limit_of_the_wrong_shape_is_a_warning_not_an_unreadable_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.perf_budget(queries=[1, 2])
        def test_marked():
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest_inprocess("--perf-budget")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*perf_budget*queries*marker ignored*"])
    results = read_results(pytester.path / ".perfbudget" / "results.ndjson.gz")
    assert len(results["tests"]) == 2


def test_results_that_cannot_be_read_back_are_not_judged_as_an_empty_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk gone")

    monkeypatch.setattr(_live("perfbudget.run.read"), "load_run", unreadable)
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["perfbudget: not judged: * could not be read back"])
    result.stdout.no_fnmatch_line("*0 tests recorded*")
    result.stdout.no_fnmatch_line("perfbudget: 0 regressions*")


def test_perf_confirm_0_on_the_command_line_wins_over_the_ini_file(pytester: pytest.Pytester) -> None:
    """0 is a value, not "unset": it must not fall through to perf_budget_confirm."""
    from perfbudget.plugin.options import read_options

    pytester.makeini("[pytest]\nperf_budget_confirm = 3\n")
    assert read_options(pytester.parseconfig("--perf-budget", "--perf-confirm", "0")).confirm_rounds == 0
    assert read_options(pytester.parseconfig("--perf-budget")).confirm_rounds == 3


def test_a_bad_ini_number_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nperf_budget_confirm = many\n")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*perfbudget: ini perf_budget_confirm = 'many': expected a whole number*"])
