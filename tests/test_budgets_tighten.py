"""``perfbudget budgets tighten``: limits lowered to the most used plus head-room, the file otherwise untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfbudget.budgets import parse_budgets
from perfbudget.budgets.tighten import apply, plan
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of, url
from tests.support.github import cli

BUDGETS = """# our budgets: reviewed every release
defaults:
  tests:
    queries: 20   # keep an eye on this
    duration: 500ms
tests:
  - match: "tests/test_api*"
    queries: 40
    duration: "1.5s"   # the API is slow
  - {match: "tests/test_none*", queries: 3}
urls:
  - match: "/posts/*"
    queries: 4
"""


def _run() -> object:
    return run_of(
        record("tests/test_app.py::a", queries=7, duration=120),
        record("tests/test_api.py::b", queries=31, duration=400),
        record("tests/test_app.py::skipped", outcome="skipped", queries=19),
        urls=[url("/posts/<int:pk>/", queries=5)],
    )


def test_lowers_each_limit_to_the_most_used_plus_room_keeping_every_other_character() -> None:
    budgets = parse_budgets(BUDGETS, "perfbudget.yaml")
    changes = plan(budgets, BUDGETS, [_run()], 0.1, 0.5)  # type: ignore[list-item]
    assert [(c.line, c.metric, c.new) for c in changes] == [
        (4, "queries", "8"),
        (5, "duration", "180ms"),
        (8, "queries", "35"),
        (9, "duration", "0.6s"),
    ]
    new = apply(BUDGETS, changes)
    assert new.splitlines()[3] == "    queries: 8   # keep an eye on this"
    assert new.splitlines()[8] == '    duration: "0.6s"   # the API is slow'  # unit and quotes as written
    assert new.splitlines()[9] == BUDGETS.splitlines()[9]  # no test matches test_none*: nothing says what it should be
    assert new.splitlines()[12] == "    queries: 4"  # the URL used 5: limits are never raised
    assert [line for line in new.splitlines() if line.startswith("#")] == ["# our budgets: reviewed every release"]
    assert parse_budgets(new, "perfbudget.yaml").test_defaults["queries"].value == 8


def test_the_command_prints_the_diff_and_writes_unless_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_text(BUDGETS)
    history = tmp_path / "history"
    write_run(_run(), history / "1.ndjson.gz")  # type: ignore[arg-type]
    write_run(run_of(record("tests/test_app.py::a", queries=12, duration=100)), history / "2.ndjson.gz")
    assert cli("budgets", "tighten", str(history), "--dry-run") == 0
    out = capsys.readouterr().out
    assert (
        "-    queries: 20   # keep an eye on this\n" in out and "+    queries: 14   # keep an eye on this\n" in out
    )  # the most of any run: 12
    assert (tmp_path / "perfbudget.yaml").read_text() == BUDGETS
    assert cli("budgets", "tighten", str(history)) == 0
    assert "queries: 14" in (tmp_path / "perfbudget.yaml").read_text()
    capsys.readouterr()
    assert cli("budgets", "tighten", str(history)) == 0  # already tight: nothing to do, nothing written
    assert "nothing to tighten" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["--headroom", "lots"], {"perfbudget.yaml": BUDGETS}, "--headroom: expected a percentage such as 10%, got 'lots'"),
        ([], {"pyproject.toml": "[tool.perfbudget]\nversion = 1\n"}, "tighten edits a YAML budget file"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    files: dict[str, str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    write_run(_run(), tmp_path / "r.ndjson.gz")  # type: ignore[arg-type]
    assert cli("budgets", "tighten", str(tmp_path / "r.ndjson.gz"), *args) == 2  # a budget problem, as everywhere
    assert message in capsys.readouterr().err


def test_a_marker_or_an_alias_keeps_a_limit_out_of_reach() -> None:
    """A test whose perf_budget marker sets its own limit does not hold the file's up; a shared (aliased) value is left."""
    text = "defaults:\n  tests:\n    queries: 30\n"
    marked = record("tests/test_app.py::big", queries=90)
    marked.budget_marker = {"queries": 120}
    changes = plan(parse_budgets(text, "b.yaml"), text, [run_of(marked, record("tests/test_app.py::small", queries=7))], 0.1)  # type: ignore[list-item]
    assert [(c.metric, c.new, c.subjects) for c in changes] == [("queries", "8", 1)]
    aliased = "defaults:\n  tests:\n    queries: &q 100\ntests:\n  - match: x\n    queries: *q\n"
    assert plan(parse_budgets(aliased, "b.yaml"), aliased, [run_of(record("a.py::t", queries=3))], 0.1) == []  # type: ignore[list-item]
