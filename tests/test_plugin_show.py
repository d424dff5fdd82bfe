"""The run summary, at the end of ``pytest --perf-budget`` and from ``perfbudget show``.

The summary is rendered from a hand-built run with every section filled, and
checked line by line; ``perfbudget show`` must print exactly what the
terminal printed for the same results file, and refuse bad files with exit 3.
"""

from __future__ import annotations

import pytest

from perfbudget import cli
from perfbudget.report.summary import render_run_summary
from perfbudget.run.aggregate import aggregate_urls
from perfbudget.run.model import Details, NetworkCall, RequestRecord, Run, SqlGroup, TestRecord

pytest_plugins = ["pytester"]


def _run() -> Run:
    archive_sql = 'SELECT "blog_author"."id", "blog_author"."name" FROM "blog_author" WHERE "blog_author"."id" = %s LIMIT 21'
    archive = TestRecord(
        node_id="blog/tests/test_pages.py::test_archive",
        file="blog/tests/test_pages.py",
        line=40,
        outcome="passed",
        metrics={"queries": 12.0, "duration": 180.0},
        details=Details(
            sql_groups=[
                SqlGroup(
                    sql=archive_sql, kind="select", database="default", count=10, time_ms=2.0, location="blog/views.py:31", n_plus_one=True
                ),
                SqlGroup(sql='SELECT * FROM "blog_post"', kind="select", database="default", count=2, time_ms=1.0),
            ]
        ),
        requests=[
            RequestRecord("GET", "/archive/", "/archive/", "archive", 200, metrics={"queries": 11.0, "duration": 150.0}),
        ],
    )
    comment = TestRecord(
        node_id="blog/tests/test_api.py::test_comment",
        file="blog/tests/test_api.py",
        line=12,
        outcome="failed",
        metrics={"queries": 3.0, "duration": 1250.0, "external_network_calls": 2.0},
        details=Details(
            network_calls=[
                NetworkCall("127.0.0.1", 8000, True, "GET", "http://127.0.0.1:8000/ok", 1),
                NetworkCall("spam.example.com", 443, False, "POST", "https://spam.example.com/check", 2),
                NetworkCall("10.1.2.3", 5432, False, None, None, 1),
            ]
        ),
        requests=[
            RequestRecord(
                "POST",
                "/api/posts/1/comments/",
                "/api/posts/<int:pk>/comments/",
                "comment",
                201,
                metrics={"queries": 3.0, "duration": 1200.0},
            ),
        ],
    )
    quiet = TestRecord(node_id="blog/tests/test_models.py::test_str", file="blog/tests/test_models.py", line=3, outcome="skipped")
    run = Run(project="blog", tests=[archive, comment, quiet], interrupted=True)
    run.urls = aggregate_urls(run.tests)
    return run


def test_summary_has_every_section() -> None:
    assert render_run_summary(_run()).splitlines() == [
        "3 tests recorded: 1 failed, 1 passed, 1 skipped; 2 URLs (interrupted: partial results)",
        "Most queries (tests):",
        "  12  blog/tests/test_pages.py::test_archive",
        "   3  blog/tests/test_api.py::test_comment",
        "Most queries (URLs, worst request):",
        "  11  GET /archive/ (1 hits)",
        "   3  POST /api/posts/<int:pk>/comments/ (1 hits)",
        "Slowest tests:",
        "  1.25 s  blog/tests/test_api.py::test_comment",
        "  180 ms  blog/tests/test_pages.py::test_archive",
        "Slowest URLs (median; p95):",
        "  1.20 s  POST /api/posts/<int:pk>/comments/ (p95 1.20 s, 1 hits)",
        "  150 ms  GET /archive/ (p95 150 ms, 1 hits)",
        "N+1 candidates (the same SELECT repeated):",
        "  blog/tests/test_pages.py::test_archive: 10 x on 'default' at blog/views.py:31",
        '    SELECT "blog_author"."id", "blog_author"."name" FROM "blog_author" WHERE "blog_author"."id" = %s LIMIT 21',
        "Tests calling outside hosts:",
        "  blog/tests/test_api.py::test_comment: POST https://spam.example.com/check (2x)",
        "  blog/tests/test_api.py::test_comment: 10.1.2.3:5432 (1x)",
    ]


