"""Fixed Comparisons for the report tests: a realistic head/baseline pair, hostile names, a huge run.

The verdicts are written by hand (not computed by compare/) so that golden
files change only when a reporter changes. They follow compare/'s contract:
every subject has at least one verdict, NEW/REMOVED/OK are whole-subject
verdicts (metric None), metric verdicts carry value, baseline, limit, reason,
file and line, and verdicts are sorted by kind, subject and metric.
"""

from __future__ import annotations

from perfbudget.compare.verdicts import Comparison, Status, Verdict
from perfbudget.run.model import CacheOp, Details, NetworkCall, RequestRecord, Run, SqlGroup, TemplateStat, TestRecord, UrlSummary

AUTHOR_SQL = 'SELECT "blog_author"."id", "blog_author"."name" FROM "blog_author" WHERE "blog_author"."id" = %s LIMIT 21'
TAG_SQL = 'SELECT "blog_tag"."id", "blog_tag"."name" FROM "blog_tag" INNER JOIN "blog_post_tags" ON ("blog_tag"."id" = "blog_post_tags"."tag_id") WHERE "blog_post_tags"."post_id" = %s'
POSTS_SQL = 'SELECT "blog_post"."id", "blog_post"."title" FROM "blog_post" ORDER BY "blog_post"."published" DESC'


def _archive_details(authors: int) -> Details:
    return Details(
        sql_groups=[
            SqlGroup(POSTS_SQL, "select", "default", 1, 0.8, location="blog/views.py:31"),
            SqlGroup(
                AUTHOR_SQL,
                "select",
                "default",
                authors,
                authors * 0.21,
                duplicates=authors - 3,
                location="blog/templates/blog/archive.html:12",
                n_plus_one=authors >= 5,
            ),
        ],
        cache_ops=[CacheOp("get", "default", calls=2, hits=1, misses=1, time_ms=0.3), CacheOp("set", "default", calls=1, time_ms=0.2)],
        templates=[TemplateStat("blog/archive.html", 1, 6.5), TemplateStat("blog/base.html", 1, 1.2)],
        signals={"pre_save": 0, "request_started": 1, "request_finished": 1},
    )


def _test(
    node_id: str,
    line: int,
    metrics: dict[str, float],
    details: Details | None = None,
    requests: list[RequestRecord] | None = None,
    outcome: str = "passed",
) -> TestRecord:
    return TestRecord(
        node_id=node_id,
        file=node_id.split("::", 1)[0],
        line=line,
        outcome=outcome,
        metrics=metrics,
        call_metrics={k: v for k, v in metrics.items() if k in ("queries", "duration")},
        details=details or Details(),
        requests=requests or [],
    )


def head_run() -> Run:
    archive_request = RequestRecord(
        "GET",
        "/archive/2024/",
        "/archive/<int:year>/",
        "blog:archive",
        200,
        {"queries": 13.0, "duration": 48.0, "template_renders": 2.0},
        _archive_details(12),
    )
    detail_request = RequestRecord(
        "GET",
        "/posts/7/",
        "/posts/<int:pk>/",
        "blog:post-detail",
        200,
        {"queries": 3.0, "duration": 11.0},
        Details(sql_groups=[SqlGroup(TAG_SQL, "select", "default", 1, 0.4, location="blog/views.py:52")]),
    )
    api_request = RequestRecord("POST", "/api/posts/", "/api/posts/", "api:post-list", 201, {"queries": 4.0, "duration": 19.0})
    tests = [
        _test(
            "tests/test_api.py::test_create_post",
            14,
            {"queries": 4.0, "duration": 62.0, "network_calls": 0.0, "peak_memory": 2_400_000.0},
            Details(
                sql_groups=[
                    SqlGroup('INSERT INTO "blog_post" ("title") VALUES (%s)', "insert", "default", 1, 0.5, location="blog/api.py:40")
                ]
            ),
            [api_request],
        ),
        _test("tests/test_api.py::test_list_posts[page-2]", 30, {"queries": 2.0, "duration": 25.0}),
        _test(
            "tests/test_feeds.py::test_rss",
            8,
            {"queries": 2.0, "duration": 31.0, "network_calls": 1.0, "external_network_calls": 1.0},
            Details(network_calls=[NetworkCall("hooks.example.com", 443, False, "POST", "https://hooks.example.com/ping", 1)]),
        ),
        _test(
            "tests/test_views.py::test_archive",
            21,
            {
                "queries": 13.0,
                "duration": 140.0,
                "n_plus_one": 12.0,
                "cache_calls": 3.0,
                "template_renders": 2.0,
                "peak_memory": 5_100_000.0,
            },
            _archive_details(12),
            [archive_request],
        ),
        _test(
            "tests/test_views.py::test_post_detail",
            40,
            {"queries": 3.0, "duration": 1250.0},
            Details(sql_groups=[SqlGroup(TAG_SQL, "select", "default", 1, 0.4, location="blog/views.py:52")]),
            [detail_request],
        ),
        _test("tests/test_views.py::test_search", 55, {"queries": 1.0, "duration": 12.0}),
    ]
    from perfbudget.run.aggregate import aggregate_urls
    from perfbudget.run.model import Reruns

    # The archive's slowdown was confirmed by its reruns; the post detail's was not rerun.
    tests[3].reruns = Reruns({"duration": [138.0, 139.0, 141.0, 140.0, 142.0]}, [2.0] * 5)
    return Run(
        project="blog",
        commit="4f2c9e1a7b3d5e6f",
        branch="feature/archive",
        build_id="1234",
        started="2026-11-20T10:00:00Z",
        finished="2026-11-20T10:01:12Z",
        environment={"python": "3.11.7", "django": "5.2"},
        tests=tests,
        urls=aggregate_urls(tests),
    )


