"""End to end: ``pytest --perf-budget`` on the example blog records exact, explainable facts.

Every expected number below is derived from the example's code (the comment
says how), not copied from a run: if the recorder disagrees, one of the two is
wrong and the test says which fact differs. The same suite under
pytest-xdist (``-n 2``) must record the same counts.
"""

from __future__ import annotations

import ast
import json
import re

import django
import pytest

from perfbudget.run.metrics import METRICS
from perfbudget.run.model import RequestRecord, Run, TestRecord
from tests.support.example import API, EXAMPLE, EXPECTED_OUTCOMES, MODELS, PAGES, TESTCASE, ExampleRun, run_example

pytest.importorskip("pytest_django", reason="the example project needs pytest-django")

COUNT_METRICS = sorted(name for name, metric in METRICS.items() if metric.kind == "count")
ARCHIVE_RENDER = 'render(request, "blog/archive.html"'  # the line of the example's N+1


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> ExampleRun:
    out = tmp_path_factory.mktemp("serial")
    result = run_example(out, "--perf-budget", f"--perf-output={out / 'results.ndjson.gz'}")
    assert result.returncode == 0, result.output
    return result


@pytest.fixture(scope="module")
def parallel(tmp_path_factory: pytest.TempPathFactory) -> ExampleRun:
    pytest.importorskip("xdist", reason="pytest-xdist is needed for the -n 2 run")
    out = tmp_path_factory.mktemp("parallel")
    result = run_example(out, "--perf-budget", f"--perf-output={out / 'results.ndjson.gz'}", "-n", "2")
    assert result.returncode == 0, result.output
    return result


