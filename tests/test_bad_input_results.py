"""Bad results files, as a table: each is one ResultsError naming the file and the field or line (issue 8).

Before, NaN, wrong types and NUL bytes read silently as values, and deep
nesting and huge integers escaped as tracebacks. Each bad value below is put
in each kind of field of a schema-2 line and of a schema-1 document; the
reader must answer with one line naming the file and the field, or the line
when the value cannot even be parsed. The command line and the baseline
loader must pass that message on without a traceback.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from perfbudget import cli
from perfbudget.compare.baseline import load_baseline
from perfbudget.run.decode import ResultsError
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run
from tests.support.compare import record, run_of

BAD_VALUES: dict[str, str] = {
    "wrong type": "[true]",  # wrong for every field, a marker's limit included
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e999": "1e999",  # json parses it as inf
    "huge integer": "9" * 5000,  # more digits than int() converts
    "above 2**63": str(2**63),
    "deep nesting": "[" * 100_000 + "]" * 100_000,  # RecursionError in json
    "raw NUL": '"a\x00b"',
    "escaped NUL": '"a\\u0000b"',
    "lone surrogate": '"a\\ud800b"',  # decodes, but no file or terminal can print it
}
# The parser refuses these before any field is known: the message names the line.
UNPARSABLE = {"deep nesting", "raw NUL"}


@dataclass(frozen=True)
class Field:
    """A field a bad value goes into: its good value, and how the reader names it in a schema-2 line."""

    good: str
    name: str

    @property
    def name_v1(self) -> str:
        """Schema 1 keeps tests and URLs in lists: ``test.line`` is ``tests[0].line`` there."""
        record_type, _, rest = self.name.partition(".")
        return {"test": f"tests[0].{rest}", "url": f"urls[0].{rest}"}.get(record_type, self.name) if rest else self.name


FIELDS: dict[str, Field] = {
    "project": Field('"demo"', "project"),
    "environment": Field('{"python": "3.11"}', "environment"),
    "interrupted": Field("false", "interrupted"),
    "node_id": Field('"tests/test_a.py::test_one"', "test.node_id"),
    "line": Field("3", "test.line"),
    "metric": Field("2", "test.metrics.queries"),
    "call_metrics": Field('{"queries": 1}', "test.call_metrics"),
    "sample": Field("1.5", "test.samples.duration"),
    "count": Field("1", "test.details.signals.post_save"),
    "requests": Field('[{"method": "GET", "path": "/", "status": 200}]', "test.requests"),
    "marker": Field("3", "test.budget_marker.queries"),
    "hits": Field("1", "url.hits"),
    "url_tests": Field('["tests/test_a.py::test_one"]', "url.tests"),
}

_TEST = (
    '"node_id": $node_id, "line": $line, "metrics": {"queries": $metric}, "call_metrics": $call_metrics, '
    '"samples": {"duration": [$sample]}, "details": {"signals": {"post_save": $count}}, "requests": $requests, '
    '"budget_marker": {"queries": $marker}'
)
_URL = '"method": "GET", "route": "/", "hits": $hits, "tests": $url_tests'
V2 = Template(
    '{"type": "run", "schema_version": 2, "project": $project, "environment": $environment}\n'
    f'{{"type": "test", {_TEST}}}\n'
    f'{{"type": "url", {_URL}}}\n'
    '{"type": "end", "interrupted": $interrupted}\n'
)
# One field a line, as perfbudget 0.1 laid it out, so a line number points at one field.
V1 = Template(
    '{"schema_version": 1,\n"project": $project,\n"environment": $environment,\n"interrupted": $interrupted,\n'
    '"tests": [{\n' + _TEST.replace(", ", ",\n") + "\n}],\n"
    '"urls": [{\n' + _URL.replace(", ", ",\n") + "\n}]}\n"
)
LAYOUTS = {"v2": (V2, "results.ndjson"), "v1": (V1, "results.json")}


@dataclass(frozen=True)
class BadFile:
    path: Path
    line: int  # where the bad value is
    names: str  # what the message must name: the field, or the line when it cannot be parsed


def bad_file(directory: Path, layout: str, field: str, value: str) -> BadFile:
    """Write ``value`` into ``field`` of a file of ``layout`` in ``directory``."""
    template, name = LAYOUTS[layout]
    text = template.substitute({key: item.good for key, item in FIELDS.items()} | {field: "\x01"})
    line = text[: text.index("\x01")].count("\n") + 1
    path = directory / name
    path.write_bytes(text.replace("\x01", BAD_VALUES[value]).encode("utf-8"))
    if value in UNPARSABLE:
        return BadFile(path, line, f"{path}:{line}:")
    return BadFile(path, line, FIELDS[field].name if layout == "v2" else FIELDS[field].name_v1)


def refusal(path: Path, allow_partial: bool = True) -> str:
    """The one-line message reading ``path`` fails with; any other exception than ResultsError fails the test."""
    with pytest.raises(ResultsError) as info:
        load_run(path, allow_partial=allow_partial)
    message = str(info.value)
    assert "\n" not in message and "\x00" not in message, message
    assert message.startswith(str(path)), message
    return message


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_bad_value_in_any_field_is_one_error_naming_it(tmp_path: Path, layout: str, field: str, value: str) -> None:
    bad = bad_file(tmp_path, layout, field, value)
    message = refusal(bad.path)
    assert bad.names in message, message
    if layout == "v2":  # every record is a line: the line is always known
        assert message.startswith(f"{bad.path}:{bad.line}: "), message


def _good_lines(tmp_path: Path) -> list[bytes]:
    """A valid schema-2 file's lines: the header, one test, the end line."""
    path = write_run(run_of(record(queries=2)), tmp_path / "good.ndjson")
    return path.read_bytes().splitlines(keepends=True)


