"""Hostile and tricky ``accept:`` entries, as tables, through the real CLI (issue 19).

Before, an entry for ``queries`` left ``queries.select`` failing, so the
README's own example failed the run it was written for; and an entry
accepting everything (``match: "*"``, ``metric: "*"``) turned a run of
regressions into a ✅ headline that did not mention it. Now an entry covers
its metric's parts, says which other metrics of the same tests still fail,
every verdict line counts the changes accepted, and an entry that accepts
anything anywhere is a warning in every report. Dates are relative to today,
as the CLI judges against today's date.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest

from perfbudget import cli
from perfbudget.run.write import write_run
from tests.support import REPO_ROOT
from tests.support.compare import record, run_of, url

A = "tests/test_feed.py::test_feed"
BASE = {"queries": 20, "queries_select": 18, "queries_insert": 2, "n_plus_one": 2, "network_calls": 1, "external_network_calls": 0}
FEED = {**BASE, "queries": 24, "queries_select": 22}  # the README's example: the feed shows each post's tags
# Days from today, as the CLI judges (UTC), worked out when each test runs: a suite running past midnight moves them.
# "soon" is two days on, so no run across midnight can make it today.
DAYS = {"yesterday": -1, "today": 0, "soon": 2}


def _judge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budgets: str, head: dict[str, float], fmt: str = "json"
) -> tuple[int, str, str]:
    """``perfbudget compare`` (or ``report`` for the other formats) of one test and one URL against a baseline."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for name, days in DAYS.items():
        budgets = budgets.replace(f"{{{name}}}", (today + datetime.timedelta(days=days)).isoformat())
    (tmp_path / "perfbudget.yaml").write_text(budgets, encoding="utf-8")
    base = run_of(record(A, **BASE), urls=[url("/feed/", queries=20)])
    urls = [url("/feed/", queries=head.get("url_queries", 20))]
    metrics = {key: value for key, value in head.items() if key != "url_queries"}
    write_run(base, tmp_path / "base.ndjson")
    write_run(run_of(record(A, **metrics), urls=urls), tmp_path / "head.ndjson")
    command = ["compare", "--format", "json"] if fmt == "json" else ["report", "--format", fmt]
    files = [str(tmp_path / "head.ndjson"), "--baseline", str(tmp_path / "base.ndjson"), "--budgets", str(tmp_path / "perfbudget.yaml")]
    code = cli.main([command[0], *files, *command[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def _entry(**fields: object) -> str:
    body = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    return "  - " + body[4:]


def _accept(*entries: str, extra: str = "") -> str:
    return extra + "accept:\n" + "".join(entries)


QUERIES = {"match": '"tests/test_feed.py::*"', "metric": "queries", "reason": "the feed shows tags"}
# (budget file, head metrics, exit code, {metric: status} of the test, a warning fragment or "" for none expected)
BEHAVIOUR = [
    pytest.param(_accept(_entry(**QUERIES, limit=24)), FEED, 0, {"queries": "accepted", "queries.select": "accepted"}, "", id="parts"),
    pytest.param(_accept(_entry(**QUERIES, change=4)), FEED, 0, {"queries.select": "accepted"}, "", id="parts by change"),
    pytest.param(
        _accept(_entry(**QUERIES, change=4)),
        {**BASE, "queries": 24, "queries_select": 23, "queries_insert": 1},
        1,
        {"queries": "accepted", "queries.select": "regressed"},
        "where queries.select (beyond its limit or change) still fails (tests/test_feed.py::test_feed)",
        id="a part beyond the change",
    ),
    pytest.param(
        _accept(_entry(**QUERIES, limit=24)),
        {**FEED, "n_plus_one": 6},
        1,
        {"queries.select": "accepted", "n_plus_one": "regressed"},
        "accepted changes of 1 test, where n_plus_one still fails",
        id="n_plus_one is no part of queries",
    ),
    pytest.param(
        _accept(_entry(**{**QUERIES, "metric": '"queries*"'})),
        {**FEED, "n_plus_one": 6},
        1,
        {"queries": "accepted", "queries.select": "accepted", "n_plus_one": "regressed"},
        "where n_plus_one still fails",
        id="queries* glob",
    ),
    pytest.param(
        _accept(_entry(**{**QUERIES, "metric": '"*"'})), {**FEED, "n_plus_one": 6}, 0, {"n_plus_one": "accepted"}, "", id="every metric"
    ),
    pytest.param(
        _accept(_entry(**{**QUERIES, "metric": "network_calls"})),
        {**BASE, "network_calls": 3, "external_network_calls": 2},
        0,
        {"network_calls": "accepted", "external_network_calls": "accepted"},
        "",
        id="external calls are part of network calls",
    ),
    pytest.param(
        _accept(_entry(**{**QUERIES, "metric": "external_network_calls"})),
        {**BASE, "network_calls": 3, "external_network_calls": 2},
        1,
        {"network_calls": "regressed", "external_network_calls": "accepted"},
        "where network_calls still fails",
        id="a part does not cover the whole",
    ),
    pytest.param(
        _accept(_entry(**{**QUERIES, "metric": "queries.select"})),
        FEED,
        1,
        {"queries": "regressed", "queries.select": "accepted"},
        "where queries still fails",
        id="queries.select alone",
    ),
    pytest.param(
        _accept(_entry(**QUERIES, limit=23)),
        FEED,
        1,
        {"queries": "regressed", "queries.select": "accepted"},
        "where queries (beyond its limit or change) still fails",
        id="beyond limit",
    ),
    pytest.param(_accept(_entry(**QUERIES, limit=24, change=3)), FEED, 1, {"queries": "regressed"}, "", id="limit holds, change not"),
    pytest.param(_accept(_entry(**QUERIES, limit=30, change=4)), FEED, 0, {"queries": "accepted"}, "", id="limit and change hold"),
    pytest.param(_accept(_entry(**QUERIES, expires="{yesterday}")), FEED, 1, {"queries": "regressed"}, "", id="expired yesterday"),
    pytest.param(_accept(_entry(**QUERIES, expires="{today}")), FEED, 1, {"queries": "regressed"}, "", id="expires today"),
    pytest.param(_accept(_entry(**QUERIES, expires="{soon}")), FEED, 0, {"queries": "accepted"}, "", id="expires in two days"),
    pytest.param(_accept(_entry(**QUERIES, expires="9999-12-31")), FEED, 0, {"queries": "accepted"}, "", id="far-future expiry"),
    pytest.param(_accept(_entry(**QUERIES, expires="9999-12-31 23:59:59")), FEED, 0, {"queries": "accepted"}, "", id="far-future moment"),
    pytest.param(_accept(_entry(**{**QUERIES, "match": '"tests/none/*"'})), FEED, 1, {"queries": "regressed"}, "", id="matches nothing"),
    pytest.param(
        _accept(_entry(**{**QUERIES, "match": '"tests/none/*"'}, expires="{yesterday}")),
        FEED,
        1,
        {"queries": "regressed"},
        "expired on",
        id="expired, matching nothing",
    ),
    pytest.param(
        _accept(_entry(match='"*"', metric='"*"', reason="r")),
        {**FEED, "n_plus_one": 6},
        0,
        {"queries": "accepted", "n_plus_one": "accepted"},
        "accepts any change of every metric of every test and every URL: nothing it covers can fail the run",
        id="accept everything",
    ),
    pytest.param(
        _accept(_entry(match='"**"', metric='"?*"', reason="r")),
        FEED,
        0,
        {"queries": "accepted"},
        "of every metric of every test",
        id="** ?*",
    ),
    pytest.param(
        _accept(_entry(match='"*::*"', metric='"*"', reason="r")),
        FEED,
        0,
        {"queries": "accepted"},
        "every metric of every test:",
        id="*::*",
    ),
    pytest.param(
        _accept(_entry(match='"*"', metric="queries", reason="r")),
        FEED,
        0,
        {"queries": "accepted"},
        "any change of queries of every test",
        id="* queries",
    ),
    pytest.param(
        _accept(_entry(match='"*/*"', metric='"*"', reason="r")),
        FEED,
        0,
        {"queries": "accepted"},
        "every metric of every URL:",
        id="*/* every URL",
    ),
    pytest.param(
        _accept(_entry(match='"*"', metric="queries", reason="r", limit=30)), FEED, 0, {"queries": "accepted"}, "", id="* with a limit"
    ),
    pytest.param(_accept(_entry(match='"GET *"', metric='"*"', reason="r")), FEED, 1, {"queries": "regressed"}, "", id="GET * only"),
    pytest.param(
        _accept(_entry(**QUERIES, change=10), extra="defaults:\n  tests: {queries: 21}\n"),
        FEED,
        1,
        {"queries": ["accepted", "over_budget"]},
        "where queries (beyond its limit or change) still fails",
        id="a change cannot accept a budget",
    ),
    pytest.param(
        _accept(_entry(**QUERIES, limit=30), extra="defaults:\n  tests: {queries: 21}\n"),
        FEED,
        0,
        {"queries": ["accepted", "accepted"]},
        "",
        id="a limit accepts a budget",
    ),
]
BROAD_WARNING = "accepts any change of"


@pytest.mark.parametrize(("budgets", "head", "code", "statuses", "warning"), BEHAVIOUR)
def test_what_an_entry_accepts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    budgets: str,
    head: dict[str, float],
    code: int,
    statuses: dict[str, str | list[str]],
    warning: str,
) -> None:
    got, out, err = _judge(tmp_path, capsys, budgets, head)
    assert got == code and "Traceback" not in out + err, err
    data = json.loads(out)
    found: dict[str, list[str]] = {}
    for verdict in data["verdicts"]:
        if verdict["subject"] == A and verdict["metric"]:
            found.setdefault(verdict["metric"], []).append(verdict["status"])
    for metric, expected in statuses.items():
        assert sorted(found.get(metric, [])) == sorted(expected if isinstance(expected, list) else [expected]), (metric, found)
    if warning:
        assert any(warning in line for line in data["warnings"]), data["warnings"]
    else:
        assert not [line for line in data["warnings"] if BROAD_WARNING in line or "still fail" in line], data["warnings"]
    accepted = sum(1 for verdict in data["verdicts"] if verdict["status"] == "accepted")
    if accepted:  # every verdict line counts them, however the subjects are counted
        assert f"{accepted} change{'s' if accepted != 1 else ''} accepted" in data["summary"], data["summary"]


BAD_ENTRIES = [
    pytest.param("expires: 2027-02-30", "accept[1].expires: cannot read '2027-02-30' as !!timestamp", id="February 30"),
    pytest.param("expires: 2027-13-01", "accept[1].expires", id="month 13"),
    pytest.param("expires: 0000-01-01", "accept[1].expires: cannot read '0000-01-01'", id="year 0"),
    pytest.param("expires: 10000-01-01", "accept[1].expires: expected a date such as 2027-01-31, got '10000-01-01'", id="year 10000"),
    pytest.param("expires: soon", "accept[1].expires: expected a date", id="a word"),
    pytest.param("expires: 2027-1-5", "accept[1].expires: expected a date", id="unpadded"),
    pytest.param("expires: 1.5", "accept[1].expires: expected a date", id="a number"),
    pytest.param("expires: [2027-01-01]", "accept[1].expires: expected a single value", id="a list"),
    pytest.param("expires: 2027-01-01T25:00:00", "accept[1].expires", id="hour 25"),
    pytest.param("limit: 3MB", "accept[1].limit: bad unit 'MB'", id="limit in the wrong unit"),
    pytest.param("limit: -1", "accept[1].limit: limits cannot be negative", id="negative limit"),
    pytest.param("change: -1", "accept[1].change: limits cannot be negative", id="negative change"),
    pytest.param("limit: .nan", "accept[1].limit: expected a finite number", id="NaN limit"),
    pytest.param("change: .inf", "accept[1].change: expected a finite number", id="inf change"),
    pytest.param(f"limit: {10**400}", "accept[1].limit", id="10**400 limit"),
    pytest.param("limit: lots", "accept[1].limit: expected a number", id="a word as limit"),
    pytest.param("issue: [412]", "accept[1].issue: expected a single value", id="issue a list"),
    pytest.param("reason: null", "accept[1].reason: expected text, got None", id="reason null"),
    pytest.param("reason: ''", "accept[1].reason: expected text", id="reason empty"),
]
BAD_ENTRY_SHAPES = [
    pytest.param(
        "  - {match: a, metric: '*', reason: r, limit: 3}\n",
        "accept[1].limit: give one metric (not '*') to accept a limit",
        id="limit on *",
    ),
    pytest.param("  - {match: a, metric: 'queries*', reason: r, change: 3}\n", "give one metric (not 'queries*')", id="change on a glob"),
    pytest.param("  - {match: a, metric: 'bench*.x', reason: r}\n", "accept[1].metric: 'bench*.x' matches no metric", id="glob of nothing"),
    pytest.param("  - {match: a, metric: quries, reason: r}\n", "unknown metric 'quries'; did you mean 'queries'?", id="unknown metric"),
    pytest.param("  - {metric: queries, reason: r}\n", "accept[1]: missing 'match'", id="no match"),
    pytest.param("  - {match: a, reason: r}\n", "accept[1]: missing 'metric'", id="no metric"),
    pytest.param("  - {match: '', metric: queries, reason: r}\n", "accept[1].match: expected text", id="empty match"),
    pytest.param("  - {match: a, metric: queries, reason: r, expire: 2027-01-01}\n", "did you mean 'expires'?", id="expire"),
    pytest.param("  - [match, a]\n", "accept[1]: expected a mapping", id="a list"),
]


@pytest.mark.parametrize(("field", "fragment"), BAD_ENTRIES)
def test_a_bad_field_is_one_line_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, fragment: str
) -> None:
    fields = {"match": "a", "metric": "queries", "reason": "r"}
    key, value = field.split(": ", 1)
    fields[key] = value
    body = "".join(f"    {name}: {text}\n" for name, text in fields.items())
    _bad(tmp_path, capsys, "accept:\n  - " + body[4:], 2 + list(fields).index(key), fragment)


@pytest.mark.parametrize(("entry", "fragment"), BAD_ENTRY_SHAPES)
def test_a_bad_entry_is_one_line_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, fragment: str
) -> None:
    _bad(tmp_path, capsys, "accept:\n" + entry, 2, fragment)


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], budgets: str, line: int, fragment: str) -> None:
    code, out, err = _judge(tmp_path, capsys, budgets, FEED)
    path = tmp_path / "perfbudget.yaml"
    assert (code, out) == (2, "") and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"perfbudget compare: {path}:{line}: ") and fragment in err, err


