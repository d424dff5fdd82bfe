"""``manage.py test`` with ``perfbudget.django.PerfBudgetRunner``: the same facts and results file as ``pytest --perf-budget``.

A new project (``django-admin startproject``) with an app whose tests query
the database and request a page; the runner's records are compared with the
pytest plugin's for the same tests, node id by node id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfbudget.run.read import load_run

pytest.importorskip("django", reason="the runner is Django's")

TESTS = """from django.contrib.auth.models import Group, User
from django.test import TestCase


class ShopTests(TestCase):
    def test_users_are_listed(self):
        User.objects.create(username="ada")
        self.assertEqual(list(User.objects.values_list("username", flat=True)), ["ada"])

    def test_groups_one_by_one(self):
        for name in ("a", "b", "c"):
            Group.objects.create(name=name)
        self.assertEqual([Group.objects.get(name=n).name for n in ("a", "b", "c")], ["a", "b", "c"])

    def test_admin_login_page(self):
        self.assertEqual(self.client.get("/admin/login/").status_code, 200)
"""
RUNNER = ["--testrunner", "perfbudget.django.PerfBudgetRunner"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    assert subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(root)], capture_output=True).returncode == 0
    assert subprocess.run([sys.executable, "manage.py", "startapp", "shop"], cwd=root, capture_output=True).returncode == 0
    (root / "shop" / "tests.py").write_text(TESTS)
    return root


def _manage(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PERFBUDGET")}  # the action's, say
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", "test", *args], cwd=project, capture_output=True, text=True, timeout=300, env=environ
    )


def _plugin(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The same project's tests under ``pytest --perf-budget`` (pytest-django), for comparing with the runner's records."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--perf-budget", "--perf-output=plugin.ndjson.gz"]
    command += ["--ds=mysite.settings", "-o", "python_files=tests.py", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)


def _counts(path: Path) -> dict[str, tuple[str, float, float]]:
    return {t.node_id: (t.outcome, t.metrics.get("queries", -1), t.metrics.get("requests", -1)) for t in load_run(path).tests}


def test_the_runner_records_what_the_pytest_plugin_records(project: Path) -> None:
    pytest.importorskip("pytest_django", reason="the comparison runs the same tests under pytest-django")
    done = _manage(project, *RUNNER, "--perf-budget", "--perf-output", "runner.ndjson.gz")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3 tests recorded: 3 passed; 1 URLs" in done.stderr and "perfbudget: results written to runner.ndjson.gz" in done.stderr
    plugin = _plugin(project)
    assert plugin.returncode == 0, plugin.stdout[-3000:]
    runner, pytest_run = _counts(project / "runner.ndjson.gz"), _counts(project / "plugin.ndjson.gz")
    assert runner == pytest_run  # same node ids, outcomes, query and request counts
    assert (
        runner["shop/tests.py::ShopTests::test_groups_one_by_one"][1]
        == pytest_run["shop/tests.py::ShopTests::test_groups_one_by_one"][1]
        >= 6
    )
    urls = load_run(project / "runner.ndjson.gz").urls
    assert [u.key for u in urls] == ["GET /admin/login/"]


def test_perfbudget_env_switches_it_on_and_without_it_the_runner_is_djangos(project: Path) -> None:
    plain = _manage(project, *RUNNER)
    assert plain.returncode == 0 and "tests recorded" not in plain.stderr
    assert not (project / ".perfbudget").exists()
    switched = _manage(project, *RUNNER, env={"PERFBUDGET": "1"})
    assert switched.returncode == 0 and "3 tests recorded" in switched.stderr
    assert (project / ".perfbudget" / "results.ndjson.gz").is_file()


def test_budgets_fail_the_run_unless_report_only(project: Path) -> None:
    (project / "perfbudget.yaml").write_text("tests:\n  - match: 'shop/tests.py::ShopTests::test_groups_one_by_one'\n    queries: 2\n")
    failing = _manage(project, *RUNNER, "--perf-budget")
    assert failing.returncode != 0
    assert "OVER BUDGET queries" in failing.stderr and "shop/tests.py::ShopTests::test_groups_one_by_one" in failing.stderr
    reported = _manage(project, *RUNNER, "--perf-budget", "--perf-budget-report-only")
    assert reported.returncode == 0 and "OVER BUDGET queries" in reported.stderr


def test_a_broken_budget_file_is_one_line_naming_file_and_line(project: Path) -> None:
    (project / "perfbudget.yaml").write_text("tests:\n  - match: x\n    quries: 2\n")
    done = _manage(project, *RUNNER, "--perf-budget")
    assert done.returncode != 0 and "perfbudget.yaml:3" in done.stderr and "quries" in done.stderr
    assert "Traceback" not in done.stderr


def test_parallel_workers_record_the_same_counts_as_a_serial_run(project: Path) -> None:
    """Django runs one test class per worker process: with two classes, --parallel 2 really runs in two."""
    (project / "shop" / "tests.py").write_text(TESTS + TESTS.split("\n\n\n", 1)[1].replace("class ShopTests", "class MoreShopTests"))
    serial = _manage(project, *RUNNER, "--perf-budget", "--parallel", "1", "--perf-output", "serial.ndjson.gz")
    parallel = _manage(project, *RUNNER, "--perf-budget", "--parallel", "2", "--perf-output", "parallel.ndjson.gz")
    assert serial.returncode == 0 and parallel.returncode == 0, parallel.stderr[-3000:]
    assert "6 tests recorded: 6 passed; 1 URLs" in parallel.stderr
    counts = _counts(project / "parallel.ndjson.gz")
    assert counts == _counts(project / "serial.ndjson.gz") and len(counts) == 6
    assert load_run(project / "parallel.ndjson.gz").urls[0].hits == 2
    assert not list(project.glob(".parallel.ndjson.gz.workers-*"))  # the workers' streams are merged and removed


def test_the_actions_variables_set_output_baseline_and_report_only(project: Path) -> None:
    """The action runs any test command with PERFBUDGET_* set: manage.py test writes where it reads."""
    (project / "perfbudget.yaml").write_text("defaults:\n  tests:\n    queries: 1\n")
    first = _manage(project, *RUNNER, env={"PERFBUDGET": "1", "PERFBUDGET_OUTPUT": "build/base.ndjson.gz", "PERFBUDGET_REPORT_ONLY": "1"})
    assert first.returncode == 0 and (project / "build" / "base.ndjson.gz").is_file(), first.stderr[-2000:]
    env = {"PERFBUDGET": "1", "PERFBUDGET_OUTPUT": "build/head.ndjson.gz", "PERFBUDGET_BASELINE": "build/base.ndjson.gz"}
    second = _manage(project, *RUNNER, env=env)
    assert second.returncode != 0 and "-- not compared" not in second.stderr  # compared with the baseline; over budget fails
    assert "perfbudget: compared with" in second.stderr


def test_without_recording_parallel_is_djangos_own(project: Path) -> None:
    (project / "shop" / "tests.py").write_text(TESTS + TESTS.split("\n\n\n", 1)[1].replace("class ShopTests", "class MoreShopTests"))
    done = _manage(project, *RUNNER, "--parallel", "2")
    assert done.returncode == 0 and "Ran 6 tests" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not (project / ".perfbudget").exists()


def test_doctests_keep_their_own_ids_and_a_directory_as_output_is_one_line(project: Path) -> None:
    (project / "shop" / "utils.py").write_text('def double(x):\n    """\n    >>> double(2)\n    4\n    """\n    return 2 * x\n')
    (project / "shop" / "tests.py").write_text(
        TESTS
        + "\n\ndef load_tests(loader, tests, ignore):\n    import doctest\n    from shop import utils\n    tests.addTests(doctest.DocTestSuite(utils))\n    return tests\n"
    )
    done = _manage(project, *RUNNER, "--perf-budget")
    assert done.returncode == 0, done.stderr[-2000:]
    ids = {t.node_id for t in load_run(project / ".perfbudget" / "results.ndjson.gz").tests}
    assert "shop.utils.double" in ids and len(ids) == 4  # one id per test; none named after doctest.py
    (project / "out").mkdir()
    failed = _manage(project, *RUNNER, "--perf-budget", "--perf-output", "out")
    assert failed.returncode == 2 and "--perf-output out: refusing to replace it with results: it is a directory" in failed.stderr
    assert "Traceback" not in failed.stderr


# A system check (Django runs them after creating the test database, just
# before the tests) that leaves one garbage cycle behind and switches automatic
# collection off: only an explicit collection before the first test (the
# warm-up) frees it.
WARM_TESTS = """import gc

