"""Hostile results files, as tables (issue 19): every number bounded, every file kind and size bounded, any key order.

Beside ``test_bad_input_results.py`` (wrong types, NaN, NUL bytes, deep
nesting in the header's and a test's common fields), this corpus puts huge
numbers in *every* numeric field of every record type, in each layout the
reader takes (NDJSON, gzip NDJSON, a schema-1 document), and then hands such
a file to every command; it gives the reader FIFOs, devices, directories,
gzip bombs, byte-order marks and empty files; and it reorders a test line's
keys the way another tool might. Each case: the documented exit code, one
line naming the file (and the line and field where there is one), no
traceback, and bounded time and memory where a hang or a blow-up was the bug.
"""

from __future__ import annotations

import gzip
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from perfbudget import cli
from perfbudget.run.decode import ResultsError
from perfbudget.run.read import load_details, load_run
from tests.support.github import FakeGitHub, zip_bytes
from tests.support.hostile_results import good_results, gzip_bomb, perfbudget

# --- every numeric field, every layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A numeric field: its good value, how the reader names it, whether a light read decodes it, whether it takes a limit's text."""

    good: str
    name: str
    light: bool = True  # False: call metrics, details, requests, which a light read skips unread
    marker: bool = False  # a perf_budget marker's keyword: true and "200ms" are limits there


NUMBERS: dict[str, Number] = {
    "line": Number("3", "test.line"),
    "metric_count": Number("2", "test.metrics.queries"),
    "metric_time": Number("1.5", "test.metrics.duration"),
    "sample": Number("1.5", "test.samples.duration"),
    "marker": Number("5", "test.budget_marker.queries", marker=True),
    "call_metric": Number("1", "test.call_metrics.queries", light=False),
    "sql_count": Number("1", "test.details.sql_groups[0].count", light=False),
    "sql_time": Number("0.5", "test.details.sql_groups[0].time_ms", light=False),
    "sql_duplicates": Number("0", "test.details.sql_groups[0].duplicates", light=False),
    "port": Number("443", "test.details.network_calls[0].port", light=False),
    "net_count": Number("1", "test.details.network_calls[0].count", light=False),
    "cache_calls": Number("2", "test.details.cache_ops[0].calls", light=False),
    "cache_hits": Number("1", "test.details.cache_ops[0].hits", light=False),
    "cache_time": Number("0.1", "test.details.cache_ops[0].time_ms", light=False),
    "template_count": Number("1", "test.details.templates[0].count", light=False),
    "signal": Number("1", "test.details.signals.post_save", light=False),
    "status": Number("200", "test.requests[0].status", light=False),
    "request_metric": Number("1", "test.requests[0].metrics.queries", light=False),
    "hits": Number("1", "url.hits"),
    "url_metric": Number("1", "url.metrics.queries"),
    "status_count": Number("1", "url.status_codes.200"),
    "url_sample": Number("1.5", "url.samples.duration"),
    "rerun_sample": Number("1.5", "samples.duration"),
    "calibration": Number("2.0", "calibration"),
    "control_sample": Number("1.0", "control_samples.duration"),
    "loop_calibration": Number("2.0", "loop_calibration_ms"),
    "confirmation_ms": Number("2.0", "confirmation.calibration_ms"),
    "confirmation_tests": Number("1", "confirmation.tests"),
    "confirmation_seconds": Number("0.5", "confirmation.seconds"),
}

HUGE: dict[str, str] = {
    "309 digits": "1" + "0" * 308,  # 1e308: still a float, far out of range
    "310 digits": "9" * 310,  # past the largest float: OverflowError in every command before issue 19
    "4300 digits": "9" * 4300,  # the most digits int() converts
    "4301 digits": "9" * 4301,  # refused by the parser itself
    "-310 digits": "-" + "9" * 310,
    "1e309": "1e309",  # a float literal that json reads as inf
    "-1e309": "-1e309",
    "1e15 + 1": "1000000000000001",  # the first whole number past the bound
    "-(1e15 + 1)": "-1000000000000001",
    "1.5e15": "1.5e15",
    "true": "true",  # a bool is an int to Python, and no number here
    "string": '"5"',
}