def test_the_readmes_example_accepts_the_change_it_was_written_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The block under "Accepting a change", as written (its date pushed into the future if it has passed)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Accepting a change") :]
    example = re.search(r"```yaml\n(accept:\n.*?)```", section, re.S)
    assert example is not None
    text = re.sub(r"expires: \d{4}-\d\d-\d\d", lambda m: f"expires: {max(m.group(0)[9:], '9999-01-01')}", example.group(1))
    code, out, _ = _judge(tmp_path, capsys, text, FEED)
    data = json.loads(out)
    assert code == 0, [v["reason"] for v in data["verdicts"] if v["status"] == "regressed"]
    accepted = {v["metric"] for v in data["verdicts"] if v["status"] == "accepted"}
    assert accepted == {"queries", "queries.select"} and "2 changes accepted" in data["summary"]


EVERYTHING = _accept(_entry(match='"*"', metric='"*"', reason="one-off migration"))
HEADLINES = [
    pytest.param("markdown", "### ✅ perfbudget: 0 regressions, 0 over budget, 5 changes accepted", id="markdown"),
    pytest.param("terminal", "perfbudget: 0 regressions, 0 over budget, 5 changes accepted", id="terminal"),
    pytest.param("json", '"summary": "0 regressions, 0 over budget, 5 changes accepted', id="json"),
    pytest.param("html", "5 changes accepted", id="html"),
]


@pytest.mark.parametrize(("fmt", "headline"), HEADLINES)
def test_an_accept_everything_entry_is_in_the_headline_and_warned_about_in_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, headline: str
) -> None:
    """Everything regressed and was accepted: the ✅ verdict says how many changes, and the entry is a warning."""
    head = {**FEED, "n_plus_one": 6, "network_calls": 2, "url_queries": 22}
    code, out, err = _judge(tmp_path, capsys, EVERYTHING, head, fmt=fmt)
    assert code == 0 and "Traceback" not in out + err, err
    assert headline in out, out[:600]
    warning = "accepts any change of every metric of every test and every URL: nothing it covers can fail the run"
    assert warning in out.replace("\\", "").replace("&#39;", "'"), out[-3000:]
