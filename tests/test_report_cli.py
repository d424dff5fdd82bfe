"""The report driver (files, stdout, partial output) and ``perfbudget report`` with real compare/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import pytest

from perfbudget.cli import main
from perfbudget.compare.verdicts import Comparison
from perfbudget.report import FORMATS, ReportError, write_report, write_reports
from perfbudget.report.terminal import render_comparison
from perfbudget.run.write import write_run
from tests.support.report import base_run, fixed_comparison, head_run


def test_write_reports_writes_each_format_under_its_name(tmp_path: Path) -> None:
    written = write_reports(fixed_comparison(), tmp_path / "out", ["markdown", "html", "json", "annotations", "terminal"])
    assert [p.name for p in written] == ["report.md", "report.html", "report.json", "annotations.txt", "report.txt"]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["summary"] == fixed_comparison().summary_line()
    assert (tmp_path / "out" / "report.txt").read_text().splitlines() == render_comparison(fixed_comparison(), show_improved=True)


def test_unknown_format_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"unknown report format 'pdf'; choose from markdown, html"):
        write_reports(fixed_comparison(), tmp_path, ["markdown", "pdf"])
    assert list(tmp_path.iterdir()) == []


def test_a_failing_reporter_leaves_no_partial_file(tmp_path: Path) -> None:
    def broken(comparison: Comparison, outfile: TextIO) -> None:
        outfile.write("half a report")
        raise OSError("disk full")

    target = tmp_path / "report.md"
    with pytest.raises(OSError, match="disk full"):
        write_report(fixed_comparison(), broken, target)
    assert not target.exists()


def test_dash_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_report(fixed_comparison(), "annotations", "-") is None
    assert capsys.readouterr().out.startswith("::error file=tests/test_feeds.py,line=8,")


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)  # no perfbudget.yaml here: budgets are the defaults
    return write_run(head_run(), tmp_path / "head.json"), write_run(base_run(), tmp_path / "base.json")


def test_cli_markdown_with_a_regression_against_the_baseline(results: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    head, base = results
    code = main(["report", str(head), "--baseline", str(base), "--marker", "pb", "--report-url", "https://ci.example.com/r.html"])
    out = capsys.readouterr().out
    assert code == 0  # report renders; compare is the command that gates
    assert out.startswith("<!-- pb -->\n### ❌ perfbudget: 2 regressions, 0 over budget, 1 improved, 2 new, 2 removed, 4 unchanged")
    assert (
        "| 🔺 | `tests/test_views.py::test_archive` | duration 45 ms → 140 ms (+95 ms, +211%) | allowed 54 ms · confirmed by 5 reruns\\: quickest 138 ms \\> 54 ms |"
        in out
    )
    assert "🔺 **+9 to +12 SELECT `blog_author`** (N+1) at `blog/templates/blog/archive.html:12`, repeats more, in 1 test and 1 URL" in out
    assert "⏱️ 2 timings not confirmed in 1 test and 1 URL (not failing; unchanged in the headline)" in out
    assert "| 🔺 | `tests/test_views.py::test_archive` | queries 4 → 13 (+9, +225%) | baseline |" in out
    assert out.index("queries 4 → 13") < out.index("duration 45 ms → 140 ms")  # the count's row before the time's
    assert "[full report](<https://ci.example.com/r.html>)" in out


@pytest.mark.parametrize("format_name", ["html", "json", "terminal", "annotations", "markdown"])
def test_cli_writes_a_file_and_says_so(
    results: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], format_name: str
) -> None:
    head, base = results
    target = tmp_path / "reports" / f"out.{format_name}"
    assert main(["report", str(head), "--baseline", str(base), "--format", format_name, "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"Wrote {format_name} report to {target}\n"
    assert target.stat().st_size > 0


def test_cli_without_baseline_says_so_in_the_report(results: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    head, _ = results
    assert main(["report", str(head), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "no baseline given: compared with budgets only" in document["warnings"]


def test_cli_bad_results_file_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["report", str(broken)]) == 3
    err = capsys.readouterr().err
    assert "perfbudget report:" in err and "broken.json:1: corrupt results file" in err and "Traceback" not in err


def test_every_cli_format_is_a_report_format() -> None:
    from perfbudget.commands.report import FORMATS as CLI_FORMATS

    assert set(CLI_FORMATS) == set(FORMATS)


def test_plugin_pipeline_writes_reports_next_to_the_results(tmp_path: Path) -> None:
    from perfbudget.budgets import Budgets
    from perfbudget.config.options import PerfOptions
    from perfbudget.frontend.finish import after_run

    results = write_run(head_run(), tmp_path / ".perfbudget" / "results.ndjson.gz")
    outcome = after_run(head_run(), results, Budgets(), PerfOptions(report_formats=("markdown", "html")))
    assert outcome.written == [tmp_path / ".perfbudget" / "report.md", tmp_path / ".perfbudget" / "report.html"]
    assert (tmp_path / ".perfbudget" / "report.md").read_text().startswith("### ⚠️ perfbudget: not compared · 0 regressions, 0 over budget")


def test_cli_reports_on_hostile_names_are_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.report import hostile_comparison

    monkeypatch.chdir(tmp_path)
    hostile = hostile_comparison()
    head = write_run(hostile.run, tmp_path / "head.json")
    base = write_run(hostile.baseline, tmp_path / "base.json")  # type: ignore[arg-type]
    assert main(["report", str(head), "--baseline", str(base), "--format", "html", "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "console.error('pwned')</script>]" not in html and "&lt;script&gt;console.error(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert main(["report", str(head), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert out.count("| 🔺 |") == len(hostile.run.tests)  # one row per test: no table broken
    assert "`tests/test_x.py::test_pipe[a\\|b\\|c]`" in out