def test_summary_of_an_empty_run() -> None:
    assert render_run_summary(Run()) == "0 tests recorded: no tests\n"


def test_show_prints_what_the_terminal_printed(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makepyfile(
        """
        import http.client

        def test_calls_out():
            conn = http.client.HTTPConnection("api.example.com")
            conn.putrequest("GET", "/rates")  # recorded; nothing is sent
            conn.close()

        def test_quiet():
            pass
        """
    )
    result = pytester.runpytest_inprocess("--perf-budget")
    result.assert_outcomes(passed=2)
    capsys.readouterr()
    assert cli.main(["show", str(pytester.path / ".perfbudget" / "results.ndjson.gz")]) == 0
    shown = capsys.readouterr().out.splitlines()
    # "; 0 URLs" only when this process had Django set up by an earlier in-process run (under xdist).
    assert shown[0] in ("2 tests recorded: 2 passed", "2 tests recorded: 2 passed; 0 URLs")
    assert "  test_show_prints_what_the_terminal_printed.py::test_calls_out: GET http://api.example.com/rates (1x)" in shown
    # The terminal printed the same lines, in the same order.
    result.stdout.fnmatch_lines([line.replace("[", "[[]") for line in shown], consecutive=True)


def test_show_refuses_a_missing_or_corrupt_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert cli.main(["show", str(missing)]) == 3
    assert capsys.readouterr().err == f"perfbudget show: {missing}: results file not found\n"

    corrupt = tmp_path / "results.json"
    corrupt.write_text('{"schema_version": 1, "tests": [')
    assert cli.main(["show", str(corrupt)]) == 3
    assert capsys.readouterr().err.startswith(f"perfbudget show: {corrupt}:1: corrupt results file")

    future = tmp_path / "future.json"
    future.write_text('{"schema_version": 99}')
    assert cli.main(["show", str(future)]) == 3
    assert "results schema version 99 is not supported" in capsys.readouterr().err


def _n_plus_one_run(count: int) -> Run:
    """``count`` tests, each with an N+1 of its own size (3, 4, 5...)."""
    tests = [
        TestRecord(
            node_id=f"tests/test_n.py::test_{index}",
            file="tests/test_n.py",
            line=index + 1,
            outcome="passed",
            metrics={"queries": float(index + 3), "n_plus_one": float(index + 3)},
            details=Details(
                sql_groups=[SqlGroup(f"SELECT {index}", "select", "default", index + 3, 1.0, location=f"app/v.py:{index}", n_plus_one=True)]
            ),
        )
        for index in range(count)
    ]
    return Run(project="demo", tests=tests)


def test_every_section_is_bounded_largest_first_and_says_where_the_rest_is() -> None:
    lines = render_run_summary(_n_plus_one_run(8), more="see the HTML report").splitlines()
    start = lines.index("N+1 candidates (the same SELECT repeated):")
    shown = [line for line in lines[start + 1 :] if line.startswith("  tests/")]
    assert [line.split(": ")[1].split()[0] for line in shown] == ["10", "9", "8", "7", "6"]  # largest first, 5 of 8
    assert "  ... and 3 more" in lines and lines[-1] == "see the HTML report"
    assert render_run_summary(_n_plus_one_run(5), more="see the HTML report").splitlines()[-1] != "see the HTML report"


def test_show_lists_everything_with_top_0(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from perfbudget.run.write import write_run

    path = write_run(_n_plus_one_run(8), tmp_path / "results.ndjson")
    assert cli.main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  ... and 3 more" in out and out.endswith(f"perfbudget show {path} --top 0 lists them all\n")
    assert cli.main(["show", str(path), "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count(" x on 'default' at app/v.py:") == 8 and "more" not in out
