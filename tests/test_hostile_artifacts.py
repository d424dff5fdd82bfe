"""Hostile artifacts in the trusted workflow_run stage, as a table: every path stays inside, every PR fact comes from GitHub.

The stage holds a write token and reads what a fork's run uploaded. Each row
below makes the downloaded artifact (or its pr.json) hostile in one way and
runs ``perfbudget comment --from-artifact`` as a real process against the
fake API: the documented exit code, one line naming the file, no traceback,
no hang (the process has 60 s), bounded memory (2 GiB of address space),
never a byte of a file outside the artifact in the output or the comment,
and a comment only where the row says one is posted (issue 19).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfbudget.github.comments import marker_for
from tests.support.github import TOKEN, FakeGitHub
from tests.support.hostile import HEAD, NUMBER, SECRET, ForkStage, write_results

LEG = "perfbudget-perf"


@dataclass(frozen=True)
class Case:
    make: Callable[[ForkStage], object]  # makes the stage's artifact hostile
    code: int  # exit code
    line: str  # in exactly one line of the output ("" : no line is asked for)
    posted: bool = False  # a comment is created
    args: tuple[str, ...] = ()
    leg: bool = True  # start from one good leg, perfbudget-perf


def _leg(stage: ForkStage) -> Path:
    return stage.leg(LEG)


def _link(target: Callable[[ForkStage], Path], name: str, *, relative: bool = False) -> Callable[[ForkStage], None]:
    """Replace ``name`` in the leg with a symbolic link to ``target``."""

    def make(stage: ForkStage) -> None:
        leg = _leg(stage)
        path = leg / name
        destination = target(stage)
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(os.path.relpath(destination, path.parent) if relative else destination)

    return make


def _special(name: str, kind: str) -> Callable[[ForkStage], None]:
    """Replace ``name`` in the leg with a FIFO, a socket or a directory."""

    def make(stage: ForkStage) -> None:
        path = _leg(stage) / name
        if path.exists() and not path.is_dir():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            here = Path.cwd()
            os.chdir(path.parent)  # bound by a short relative name: a socket's path has a 108-byte limit
            try:
                server = socket.socket(socket.AF_UNIX)
                server.bind(path.name)  # the file stays after close
                server.close()
            finally:
                os.chdir(here)
        elif not path.is_dir():
            path.mkdir()
            (path / "x").write_text("x")

    return make


def _pyproject(value: Callable[[ForkStage], str]) -> Callable[[ForkStage], None]:
    """The artifact's pyproject.toml names a budget file: it is never consulted."""

    def make(stage: ForkStage) -> None:
        leg = _leg(stage)
        (leg / "pyproject.toml").write_text(f"[tool.perfbudget]\nbudget_file = {value(stage)!r}\n")

    return make


def _sparse(name: str, size: int) -> Callable[[ForkStage], None]:
    """``name`` of ``size`` bytes, sparse: the size is real, the disk space is not."""

    def make(stage: ForkStage) -> None:
        path = _leg(stage) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.truncate(size)

    return make


def _big(name: str, text: str) -> Callable[[ForkStage], None]:
    def make(stage: ForkStage) -> None:
        (_leg(stage) / name).write_text(text)

    return make


def _many_files(stage: ForkStage) -> None:
    leg = _leg(stage)
    for index in range(10_001):
        (leg / "baseline" / f"junk-{index}.txt").write_bytes(b"")


def _outside_dir(stage: ForkStage) -> Path:
    return stage.outside


def _outside_secret(stage: ForkStage) -> Path:
    return stage.outside / "fa_secret_outside.yaml"


def _outside_results(stage: ForkStage) -> Path:
    return stage.outside / "results.ndjson.gz"


def _linked_leg(stage: ForkStage) -> None:
    stage.leg("perfbudget-other", key="other")
    (stage.outside / "perfbudget-perf").mkdir()
    write_results(stage.outside / "perfbudget-perf" / "results.ndjson.gz", 1, node_id=f"tests/{SECRET}.py::test_x")
    (stage.artifact / LEG).symlink_to(stage.outside / "perfbudget-perf")


def _linked_shard(stage: ForkStage) -> None:
    stage.leg("perfbudget-perf--shard-1-of-2")
    (stage.artifact / "perfbudget-perf--shard-2-of-2").symlink_to(stage.outside)


def _shard_linked_inside(stage: ForkStage) -> None:
    """A shard's directory is a link to another shard's, inside: it is not joined (nor removed), the set is incomplete."""
    stage.leg("perfbudget-perf--shard-1-of-2")
    (stage.artifact / "perfbudget-perf--shard-2-of-2").symlink_to("perfbudget-perf--shard-1-of-2")


