"""Hostile text in test ids, SQL, call sites, URLs, hosts and branch names, through every renderer (issue 19).

Each case of ``HOSTILE`` is put in every field a run shows at once: the test's
file and name, the SQL's table and column, the call site, the database alias,
the URL's route and view, an outside host and URL, both runs' branch, and a
budget rule's pattern (a "matches nothing" warning). The runs go through the
real CLI on real files (``show``, ``compare``, every ``report`` format) and
the action's judging step (job summary, annotations, its log line).

What a terminal or a CI log gets (``LOG``) must hold no raw control
character (ESC, C1, bidi overrides, ``\\r``, ``\\b``...): only the line
breaks between perfbudget's own lines, exactly as many as for a harmless
name, each line bounded in length. Machine outputs (JSON) keep the text
exactly; Markdown and HTML stay bounded and inert. Text the results reader
refuses (NUL, a lone surrogate) is one line naming the file, exit 3. The
renderers, fed the same text in memory, escape those too.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.budgets import parse_budgets
from perfbudget.compare.baseline import Baseline
from perfbudget.compare.engine import compare
from perfbudget.report.annotations import render_annotations
from perfbudget.report.escape import MAX_LINE, visible_controls
from perfbudget.report.summary import render_run_summary
from perfbudget.report.terminal import render_comparison
from perfbudget.run.model import Details, NetworkCall, Run, SqlGroup, TestRecord, UrlSummary
from perfbudget.run.write import write_run

HOSTILE: dict[str, str] = {
    "CSI clear screen": "\x1b[2J\x1b[H",
    "CSI colour": "\x1b[31mred\x1b[0m",
    "OSC window title": "\x1b]0;pwned\x07",
    "OSC 8 hyperlink": "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "C1 CSI": "\x9b2J",
    "C1 OSC and ST": "\x9d0;title\x9c",
    "carriage return overwrite": "ok\rFAKE",
    "backspace": "abc\x08\x08\x08xyz",
    "DEL": "a\x7fb",
    "bell": "ding\x07",
    "line break forging a verdict": "a\nperfbudget: 0 regressions, 0 over budget, 1 ok",
    "CRLF": "a\r\nb",
    "tab": "a\tb",
    "vertical tab and form feed": "a\x0b\x0cb",
    "NEL": "a\x85b",
    "line and paragraph separators": "a\u2028b\u2029c",
    "RTL override": "\u202eyp.live",
    "bidi embeddings and isolates": "\u202aa\u202b\u202c\u2066b\u2067\u2068\u2069",
    "bidi marks": "\u200fa\u200eb\u061c",
    "workflow command": "x\n::error title=forged::pwned",
    "percent-encoded command": "%0A::error::forged%25",
    "property separators": "a:b,c=d",
    "Markdown": "**bold** _it_ [link](http://evil.example) ![img](http://evil.example/x.png) | cell | `code`",
    "HTML": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "comment marker": "<!-- perfbudget:marker -->",
    "mentions and references": "@org/team #12 GH-3 owner/repo#4",
    "emoji and combining": "\U0001f4a5 e\u0301 \U0001f469\u200d\U0001f4bb",
    "100,000 characters": "x" * 100_000,
    "20,000 escape sequences": "\x1b[2J" * 20_000,
}
# The results reader refuses these (no file or terminal can hold them): one line naming the file and field.
UNREADABLE: dict[str, tuple[str, str]] = {
    "NUL": ("a\x00b", "contains a NUL byte"),
    "lone surrogate": ("a\ud800b", "not valid Unicode"),
}
HARMLESS = "plain"

# Independent of perfbudget's own list: what a terminal or log viewer acts on, or cannot print.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


@dataclass(frozen=True)
class Renderer:
    args: tuple[str, ...]  # {head} {base} {budgets} {out} are filled in
    exit_code: int
    kind: str  # "log": terminal or CI log; "json", "markdown", "html": a file or a machine


JUDGING = ("{head}", "--baseline", "{base}", "--budgets", "{budgets}")
RENDERERS: dict[str, Renderer] = {
    "show": Renderer(("show", "{head}"), 0, "log"),
    "compare": Renderer(("compare", *JUDGING), 1, "log"),
    "report terminal": Renderer(("report", *JUDGING, "--format", "terminal"), 0, "log"),
    "report annotations": Renderer(("report", *JUDGING, "--format", "annotations"), 0, "log"),
    "compare json": Renderer(("compare", *JUDGING, "--format", "json"), 1, "json"),
    "report json": Renderer(("report", *JUDGING, "--format", "json"), 0, "json"),
    "report markdown": Renderer(("report", *JUDGING, "--format", "markdown", "--max-chars", "65536"), 0, "markdown"),
    "report html": Renderer(("report", *JUDGING, "--format", "html", "-o", "{out}"), 0, "html"),
}


def _node_id(text: str) -> str:
    return f"tests/test_{text}.py::test_{text}"


def _run(text: str, queries: int, branch: str) -> Run:
    """One test and one URL; every field a report shows holds ``text``."""
    node_id = _node_id(text)
    group = SqlGroup(
        sql=f'SELECT "col{text}" FROM "t{text}" WHERE id = %s',
        kind="select",
        database=f"db{text}",
        count=queries,
        time_ms=1.0,
        location=f"app/{text}.py:3",
        n_plus_one=queries >= 3,
    )
    call = NetworkCall(host=f"h{text}.example", port=443, loopback=False, method="GET", url=f"https://e.example/{text}")
    test = TestRecord(
        node_id=node_id,
        file=f"tests/test_{text}.py",
        line=3,
        outcome="passed",
        metrics={"queries": queries, "n_plus_one": float(queries >= 3), "external_network_calls": 1.0, "duration": 5.0},
        details=Details(sql_groups=[group], network_calls=[call]),
    )
    url = UrlSummary(method="GET", route=f"/{text}/", view_name=f"view{text}", hits=1, metrics={"queries": queries}, tests=[node_id])
    return Run(project="demo", commit=("b" if queries > 1 else "a") * 40, branch=f"{branch}{text}", tests=[test], urls=[url])


def _files(directory: Path, text: str, placeholder: str | None = None) -> dict[str, str]:
    """The head and base results files and a budget file; ``placeholder`` is replaced by ``text`` as JSON escapes."""
    directory.mkdir(parents=True, exist_ok=True)
    written = placeholder or text
    head, base = directory / "head.ndjson", directory / "base.ndjson"
    write_run(_run(written, 5, "pr"), head)
    write_run(_run(written, 1, "main"), base)
    if placeholder is not None:  # text write_run cannot write (a lone surrogate), escaped as a hostile file has it
        escaped = json.dumps(text)[1:-1]
        for path in (head, base):
            path.write_text(path.read_text(encoding="utf-8").replace(placeholder, escaped), encoding="utf-8")
    budgets = directory / "perfbudget.yaml"
    pattern = _yaml_string(("" if placeholder else text) + "-no-such-test")  # it matches nothing: it comes back in a warning
    budgets.write_text(f"defaults:\n  tests:\n    queries: 2\ntests:\n  - match: {pattern}\n    queries: 1\n", encoding="utf-8")
    return {"head": str(head), "base": str(base), "budgets": str(budgets), "out": str(directory / "report.html")}


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, plus DEL and C1, which YAML does not take raw."""
    return re.sub("[\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", json.dumps(text, ensure_ascii=False))