from django.contrib.auth.models import Group
from django.core import checks
from django.test import TestCase

FREED = []


class Cycle:
    def __del__(self):
        FREED.append(True)


@checks.register
def leave_garbage(**kwargs):
    gc.disable()
    cycle = Cycle()
    cycle.me = cycle
    return []


class ColdStartTests(TestCase):  # first: unittest loads classes by name
    def test_a_collected_before_the_first_test(self):
        freed = list(FREED)  # before collection is on again: it would free the cycle at the next allocation
        gc.enable()
        self.assertEqual(freed, [True])

    def test_b_counts(self):
        Group.objects.create(name="a")
        self.assertEqual(Group.objects.count(), 1)
"""


def test_manage_py_test_is_warmed_up_like_pytest_and_counts_the_same(project: Path) -> None:
    """The process is warmed up before its first test (issue 18): its one-off costs land on no test."""
    pytest.importorskip("pytest_django", reason="the comparison runs the same tests under pytest-django")
    (project / "shop" / "tests.py").write_text(TESTS + "\n\n" + WARM_TESTS.replace("from django.contrib.auth.models import Group\n", ""))
    warmed = _manage(project, *RUNNER, "--perf-budget", "--perf-output", "runner.ndjson.gz")
    assert warmed.returncode == 0, warmed.stderr[-3000:]
    cold = _manage(project, *RUNNER, "--perf-budget", "--perf-no-warmup", "--perf-output", "cold.ndjson.gz")
    assert cold.returncode != 0 and "test_a_collected_before_the_first_test" in cold.stderr  # the option is honoured
    plugin = _plugin(project, "-k", "not collected_before")  # pytest runs no system check
    assert plugin.returncode == 0, plugin.stdout[-3000:]
    runner, pytest_run = _counts(project / "runner.ndjson.gz"), _counts(project / "plugin.ndjson.gz")
    del runner["shop/tests.py::ColdStartTests::test_a_collected_before_the_first_test"]
    assert runner == pytest_run and len(runner) == 4
    assert runner["shop/tests.py::ColdStartTests::test_b_counts"][1] == pytest_run["shop/tests.py::ColdStartTests::test_b_counts"][1] >= 2


def test_perf_memory_and_perf_report_under_manage_py_test(project: Path) -> None:
    done = _manage(project, *RUNNER, "--perf-budget", "--perf-memory", "--perf-report", "markdown,html", "--perf-output", "out/r.ndjson.gz")
    assert done.returncode == 0, done.stderr[-3000:]
    tests = load_run(project / "out" / "r.ndjson.gz").tests
    assert len(tests) == 3 and all(t.metrics["peak_memory"] > 0 for t in tests)
    assert (project / "out" / "report.html").stat().st_size > 0 and (project / "out" / "report.md").stat().st_size > 0
    assert "perfbudget: wrote " in done.stderr
    bad = _manage(project, *RUNNER, "--perf-budget", "--perf-report", "pdf")
    assert bad.returncode != 0 and "--perf-report: unknown format 'pdf'" in bad.stderr


SLEEPY_TESTS = """import os
import time

