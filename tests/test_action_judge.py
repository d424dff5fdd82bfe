"""The action's judging step (``python -m perfbudget.github.action``): every CI output from one Comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfbudget.github.action import main
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.write import write_run
from tests.support.github import pr_event, write_event


def _outputs(path: Path) -> dict[str, str]:
    from tests.support.fakegithub.runner import read_outputs

    return read_outputs(path)


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("GITHUB_EVENT_PATH", "GITHUB_BASE_REF"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(path: Path, queries: float, file: str = "tests/test_a.py") -> Path:
    run = Run(project="shop")
    run.tests = [TestRecord(f"{file}::test_list", file, 3, "passed", {"queries": queries})]
    write_run(run, path)
    return path


def test_writes_reports_summary_annotations_and_outputs(job: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (job / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 5\n")
    results = _run(job / "results.json", 9)
    build = job / "build"
    assert main(["--results", str(results), "--build-dir", str(build)]) == 0
    assert {p.name for p in build.iterdir()} == {"results.ndjson.gz", "report.md", "report.html", "comparison.json", "perfbudget.yaml"}
    outputs = _outputs(job / "output")
    assert outputs["verdict"] == "fail" and outputs["count-over-budget"] == "1" and outputs["baseline-found"] == "false"
    assert outputs["markdown-path"] == str(build / "report.md")
    assert "1 over budget" in (job / "summary.md").read_text()
    assert "https://github.com/acme/shop/actions/runs/42" in (build / "report.md").read_text()
    assert "::error file=tests/test_a.py,line=3" in capsys.readouterr().out
    assert json.loads((build / "comparison.json").read_text())["failed"] is True


def test_on_a_pull_request_saves_pr_json_and_uses_the_baseline(job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(write_event(job / "event.json", pr_event(5, "d" * 40))))
    baseline = _run(job / "baseline.json", 2)
    results = _run(job / "results.json", 2)
    assert main(["--results", str(results), "--build-dir", str(job / "b"), "--baseline", str(baseline)]) == 0
    assert json.loads((job / "b" / "pr.json").read_text())["number"] == 5
    outputs = _outputs(job / "output")
    assert outputs["baseline-found"] == "true" and outputs["verdict"] == "ok"


def test_missing_results_become_an_error_verdict_not_a_crash(job: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--results", str(job / "missing.json"), "--build-dir", str(job / "b")]) == 0
    assert _outputs(job / "output")["verdict"] == "error"
    assert "perfbudget could not judge this run" in (job / "summary.md").read_text()
    assert "missing.json" in capsys.readouterr().err


def test_a_broken_budget_file_is_reported(job: Path) -> None:
    (job / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 2ms\n")
    assert main(["--results", str(_run(job / "r.json", 1)), "--build-dir", str(job / "b")]) == 0
    assert _outputs(job / "output")["verdict"] == "error"
    assert "perfbudget.yaml:4" in (job / "summary.md").read_text()


def test_the_accept_label_on_the_pull_request_accepts_its_regressions(job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    baseline, results = _run(job / "baseline.json", 2), _run(job / "results.json", 3)
    for labels, verdict in (((), "fail"), (("perfbudget: accept", "bug"), "changed")):
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(write_event(job / "event.json", pr_event(5, "d" * 40, labels=labels))))
        (job / "output").unlink(missing_ok=True)
        args = [
            "--results",
            str(results),
            "--build-dir",
            str(job / "b"),
            "--baseline",
            str(baseline),
            "--accept-label",
            "perfbudget: accept",
        ]
        assert main(args) == 0
        assert _outputs(job / "output")["verdict"] == verdict
    report = (job / "b" / "report.md").read_text()
    assert "☑️ 1 with accepted changes (not failing)" in report and "for this pull request by the label \\'perfbudget\\: accept\\'" in report


def test_when_things_improved_the_comment_suggests_the_tightened_budget_lines(job: Path) -> None:
    (job / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 50   # generous\n")
    baseline, results = _run(job / "baseline.json", 9), _run(job / "results.json", 3)
    assert main(["--results", str(results), "--build-dir", str(job / "b"), "--baseline", str(baseline)]) == 0
    report = (job / "b" / "report.md").read_text()
    assert "💡 1 budget limit can be tightened" in report
    assert "```yaml\n# perfbudget.yaml:4: queries, most used 3\n    queries: 4   # generous\n```" in report
    assert "💡" in (job / "summary.md").read_text()
    (job / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 4\n")
    assert main(["--results", str(results), "--build-dir", str(job / "c"), "--baseline", str(baseline)]) == 0
    assert "💡" not in (job / "c" / "report.md").read_text()  # already tight: no suggestion