def _cli(renderer: Renderer, files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([arg.format(**files) for arg in renderer.args])
    out, err = capsys.readouterr()
    return code, out, err


def _strings(data: object) -> set[str]:
    if isinstance(data, dict):
        return set(data).union(*map(_strings, data.values()))
    if isinstance(data, list):
        return set().union(*map(_strings, data))
    return {data} if isinstance(data, str) else set()


def _assert_safe_lines(output: str, width: int = MAX_LINE) -> None:
    """Only perfbudget's own line breaks; no raw control character; bounded lines."""
    assert not UNSAFE.findall(output), sorted(set(UNSAFE.findall(output)))
    assert max((len(line) for line in output.split("\n")), default=0) <= width
    assert "Traceback" not in output


# An annotation is one log line with a file, a title and a few lines of message, each bounded.
ANNOTATION_WIDTH = 5 * MAX_LINE


@pytest.mark.parametrize("renderer", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_through_every_renderer(text: str, renderer: Renderer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(renderer, _files(tmp_path / "hostile", text), capsys)
    plain_code, plain_out, plain_err = _cli(renderer, _files(tmp_path / "plain", HARMLESS), capsys)
    assert (code, err) == (plain_code, plain_err.replace(str(tmp_path / "plain"), str(tmp_path / "hostile"))) == (renderer.exit_code, "")
    assert "Traceback" not in out
    if renderer.kind == "log":
        _assert_safe_lines(out, ANNOTATION_WIDTH if "annotations" in renderer.args else MAX_LINE)
        assert out.count("\n") == plain_out.count("\n")  # no line forged, none lost
        if len(text) < 100 and "annotations" not in renderer.args:  # shown, as escapes, not dropped
            assert visible_controls(_node_id(text)) in out
    elif renderer.kind == "json":
        assert _node_id(text) in _strings(json.loads(out))  # one document, the ids kept exactly
        assert len(out) <= 64 * len(text) + 50_000  # in proportion: JSON keeps every mention, as \u001b at worst
    elif renderer.kind == "markdown":
        assert len(out) <= 65_536
        assert not UNSAFE.findall(out)  # code spans show them as escapes, free text as spaces
    else:
        html = Path(files_out := str(tmp_path / "hostile" / "report.html")).read_text(encoding="utf-8")
        assert out == f"Wrote html report to {files_out}\n"
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert len(html) <= 64 * len(text) + 2_000_000


@pytest.mark.parametrize("renderer", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize(("text", "message"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_text_no_file_may_hold_is_one_line_naming_the_file(
    text: str, message: str, renderer: Renderer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path, text, placeholder="PLACEHOLDER")
    code, out, err = _cli(renderer, files, capsys)
    assert code == 3 and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"perfbudget {renderer.args[0]}: {files['head']}:") and message in line
    _assert_safe_lines(err)


@pytest.mark.parametrize("text", [*HOSTILE.values(), *(text for text, _ in UNREADABLE.values())], ids=[*HOSTILE, *UNREADABLE])
def test_the_renderers_escape_what_no_file_could_hold_too(text: str, tmp_path: Path) -> None:
    """In memory, as the plugin and the runner render, NUL and lone surrogates are shown as escapes too."""
    head = _run(text, 5, "pr")
    budgets = parse_budgets("defaults:\n  tests:\n    queries: 2\n", "perfbudget.yaml")
    comparison = compare(head, budgets, Baseline([_run(text, 1, "main")], "base.ndjson"), [f"a warning about {text}"])
    (tmp_path / "app").mkdir()
    with contextlib.suppress(OSError, ValueError):  # the call site's file, so it is annotated, where it can exist
        (tmp_path / "app" / f"{text}.py").write_text("")
    for output, width in (
        ("\n".join(render_comparison(comparison, show_improved=True)), MAX_LINE),
        (render_run_summary(head, top=None), MAX_LINE),
        ("\n".join(render_annotations(comparison, root=tmp_path)), ANNOTATION_WIDTH),
    ):
        _assert_safe_lines(output, width)
        output.encode("utf-8")  # printable on any UTF-8 terminal or log


def _judge_in_the_action(
    directory: Path, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str, str, bool]:
    """The action's judging step in ``directory``: its annotations (stdout), its log (stderr), the job summary, and
    whether the call site's file could be made (a name with ``/`` or of 100,000 characters cannot)."""
    from perfbudget.github.action import main

    files = _files(directory, text)
    (directory / "app").mkdir()
    call_site = False
    with contextlib.suppress(OSError, ValueError):  # the call site's file, so the query is annotated there too
        (directory / "app" / f"{text}.py").write_text("", encoding="utf-8")
        call_site = (directory / "app" / f"{text}.py").is_file()
    for key in ("GITHUB_EVENT_PATH", "GITHUB_BASE_REF"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(directory / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(directory / "output"))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    monkeypatch.chdir(directory)
    args = ["--results", files["head"], "--build-dir", str(directory / "build"), "--baseline", files["base"], "--budgets", files["budgets"]]
    assert main(args) == 0
    out, err = capsys.readouterr()
    return out, err, (directory / "summary.md").read_text(encoding="utf-8"), call_site


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_in_the_actions_annotations_log_and_job_summary(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err, summary, call_site = _judge_in_the_action(tmp_path / "hostile", text, monkeypatch, capsys)
    plain_out, plain_err, _, _ = _judge_in_the_action(tmp_path / "plain", HARMLESS, monkeypatch, capsys)
    _assert_safe_lines(out, ANNOTATION_WIDTH)
    _assert_safe_lines(err)
    assert err.count("\n") == plain_err.count("\n")  # nothing forged
    assert out.count("\n") == plain_out.count("\n") - (not call_site)  # the call site's annotation needs its file
    assert out.startswith("::warning file=app/") == call_site
    assert len(summary.encode("utf-8")) <= 1024 * 1024 and not UNSAFE.findall(summary)