def base_run() -> Run:
    tests = [
        _test("tests/test_api.py::test_create_post", 14, {"queries": 4.0, "duration": 60.0}),
        _test("tests/test_api.py::test_list_posts[page-2]", 30, {"queries": 5.0, "duration": 26.0}),
        _test("tests/test_views.py::test_archive", 21, {"queries": 4.0, "duration": 45.0}, _archive_details(3)),
        _test("tests/test_views.py::test_post_detail", 40, {"queries": 3.0, "duration": 980.0}),
        _test("tests/test_views.py::test_search", 55, {"queries": 1.0, "duration": 12.0}),
        _test("tests/test_views.py::test_sitemap", 70, {"queries": 6.0, "duration": 33.0}),
    ]
    urls = [
        UrlSummary("GET", "/archive/<int:year>/", "blog:archive", 1, {"queries": 4.0, "duration": 18.0}),
        UrlSummary("GET", "/posts/<int:pk>/", "blog:post-detail", 1, {"queries": 3.0, "duration": 11.0}),
        UrlSummary("GET", "/sitemap.xml", None, 1, {"queries": 6.0, "duration": 20.0}),
    ]
    return Run(project="blog", commit="9a8b7c6d5e4f3a2b", branch="main", tests=tests, urls=urls)


def _v(
    subject: str,
    status: Status,
    metric: str | None = None,
    value: float | None = None,
    baseline: float | None = None,
    limit: float | None = None,
    reason: str = "",
    kind: str = "test",
    line: int | None = None,
) -> Verdict:
    file = subject.split("::", 1)[0] if kind == "test" else "tests/test_views.py"
    return Verdict(subject, kind, metric, status, value, baseline, limit, reason, file, line)


