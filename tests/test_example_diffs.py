"""The example blog, edited the way a pull request does: each N+1 named at its template line, with the relation and the fix.

The post list loses ``select_related("author")`` and ``prefetch_related("tags")``,
and a comment line above shifts every line of the views below it. The comment
must name the two N+1s where the template reads them (``post.author`` and
``post.tags.all``), the fix for each, the rewritten post query and the dropped
prefetch, and nothing for the queries that only moved a line.
"""

from __future__ import annotations

import subprocess
import sys
from itertools import takewhile
from pathlib import Path

import pytest

from perfbudget.compare.causes import query_causes
from perfbudget.run.read import load_run
from tests.support.action import copy_example
from tests.support.example import clean_env
from tests.test_report_golden import check_golden

pytest.importorskip("pytest_django", reason="the example project needs pytest-django")

POST_LIST = "blog/templates/blog/post_list.html"


def record(project: Path, results: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--perf-budget"]
    command += [f"--perf-output={results}", "--perf-budget-report-only"]
    subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert results.is_file()


def line_of(path: Path, text: str) -> int:
    found = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(found) == 1, f"{text!r} is on {len(found)} lines of {path}"
    return found[0]


def test_dropped_select_and_prefetch_related_are_named_at_their_template_lines(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "example")
    base, head = tmp_path / "base.ndjson.gz", tmp_path / "head.ndjson.gz"
    record(project, base)
    views = project / "blog" / "views.py"
    text = views.read_text(encoding="utf-8")
    text = text.replace('Post.objects.select_related("author").prefetch_related("tags")', "Post.objects.all()")
    views.write_text(text.replace("PAGE_SIZE = 10\n", "PAGE_SIZE = 10\n# Pages of ten: the sidebar needs the room.\n"), encoding="utf-8")
    record(project, head)

    run, baseline = load_run(head), load_run(base)
    subjects = [("test", t.node_id) for t in run.tests] + [("url", u.key) for u in run.urls]
    causes = query_causes(run, baseline, subjects)
    # Every other query of the views moved a line down, the archive's N+1 too, and is no cause.
    render = f"blog/views.py:{line_of(views, 'blog/post_list.html')}"
    rendered_before = f"blog/views.py:{line_of(views, 'blog/post_list.html') - 1}"
    template = project / POST_LIST
    found = {(c.change, c.table, c.group.template, c.group.location, c.group.relation, c.group.fix) for c in causes}
    assert found == {
        ("added", "blog_author", f"{POST_LIST}:{line_of(template, 'post.author.pk')}", render, "Post.author", 'select_related("author")'),
        ("added", "blog_tag", f"{POST_LIST}:{line_of(template, 'post.tags.all')}", render, "Post.tags", 'prefetch_related("tags")'),
        ("rewritten", "blog_post", f"{POST_LIST}:{line_of(template, '{% for post in posts %}')}", render, None, None),
        # the prefetch, gone: the baseline's group, where its code was before the comment line
        ("removed", "blog_tag", f"{POST_LIST}:{line_of(template, '{% for post in posts %}')}", rendered_before, None, None),
    }

    comment = subprocess.run(
        [sys.executable, "-m", "perfbudget", "report", str(head), "--baseline", str(base), "--format", "markdown"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    author_line = line_of(template, "post.author.pk")
    assert f"(N+1) at `{POST_LIST}:{author_line}` (view `{render}`), new, in " in comment
    assert 'N+1 on `Post.author`: add `select_related("author")` to the queryset the loop iterates' in comment
    assert 'N+1 on `Post.tags`: add `prefetch_related("tags")` to the queryset the loop iterates' in comment
    check_example_goldens(project, head, base, "example-diff")


def check_example_goldens(project: Path, head: Path, base: Path, name: str) -> None:
    """What each output says changed, frozen: the comment's and the HTML page's What changed, the terminal's cause lines.

    Counts and call sites only: they are the same on every machine, where the
    times around them are not.
    """

    def cli(*args: str) -> str:
        command = [sys.executable, "-m", "perfbudget", *args]
        done = subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=120, check=False)
        return done.stdout

    comment = cli("report", str(head), "--baseline", str(base), "--format", "markdown")
    start = comment.index("#### What changed")
    check_golden(f"{name}-comment.md", comment[start : comment.index("\n#### ", start + 1)] + "\n")
    terminal = cli("compare", str(head), "--baseline", str(base), "--report-only").splitlines()
    first = terminal.index("perfbudget: what changed:")
    causes = list(takewhile(lambda line: line.startswith("  ") and ", in " in line, terminal[first + 1 :]))
    check_golden(f"{name}-terminal.txt", "\n".join([terminal[first], *causes]) + "\n")
    page = project / "report.html"
    cli("report", str(head), "--baseline", str(base), "--format", "html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    start = html.index('<section class="card" id="what-changed">')
    check_golden(f"{name}-html.html", html[start : html.index("</section>", start) + len("</section>")] + "\n")


def test_an_added_query_above_moved_code_is_the_one_cause(tmp_path: Path) -> None:
    """A count added at the top of the detail view, and author_detail moved above post_list: one cause, the count."""
    project = copy_example(tmp_path / "example")
    base, head = tmp_path / "base.ndjson.gz", tmp_path / "head.ndjson.gz"
    record(project, base)
    views = project / "blog" / "views.py"
    text = views.read_text(encoding="utf-8")
    start, end = text.index("def author_detail("), text.index("def archive(")
    moved, text = text[start:end], text[:start] + text[end:]
    text = text.replace("def post_list(", moved + "def post_list(")
    text = text.replace(
        '    post = get_object_or_404(Post.objects.select_related("author"), pk=pk)\n',
        '    authors = Author.objects.count()  # for the byline\n    post = get_object_or_404(Post.objects.select_related("author"), pk=pk)\n',
    )
    views.write_text(text.replace('"post": post,', '"post": post,\n        "authors": authors,'), encoding="utf-8")
    record(project, head)

    run, baseline = load_run(head), load_run(base)
    subjects = [("test", t.node_id) for t in run.tests] + [("url", u.key) for u in run.urls]
    [cause] = query_causes(run, baseline, subjects)
    assert (cause.change, cause.table, cause.group.location) == (
        "added",
        "blog_author",
        f"blog/views.py:{line_of(views, 'authors = Author')}",
    )
    check_example_goldens(project, head, base, "example-added-count")