from django.test import TestCase


class SleepyTests(TestCase):
    def test_steady(self):
        time.sleep(0.004)

    def test_sleeper(self):
        time.sleep(float(os.environ.get("SLEEP_MS", "5")) / 1000)
"""


def test_timing_suspects_are_rerun_under_manage_py_test(project: Path) -> None:
    """A real slowdown (a wait, which load can neither make nor hide) is rerun and confirmed, as under pytest."""
    (project / "shop" / "tests.py").write_text(SLEEPY_TESTS)
    base = _manage(project, *RUNNER, "--perf-budget", "--perf-output", "base.ndjson")
    assert base.returncode == 0, base.stderr[-3000:]
    head = _manage(
        project,
        *RUNNER,
        "--perf-budget",
        "--perf-output",
        "head.ndjson",
        "--perf-baseline",
        "base.ndjson",
        "--perf-confirm-budget",
        "10",
        env={"SLEEP_MS": "80"},
    )
    assert head.returncode != 0, head.stderr[-3000:]  # the confirmed slowdown fails the run
    run = load_run(project / "head.ndjson")
    sleeper = next(t for t in run.tests if t.node_id.endswith("test_sleeper"))
    assert sleeper.reruns is not None and len(sleeper.reruns.samples["duration"]) == 5
    assert all(sample >= 80 for sample in sleeper.reruns.samples["duration"])
    assert run.confirmation is not None and run.confirmation.tests >= 1
    assert "confirmed by reruns" in head.stderr
    assert len(run.tests) == 2  # the reruns are evidence, not tests


def test_perf_confirm_0_is_a_value_not_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner keeps what the command line gave, falsy numbers included, over the defaults and the environment."""
    from perfbudget.django import PerfBudgetRunner

    monkeypatch.setenv("PERFBUDGET", "1")
    runner = PerfBudgetRunner(perf_confirm=0)
    assert runner.perf_enabled and runner.perf_options.confirm_rounds == 0
    assert PerfBudgetRunner().perf_options.confirm_rounds == 5  # not given: the default