def _named(name: str) -> Callable[[ForkStage], None]:
    def make(stage: ForkStage) -> None:
        (_leg(stage) / name).write_text("x")

    return make


def _leg_named(name: str) -> Callable[[ForkStage], None]:
    def make(stage: ForkStage) -> None:
        stage.leg(name)

    return make


def _inside_link(stage: ForkStage) -> None:
    leg = _leg(stage)
    (leg / "kept").mkdir()
    (leg / "results.ndjson.gz").rename(leg / "kept" / "results.ndjson.gz")
    (leg / "results.ndjson.gz").symlink_to(Path("kept") / "results.ndjson.gz")


def _loop(stage: ForkStage) -> None:
    leg = _leg(stage)
    (leg / "perfbudget.yaml").symlink_to("loop.yaml")
    (leg / "loop.yaml").symlink_to("perfbudget.yaml")


def _dangling(stage: ForkStage) -> None:
    (_leg(stage) / "perfbudget.yaml").symlink_to("nowhere.yaml")


def _edit(**changes: object) -> Callable[[ForkStage], None]:
    def make(stage: ForkStage) -> None:
        stage.edit_pr_json(_leg(stage), **changes)

    return make


def _raw_pr_json(text: str | bytes) -> Callable[[ForkStage], None]:
    def make(stage: ForkStage) -> None:
        path = _leg(stage) / "pr.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return make


def _disagreeing_legs(stage: ForkStage) -> None:
    stage.leg("perfbudget-other", key="other", number=8)


def _another_pr(stage: ForkStage) -> None:
    """Someone else's pull request, and pr.json naming it."""
    stage.fake.add_pull(8, "b" * 40, "acme/shop")
    stage.edit_pr_json(_leg(stage), number=8)


LINK_OUT = "a symbolic link out of the artifact"
SPECIAL = "not a regular file or directory"
NOT_A_FILE = "not a regular file"

