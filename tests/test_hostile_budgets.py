"""Hostile budget files, as tables, through the real CLI: one line naming file:line and key, exit 2, no traceback (issue 19).

``tests/test_bad_input_budgets.py`` has the first corpus (NaN, deep nesting,
NUL bytes, tags); this one adds what the red team found and its neighbours:
malformed YAML, duplicate keys at every level, alias bombs, huge numbers in
every numeric field in both layouts, unknown names, wrong types at every
level, encodings and line endings, and files that are no small text file
(a directory, a FIFO, a symlink loop, a device, 1 MiB and more). Before,
a 1.1 MB file of 12,000 rules took 51 s and printed a line per rule, a 10 MB
one never finished, a FIFO named perfbudget.yaml hung the run, a directory
of that name silently meant "no budgets", and a non-UTF-8 file named no line.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import resource
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.budgets import parse_budgets
from perfbudget.budgets.index import GlobIndex
from perfbudget.budgets.source import MAX_BYTES
from perfbudget.compare import compare
from perfbudget.run.write import write_run
from tests.support import REPO_ROOT
from tests.support.compare import record, run_of, url

BIG = {"309 digits": "9" * 309, "310 digits": "9" * 310, "4300 digits": "9" * 4300, "4301 digits": "9" * 4301}
BIG |= {"-310 digits": "-" + "9" * 310, "-4301 digits": "-" + "9" * 4301, "1e309 float": "1.0e+309", "-1e309 float": "-1.0e+309"}
BIG |= {"1e309 text": "1e309", "quoted 400 digits": "'" + "9" * 400 + "'", "400 digits in ms": "'" + "9" * 400 + "ms'"}
# Every numeric field, written as a block and as a flow mapping: (text with {v}, line of the value, key the message names).
NUMERIC_FIELDS = {
    "defaults.tests": [
        ("defaults:\n  tests:\n    queries: {v}\n", 3, "queries"),
        ("defaults: {{tests: {{queries: {v}}}}}\n", 1, "queries"),
    ],
    "defaults.urls": [
        ("defaults:\n  urls:\n    duration: {v}\n", 3, "duration"),
        ("defaults: {{urls: {{duration: {v}}}}}\n", 1, "duration"),
    ],
    "tests rule": [("tests:\n  - match: a\n    queries: {v}\n", 3, "queries"), ("tests: [{{match: a, queries: {v}}}]\n", 1, "queries")],
    "urls rule": [
        ("urls:\n  - match: /a\n    response_size: {v}\n", 3, "response_size"),
        ("urls: [{{match: /a, response_size: {v}}}]\n", 1, "response_size"),
    ],
    "max_increase": [
        ("regression:\n  queries:\n    max_increase: {v}\n", 3, "regression.queries.max_increase"),
        ("regression: {{queries: {{max_increase: {v}}}}}\n", 1, "regression.queries.max_increase"),
    ],
    "floor": [
        ("regression:\n  time:\n    floor: {v}\n", 3, "regression.time.floor"),
        ("regression: {{time: {{floor: {v}}}}}\n", 1, "floor"),
    ],
    "relative": [
        ("regression:\n  bytes:\n    relative: {v}\n", 3, "regression.bytes.relative"),
        ("regression: {{bytes: {{relative: {v}}}}}\n", 1, "regression.bytes.relative"),
    ],
    "n_plus_one_threshold": [
        ("sql:\n  n_plus_one_threshold: {v}\n", 2, "sql.n_plus_one_threshold"),
        ("sql: {{n_plus_one_threshold: {v}}}\n", 1, "sql.n_plus_one_threshold"),
    ],
    "accept limit": [
        ("accept:\n  - match: a\n    metric: queries\n    reason: r\n    limit: {v}\n", 5, "accept[1].limit"),
        ("accept: [{{match: a, metric: queries, reason: r, limit: {v}}}]\n", 1, "accept[1].limit"),
    ],
    "accept change": [
        ("accept:\n  - match: a\n    metric: duration\n    reason: r\n    change: {v}\n", 5, "accept[1].change"),
        ("accept: [{{match: a, metric: duration, reason: r, change: {v}}}]\n", 1, "accept[1].change"),
    ],
    "version": [("version: {v}\n", 1, "version"), ("{{version: {v}}}\n", 1, "version")],
}
HUGE_NUMBERS = [
    pytest.param(layout.format(v=value), line, key, id=f"{field} {'block' if n == 0 else 'flow'} {name}")
    for field, layouts in NUMERIC_FIELDS.items()
    for n, (layout, line, key) in enumerate(layouts)
    for name, value in BIG.items()
]
NEGATIVE_AND_NAN = [
    pytest.param(layouts[0][0].format(v=value), layouts[0][1], layouts[0][2], id=f"{field} {name}")
    for field, layouts in NUMERIC_FIELDS.items()
    for name, value in {"-1": "-1", "NaN": ".nan", "inf": ".inf", "-0.5": "-0.5"}.items()
]
MALFORMED = [
    pytest.param("defaults:\n\ttests:\n    queries: 1\n", 2, "malformed YAML", id="tab indent"),
    pytest.param("tests:\n  - match: a\n\t  queries: 1\n", 3, "malformed YAML", id="tab inside a rule"),
    pytest.param('tests:\n  - match: "a\n    queries: 1\n', 4, "while scanning a quoted scalar at line 2", id="unclosed quote"),
    pytest.param("ignore: [a, b\nversion: 1\n", 2, "malformed YAML", id="unclosed list"),
    pytest.param("defaults: {tests: {queries: 1}\n", 2, "while parsing a flow mapping at line 1", id="unclosed mapping"),
    pytest.param("tests:\n  - match: a\n   queries: 1\n", 3, "malformed YAML", id="bad indent"),
    pytest.param("version: 1\n---\nversion: 1\n", 2, "malformed YAML", id="two documents"),
    pytest.param("ignore: [*nothing]\n", 1, "found undefined alias", id="undefined alias"),
    pytest.param("version: 1\n%YAML 1.1\n", 3, "malformed YAML", id="directive mid-file"),
    pytest.param("tests:\n  - match: 'a\n", 3, "malformed YAML", id="unclosed single quote at the end"),
]
DUPLICATES = [
    pytest.param("version: 1\nversion: 1\n", 2, "top level: key 'version' appears twice", id="top level"),
    pytest.param("defaults:\n  tests: {}\n  tests: {}\n", 3, "defaults: key 'tests' appears twice", id="defaults"),
    pytest.param(
        "defaults:\n  urls:\n    queries: 1\n    queries: 2\n", 4, "defaults.urls: key 'queries' appears twice", id="defaults.urls"
    ),
    pytest.param("urls:\n  - {match: /a, method: GET, method: POST}\n", 2, "urls[1]: key 'method' appears twice", id="urls rule"),
    pytest.param("tests:\n  - {match: a, match: b}\n", 2, "tests[1]: key 'match' appears twice", id="tests rule match"),
    pytest.param("regression:\n  time: {relative: 1%}\n  time: false\n", 3, "regression: key 'time' appears twice", id="regression"),
    pytest.param("regression:\n  time: {relative: 1%, relative: 2%}\n", 2, "regression.time: key 'relative' appears", id="regression.time"),
    pytest.param("sql: {n_plus_one_threshold: 3, n_plus_one_threshold: 4}\n", 1, "sql: key 'n_plus_one_threshold'", id="sql"),
    pytest.param("accept:\n  - {match: a, metric: queries, reason: r, reason: s}\n", 2, "accept[1]: key 'reason' appears", id="accept"),
]
# Anchors and aliases: the loader walks a fixed depth and refuses a list where a value belongs, so no bomb expands.
_LAUGHS = "".join(f"  - &l{n} [{', '.join([f'*l{n - 1}' if n else 'lol'] * 9)}]\n" for n in range(10))
ALIASES = [
    pytest.param("ignore:\n" + _LAUGHS, 2, "ignore: expected a single value, got a list", id="billion laughs under ignore"),
    pytest.param("accept:\n" + _LAUGHS, 2, "accept[1]: expected a mapping", id="billion laughs under accept"),
    pytest.param("tests:\n" + _LAUGHS, 2, "tests[1]: expected a mapping", id="billion laughs under tests"),
    # An alias is named where its anchor is: the node it points to is the one written there.
    pytest.param(
        "ignore: [&a [x]]\ntests:\n  - {match: a, queries: *a}\n", 1, "tests[1].queries: expected a single", id="list alias as a limit"
    ),
    pytest.param("defaults: &d {tests: *d}\n", 1, "defaults.tests.tests: expected a single value", id="recursive mapping alias"),
    pytest.param("tests: &t [*t]\n", 1, "tests[1]: expected a mapping", id="recursive list alias"),
    pytest.param("accept: &a [*a]\n", 1, "accept[1]: expected a mapping", id="recursive accept alias"),
    pytest.param("tests:\n  - &r {match: a, queries: 1, x: *r}\n", 2, "tests[1].x: expected a single value", id="rule holding itself"),
    pytest.param("ignore: [&k a]\ndefaults: {tests: {*k : 1}}\n", 1, "defaults.tests: unknown key 'a'", id="alias as a key"),
]
TAGS = [
    pytest.param("tests:\n  - match: !!python/object/apply:os.system [echo]\n", 2, "'!!python/object/apply:os.system'", id="object/apply"),
    pytest.param("defaults: !!python/object/new:dict {}\n", 1, "'!!python/object/new:dict'", id="object/new"),
    pytest.param("version: !!python/module:os 1\n", 1, "'!!python/module:os'", id="module"),
    pytest.param("accept:\n  - !!omap [{match: a}]\n", 2, "'!!omap'", id="!!omap"),
    pytest.param("ignore: !!pairs [[a, b]]\n", 1, "'!!pairs'", id="!!pairs"),
    pytest.param("accept:\n  - {match: a, metric: queries, reason: !!binary aGk=}\n", 2, "'!!binary'", id="!!binary reason"),
    pytest.param("tests:\n  - {match: a, queries: !<tag:example.com,2000:x> 1}\n", 2, "tag:example.com", id="verbatim tag"),
]
UNKNOWN = [
    pytest.param("defaults:\n  tests:\n    querys: 1\n", 3, "unknown key 'querys'; did you mean 'queries'?", id="metric in defaults"),
    pytest.param(
        "urls:\n  - match: /a\n    duraton: 1s\n", 3, "unknown key 'duraton'; did you mean 'duration'?", id="metric in a urls rule"
    ),
    pytest.param("regression:\n  cpu_tme: false\n", 2, "unknown key 'cpu_tme'", id="metric in regression"),
    pytest.param(
        "accept:\n  - {match: a, metric: queris, reason: r}\n", 2, "unknown metric 'queris'; did you mean 'queries'?", id="accept metric"
    ),
    pytest.param("accept:\n  - {match: a, metric: benchmrk.*, reason: r}\n", 2, "'benchmrk.*' matches no metric", id="accept metric glob"),
    pytest.param("defaults:\n  test: {}\n", 2, "defaults: unknown key 'test'; did you mean 'tests'?", id="key in defaults"),
    pytest.param("sql:\n  threshold: 3\n", 2, "sql: unknown key 'threshold'", id="key in sql"),
    pytest.param(
        "regression:\n  time: {floors: 1ms}\n", 2, "regression.time: unknown key 'floors'; did you mean 'floor'?", id="regression key"
    ),
    pytest.param("accept:\n  - {match: a, metric: queries, reason: r, until: 2027-01-01}\n", 2, "unknown key 'until'", id="accept key"),
    pytest.param("urls:\n  - {match: /a, methd: GET}\n", 2, "unknown key 'methd'; did you mean 'method'?", id="urls rule key"),
    pytest.param("acept: []\n", 1, "unknown key 'acept'; did you mean 'accept'?", id="top-level key"),
    pytest.param(f"defaults:\n  tests:\n    ? {'q' * 100_000}\n    : 1\n", 3, "unknown key 'qqqq", id="100,000-character key"),
    pytest.param(
        f"tests:\n  - {{match: a, queries: '{'q' * 100_000}'}}\n", 2, "expected a number or a quantity", id="100,000-character value"
    ),
    pytest.param(
        f"accept:\n  - {{match: a, metric: {'q' * 100_000}, reason: r}}\n", 2, "unknown metric 'qqq", id="100,000-character metric"
    ),
    pytest.param(
        f"urls:\n  - {{match: /a, method: {'G' * 100_000}1}}\n",
        2,
        "expected an HTTP method such as GET, got 'GGG",
        id="100,000-character method",
    ),
]
WRONG_TYPES = [
    pytest.param("- a\n", 1, "top level: expected a mapping of keys, got a list", id="top level list"),
    pytest.param("just text\n", 1, "top level: expected a mapping of keys, got a value", id="top level text"),
    pytest.param("42\n", 1, "top level: expected a mapping", id="top level number"),
    pytest.param("version: '1'\n", 1, "version: '1' is not supported", id="version as text"),
    pytest.param("version: [1]\n", 1, "version: expected a single value", id="version as a list"),
    pytest.param("defaults: 3\n", 1, "defaults: expected a mapping", id="defaults value"),
    pytest.param("defaults:\n  tests: [1]\n", 2, "defaults.tests: expected a mapping", id="defaults.tests list"),
    pytest.param("tests: {match: a}\n", 1, "tests: expected a list, got a mapping", id="tests mapping"),
    pytest.param("tests: [3]\n", 1, "tests[1]: expected a mapping", id="rule a number"),
    pytest.param("tests:\n  - match: 3\n", 2, "tests[1].match: expected a pattern", id="match a number"),
    pytest.param("tests:\n  - match: ''\n", 2, "tests[1].match: expected a pattern", id="match empty"),
    pytest.param("tests:\n  - match: null\n", 2, "tests[1].match: expected a pattern", id="match null"),
    pytest.param("urls:\n  - {match: /a, method: 3}\n", 2, "urls[1].method: expected an HTTP method", id="method a number"),
    pytest.param("regression: [time]\n", 1, "regression: expected a mapping", id="regression list"),
    pytest.param("regression:\n  time: [1]\n", 2, "regression.time: expected a mapping", id="regression.time list"),
    pytest.param(
        "regression:\n  time: true\n", 2, "regression.time: expected a mapping (max_increase, relative) or false", id="regression true"
    ),
    pytest.param("regression:\n  time: {confirm: 'yes'}\n", 2, "regression.time.confirm: expected true or false", id="confirm text"),
    pytest.param("fail_on: 3\n", 1, "fail_on: unknown value 3", id="fail_on number"),
    pytest.param("ignore: {a: 1}\n", 1, "ignore: expected a list", id="ignore mapping"),
    pytest.param("ignore: tests/*\n", 1, "ignore: expected a list", id="ignore text"),
    pytest.param("sql: [1]\n", 1, "sql: expected a mapping", id="sql list"),
    pytest.param("sql:\n  warmup_functions: a.b\n", 2, "sql.warmup_functions: expected a list", id="warmup text"),
    pytest.param("sql:\n  warmup_functions: [3]\n", 2, "sql.warmup_functions[1]: expected a function's dotted path", id="warmup number"),
    pytest.param("sql:\n  n_plus_one_threshold: '3'\n", 2, "sql.n_plus_one_threshold: expected a whole number", id="threshold text"),
    pytest.param("sql:\n  n_plus_one_threshold: 3.5\n", 2, "sql.n_plus_one_threshold: expected a whole number", id="threshold float"),
    pytest.param("sql:\n  n_plus_one_threshold: true\n", 2, "sql.n_plus_one_threshold: expected a whole number", id="threshold bool"),
    pytest.param("accept: {match: a}\n", 1, "accept: expected a list", id="accept mapping"),
    pytest.param("accept: [x]\n", 1, "accept[1]: expected a mapping", id="accept entry text"),
    pytest.param(
        "accept:\n  - {match: [a], metric: queries, reason: r}\n", 2, "accept[1].match: expected a single value", id="accept match list"
    ),
    pytest.param("accept:\n  - {match: a, metric: queries, reason: ' '}\n", 2, "accept[1].reason: expected text", id="accept reason blank"),
    pytest.param(
        "accept:\n  - {match: a, metric: queries, reason: [r]}\n", 2, "accept[1].reason: expected a single", id="accept reason list"
    ),
    pytest.param(
        "accept:\n  - {match: a, metric: queries, reason: r, expires: [1]}\n", 2, "accept[1].expires: expected a single", id="expires list"
    ),
    pytest.param(
        "accept:\n  - {match: a, metric: queries, reason: r, limit: [1]}\n", 2, "accept[1].limit: expected a single", id="limit list"
    ),
    pytest.param(
        "accept:\n  - {match: a, metric: queries, reason: r, limit: true}\n", 2, "accept[1].limit: expected a number", id="limit bool"
    ),
]
ENCODINGS = [
    pytest.param(b"version: 1\n# caf\xe9\ndefaults: {}\n", 2, "2:6: the budget file is not UTF-8 text (byte 0xe9)", id="latin-1 comment"),
    pytest.param(b"tests:\n  - match: \xff\n", 2, "2:12: the budget file is not UTF-8 text (byte 0xff)", id="0xff in a value"),
    pytest.param(b"version: 1\n# \xed\xa0\x80\n", 2, "not UTF-8 text (byte 0xed)", id="encoded surrogate"),
    pytest.param(b"version: 1\n# \xc0\xaf\n", 2, "not UTF-8 text (byte 0xc0)", id="overlong encoding"),
    pytest.param("version: 1\n".encode("utf-16"), None, "the budget file is UTF-16 (or UTF-32) text; save it as UTF-8", id="UTF-16 LE"),
    pytest.param("version: 1\n".encode("utf-16-be"), 1, "malformed YAML", id="UTF-16 BE without BOM"),
    pytest.param(b"\xfe\xff" + "version: 1\n".encode("utf-16-be"), None, "the budget file is UTF-16 text", id="UTF-16 BE"),
    pytest.param("version: 1\n".encode("utf-32"), None, "the budget file is UTF-16 (or UTF-32) text", id="UTF-32"),
    pytest.param(b"tests:\r\n  - match: a\r\n    querys: 1\r\n", 3, "unknown key 'querys'", id="CRLF names the right line"),
    pytest.param(b"tests:\r  - match: a\r    querys: 1\r", 3, "unknown key 'querys'", id="CR names the right line"),
    pytest.param(b"\xef\xbb\xbftests:\n  - match: a\n    querys: 1\n", 3, "unknown key 'querys'", id="BOM names the right line"),
]
BAD_FILES = MALFORMED + DUPLICATES + ALIASES + TAGS + UNKNOWN + WRONG_TYPES + ENCODINGS


def _compare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], budgets: Path, *extra: str) -> tuple[int, str, str]:
    results = write_run(run_of(record("tests/test_a.py::test_one", queries=3, duration=20.0)), tmp_path / "results.ndjson")
    code = cli.main(["compare", str(results), "--budgets", str(budgets), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str, path: Path, line: int | None, fragment: str, command: str = "compare") -> None:
    """The message is one line naming the file (and the line when there is one), with the key or problem."""
    assert err.count("\n") == 1 and "Traceback" not in err, err[:2000]
    where = f"{path}:{line}" if line is not None else f"{path}: "
    assert err.startswith(f"perfbudget {command}: {where}"), err[:500]
    assert fragment in err, err[:500]
    assert len(err) < 1_000, f"{len(err)} characters: {err[:300]}..."


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_FILES + HUGE_NUMBERS + NEGATIVE_AND_NAN)
def test_a_hostile_budget_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, line: int | None, fragment: str
) -> None:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code, out, err = _compare_cli(tmp_path, capsys, path)
    assert (code, out) == (2, ""), err
    _one_line(err, path, line, fragment)


GOOD_FILES = [
    pytest.param(b"\xef\xbb\xbfdefaults: {tests: {queries: 2}}\n", 1, "queries 3 > budget 2", id="BOM"),
    pytest.param(b"defaults:\r\n  tests:\r\n    queries: 2\r\n", 1, "queries 3 > budget 2", id="CRLF"),
    pytest.param(b"defaults:\r  tests:\r    queries: 2\r", 1, "queries 3 > budget 2", id="CR only"),
    pytest.param(b"defaults:\n  tests:\r\n    queries: 2\r", 1, "queries 3 > budget 2", id="mixed line endings"),
    pytest.param(b"\xef\xbb\xbfdefaults:\r\n  tests: {queries: 2}\r\n", 1, "queries 3 > budget 2", id="BOM and CRLF"),
    pytest.param(b"", 0, "the budget file is empty", id="empty"),
    pytest.param(b"\xef\xbb\xbf", 0, "the budget file is empty", id="BOM only"),
    pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfdefaults: {tests: {queries: 2}}\n", 1, "queries 3 > budget 2", id="two BOMs"),
    pytest.param(b"\n\n# nothing\r\n", 0, "the budget file is empty", id="comments only"),
    pytest.param(b"version: 1\n# " + b"x" * (MAX_BYTES - 14) + b"\n", 0, "perfbudget: 0 regressions", id="exactly 1 MiB"),
    pytest.param(
        "tests:\n  - {match: 'tests/tést_*', queries: 1}\n  - {match: 'tests/test_a.py::*', queries: 2}\n".encode(),
        1,
        "queries 3 > budget 2",
        id="non-ASCII pattern",
    ),
    pytest.param(b"accept:\n  - {match: a, metric: queries, reason: r, expires: 9999-12-31}\n", 0, "0 regressions", id="far-future expiry"),
]


@pytest.mark.parametrize(("data", "code", "fragment"), GOOD_FILES)
def test_unusual_but_valid_files_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, code: int, fragment: str
) -> None:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(data)
    assert len(data) <= MAX_BYTES
    got, out, err = _compare_cli(tmp_path, capsys, path)
    assert got == code and fragment in out and "Traceback" not in out + err, out + err


def _symlink_loop(tmp_path: Path) -> Path:
    (tmp_path / "perfbudget.yaml").symlink_to(tmp_path / "other.yaml")
    (tmp_path / "other.yaml").symlink_to(tmp_path / "perfbudget.yaml")
    return tmp_path / "perfbudget.yaml"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "perfbudget.yaml").mkdir()
    return tmp_path / "perfbudget.yaml"


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "perfbudget.yaml").symlink_to(tmp_path / "gone.yaml")
    return tmp_path / "perfbudget.yaml"


def _too_big(tmp_path: Path) -> Path:
    path = tmp_path / "perfbudget.yaml"
    path.write_bytes(b"version: 1\n# " + b"x" * (MAX_BYTES - 13) + b"\n")  # one byte over
    return path


NOT_A_FILE = [
    pytest.param(_directory, "the budget file is a directory, not a file", id="directory"),
    pytest.param(_symlink_loop, "cannot read budget file (Too many levels of symbolic links)", id="symlink loop"),
    pytest.param(_dangling, "budget file not found (a symlink to a file that does not exist)", id="dangling symlink"),
    pytest.param(_too_big, f"the budget file is {MAX_BYTES + 1:,} bytes, more than the 1 MiB perfbudget reads", id="1 MiB and a byte"),
]


@pytest.mark.parametrize(("make", "fragment"), NOT_A_FILE)
@pytest.mark.parametrize("given", ["--budgets", "found in the rootdir"])
def test_what_is_no_budget_file_is_named_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], make, fragment: str, given: str
) -> None:  # type: ignore[no-untyped-def]
    """Found by discovery, a perfbudget.yaml that is no readable file used to mean "no budgets" without a word."""
    path = make(tmp_path)
    monkeypatch.chdir(tmp_path)
    results = write_run(run_of(record(queries=3)), tmp_path / "results.ndjson")
    code = cli.main(["compare", str(results), *(["--budgets", str(path)] if given == "--budgets" else [])])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    _one_line(err, path, None, fragment)


def _run_cli(tmp_path: Path, *args: str, memory: int = 1024**3) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, within ``memory`` bytes of address space and 60 s: a hang or a read-it-all fails."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "perfbudget", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, preexec_fn=limit
    )


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "perfbudget.yaml")
    return tmp_path / "perfbudget.yaml"


def _device(tmp_path: Path) -> Path:
    (tmp_path / "perfbudget.yaml").symlink_to("/dev/zero")  # endless: read whole, it fills the memory
    return tmp_path / "perfbudget.yaml"


def _sparse(tmp_path: Path) -> Path:
    path = tmp_path / "perfbudget.yaml"
    with path.open("wb") as file:
        file.truncate(3 * 1024**3)  # no disk used (removed after the test); read whole, 3 GiB of NULs: over the memory limit
    return path


def _bomb_file(tmp_path: Path) -> Path:
    path = tmp_path / "perfbudget.yaml"
    path.write_text("ignore:\n" + _LAUGHS, encoding="utf-8")
    return path


BOUNDED = [
    pytest.param(_fifo, None, "the budget file is a FIFO (named pipe), not a file", id="FIFO"),
    pytest.param(_device, None, "the budget file is a device, not a file", id="/dev/zero"),
    pytest.param(_sparse, None, "bytes, more than the 1 MiB perfbudget reads", id="3 GiB file"),
    pytest.param(_bomb_file, 2, "ignore: expected a single value, got a list", id="billion laughs"),
]


@pytest.mark.parametrize(("make", "line", "fragment"), BOUNDED)
def test_files_that_could_hang_or_fill_memory_are_refused_in_bounded_time(tmp_path: Path, make, line: int | None, fragment: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    results = write_run(run_of(record(queries=3)), tmp_path / "results.ndjson")
    try:
        done = _run_cli(tmp_path, "compare", str(results))  # found in the rootdir, as the plugin finds it
    finally:
        if path.is_file() and not path.is_symlink():
            path.unlink()  # the sparse file: nothing that copies temporary directories should meet it
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-2000:]
    _one_line(done.stderr, path, line, fragment)


def _generated(rules: int) -> str:
    """A generated budget file: a rule per test, literal ids and globs with a head, a tail or a middle."""
    lines = ["defaults:", "  tests: {queries: 50}", "tests:"]
    shapes = ["tests/test_m{i}.py::test_{i}", "tests/test_m{i}.py::*", "*::test_{i}", "*_m{i}.py::t*"]
    lines += [f"  - {{match: '{shapes[i % 4].format(i=i)}', queries: {i % 40 + 5}}}" for i in range(rules)]
    return "\n".join(lines) + "\n"


def test_many_rules_cost_work_in_proportion_not_rules_times_tests() -> None:
    """Counted, not timed: 2,000 rules x 1,000 tests was 2 million glob matches, twice (issue 19); now a few per test.

    The unused rules (those of tests not in the run) are one warning line.
    """
    budgets = parse_budgets(_generated(2_000), "pb.yaml")
    run = run_of(*(record(f"tests/test_m{i}.py::test_{i}", queries=3) for i in range(0, 2_000, 2)), urls=[url("/a/", queries=1)])
    profile = cProfile.Profile()
    profile.enable()
    comparison = compare(run, budgets)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    # Every glob match, fnmatch's or our own, ends in a compiled pattern's match(): that is the work counted.
    matches = sum(entry[1] for (_, _, name), entry in stats.items() if name == "<method 'match' of 're.Pattern' objects>")
    assert 0 < matches < 10 * (len(run.tests) + len(budgets.test_rules)), matches
    unused = [w for w in comparison.warnings if "match no test or URL" in w or "matches no test" in w]
    assert unused == [
        "pb.yaml: 1,000 rules match no test or URL in this run: pb.yaml:5 tests rule #2 'tests/test_m1.py::*', "
        "pb.yaml:7 tests rule #4 '*_m3.py::t*', pb.yaml:9 tests rule #6 'tests/test_m5.py::*' and 997 more"
    ]


def test_the_red_teams_file_is_refused_and_one_under_the_cap_is_judged_in_one_run(tmp_path: Path) -> None:
    """The 1.1 MB file is over the cap; 1 MiB of rules against 1,000 tests is judged, with one line about unused rules."""
    text = _generated(40_000)
    assert len(text) > MAX_BYTES
    (tmp_path / "perfbudget.yaml").write_text(text, encoding="utf-8")
    results = write_run(run_of(*(record(f"tests/test_m{i}.py::test_{i}", queries=3) for i in range(1_000))), tmp_path / "r.ndjson")
    refused = _run_cli(tmp_path, "compare", str(results))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "more than the 1 MiB" in refused.stderr
    cut = text[: text.rindex("\n", 0, MAX_BYTES) + 1]
    (tmp_path / "perfbudget.yaml").write_text(cut, encoding="utf-8")
    judged = _run_cli(tmp_path, "compare", str(results), "--format", "json")
    assert judged.returncode == 0, judged.stderr[-2000:]
    assert judged.stdout.count("rules match no test or URL in this run") == 1 and "matches no test" not in judged.stdout


PATTERN_CHARS = "ab/:*?[]!-_."


def test_the_glob_index_finds_exactly_what_trying_every_glob_finds() -> None:
    """The index only narrows: against fnmatch on every pattern, for random patterns and names with every glob character."""
    rng = random.Random(19)
    patterns = ["".join(rng.choice(PATTERN_CHARS) for _ in range(rng.randint(0, 7))) for _ in range(3_000)]
    patterns += ["*", "?", "[a]", "[!a]*", "[]]*", "a[", "[", "]", "a[b]c*d?e", "*a*b*", "[a-b]?"]
    index = GlobIndex(patterns)
    for _ in range(3_000):
        names = tuple("".join(rng.choice("ab/:[]!-_.") for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 3)))
        expected = [i for i, p in enumerate(patterns) if any(name == p or fnmatchcase(name, p) for name in names)]
        assert index.matching(names) == expected, names


def test_a_directory_named_perfbudget_yaml_stops_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.mkdir("perfbudget.yaml")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("--perf-budget")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*perfbudget.yaml: the budget file is a directory, not a file*"])
