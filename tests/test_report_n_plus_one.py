"""How the reports show N+1s, test-code repetitions and cache warm-up (issue 9).

Every call site of a shape is its own entry; N+1s whose call site is test
code are shown apart, marked as not judged; warm-up groups are marked.
"""

from __future__ import annotations

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.report import summary
from perfbudget.report.html import render_html
from perfbudget.report.markdown import render_markdown
from perfbudget.report.summary import render_run_summary
from perfbudget.run.model import Details, Run, SqlGroup, TestRecord
from tests.test_report_html import page_data

AUTHOR = 'SELECT "author"."id" FROM "author" WHERE "author"."id" = %s'
CONTENT_TYPE = 'SELECT "django_content_type"."id" FROM "django_content_type" WHERE "app_label" = %s'
NODE = "tests/test_views.py::test_archive"
SETUP = "tests/test_models.py::test_setup_loop"


def _run() -> Run:
    archive = Details(
        sql_groups=[
            SqlGroup(AUTHOR, "select", "default", 6, 1.2, location="blog/views.py:31", n_plus_one=True),
            SqlGroup(AUTHOR, "select", "default", 4, 0.8, location="blog/templates/blog/archive.html:12", n_plus_one=True),
            SqlGroup(CONTENT_TYPE, "select", "default", 2, 0.3, location="blog/views.py:20", warmup=True),
        ]
    )
    setup = Details(sql_groups=[SqlGroup(AUTHOR, "select", "default", 5, 1.0, location="tests/test_models.py:9", n_plus_one_in_tests=True)])
    return Run(
        project="blog",
        tests=[
            TestRecord(
                NODE, "tests/test_views.py", 3, "passed", {"queries": 11.0, "n_plus_one": 6.0, "warmup_queries": 2.0}, details=archive
            ),
            TestRecord(
                SETUP, "tests/test_models.py", 5, "passed", {"queries": 5.0, "n_plus_one": 0.0, "n_plus_one_in_tests": 5.0}, details=setup
            ),
        ],
    )


def _comparison() -> Comparison:
    run = _run()
    verdicts = [
        Verdict(NODE, "test", "queries", Status.REGRESSED, 11.0, 5.0, 5.0, "queries 5 → 11", "tests/test_views.py", 3),
        Verdict(SETUP, "test", "queries", Status.REGRESSED, 5.0, 1.0, 1.0, "queries 1 → 5", "tests/test_models.py", 5),
    ]
    return Comparison(run=run, baseline=None, verdicts=verdicts)


def test_summary_lists_every_call_site_then_test_code_apart_then_the_warm_up() -> None:
    lines = render_run_summary(_run()).splitlines()
    start = lines.index("N+1 candidates (the same SELECT repeated):")
    assert lines[start + 1 : start + 5] == [
        f"  {NODE}: 6 x on 'default' at blog/views.py:31",
        f"    {AUTHOR}",
        f"  {NODE}: 4 x on 'default' at blog/templates/blog/archive.html:12",  # the same shape, its other call site
        f"    {AUTHOR}",
    ]
    assert lines[start + 5 : start + 7] == ["N+1 in test code (not judged):", f"  {SETUP}: 5 x on 'default' at tests/test_models.py:9"]
    assert lines[-1] == "Cache warm-up (ContentType, Site...): 2 queries in 1 tests, kept out of the compared counts"
    assert summary.tests_shown_in_detail(_run()) == {NODE, SETUP}


def test_summary_test_code_section_is_bounded_too() -> None:
    run = _run()
    run.tests[1].details.sql_groups *= 7
    lines = render_run_summary(run, top=2, more="see perfbudget show").splitlines()
    start = lines.index("N+1 in test code (not judged):")
    assert lines[start + 3] == "  ... and 5 more" and lines[-1] == "see perfbudget show"


def test_markdown_shows_both_call_sites_and_test_code_apart() -> None:
    text = render_markdown(_comparison())
    n_plus_one = text.split("#### N+1 queries", 1)[1].split("<details>", 1)[0]
    assert "6 × the same SELECT" in n_plus_one and "4 × the same SELECT" in n_plus_one
    assert "blog/templates/blog/archive.html:12" in n_plus_one and "tests/test_models.py:9" not in n_plus_one
    assert "<summary>N+1 in test code (not judged): 1</summary>" in text
    assert f"`{SETUP}`: 5 × SELECT at `tests/test_models.py:9`" in text


def test_html_marks_warm_up_and_test_code_groups() -> None:
    details = {d["name"]: d for d in page_data(render_html(_comparison()))["details"].values()}
    flags = [(g[6], g[7], g[8], g[9]) for g in details[NODE]["sql"]]
    assert flags == [
        ("blog/views.py:31", True, False, False),
        ("blog/templates/blog/archive.html:12", True, False, False),
        ("blog/views.py:20", False, True, False),
    ]
    assert [(g[6], g[7], g[9]) for g in details[SETUP]["sql"]] == [("tests/test_models.py:9", False, True)]


def test_a_template_n_plus_one_is_shown_at_its_template_line_beside_the_view_with_the_fix() -> None:
    """Issue 20: the line of the template that read the relation, the view that rendered it, and the fix."""
    comparison = _comparison()
    comparison.run.tests[0].details.sql_groups[1] = SqlGroup(
        AUTHOR,
        "select",
        "default",
        4,
        0.8,
        location="blog/views.py:42",
        n_plus_one=True,
        function="archive",
        template="blog/templates/blog/archive.html:7",
        relation="Post.author",
        fix='select_related("author")',
    )
    n_plus_one = render_markdown(comparison).split("#### N+1 queries", 1)[1].split("<details>", 1)[0]
    assert (
        "(0.8 ms) at `blog/templates/blog/archive.html:7` (view `blog/views.py:42`). "
        'N+1 on `Post.author`: add `select_related("author")` to the queryset the loop iterates'
    ) in n_plus_one
    lines = render_run_summary(comparison.run).splitlines()
    at = lines.index(f"  {NODE}: 4 x on 'default' at blog/templates/blog/archive.html:7 (view blog/views.py:42)")
    assert lines[at + 2] == '    N+1 on Post.author: add select_related("author") to the queryset the loop iterates'
