"""compare/causes.py: each subject's query groups diffed against the baseline's, one cause per group and direction."""

from __future__ import annotations

from perfbudget.compare.causes import query_causes
from perfbudget.report.causes import cause_line
from perfbudget.report.markdown import render_markdown
from perfbudget.run.model import Details, RequestRecord, Run, SqlGroup, TestRecord, UrlSummary, url_key

AUTHOR = 'SELECT "auth_user"."id" FROM "auth_user" WHERE "auth_user"."id" = %s'
JOINED = 'SELECT "post"."id", "auth_user"."id" FROM "post" INNER JOIN "auth_user" ON ("post"."author_id" = "auth_user"."id")'
PLAIN = 'SELECT "post"."id" FROM "post"'


def group(sql: str, count: int, location: str = "app/views.py:30", *, n_plus_one: bool = False, warmup: bool = False) -> SqlGroup:
    return SqlGroup(
        sql=sql, kind="select", database="default", count=count, time_ms=0.1, location=location, n_plus_one=n_plus_one, warmup=warmup
    )


def record_of(name: str, *groups: SqlGroup, request: str = "") -> TestRecord:
    record = TestRecord(f"tests/test_app.py::{name}", "tests/test_app.py", 1, "passed", {"queries": sum(g.count for g in groups)})
    record.details = Details(sql_groups=list(groups))
    if request:
        record.requests = [RequestRecord("GET", request, "/posts/", "post-list", 200, {}, Details(sql_groups=list(groups)))]
    return record


def test_one_added_query_in_two_tests_and_a_url_is_one_cause() -> None:
    base = Run(tests=[record_of("a", group(PLAIN, 1), request="/posts/"), record_of("b", group(PLAIN, 1))])
    base.urls = [UrlSummary("GET", "/posts/", "post-list", 1, tests=["tests/test_app.py::a"])]
    head = Run(
        tests=[record_of("a", group(PLAIN, 1), group(AUTHOR, 1), request="/posts/"), record_of("b", group(PLAIN, 1), group(AUTHOR, 1))]
    )
    head.urls = [UrlSummary("GET", "/posts/", "post-list", 1, tests=["tests/test_app.py::a"])]
    subjects = [("test", "tests/test_app.py::a"), ("test", "tests/test_app.py::b"), ("url", url_key("GET", "/posts/"))]
    [cause] = query_causes(head, base, subjects)
    assert (cause.change, cause.table, cause.group.location, cause.deltas) == ("added", "auth_user", "app/views.py:30", [1, 1, 1])
    assert list(cause.subjects) == subjects


def test_directions_rewrites_warm_up_and_new_subjects() -> None:
    base = Run(
        tests=[
            record_of("a", group(JOINED, 1), group(AUTHOR, 2, "app/feed.py:9"), group(AUTHOR, 5, "app/cache.py:1", warmup=True)),
            record_of("gone", group(PLAIN, 3)),
        ]
    )
    head = Run(
        tests=[
            record_of(
                "a", group(PLAIN, 1), group(AUTHOR, 6, "app/feed.py:9", n_plus_one=True), group(AUTHOR, 1, "app/cache.py:1", warmup=True)
            ),
            record_of("gone", group(PLAIN, 1)),
            record_of("new", group(AUTHOR, 9)),
        ]
    )
    names = [("test", f"tests/test_app.py::{n}") for n in ("a", "gone", "new")]
    causes = {(c.change, c.group.location): c for c in query_causes(head, base, names)}
    assert set(causes) == {("more", "app/feed.py:9"), ("rewritten", "app/views.py:30"), ("fewer", "app/views.py:30")}
    assert causes[("rewritten", "app/views.py:30")].replaced.sql == JOINED  # a lost JOIN: one query rewritten, not gone + new
    assert causes[("more", "app/feed.py:9")].subjects == {names[0]: (2, 6)}
    assert query_causes(head, None, names) == []  # no baseline: nothing to diff


def test_hostile_sql_and_locations_stay_inside_their_code() -> None:
    """SQL comes from the project's code: a fence or a closing tag in it must not end the block."""
    import cmarkgfm

    hostile = 'SELECT "x" FROM "t" /* ``` </details> <img src=x onerror=alert(1)> @octocat */'
    base = Run(tests=[record_of("a")])
    head = Run(tests=[record_of("a", group(hostile, 2, "app/`evil`|x.py:1"))])
    from perfbudget.compare import compare
    from perfbudget.compare.baseline import Baseline

    head.tests[0].metrics["queries"] = 2
    base.tests[0].metrics["queries"] = 0
    comparison = compare(head, None, Baseline([base], "b"))
    html = cmarkgfm.github_flavored_markdown_to_html(render_markdown(comparison))
    assert "<img" not in html and "onerror=alert" in html  # shown as text in the code block
    assert html.count("</details>") == html.count("<details>")


def test_a_join_that_became_one_select_per_row_is_an_n_plus_one_not_a_rewrite() -> None:
    base = Run(tests=[record_of("a", group(JOINED, 1))])
    head = Run(tests=[record_of("a", group(PLAIN, 50, n_plus_one=True))])
    causes = {c.change for c in query_causes(head, base, [("test", "tests/test_app.py::a")])}
    assert causes == {"added", "removed"}


def test_a_cause_names_what_ran_and_tells_same_named_tests_apart() -> None:
    """A .count() reads COUNT, not SELECT; two test_detail in two classes are named with their class."""
    count = 'SELECT COUNT(*) AS "__count" FROM "shop_category"'
    names = ["tests/test_app.py::ShopTests::test_detail", "tests/test_app.py::CartTests::test_detail", "tests/test_other.py::test_list"]

    def record(node_id: str, *groups: SqlGroup) -> TestRecord:
        test = TestRecord(node_id, "tests/test_app.py", 1, "passed", {"queries": float(sum(g.count for g in groups))})
        test.details = Details(sql_groups=list(groups))
        return test

    base = Run(tests=[record(name, group(PLAIN, 1)) for name in names])
    head = Run(tests=[record(name, group(PLAIN, 1), group(count, 1, "shop/views.py:8")) for name in names])
    [cause] = query_causes(head, base, [("test", name) for name in names])
    assert cause_line(cause) == (
        "**+1 COUNT shop_category** at shop/views.py:8, new, in 3 tests: ShopTests::test_detail, CartTests::test_detail, test_list"
    )


def test_a_cause_in_a_template_names_its_line_the_view_and_the_fix() -> None:
    from perfbudget.report.causes import cause_line

    def templated(count: int, line: int) -> SqlGroup:
        found = group(AUTHOR, count, "app/views.py:30", n_plus_one=count > 2)
        found.function, found.template = "post_list", f"app/templates/list.html:{line}"
        found.relation, found.fix = "Post.author", 'select_related("author")'
        return found

    base = Run(tests=[record_of("a", templated(1, 5))])
    head = Run(tests=[record_of("a", templated(6, 6))])  # a line inserted above it in the template
    [cause] = query_causes(head, base, [("test", "tests/test_app.py::a")])
    assert cause_line(cause) == (
        "**+5 SELECT auth_user** (N+1) at app/templates/list.html:6 (view app/views.py:30), repeats more, in 1 test: a. "
        'N+1 on Post.author: add select_related("author") to the queryset the loop iterates'
    )