PATHS: dict[str, Case] = {
    # Finding 1: the artifact's pyproject.toml chose the budget file, outside the artifact.
    "pyproject budget_file ../../ outside": Case(_pyproject(lambda s: os.path.relpath(_outside_secret(s), _leg(s))), 0, "", posted=True),
    "pyproject budget_file absolute outside": Case(_pyproject(lambda s: str(_outside_secret(s))), 0, "", posted=True),
    "pyproject budget_file inside": Case(_pyproject(lambda s: "pyproject.toml"), 0, "", posted=True),
    "pyproject budget_file missing": Case(_pyproject(lambda s: "no-such.yaml"), 0, "", posted=True),
    "pyproject not TOML": Case(_big("pyproject.toml", "[tool.perfbudget\nbudget_file = "), 0, "", posted=True),
    # Symbolic links out of the artifact, in each place a path is read.
    "perfbudget.yaml links out": Case(_link(_outside_secret, "perfbudget.yaml"), 3, f"perfbudget.yaml: {LINK_OUT}"),
    "perfbudget.yaml links out, relative": Case(
        _link(_outside_secret, "perfbudget.yaml", relative=True), 3, f"perfbudget.yaml: {LINK_OUT}"
    ),
    "results links out": Case(_link(_outside_results, "results.ndjson.gz"), 3, f"results.ndjson.gz: {LINK_OUT}"),
    "old results.json links out": Case(_link(_outside_results, "results.json"), 3, f"results.json: {LINK_OUT}"),
    "pr.json links out": Case(_link(lambda s: s.outside / "secret.txt", "pr.json"), 3, f"pr.json: {LINK_OUT}"),
    "baseline directory links out": Case(_link(_outside_dir, "baseline"), 3, f"baseline: {LINK_OUT}"),
    "a baseline run links out": Case(_link(_outside_results, "baseline/00-run-1.ndjson.gz"), 3, f"00-run-1.ndjson.gz: {LINK_OUT}"),
    "selection.json links out": Case(
        _link(lambda s: s.outside / "secret.txt", "baseline/selection.json"), 3, f"selection.json: {LINK_OUT}"
    ),
    "a leg directory links out": Case(_linked_leg, 3, f"{LEG}: {LINK_OUT}", leg=False),
    "a shard directory links out": Case(_linked_shard, 3, f"perfbudget-perf--shard-2-of-2: {LINK_OUT}", leg=False),
    "a link to the runner's root": Case(_link(lambda s: Path("/"), "root"), 3, f"root: {LINK_OUT}"),
    "a dangling link": Case(_dangling, 3, f"perfbudget.yaml: {LINK_OUT}"),
    "a link loop": Case(_loop, 3, f": {LINK_OUT}"),
    "a link that stays inside is followed": Case(_inside_link, 0, "", posted=True),
    "a shard linked to another inside": Case(_shard_linked_inside, 0, "shard 2 of 2 missing", posted=True, leg=False),
    # Names: upload-artifact refuses control characters; a line break would forge a line of the log.
    "a file named with a line break": Case(_named("x\n::error::forged"), 3, "with a control character"),
    "a leg named with a workflow command": Case(_leg_named("perfbudget-x\r\n::add-mask::y"), 3, "with a control character"),
    "a file named with a NUL-like control": Case(_named("a\x7fb"), 3, "with a control character"),
    "a file name of 255 bytes": Case(_named("n" * 255), 0, "", posted=True),
    # Special files named like the expected ones: no read may block.
    "pr.json is a FIFO": Case(_special("pr.json", "fifo"), 3, f"pr.json: {SPECIAL}"),
    "results is a FIFO": Case(_special("results.ndjson.gz", "fifo"), 3, f"results.ndjson.gz: {SPECIAL}"),
    "perfbudget.yaml is a FIFO": Case(_special("perfbudget.yaml", "fifo"), 3, f"perfbudget.yaml: {SPECIAL}"),
    "pyproject.toml is a FIFO": Case(_special("pyproject.toml", "fifo"), 3, f"pyproject.toml: {SPECIAL}"),
    "a baseline run is a FIFO": Case(_special("baseline/01-run-2.ndjson.gz", "fifo"), 3, f"01-run-2.ndjson.gz: {SPECIAL}"),
    "selection.json is a FIFO": Case(_special("baseline/selection.json", "fifo"), 3, f"selection.json: {SPECIAL}"),
    "pr.json is a socket": Case(_special("pr.json", "socket"), 3, f"pr.json: {SPECIAL}"),
    # Directories where files are expected.
    "pr.json is a directory": Case(_special("pr.json", "dir"), 3, f"pr.json: {NOT_A_FILE}"),
    "results is a directory": Case(_special("results.ndjson.gz", "dir"), 3, f"results.ndjson.gz: {NOT_A_FILE}"),
    "perfbudget.yaml is a directory": Case(_special("perfbudget.yaml", "dir"), 3, f"perfbudget.yaml: {NOT_A_FILE}"),
    "selection.json is a directory": Case(_special("baseline/selection.json", "dir"), 0, "", posted=True),
    # Huge files: refused by their size, never read whole.
    "pr.json of 1 MiB": Case(_big("pr.json", "{" + " " * 2**20 + "}"), 3, "pr.json: 1048578 bytes"),
    "perfbudget.yaml of 2 MiB": Case(_big("perfbudget.yaml", "# " + "x" * 2 * 2**20 + "\n"), 3, "perfbudget.yaml: 2097155 bytes"),
    "results of 300 GB (sparse)": Case(_sparse("results.ndjson.gz", 300 * 10**9), 3, "results.ndjson.gz: 300000000000 bytes"),
    "a baseline run of 1 TB (sparse)": Case(_sparse("baseline/02-run-3.ndjson.gz", 10**12), 3, "02-run-3.ndjson.gz: 1000000000000 bytes"),
    "pr.json of 1 TB (sparse)": Case(_sparse("pr.json", 10**12), 3, "pr.json: 1000000000000 bytes"),
    "10,001 files": Case(_many_files, 3, "more than 10000 files and directories"),
}

