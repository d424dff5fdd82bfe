"""``manage.py test`` with ``PerfBudgetRunner`` and bad ``--perf-*`` values, results paths and ``PERFBUDGET_*`` variables (issue 19).

The table is the pytest plugin's (``tests/support/hostile_options.py``): the runner
must say the same one line, never a traceback, and follow the same policy.
A usage mistake exits 2 (``manage.py test``'s usage error, as argparse exits
for its own options) before the test databases are made; a results file that
cannot be written is one warning, and the tests run unrecorded with their own
exit code. Each case is a real ``manage.py test`` process with a time limit.
Then hostile table names reach the run summary as escapes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfbudget.report.escape import visible_controls
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.write import write_run
from tests.support.hostile_options import CASES, DJANGO_USAGE, UNSAFE, Case, lines_saying

pytest.importorskip("django", reason="the runner is Django's")

RUNNER_CASES = {name: case for name, case in CASES.items() if not case.pytest_only}
TESTS = """from django.contrib.auth.models import Group
from django.test import TestCase


class ShopTests(TestCase):
    def test_groups(self):
        Group.objects.create(name="a")
        self.assertEqual(Group.objects.count(), 1)


class MoreShopTests(TestCase):  # two classes: --parallel 2 really runs two workers
    def test_no_groups(self):
        self.assertEqual(Group.objects.count(), 0)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for command in (["-m", "django", "startproject", "mysite", str(root)], ["manage.py", "startapp", "shop"]):
        subprocess.run([sys.executable, *command], cwd=root, capture_output=True, check=True, timeout=120)
    (root / "shop" / "tests.py").write_text(TESTS)
    return root


def _manage(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PERFBUDGET")}  # the action's, say
    environ.update(env or {})
    runner = ("--testrunner", "perfbudget.django.PerfBudgetRunner")
    return subprocess.run(
        [sys.executable, "manage.py", "test", *runner, *args], cwd=project, capture_output=True, text=True, timeout=120, env=environ
    )


@pytest.mark.parametrize("case", RUNNER_CASES.values(), ids=RUNNER_CASES.keys())
def test_each_bad_input_is_one_line_and_the_plugins_exit_code_policy(case: Case, project: Path, tmp_path: Path) -> None:
    path = case.setup(tmp_path) if case.setup is not None else ""
    baseline = tmp_path / "base.ndjson"
    write_run(Run(project="demo", tests=[TestRecord("shop/tests.py::ShopTests::test_groups", "shop/tests.py", 6, "passed")]), baseline)
    args = [arg.format(path=path, baseline=baseline) for arg in case.args]
    done = _manage(project, "--perf-budget", *args, env=case.env)
    assert "Traceback" not in done.stderr and not UNSAFE.findall(done.stdout + done.stderr)
    said = lines_saying(done.stderr, case.fragment)
    assert len(said) == case.mentions, done.stderr[-3000:]
    if case.usage:  # before any test (and before the test databases, where the runner can tell)
        assert done.returncode == DJANGO_USAGE
        assert "Ran 2 tests" not in done.stderr
    else:
        assert done.returncode == 0 and "Ran 2 tests" in done.stderr and "OK" in done.stderr
    precious = tmp_path / "elsewhere" / "precious.txt"  # a symlink's target is left as it was
    assert not precious.exists() or precious.read_text(encoding="utf-8") == "keep me\n"


def test_a_nul_byte_in_the_path_is_a_usage_error_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No command line or variable can hold one; a settings file or a caller constructing the runner can."""
    from perfbudget.django import PerfBudgetRunner

    monkeypatch.delenv("PERFBUDGET_OUTPUT", raising=False)
    with pytest.raises(SystemExit) as stopped:
        PerfBudgetRunner(perf_budget=True, perf_output="out\x00put.ndjson")
    assert stopped.value.code == DJANGO_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert line == "perfbudget: --perf-output 'out\\x00put.ndjson': not a file name: it holds a NUL byte"


HOSTILE_TABLES = {
    "CSI clear screen": "\x1b[2J",
    "OSC window title": "\x1b]0;pwned\x07",
    "C1 CSI": "\x9b2J",
    "RTL override": "\u202eyp",
    "carriage return": "ok\rFAKE",
    "line break": "a\nperfbudget: 0 regressions",
}
HELPER = """from django.db import connection


def count(table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        return cursor.fetchone()[0]
"""
TABLE_TESTS = """from django.db import connection
from django.test import TestCase

from shop.helpers import count

TABLE = {table!r}


class TableTests(TestCase):
    def test_counts_one_by_one(self):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE TABLE "{{TABLE}}" (id integer)')
        self.assertEqual([count(TABLE) for _ in range(4)], [0, 0, 0, 0])  # an N+1: its SQL is in the summary
"""


@pytest.mark.parametrize("table", HOSTILE_TABLES.values(), ids=HOSTILE_TABLES.keys())
def test_a_hostile_table_name_reaches_the_run_summary_as_escapes(table: str, project: Path, tmp_path: Path) -> None:
    (project / "shop" / "helpers.py").write_text(HELPER)
    (project / "shop" / "tests.py").write_text(TABLE_TESTS.format(table=table))
    try:
        done = _manage(project, "--perf-budget", "--perf-output", str(tmp_path / "results.ndjson"))
    finally:
        (project / "shop" / "tests.py").write_text(TESTS)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and not UNSAFE.findall(done.stderr)
    sql = [line for line in done.stderr.splitlines() if line.startswith("    SELECT COUNT(*) FROM")]
    shown = visible_controls(" ".join(table.split()))  # the summary shows SQL's whitespace as single spaces
    assert sql == [f'    SELECT COUNT(*) FROM "{shown}"'], done.stderr[-3000:]