def fixed_comparison() -> Comparison:
    """Two regressions, one over budget, one improved, new and removed subjects, a warning."""
    verdicts = [
        _v("tests/test_api.py::test_create_post", Status.OK, reason="within budget and baseline", line=14),
        _v(
            "tests/test_api.py::test_list_posts[page-2]",
            Status.IMPROVED,
            "queries",
            2.0,
            5.0,
            5.0,
            "queries 5 -> 2 (-3; any increase regresses; default)",
            line=30,
        ),
        _v("tests/test_feeds.py::test_rss", Status.NEW, reason="not in the baseline", line=8),
        _v(
            "tests/test_feeds.py::test_rss",
            Status.OVER_BUDGET,
            "external_network_calls",
            1.0,
            None,
            0.0,
            "external_network_calls 1 > budget 0 (defaults in perfbudget.yaml:3)",
            line=8,
        ),
        _v(
            "tests/test_views.py::test_archive",
            Status.OVER_BUDGET,
            "queries",
            13.0,
            None,
            10.0,
            "queries 13 > budget 10 (rule 'views' in perfbudget.yaml:9)",
            line=21,
        ),
        _v(
            "tests/test_views.py::test_archive",
            Status.REGRESSED,
            "queries",
            13.0,
            4.0,
            4.0,
            "queries 4 -> 13 (+9; any increase regresses; default)",
            line=21,
        ),
        _v(
            "tests/test_views.py::test_post_detail",
            Status.REGRESSED,
            "duration",
            1250.0,
            980.0,
            1176.0,
            "duration 980 ms -> 1.25 s (+270 ms, +28%; threshold +20% and +50 ms; one run; default)",
            line=40,
        ),
        _v("tests/test_views.py::test_search", Status.OK, reason="within budget and baseline", line=55),
        _v("tests/test_views.py::test_sitemap", Status.REMOVED, reason="in the baseline only", line=70),
        _v(
            "GET /archive/<int:year>/",
            Status.REGRESSED,
            "queries",
            13.0,
            4.0,
            4.0,
            "queries 4 -> 13 (+9; any increase regresses; default)",
            kind="url",
            line=21,
        ),
        _v("GET /posts/<int:pk>/", Status.OK, reason="within budget and baseline", kind="url", line=40),
        _v("GET /sitemap.xml", Status.REMOVED, reason="in the baseline only", kind="url"),
        _v("POST /api/posts/", Status.NEW, reason="not in the baseline", kind="url", line=14),
    ]
    verdicts.sort(key=lambda v: (v.subject_kind, v.subject, v.metric or "", v.status.severity))
    run, baseline = head_run(), base_run()
    comparison = Comparison(
        run=run,
        baseline=baseline,
        verdicts=verdicts,
        warnings=[
            "budget on 'peak_memory' not checked for 4 tests: the metric was not recorded (is its collector on, e.g. Django configured or --perf-memory?)"
        ],
        budgets_source="perfbudget.yaml",
    )
    comparison.explain()  # as compare() does
    return comparison


HOSTILE_NAMES = [
    "tests/test_x.py::test_pipe[a|b|c]",
    "tests/test_x.py::test_newline[line1\nline2]",
    "tests/test_x.py::test_tick[`code` ``x``]",
    "tests/test_x.py::test_html[<script>console.error('pwned')</script>]",
    "tests/test_x.py::test_img_tag[<img src=x onerror=\"console.error('pwned')\">]",
    "tests/test_x.py::test_img[![x](http://evil.example/x.png)]",
    "tests/test_x.py::test_link[[click](javascript:alert(1))]",
    "tests/test_x.py::test_mention[@octocat @org/team]",
    "tests/test_x.py::test_ref[#123 GH-45 owner/repo#6]",
    "tests/test_x.py::test_close[</script><!-- -->]",
    "tests/test_x.py::test_auto[http://evil.example www.evil.example a@b.example]",
    "tests/test_x.py::test_long[" + "x" * 3000 + "]",
]


def hostile_comparison() -> Comparison:
    """Every hostile name regressed (in the table) with an N+1 group whose SQL is hostile too.

    Two names per call site: six causes, each too small to share a row of "What broke", so every name keeps its own.
    """
    hostile_sql = "SELECT '```' || '</script>' || '@octocat #1 |' FROM t WHERE id = %s\n```\n# heading"
    tests = [
        _test(
            name,
            5 + index,
            {"queries": 9.0, "duration": 10.0, "n_plus_one": 8.0},
            Details(
                sql_groups=[
                    SqlGroup(hostile_sql, "select", "default", 8, 1.0, location=f"app/<b>views</b>.py:{index % 6 + 1}", n_plus_one=True)
                ]
            ),
        )
        for index, name in enumerate(HOSTILE_NAMES)
    ]
    verdicts = [
        _v(t.node_id, Status.REGRESSED, "queries", 9.0, 1.0, 1.0, f"queries 1 -> 9 in {t.node_id} @octocat #12 <b>x</b> | y", line=t.line)
        for t in tests
    ]
    run = Run(project="x", commit="abc", branch="@evil/#1|<i>b</i>", tests=tests)
    baseline = Run(project="x", commit="def", branch="main", tests=[_test(t.node_id, t.line or 0, {"queries": 1.0}) for t in tests])
    comparison = Comparison(
        run=run,
        baseline=baseline,
        verdicts=verdicts,
        warnings=["warning with @octocat, #7 and <script>x</script> | pipe"],
    )
    comparison.explain()
    return comparison