_TEST = (
    '{"type":"test","node_id":"t.py::a","file":"t.py","line":$line,"outcome":"passed",'
    '"metrics":{"queries":$metric_count,"duration":$metric_time},"samples":{"duration":[$sample]},'
    '"budget_marker":{"queries":$marker},"call_metrics":{"queries":$call_metric},'
    '"details":{"sql_groups":[{"sql":"SELECT 1","count":$sql_count,"time_ms":$sql_time,"duplicates":$sql_duplicates}],'
    '"network_calls":[{"host":"h","port":$port,"count":$net_count}],'
    '"cache_ops":[{"operation":"get","calls":$cache_calls,"hits":$cache_hits,"time_ms":$cache_time}],'
    '"templates":[{"name":"a.html","count":$template_count}],"signals":{"post_save":$signal}},'
    '"requests":[{"method":"GET","path":"/","status":$status,"metrics":{"queries":$request_metric}}]}'
)
_URL = '{"type":"url","method":"GET","route":"/","hits":$hits,"metrics":{"queries":$url_metric},"status_codes":{"200":$status_count},"samples":{"duration":[$url_sample]}}'
_RERUN = (
    '{"type":"rerun","subject_kind":"test","subject":"t.py::a","samples":{"duration":[$rerun_sample]},"calibration":[$calibration],'
    '"control":"t.py::b","control_samples":{"duration":[$control_sample]},"loop_calibration_ms":$loop_calibration}'
)
_END = '{"type":"end","confirmation":{"calibration_ms":$confirmation_ms,"tests":$confirmation_tests,"seconds":$confirmation_seconds}}'
STREAM = Template("\n".join(['{"type":"run","schema_version":2,"project":"shop"}', _TEST, _RERUN, _URL, _END]) + "\n")
# Schema 1 has no rerun or end lines: its tests and URLs are lists in one document.
DOCUMENT = Template('{"schema_version":1,"project":"shop","tests":[' + _TEST + '],"urls":[' + _URL + "]}\n")
LAYOUTS = ("results.ndjson", "results.ndjson.gz", "results.json")


def _v1_name(name: str) -> str | None:
    """How a schema-1 document names the field (None: it has no such field)."""
    kind, _, rest = name.partition(".")
    return {"test": f"tests[0].{rest}", "url": f"urls[0].{rest}"}.get(kind) if rest else None


def write_numbers(directory: Path, layout: str, field: str | None = None, value: str = "") -> Path:
    """A results file of ``layout`` with every numeric field good, or ``value`` in ``field``."""
    template = DOCUMENT if layout.endswith(".json") else STREAM
    goods = {key: number.good for key, number in NUMBERS.items()}
    text = template.substitute(goods | ({field: value} if field else {}))
    path = directory / layout
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if layout.endswith(".gz") else data)
    return path


def _line_of(field: str) -> int:
    """The stream line that holds ``field``."""
    return next(number for number, line in enumerate(STREAM.template.splitlines(), 1) if re.search(rf"\${field}\b", line))


CASES = [
    pytest.param(layout, field, value, id=f"{layout}-{field}-{value}")
    for layout in LAYOUTS
    for field, number in NUMBERS.items()
    for value in HUGE
    if not (number.marker and value in ("true", "string"))  # limits: budgets/ judges them
    if not (layout == "results.json" and _v1_name(number.name) is None)
]


def test_the_corpus_template_is_itself_readable(tmp_path: Path) -> None:
    """Every refusal below is the hostile value's: the file without it reads, in every layout, light or not."""
    for layout in LAYOUTS:
        path = write_numbers(tmp_path, layout)
        for details in (True, False):
            [test] = load_run(path, details=details).tests
            assert test.metrics == {"queries": 2.0, "duration": 1.5}


@pytest.mark.parametrize(("layout", "field", "value"), CASES)
def test_a_number_out_of_bounds_in_any_field_and_layout_is_one_line_naming_it(tmp_path: Path, layout: str, field: str, value: str) -> None:
    path = write_numbers(tmp_path, layout, field, HUGE[value])
    number = NUMBERS[field]
    name = number.name if not layout.endswith(".json") else _v1_name(number.name)
    assert name is not None
    at = f"{path}:{_line_of(field)}: " if not layout.endswith(".json") else f"{path}"
    readers = [lambda: load_run(path, details=True)]
    # A light read decodes the field too, unless it is one it skips unread (a whole document is parsed, though).
    if number.light or (layout.endswith(".json") and value == "4301 digits"):
        readers.append(lambda: load_run(path, details=False))
    else:  # skipped unread: the details read of that test meets it
        assert load_run(path, details=False).tests[0].node_id == "t.py::a"
        readers.append(lambda: load_details(path, {"t.py::a"}))
    for read in readers:
        with pytest.raises(ResultsError) as refused:
            read()
        message = str(refused.value)
        assert message.startswith(at) and name in message and "\n" not in message, message