def _stream(tmp_path: Path, lines: list[bytes], name: str = "results.ndjson") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def _gzip(tmp_path: Path, cut: int) -> Path:
    """A gzip results file without its last ``cut`` bytes (a gzip trailer is 8)."""
    data = gzip.compress(b"".join(_good_lines(tmp_path)), mtime=0)
    path = tmp_path / "results.ndjson.gz"
    path.write_bytes(data[:-cut])
    return path


@pytest.mark.parametrize(
    ("build", "allow_partial", "names"),
    [
        pytest.param(
            lambda t, lines: _stream(t, lines[1:]),
            True,
            ":1: malformed results file: type: not a perfbudget results file",
            id="missing header",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], b'{"type": "bogus"}\n', *lines[1:]]),
            True,
            ":2: malformed results file: type: unknown record type 'bogus'",
            id="unknown record type",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [*lines, lines[1]]),
            True,
            ":4: malformed results file: type: a record after the end line",
            id="line after the end line",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], *lines]),
            True,
            ":2: malformed results file: type: a second header line",
            id="second header",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], b"[1]\n", *lines[1:]]),
            True,
            ":2: malformed results file: line: expected an object",
            id="a line not an object",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], lines[1].replace(b'"queries"', b'"que\\u0000ries"'), *lines[2:]]),
            True,
            ":2: malformed results file: test.metrics: contains a NUL byte",
            id="NUL in a key",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], lines[1].replace(b'"queries":2', b'"queries":NaN')]),
            True,
            ":2: malformed results file: test.metrics.queries: NaN",
            id="last line complete but bad",
        ),
        pytest.param(
            lambda t, lines: _stream(t, [lines[0], b"\xff\xfe\n", *lines[1:]]), True, ":2: corrupt results file (not UTF-8", id="not UTF-8"
        ),
        pytest.param(lambda t, lines: _gzip(t, 40), False, ":2: corrupt results file (compressed stream cut short)", id="gzip cut short"),
        pytest.param(
            lambda t, lines: _gzip(t, 8), True, ":4: corrupt results file (compressed stream cut short)", id="gzip without its trailer"
        ),
        pytest.param(
            lambda t, lines: _stream(t, [b"\x1f\x8b garbage\n"], "results.ndjson.gz"),
            True,
            ":1: corrupt results file (compressed stream cut short)",
            id="gzip garbage",
        ),
    ],
)
def test_a_bad_stream_is_one_error_naming_the_line(
    tmp_path: Path, build: Callable[[Path, list[bytes]], Path], allow_partial: bool, names: str
) -> None:
    path = build(tmp_path, _good_lines(tmp_path))
    assert names in refusal(path, allow_partial)


@pytest.mark.parametrize(("field", "value"), [("metric", "NaN"), ("node_id", "deep nesting"), ("requests", "huge integer")])
@pytest.mark.parametrize("command", ["show", "compare"])
def test_the_cli_prints_the_message_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, field: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no perfbudget.yaml here: compare judges on no budgets
    bad = bad_file(tmp_path, "v2", field, value)
    assert cli.main([command, str(bad.path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"perfbudget {command}: {bad.path}:2: ") and bad.names in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("layout", "field", "value"), [("v2", "metric", "NaN"), ("v1", "sample", "1e999"), ("v1", "node_id", "deep nesting")]
)
def test_a_bad_baseline_is_a_warning_and_the_run_is_judged_on_budgets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], layout: str, field: str, value: str
) -> None:
    (tmp_path / "base").mkdir()
    bad = bad_file(tmp_path / "base", layout, field, value)
    loaded = load_baseline(bad.path)
    assert loaded.baseline is None
    assert loaded.warnings[0].startswith(f"baseline ignored: {bad.path}") and bad.names in loaded.warnings[0]
    assert loaded.warnings[-1] == "no usable baseline; compared with budgets only"

    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_text("defaults:\n  tests:\n    queries: 1\n", encoding="utf-8")
    head = write_run(run_of(record(queries=2)), tmp_path / "head.ndjson")
    assert cli.main(["compare", str(head), "--baseline", str(bad.path), "--format", "json"]) == 1  # over budget
    out = capsys.readouterr().out
    assert "baseline ignored" in out and "compared with budgets only" in out and "over_budget" in out


@pytest.mark.parametrize(
    ("test_line", "message"),
    [
        ('"metrics":{"queries":-5}', ":2: malformed results file: test.metrics.queries: -5 is negative; no metric is"),
        ('"metrics":{"duration":-0.5}', ":2: malformed results file: test.metrics.duration: -0.5 is negative"),
        (
            '"outcome":"banana","metrics":{}',
            ":2: malformed results file: test.outcome: expected one of error, failed, passed, skipped, xfailed, xpassed, got 'banana'",
        ),
        ('"outcome":["passed"],"metrics":{}', ":2: malformed results file: test.outcome: expected one of"),
    ],
    ids=["negative count", "negative time", "unknown outcome", "outcome not a string"],
)
def test_values_no_recording_could_have_made_are_refused(tmp_path: Path, test_line: str, message: str) -> None:
    path = tmp_path / "results.ndjson"
    path.write_text('{"type":"run","schema_version":2}\n{"type":"test","node_id":"t.py::a",' + test_line + '}\n{"type":"end"}\n')
    for details in (True, False):
        with pytest.raises(ResultsError) as caught:
            load_run(path, details=details)
        assert message in str(caught.value) and "\n" not in str(caught.value)