# pr.json as a fork's code may write it. Numbers and shas are claims, checked against GitHub.
HUGE = "9" * 5000
PR_JSON: dict[str, Case] = {
    "not JSON": Case(_raw_pr_json("{broken"), 3, "pr.json: unreadable"),
    "empty": Case(_raw_pr_json(""), 3, "pr.json: unreadable"),
    "a list": Case(_raw_pr_json("[1, 2]"), 3, "pr.json: expected a JSON object"),
    "a string": Case(_raw_pr_json('"7"'), 3, "pr.json: expected a JSON object"),
    "UTF-16": Case(_raw_pr_json('{"number": 7}'.encode("utf-16")), 3, "pr.json: unreadable"),
    "binary garbage": Case(_raw_pr_json(bytes(range(256))), 3, "pr.json: unreadable"),
    "deep nesting": Case(_raw_pr_json("[" * 30_000 + "]" * 30_000), 3, "pr.json: unreadable: nested too deeply"),
    "deep nesting in a key": Case(_raw_pr_json('{"number": ' + "[" * 30_000 + "]" * 30_000 + "}"), 3, "pr.json: unreadable: nested"),
    "deep nesting beyond the size bound": Case(_raw_pr_json("[" * 100_000 + "]" * 100_000), 3, "pr.json: 200000 bytes"),
    "NaN number": Case(_raw_pr_json('{"number": NaN}'), 3, "pr.json: key 'number'"),
    "4300-digit number": Case(_raw_pr_json('{"number": ' + "9" * 4300 + "}"), 3, "pr.json: key 'number'"),
    "5000-digit number": Case(_raw_pr_json('{"number": ' + HUGE + "}"), 3, "pr.json: unreadable"),
    "1e309 number": Case(_raw_pr_json('{"number": 1e309}'), 3, "pr.json: key 'number'"),
    "309-digit number": Case(_edit(number=10**308), 3, "pr.json: key 'number'"),
    "above 2**63": Case(_edit(number=2**63), 3, "pr.json: key 'number'"),
    "negative huge": Case(_edit(number=-(10**309)), 3, "pr.json: key 'number'"),
    "number 0": Case(_edit(number=0), 3, "pr.json: key 'number'"),
    "number -7": Case(_edit(number=-7), 3, "pr.json: key 'number'"),
    "number true": Case(_edit(number=True), 3, "pr.json: key 'number'"),
    "number 7.0": Case(_edit(number=7.0), 3, "pr.json: key 'number'"),
    "number as a string": Case(_edit(number="7"), 3, "pr.json: key 'number'"),
    "number as a path": Case(_edit(number="../../pulls/8"), 3, "pr.json: key 'number'"),
    "head_sha not hex": Case(_edit(head_sha="main"), 3, "pr.json: key 'head_sha'"),
    "head_sha a path": Case(_edit(head_sha="../../" + "a" * 40), 3, "pr.json: key 'head_sha'"),
    "head_sha huge": Case(_edit(head_sha="a" * 60_000), 3, "pr.json: key 'head_sha'"),
    "head_sha beyond the size bound": Case(_edit(head_sha="a" * 100_000), 3, "pr.json: 100108 bytes"),
    "head_sha a list": Case(_edit(head_sha=[HEAD]), 3, "pr.json: key 'head_sha'"),
    "head_sha forged": Case(_edit(head_sha="b" * 40), 3, "refusing to comment", args=("--strict",)),
    "head_sha forged, not strict": Case(_edit(head_sha="b" * 40), 0, "refusing to comment"),
    "number of another PR": Case(_another_pr, 3, "refusing to comment", args=("--strict",)),
    "number of no PR": Case(_edit(number=9999), 3, "HTTP 404", args=("--strict",)),
    "key a list": Case(_edit(key=["perf"]), 3, "pr.json: key 'key'"),
    "repository an object": Case(_edit(repository={"full_name": "acme/shop"}), 3, "pr.json: key 'repository'"),
    "verdict unknown": Case(_edit(verdict="pass"), 3, "pr.json: key 'verdict'"),
    "workflow forged": Case(_edit(workflow="Other workflow"), 0, "", posted=True),
    "key a path": Case(_edit(key="../../etc/passwd"), 0, "", posted=True),
    "accepted_by forged": Case(_edit(accepted_by="perfbudget: accept"), 0, "", posted=True, args=("--accept-label", "perfbudget: accept")),
    "accepted_by a list": Case(_edit(accepted_by=["x"]), 0, "", posted=True),
    "unknown keys": Case(_edit(extra={"nested": [1, 2]}, labels=["perfbudget: accept"]), 0, "", posted=True),
    "legs disagree on the PR": Case(_disagreeing_legs, 3, "the legs disagree on their pull request"),
}

CASES = {**PATHS, **PR_JSON}