def large_comparison(n_tests: int = 50_000, n_urls: int = 5_000) -> Comparison:
    """A big project's run: a tenth of the subjects regressed, a tenth improved, the rest unchanged."""
    tests, verdicts = [], []
    for index in range(n_tests):
        node_id = f"tests/module_{index % 400:03d}/test_generated.py::test_case_{index:05d}[param-{index % 7}]"
        queries = float(index % 40)
        details = (
            Details(
                sql_groups=[
                    SqlGroup(
                        f"SELECT * FROM t_{index % 50} WHERE id = %s",
                        "select",
                        "default",
                        6,
                        1.0,
                        location=f"app/views_{index % 50}.py:{index % 90 + 1}",
                        n_plus_one=True,
                    )
                ]
            )
            if index % 10 == 0
            else Details()
        )
        tests.append(_test(node_id, index % 500 + 1, {"queries": queries, "duration": float(index % 300) + 0.5}, details))
        if index % 10 == 0:
            verdicts.append(
                _v(node_id, Status.REGRESSED, "queries", queries + 6, queries, queries, "queries regressed", line=index % 500 + 1)
            )
        elif index % 10 == 1:
            verdicts.append(_v(node_id, Status.IMPROVED, "duration", 10.0, 20.0, 15.0, "duration improved", line=1))
        else:
            verdicts.append(_v(node_id, Status.OK, reason="within budget and baseline"))
    urls = [
        UrlSummary("GET", f"/api/v1/resource_{index:04d}/<int:pk>/", None, 3, {"queries": float(index % 30), "duration": float(index % 90)})
        for index in range(n_urls)
    ]
    for url in urls:
        status = Status.OVER_BUDGET if url.metrics["queries"] > 25 else Status.OK
        verdicts.append(
            _v(url.key, status, "queries" if status is Status.OVER_BUDGET else None, url.metrics["queries"], None, 25.0, "over", kind="url")
        )
    verdicts.sort(key=lambda v: (v.subject_kind, v.subject, v.metric or "", v.status.severity))
    run = Run(project="big", commit="0123456789abcdef", branch="feature", tests=tests, urls=urls)
    return Comparison(run=run, baseline=Run(project="big", commit="fedcba9876543210", branch="main"), verdicts=verdicts)


CATEGORY_SQL = 'SELECT "shop_category"."id", "shop_category"."name" FROM "shop_category" WHERE "shop_category"."id" = %s LIMIT %s'
PRODUCTS_SQL = 'SELECT "shop_product"."id", "shop_product"."name" FROM "shop_product" ORDER BY "shop_product"."name" LIMIT %s'


def added_query_comparison(n_tests: int = 1_000, slow_templates: int = 6) -> Comparison:
    """Issue 20's run, judged by compare(): one SELECT added to a view that every test requests, plus a few
    template times that look slower (1.1 ms → 562 ms) but were never rerun, so they stay unconfirmed."""
    from perfbudget.compare import compare
    from perfbudget.compare.baseline import Baseline
    from perfbudget.run.aggregate import aggregate_urls

    def shop_test(index: int, with_category: bool) -> TestRecord:
        groups = [SqlGroup(PRODUCTS_SQL, "select", "default", 1, 0.3, location="shop/views.py:5")]
        if with_category:
            groups.append(SqlGroup(CATEGORY_SQL, "select", "default", 1, 0.2, location="shop/views.py:8"))
        queries = float(len(groups))
        slow = with_category and index < slow_templates
        metrics = {
            "queries": queries,
            "queries.select": queries,
            "duration": 20.0,
            "template_time": 562.0 if slow else 1.1,
            "network_calls": 0.0,
            "cache_calls": 0.0,
        }
        request = RequestRecord(
            "GET", "/shop/", "/shop/", "shop:index", 200, {"queries": queries, "queries.select": queries}, Details(groups)
        )
        return _test(f"tests/test_shop_{index // 100}.py::test_page_{index:04d}", 10 + index % 50, metrics, Details(groups), [request])

    def shop_run(with_category: bool, commit: str) -> Run:
        tests = [shop_test(index, with_category) for index in range(n_tests)]
        return Run(project="shop", commit=commit, branch="feature" if with_category else "main", tests=tests, urls=aggregate_urls(tests))

    return compare(shop_run(True, "4f2c9e1a7b3d5e6f"), baseline=Baseline([shop_run(False, "9a8b7c6d5e4f3a2b")], "baseline"))