def def_line(node_id: str) -> int:
    """The 1-based line pytest reports for a test: its first decorator, else its ``def``."""
    path, _, rest = node_id.partition("::")
    names = rest.split("[")[0].split("::")
    tree = ast.parse((EXAMPLE / path).read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for name in names:
        node = next(n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name)
        scope = node.body  # type: ignore[attr-defined]
    assert node is not None
    decorators = node.decorator_list  # type: ignore[attr-defined]
    return decorators[0].lineno if decorators else node.lineno  # type: ignore[attr-defined]


def line_of(path: str, text: str) -> int:
    """The 1-based line of the only line in example/<path> containing ``text``."""
    lines = [i for i, line in enumerate((EXAMPLE / path).read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} occurs {len(lines)} times in {path}"
    return lines[0]


def archive_render_location() -> str:
    """Where the archive view's N+1 is issued: the render() whose template reads post.author."""
    return f"blog/views.py:{line_of('blog/views.py', ARCHIVE_RENDER)}"


def only_request(record: TestRecord) -> RequestRecord:
    assert len(record.requests) == 1, [r.path for r in record.requests]
    return record.requests[0]


def counts(metrics: dict[str, float], *names: str) -> dict[str, float]:
    return {name: metrics.get(name) for name in names}


QUERY_KINDS = ("queries", "queries.select", "queries.insert", "queries.update", "queries.delete")


# --- the run as a whole ------------------------------------------------------------


def test_recording_keeps_the_suite_green_and_writes_results(serial: ExampleRun) -> None:
    assert "26 passed, 1 xfailed" in serial.output
    run = serial.run
    assert run.environment["django"] == django.__version__
    assert run.project.rsplit("/", 1)[-1] == "example"  # "example", or "owner/name/example" in a clone with a remote
    assert {t.node_id: t.outcome for t in run.tests} == EXPECTED_OUTCOMES


def test_every_test_has_its_file_and_line(serial: ExampleRun) -> None:
    for record in serial.run.tests:
        assert record.file == record.node_id.split("::")[0]
        assert record.line == def_line(record.node_id), record.node_id


# --- SQL --------------------------------------------------------------------------

# Call phase only: fixtures (the blog data, the test transaction) are in setup.
# post list (cold cache) = posts + prefetched tags + sidebar (most discussed, tags) = 4
# post detail = post (with author) + tags + comments + sidebar 2 = 5
# archive = posts + one author per post (4 posts) = 5
# comment created = SELECT post, INSERT comment, UPDATE count (signal receiver)
EXPECTED_CALL_QUERIES: dict[str, tuple[int, int, int, int, int]] = {
    # node: (total, select, insert, update, delete)
    f"{PAGES}::test_post_list_shows_newest_posts_with_authors_and_tags": (4, 4, 0, 0, 0),
    # cold visit 4 + warm visit 2 (sidebar from cache)
    f"{PAGES}::test_post_list_second_visit_reads_sidebar_from_cache": (6, 6, 0, 0, 0),
    # no posts, so no tag prefetch: posts + sidebar 2
    f"{PAGES}::test_post_list_without_posts": (3, 3, 0, 0, 0),
    f"{PAGES}::test_post_detail_shows_post_tags_and_comments": (5, 5, 0, 0, 0),
    f"{PAGES}::test_post_detail_of_missing_post_is_404": (1, 1, 0, 0, 0),
    f"{PAGES}::test_author_page_lists_their_posts": (2, 2, 0, 0, 0),
    f"{PAGES}::test_archive_lists_every_post_with_its_author": (5, 5, 0, 0, 0),
    f"{PAGES}::test_archive_query_count_does_not_grow_with_posts": (5, 5, 0, 0, 0),
    # visit 4, three comments (INSERT + receiver UPDATE each), refresh 1, visit 4 (sidebar dropped)
    f"{PAGES}::test_new_comment_updates_count_and_sidebar": (15, 9, 3, 3, 0),
    f"{PAGES}::test_pages_extend_the_base_template[/-blog/post_list.html]": (4, 4, 0, 0, 0),
    f"{PAGES}::test_pages_extend_the_base_template[/archive/-blog/archive.html]": (5, 5, 0, 0, 0),
    f"{API}::test_post_list": (2, 2, 0, 0, 0),
    f"{API}::test_post_detail": (3, 3, 0, 0, 0),
    f"{API}::test_post_detail_missing": (1, 1, 0, 0, 0),
    # request 3, then the comment with its post in one SELECT
    f"{API}::test_comment_is_checked_then_stored": (4, 2, 1, 1, 0),
    # request: SELECT post (spam, so no INSERT); then .exists() 1
    f"{API}::test_spam_comment_is_rejected": (2, 2, 0, 0, 0),
    f"{API}::test_invalid_comment_never_reaches_the_service": (0, 0, 0, 0, 0),
    f"{API}::test_comment_with_broken_json_is_400": (0, 0, 0, 0, 0),
    f"{API}::test_comment_when_service_is_down_is_503": (2, 2, 0, 0, 0),
    f"{API}::test_comments_endpoint_only_accepts_post": (0, 0, 0, 0, 0),
    f"{MODELS}::test_string_forms": (0, 0, 0, 0, 0),
    # comment.save() of an existing row is an UPDATE; the receiver ignores it; refresh 1
    f"{MODELS}::test_comment_receiver_counts_only_new_comments": (2, 1, 0, 1, 0),
    # sidebar 2, cached 0, comment INSERT + UPDATE, sidebar again 2
    f"{MODELS}::test_sidebar_is_cached_until_a_comment_arrives": (6, 4, 1, 1, 0),
    # A TestCase method: its requests only. setUpTestData runs in a class-scoped
    # fixture, outside any test; Django's per-test savepoint is plumbing, not counted.
    f"{TESTCASE}::test_post_list_queries_do_not_depend_on_post_count": (4, 4, 0, 0, 0),
    f"{TESTCASE}::test_post_detail": (5, 5, 0, 0, 0),
    f"{TESTCASE}::test_api_post_list_async": (2, 2, 0, 0, 0),
    f"{TESTCASE}::test_post_detail_async": (5, 5, 0, 0, 0),
}


@pytest.mark.parametrize("node_id", sorted(EXPECTED_CALL_QUERIES))
def test_queries_of_each_test_call(serial: ExampleRun, node_id: str) -> None:
    expected = dict(zip(QUERY_KINDS, map(float, EXPECTED_CALL_QUERIES[node_id]), strict=True))
    assert counts(serial.test(node_id).call_metrics, *QUERY_KINDS) == expected


def test_fixture_queries_count_for_the_whole_test_not_its_call(serial: ExampleRun) -> None:
    record = serial.test(f"{PAGES}::test_author_page_lists_their_posts")
    names = ("queries", "queries.select", "queries.insert", "queries.update", "queries.delete", "queries.other")
    # setup: make_blog(): 3 authors + 3 tags + 4 posts + 1 bulk INSERT of post tags
    # + 2 comments = 13 INSERTs, the receiver's 2 UPDATEs, 1 SELECT reading posts back;
    # call: 2 SELECTs. The test transaction pytest-django wraps around it (BEGIN,
    # constraint check, rollback) is test-framework plumbing and not counted.
    assert counts(record.metrics, *names) == dict(zip(names, (18.0, 3.0, 13.0, 2.0, 0.0, 0.0), strict=True))
    assert counts(record.call_metrics, *names) == dict(zip(names, (2.0, 2.0, 0.0, 0.0, 0.0, 0.0), strict=True))


def test_the_archive_n_plus_one_is_flagged_with_its_sql_view_and_template_lines(serial: ExampleRun) -> None:
    location = archive_render_location()
    request = only_request(serial.test(f"{PAGES}::test_archive_lists_every_post_with_its_author"))
    assert request.route == "/archive/"
    groups = request.details.n_plus_one_groups
    assert len(groups) == 1
    group = groups[0]
    assert (group.kind, group.database, group.count, group.duplicates, group.location) == (
        "select",
        "default",
        4,  # one per post
        1,  # Ada wrote two of the four posts: her row is fetched twice with the same id
        location,
    )
    # the query behind {{ post.author.name }}: Author.objects.get(pk=...), LIMIT 21 folded too
    assert group.sql == (
        'SELECT "blog_author"."id", "blog_author"."name", "blog_author"."email", "blog_author"."bio" '
        'FROM "blog_author" WHERE "blog_author"."id" = %s LIMIT %s'
    )
    assert request.metrics["n_plus_one"] == 4.0
    assert request.metrics["duplicate_queries"] == 1.0
    # read by {{ post.author.name }} inside the {% for %}: that template line, the relation, and the fix
    archive = "blog/templates/blog/archive.html"
    assert (group.template, group.function) == (f"{archive}:{line_of(archive, '{{ post.author.name }}')}", "archive")
    assert (group.relation, group.fix) == ("Post.author", 'select_related("author")')


def test_the_archive_is_the_only_n_plus_one_of_the_run(serial: ExampleRun) -> None:
    flagged = {
        record.node_id
        for record in serial.run.tests
        if record.details.n_plus_one_groups or any(r.details.n_plus_one_groups for r in record.requests)
    }
    assert flagged == {
        f"{PAGES}::test_archive_lists_every_post_with_its_author",
        f"{PAGES}::test_archive_query_count_does_not_grow_with_posts",
        f"{PAGES}::test_pages_extend_the_base_template[/archive/-blog/archive.html]",
    }


# --- per URL ------------------------------------------------------------------------

# (hits, max queries per request, status codes, view name), by method and route,
# counted from the tests' client calls.
EXPECTED_URLS: dict[str, tuple[int, int, dict[str, int], str]] = {
    # list tests 1 + 2 + 1, comment test 2, parametrized 1, TestCase 1
    "GET /": (8, 4, {"200": 8}, "post_list"),
    # detail page, missing post, TestCase sync + async
    "GET /posts/<int:pk>/": (4, 5, {"200": 3, "404": 1}, "post_detail"),
    "GET /authors/<int:pk>/": (1, 2, {"200": 1}, "author_detail"),
    # the N+1 test, its xfail twin, the parametrized template test
    "GET /archive/": (3, 5, {"200": 3}, "archive"),
    # API list test, TestCase async test
    "GET /api/posts/": (2, 2, {"200": 2}, "api:post_list"),
    "GET /api/posts/<int:pk>/": (2, 3, {"200": 1, "404": 1}, "api:post_detail"),
    "POST /api/posts/<int:pk>/comments/": (5, 3, {"201": 1, "400": 2, "422": 1, "503": 1}, "api:comment_create"),
    "GET /api/posts/<int:pk>/comments/": (1, 0, {"405": 1}, "api:comment_create"),
}


def test_urls_are_aggregated_by_route_across_tests(serial: ExampleRun) -> None:
    urls = {u.key: u for u in serial.run.urls}
    assert sorted(urls) == sorted(EXPECTED_URLS)
    for key, (hits, queries, statuses, view_name) in EXPECTED_URLS.items():
        url = urls[key]
        assert (url.hits, url.metrics.get("queries"), url.status_codes, url.view_name) == (
            hits,
            float(queries),
            statuses,
            view_name,
        ), key


def test_url_times_are_summarised(serial: ExampleRun) -> None:
    home = serial.run.url("GET /")
    assert home is not None and len(home.samples["duration"]) == 8
    assert 0 < home.metrics["duration"] <= home.metrics["duration_p95"] <= home.metrics["duration_max"]
    assert home.metrics["duration_max"] == max(home.samples["duration"])


def test_requests_carry_their_own_facts(serial: ExampleRun) -> None:
    post = serial.test(f"{API}::test_comment_is_checked_then_stored")
    request = only_request(post)
    assert (request.method, request.route, request.status) == ("POST", "/api/posts/<int:pk>/comments/", 201)
    assert re.fullmatch(r"/api/posts/\d+/comments/", request.path)
    assert counts(request.metrics, *QUERY_KINDS) == dict(zip(QUERY_KINDS, (3.0, 1.0, 1.0, 1.0, 0.0), strict=True))
    # the new comment is the third of the test database (the fixture made two)
    body = json.dumps({"id": 3, "post": int(request.path.split("/")[3]), "name": "Reader"})
    assert request.metrics["response_size"] == len(body)


# --- cache, templates, signals, network ----------------------------------------------


def test_cache_hits_and_misses(serial: ExampleRun) -> None:
    names = ("cache_calls", "cache_hits", "cache_misses")
    # cold: get (miss) + set; warm: get (hit)
    cold, warm = serial.test(f"{PAGES}::test_post_list_second_visit_reads_sidebar_from_cache").requests
    assert counts(cold.metrics, *names) == {"cache_calls": 2.0, "cache_hits": 0.0, "cache_misses": 1.0}
    assert counts(warm.metrics, *names) == {"cache_calls": 1.0, "cache_hits": 1.0, "cache_misses": 0.0}
    assert {(op.operation, op.calls, op.hits, op.misses) for op in cold.details.cache_ops} == {
        ("get", 1, 0, 1),
        ("set", 1, 0, 0),
    }
    # get miss, set, get hit, delete by the receiver, get miss (checked by the test), get miss, set
    sidebar = serial.test(f"{MODELS}::test_sidebar_is_cached_until_a_comment_arrives")
    assert counts(sidebar.call_metrics, *names) == {"cache_calls": 7.0, "cache_hits": 1.0, "cache_misses": 3.0}


def test_templates_rendered_per_request(serial: ExampleRun) -> None:
    def renders(node_id: str) -> list[dict[str, int]]:
        return [{t.name: t.count for t in r.details.templates} for r in serial.test(node_id).requests]

    page = {"blog/post_list.html": 1, "blog/base.html": 1, "blog/_sidebar.html": 1}
    assert renders(f"{PAGES}::test_post_list_shows_newest_posts_with_authors_and_tags") == [page]
    assert renders(f"{PAGES}::test_archive_lists_every_post_with_its_author") == [{"blog/archive.html": 1, "blog/base.html": 1}]
    assert renders(f"{PAGES}::test_post_detail_of_missing_post_is_404") == [{"404.html": 1}]
    assert renders(f"{API}::test_post_list") == [{}]
    second_visit = serial.test(f"{PAGES}::test_post_list_second_visit_reads_sidebar_from_cache")
    assert second_visit.call_metrics["template_renders"] == 6.0


def test_signals_sent(serial: ExampleRun) -> None:
    # A comment through the API: the client's request_started/finished around
    # one Comment save (pre_save, post_save; our receiver listens to the latter).
    stored = serial.test(f"{API}::test_comment_is_checked_then_stored")
    assert only_request(stored).details.signals == {
        "pre_save": 1,
        "post_save": 1,
        "request_started": 1,
        "request_finished": 1,
    }
    # Whole test: make_blog() saves 12 rows (3 authors, 3 tags, 4 posts, 2 comments;
    # the bulk INSERT of post tags sends none), the request saves 1, and the
    # settings fixture changes SPAM_CHECK_URL and restores it.
    assert stored.details.signals == {
        "pre_save": 13,
        "post_save": 13,
        "request_started": 1,
        "request_finished": 1,
        "setting_changed": 2,
    }
    # Three comments saved, two page views of three templates each.
    three = serial.test(f"{PAGES}::test_new_comment_updates_count_and_sidebar")
    assert three.call_metrics["signals"] == 3 * 2 + 2 * 2 + 2 * 3
    assert three.details.signals == {
        "pre_save": 12 + 3,
        "post_save": 12 + 3,
        "request_started": 2,
        "request_finished": 2,
        "template_rendered": 6,
    }


def test_calls_to_the_spam_service_are_loopback_network_calls(serial: ExampleRun) -> None:
    with_calls = {
        record.node_id: record.call_metrics.get("network_calls") for record in serial.run.tests if record.call_metrics.get("network_calls")
    }
    assert with_calls == {
        f"{API}::test_comment_is_checked_then_stored": 1.0,
        f"{API}::test_spam_comment_is_rejected": 1.0,
        f"{API}::test_comment_when_service_is_down_is_503": 1.0,
    }
    stored = only_request(serial.test(f"{API}::test_comment_is_checked_then_stored"))
    (call,) = stored.details.network_calls
    assert (call.host, call.loopback, call.method, call.count) == ("127.0.0.1", True, "POST", 1)
    assert call.url == f"http://127.0.0.1:{call.port}/check"
    assert all(record.metrics.get("external_network_calls") == 0.0 for record in serial.run.tests)


# --- terminal summary -----------------------------------------------------------------


def test_terminal_summary_names_the_n_plus_one_and_the_slowest_tests(serial: ExampleRun) -> None:
    output = serial.output
    assert "N+1" in output
    assert archive_render_location() in output
    assert '"blog_author"' in output
    assert re.search(r"slowest", output, re.IGNORECASE)


# --- xdist ----------------------------------------------------------------------------


def count_facts(run: Run) -> dict[str, object]:
    """Every count the run holds, keyed by test and URL: what must not depend on -n."""

    def exact(metrics: dict[str, float]) -> dict[str, float]:
        return {name: value for name, value in sorted(metrics.items()) if name in COUNT_METRICS}

    facts: dict[str, object] = {}
    for record in run.tests:
        facts[f"{record.node_id} outcome"] = record.outcome
        facts[f"{record.node_id} metrics"] = exact(record.metrics)
        facts[f"{record.node_id} call"] = exact(record.call_metrics)
        facts[f"{record.node_id} requests"] = [(r.method, r.route, r.status, exact(r.metrics)) for r in record.requests]
        facts[f"{record.node_id} sql"] = sorted(
            (g.sql, g.kind, g.count, g.duplicates, g.location, g.n_plus_one) for g in record.details.sql_groups
        )
    for url in run.urls:
        facts[f"{url.key} url"] = (url.hits, url.status_codes, exact(url.metrics))
    return facts


def test_xdist_records_the_same_counts_as_a_serial_run(serial: ExampleRun, parallel: ExampleRun) -> None:
    assert "26 passed, 1 xfailed" in parallel.output
    serial_facts, parallel_facts = count_facts(serial.run), count_facts(parallel.run)
    assert sorted(parallel_facts) == sorted(serial_facts)
    differing = {key: (serial_facts[key], parallel_facts[key]) for key in serial_facts if serial_facts[key] != parallel_facts[key]}
    assert differing == {}