# --- a huge-number file given to every command --------------------------------------------------------------------------------


def _huge(directory: Path, layout: str, digits: int = 310) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_numbers(directory, layout, "metric_count", "9" * digits)


def _github_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [key for key in os.environ if key.startswith("GITHUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))


COMMANDS = {  # argv with R for the hostile results file, O for an output path; the exit code
    "show": (["show", "R"], 3),
    "compare": (["compare", "R"], 3),
    "compare json": (["compare", "R", "--format", "json"], 3),
    "report markdown": (["report", "R"], 3),
    "report html": (["report", "R", "--format", "html", "-o", "O"], 3),
    "merge": (["merge", "R", "-o", "O"], 3),
    "comment --results": (["comment", "--results", "R"], 3),
    "budgets tighten": (["budgets", "tighten", "R", "--dry-run"], 2),  # the file is ignored, then nothing is left to tighten from
}


@pytest.mark.parametrize("digits", [310, 4300])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_a_huge_number_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, layout: str, digits: int
) -> None:
    _github_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 100\n")
    results = _huge(tmp_path / "in", layout, digits)
    argv, code = COMMANDS[command]
    args = [str(results) if arg == "R" else str(tmp_path / "out") if arg == "O" else arg for arg in argv]
    assert cli.main(args) == code
    err = capsys.readouterr().err
    named = [line for line in err.splitlines() if str(results) in line and "metrics.queries" in line]
    assert len(named) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_fork_stage_comment_answers_a_huge_number_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    """``comment --from-artifact`` runs in the trusted job on a fork's artifact: it must refuse, not crash."""
    _github_env(monkeypatch, tmp_path)
    leg = tmp_path / "artifact"
    _huge(leg, layout).rename(leg / "results.ndjson.gz" if layout != "results.json" else leg / "results.json")
    assert cli.main(["comment", "--from-artifact", str(leg)]) == 3
    err = capsys.readouterr().err
    assert err.count("metrics.queries") == 1 and "out of range" in err and "Traceback" not in err, err


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_actions_judge_step_answers_a_huge_number_with_an_error_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    from perfbudget.github.action import main
    from tests.support.fakegithub.runner import read_outputs

    _github_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    results = _huge(tmp_path / "in", layout)
    assert main(["--results", str(results), "--build-dir", str(tmp_path / "build")]) == 0  # the last step fails the job
    outputs = read_outputs(tmp_path / "output")
    assert outputs["verdict"] == "error" and "metrics.queries" in outputs["summary"] and "out of range" in outputs["summary"]
    assert "metrics.queries" in (tmp_path / "summary.md").read_text()
    assert "Traceback" not in capsys.readouterr().err


def test_baseline_fetch_skips_an_artifact_with_a_huge_number(
    fake_github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, the fetch step crashed with OverflowError; now the run is skipped with a note, and the older good one chosen."""
    for key, value in fake_github.env(GITHUB_BASE_REF="main", GITHUB_OUTPUT=str(tmp_path / "output")).items():
        monkeypatch.setenv(key, value)
    good = good_results(tmp_path / "good" / "results.ndjson.gz").read_bytes()
    huge = _huge(tmp_path / "huge", "results.ndjson.gz").read_bytes()
    fake_github.add_run(
        "main", head_sha="1" * 40, created_at="2026-11-01T00:00:00Z", artifacts={"perfbudget-tests": zip_bytes({"results.ndjson.gz": good})}
    )
    bad_run = fake_github.add_run(
        "main", head_sha="2" * 40, created_at="2026-11-02T00:00:00Z", artifacts={"perfbudget-tests": zip_bytes({"results.ndjson.gz": huge})}
    )
    assert cli.main(["baseline", "fetch", "-o", str(tmp_path / "baseline"), "--history", "1"]) == 0
    err = capsys.readouterr().err
    assert f"skipped run {bad_run}: " in err and "test.metrics.queries" in err and "out of range" in err and "Traceback" not in err
    assert "commit 111111111111" in err  # the good run is the baseline


# --- what a results path may be: a FIFO, a device, a bomb ------------------------------------------------------------------


def _fifo(directory: Path) -> Path:
    os.mkfifo(directory / "results.ndjson")
    return directory / "results.ndjson"


def _symlink(directory: Path, target: str, name: str = "results.ndjson") -> Path:
    (directory / name).symlink_to(target)
    return directory / name


def _write(directory: Path, name: str, data: bytes) -> Path:
    (directory / name).write_bytes(data)
    return directory / name


_GOOD = b'{"type":"run","schema_version":2,"project":"shop"}\n{"type":"test","node_id":"t.py::a","metrics":{"queries":1}}\n{"type":"end"}\n'
_MiB = 1 << 20

FILES = {  # how to make the path in a directory -> the one line's fragment (exit code 3 throughout)
    "FIFO": (_fifo, "a FIFO (named pipe), not a results file"),
    "symlink to /dev/zero": (lambda d: _symlink(d, "/dev/zero"), "a device, not a results file"),
    "/dev/null": (lambda d: Path("/dev/null"), "/dev/null: a device, not a results file"),
    "symlink to a FIFO": (lambda d: (os.mkfifo(d / "pipe"), _symlink(d, str(d / "pipe")))[1], "a FIFO (named pipe)"),
    "a directory": (lambda d: (d / "results.ndjson").mkdir() or d / "results.ndjson", "a directory, not a results file"),
    "dangling symlink": (lambda d: _symlink(d, str(d / "gone")), "results file not found"),
    "empty": (lambda d: _write(d, "results.ndjson", b""), "empty results file"),
    "empty gzip": (lambda d: _write(d, "results.ndjson.gz", gzip.compress(b"")), "empty results file"),
    "blank lines": (lambda d: _write(d, "results.ndjson", b"\n \n\t\n"), "empty results file"),
    "BOM": (lambda d: _write(d, "results.ndjson", b"\xef\xbb\xbf" + _GOOD), ":1: corrupt results file (starts with a byte-order mark)"),
    "BOM in gzip": (
        lambda d: _write(d, "results.ndjson.gz", gzip.compress(b"\xef\xbb\xbf" + _GOOD)),
        ":1: corrupt results file (starts with a byte-order mark)",
    ),
    "UTF-16": (lambda d: _write(d, "results.ndjson", _GOOD.decode().encode("utf-16")), "not UTF-8 text"),
    "truncated gzip": (lambda d: _write(d, "results.ndjson.gz", gzip.compress(_GOOD)[:30]), "compressed stream cut short"),
    "NUL bytes": (lambda d: _write(d, "results.ndjson", b"\x00" * 4096), "corrupt results file"),
    "a line of 65 MiB": (
        lambda d: _write(d, "results.ndjson", b'{"type":"run",' + b" " * (65 * _MiB) + b"}\n"),
        ":1: a line longer than 64 MiB",
    ),
    "gzip bomb, no newline": (lambda d: _write(d, "results.ndjson.gz", gzip_bomb(b"\0" * _MiB, 2100)), ":1: a line longer than 64 MiB"),
    "gzip bomb of newlines": (
        lambda d: _write(d, "results.ndjson.gz", gzip_bomb(b"\n" * _MiB, 2100)),
        ":2000001: more than 2,000,000 lines",
    ),
    "gzip bomb of blank lines": (
        lambda d: _write(d, "results.ndjson.gz", gzip_bomb(b" " * (_MiB - 1) + b"\n", 2100)),
        ":2049: more than 2048 MiB once decompressed",
    ),
    "gzip bomb after a good header": (
        lambda d: _write(d, "results.ndjson.gz", gzip.compress(_GOOD.splitlines(keepends=True)[0]) + gzip_bomb(b"\0" * _MiB, 2100)),
        ":2: a line longer than 64 MiB",
    ),
}


_BOMBS = {kind for kind in FILES if "bomb" in kind or "MiB" in kind}  # seconds each: read by one command


@pytest.mark.parametrize(
    ("command", "kind"), [(command, kind) for kind in FILES for command in ("show", "compare") if command == "show" or kind not in _BOMBS]
)
def test_any_kind_of_file_is_one_line_within_bounded_time_and_memory(tmp_path: Path, command: str, kind: str) -> None:
    """A FIFO used to hang, /dev/zero to end in MemoryError, a 2 MB gzip bomb to take 3.9 GB: now each is one line."""
    make, fragment = FILES[kind]
    path = make(tmp_path)
    done = perfbudget(command, str(path), cwd=tmp_path)  # times out (a hang) or runs out of memory (a traceback) if unbounded
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"perfbudget {command}: {path}") and fragment in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


# --- a test line's keys in any order ------------------------------------------------------------------------------------------


def _line(keys: list[str]) -> str:
    values = {
        "type": '"test"',
        "node_id": '"t.py::a"',
        "file": '"t.py"',
        "line": "3",
        "outcome": '"failed"',
        "metrics": '{"queries":7,"duration":2.5}',
        "samples": '{"duration":[2.0,2.5,3.0]}',
        "budget_marker": '{"queries":9}',
        "call_metrics": '{"queries":6}',
        "details": '{"signals":{"post_save":1}}',
        "requests": '[{"method":"GET","path":"/","status":200,"metrics":{"queries":7}}]',
    }
    return "{" + ",".join(f'"{key}":{values[key]}' for key in keys) + "}"


_KEYS = ["type", "node_id", "file", "line", "outcome", "metrics", "samples", "budget_marker", "call_metrics", "details", "requests"]
_ORDERS = {
    "perfbudget's": _KEYS,
    "sorted (jq -S)": sorted(_KEYS),
    "details first after type": ["type", "details", *[k for k in _KEYS if k not in ("type", "details")]],
    "samples past details": [
        "type",
        "node_id",
        "file",
        "line",
        "outcome",
        "metrics",
        "details",
        "samples",
        "budget_marker",
        "call_metrics",
        "requests",
    ],
    "metrics last": ["type", *[k for k in _KEYS if k not in ("type", "metrics")], "metrics"],
    "marker after requests": ["type", *[k for k in _KEYS if k not in ("type", "budget_marker")], "budget_marker"],
    "call_metrics first": ["type", "call_metrics", *[k for k in _KEYS if k not in ("type", "call_metrics")]],
    "requests before metrics": [
        "type",
        "node_id",
        "requests",
        "file",
        "line",
        "outcome",
        "metrics",
        "samples",
        "budget_marker",
        "call_metrics",
        "details",
    ],
    **{f"shuffled {seed}": ["type", *random.Random(seed).sample(_KEYS[1:], len(_KEYS) - 1)] for seed in range(8)},
}


@pytest.mark.parametrize("layout", ["results.ndjson", "results.ndjson.gz"])
@pytest.mark.parametrize("order", _ORDERS)
def test_a_light_read_is_right_whatever_the_key_order(tmp_path: Path, order: str, layout: str) -> None:
    """Before, a line whose metrics (or samples, or marker) came after its details lost them in a light read, silently."""
    text = f'{{"type":"run","schema_version":2,"project":"shop"}}\n{_line(_ORDERS[order])}\n{{"type":"end"}}\n'.encode()
    path = tmp_path / layout
    path.write_bytes(gzip.compress(text) if layout.endswith(".gz") else text)
    full, light = load_run(path).tests[0], load_run(path, details=False).tests[0]
    assert light.metrics == full.metrics == {"queries": 7.0, "duration": 2.5}
    assert (light.samples, light.budget_marker, light.outcome, light.line) == (full.samples, full.budget_marker, "failed", 3)
    assert full.call_metrics == {"queries": 6.0} and light.call_metrics == {}  # the light read still skips the heavy part


def test_perfbudgets_own_order_is_still_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback costs nothing where it is not needed: perfbudget's own lines are decoded cut, never whole."""
    from perfbudget.run import lines

    path = tmp_path / "results.ndjson"
    path.write_text(f'{{"type":"run","schema_version":2}}\n{_line(_KEYS)}\n{{"type":"end"}}\n')
    decoded: list[bytes] = []
    real = lines.parse
    monkeypatch.setattr(lines, "parse", lambda where, data: decoded.append(data) or real(where, data))
    load_run(path, details=False)
    assert not any(b'"details"' in data for data in decoded)