def _secret_free(stage: ForkStage, out: str) -> None:
    everything = out + "".join(stage.posted()) + (stage.summary.read_text() if stage.summary.exists() else "")
    assert SECRET not in everything and TOKEN not in everything


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_artifact_is_one_line_never_a_read_outside(fake_github: FakeGitHub, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    stage = ForkStage(fake_github, tmp_path)
    if case.leg:
        _leg(stage)
    case.make(stage)
    done = stage.comment(*case.args)
    assert done.returncode == case.code, done.out
    assert "Traceback" not in done.out, done.out
    if case.line:
        assert len([line for line in done.lines if case.line in line]) == 1, done.out
        assert all(len(line) < 1000 for line in done.lines), done.out  # a huge value is not echoed whole
    _secret_free(stage, done.out)
    assert bool(stage.posted()) is case.posted, done.out
    if not case.posted:
        assert not fake_github.requests("POST", ".") and not fake_github.requests("PATCH", ".")


def test_the_budget_file_is_the_artifacts_own_perfbudget_yaml(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """Finding 1: ``budget_file = "../../…"`` in the artifact's pyproject.toml read a file outside and printed it."""
    stage = ForkStage(fake_github, tmp_path)
    leg = stage.leg(LEG, queries=12, base=12)
    (leg / "perfbudget.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 5\n")
    (leg / "pyproject.toml").write_text(f"[tool.perfbudget]\nbudget_file = {os.path.relpath(_outside_secret(stage), leg)!r}\n")
    done = stage.comment("--strict")
    assert done.returncode == 0, done.out
    [body] = stage.posted()
    assert "1 over budget" in body  # the artifact's perfbudget.yaml, not the file pyproject.toml named
    _secret_free(stage, done.out)


def test_without_perfbudget_yaml_the_artifact_has_no_budgets(fake_github: FakeGitHub, tmp_path: Path) -> None:
    stage = ForkStage(fake_github, tmp_path)
    leg = stage.leg(LEG, queries=12, base=12)
    (leg / "budgets.yaml").write_text("version: 1\ndefaults:\n  tests:\n    queries: 5\n")
    (leg / "pyproject.toml").write_text("[tool.perfbudget]\nbudget_file = 'budgets.yaml'\n")
    done = stage.comment("--strict")
    assert done.returncode == 0, done.out
    [body] = stage.posted()
    assert "0 over budget" in body


@pytest.mark.parametrize(
    ("labels", "forged", "accept", "accepted"),
    [
        ((), "perfbudget: accept", "perfbudget: accept", False),  # finding 2: the fork wrote accepted_by itself
        ((), "", "perfbudget: accept", False),
        (("perfbudget: accept",), "", "perfbudget: accept", True),  # the label is on the PR: GitHub says so
        (("perfbudget: accept",), "", "", False),  # no accept label configured on the trusted side
        (("perfbudget: accept",), "", "ship it", False),
        (("ship it",), "ship it", "perfbudget: accept", False),
    ],
)
def test_the_accept_label_is_looked_up_on_github_never_read_from_pr_json(
    fake_github: FakeGitHub, tmp_path: Path, labels: tuple[str, ...], forged: str, accept: str, accepted: bool
) -> None:
    stage = ForkStage(fake_github, tmp_path, labels=labels)
    leg = stage.leg(LEG, queries=9, base=3)
    stage.edit_pr_json(leg, accepted_by=forged)
    done = stage.comment("--accept-label", accept, "--strict")
    assert done.returncode == 0, done.out
    [body] = stage.posted()
    assert ("with accepted changes" in body) is accepted, body
    assert ("1 regression" in body) is not accepted, body
    assert fake_github.requests("GET", f"/pulls/{NUMBER}$")  # the labels came from the API


def test_the_merge_job_also_asks_github_for_the_label(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """The action's merge job: the label is on the PR (GitHub says so), pr.json says nothing of it."""
    from tests.support.hostile import pr_job, run_cli, write_leg

    fake_github.add_pull(NUMBER, HEAD, "acme/shop", labels=("perfbudget: accept",))
    legs = tmp_path / "legs"
    for key in ("a", "b"):
        write_leg(legs / f"perfbudget-{key}", key=key, queries=9, base=3)
    env = pr_job(fake_github, tmp_path / "job")
    done = run_cli(["comment", "--from-artifact", str(legs), "--accept-label", "perfbudget: accept", "--strict"], env, tmp_path)
    assert done.returncode == 0, done.out
    [body] = [c["body"] for c in fake_github.issue_comments(NUMBER)]
    assert body.count("with accepted changes") == 2 and "failing" in body and "0 failing" in body


def test_the_marker_comes_from_the_triggering_run_not_pr_json(fake_github: FakeGitHub, tmp_path: Path) -> None:
    stage = ForkStage(fake_github, tmp_path)
    stage.edit_pr_json(stage.leg(LEG), workflow="Other workflow")
    assert stage.comment("--strict").returncode == 0
    [body] = stage.posted()
    assert body.splitlines()[-1] == marker_for("CI", "perf")


def test_the_pull_request_must_come_from_the_triggering_runs_repository(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """Same head commit, but the PR GitHub names is from another repository than the run that built it."""
    stage = ForkStage(fake_github, tmp_path)
    stage.leg(LEG)
    fake_github.add_pull(NUMBER, HEAD, "someone/else")
    done = stage.comment("--strict")
    assert done.returncode == 3 and "refusing to comment" in done.out, done.out
    assert stage.posted() == []
