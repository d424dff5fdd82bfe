"""``perfbudget compare``: exit codes and formats, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of, write_budgets

A = "tests/test_app.py::test_a"


@pytest.fixture(autouse=True)
def _only_these_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Build the parser from the commands under test, whatever else is being written meanwhile."""
    monkeypatch.setattr(cli, "COMMANDS", {name: cli.COMMANDS[name] for name in ("compare", "merge")})
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    head = write_run(run_of(record(A, queries=4)), tmp_path / "head.json")
    base = write_run(run_of(record(A, queries=3)), tmp_path / "base.json")
    return head, base


def test_regression_exits_1_and_names_it(files, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    head, base = files
    assert cli.main(["compare", str(head), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "perfbudget: 1 regression, 0 over budget"
    assert f"  {A} (tests/test_app.py:10)\n    REGRESSED queries 3 -> 4 (+1; any increase regresses; default rule)\n" in out


def test_report_only_and_fail_on_none_exit_0(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    head, base = files
    assert cli.main(["compare", str(head), "--baseline", str(base), "--report-only"]) == 0
    write_budgets(tmp_path, "fail_on: none\n")  # found as ./perfbudget.yaml
    assert cli.main(["compare", str(head), "--baseline", str(base)]) == 0


def test_no_change_exits_0(files) -> None:  # type: ignore[no-untyped-def]
    _, base = files
    assert cli.main(["compare", str(base), "--baseline", str(base)]) == 0


def test_json_format(files, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    head, _ = files
    budgets = write_budgets(tmp_path, "defaults:\n  tests: {queries: 2}\n", "b.yaml")
    assert cli.main(["compare", str(head), "--budgets", str(budgets), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdicts"][0]["reason"] == f"queries 4 > budget 2 (defaults.tests in {budgets}:2)"
    assert data["warnings"] == ["no --baseline given: compared with budgets only"]


def test_bad_inputs_exit_with_a_message_not_a_traceback(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    head, _ = files
    assert cli.main(["compare", str(tmp_path / "missing.json")]) == 3
    assert "missing.json: results file not found" in capsys.readouterr().err
    bad = write_budgets(tmp_path, "tests:\n  - match: '*'\n    querys: 1\n", "bad.yaml")
    assert cli.main(["compare", str(head), "--budgets", str(bad)]) == 2
    assert f"{bad}:3: tests[1]: unknown key 'querys'; did you mean 'queries'?" in capsys.readouterr().err
    (tmp_path / "corrupt.json").write_text("{")
    assert cli.main(["compare", str(head), "--baseline", str(tmp_path / "corrupt.json")]) == 0
    assert "no usable baseline; compared with budgets only" in capsys.readouterr().out
