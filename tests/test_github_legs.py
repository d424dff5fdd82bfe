"""Downloaded legs: shards joined into one leg per key, and legs that must agree on their pull request."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfbudget.github.artifacts import ArtifactError, PrContext, write_pr_context
from perfbudget.github.legs import combine_shards, common_pull_request, find_legs
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.store import load_run, write_run
from tests.helpers_github import cli

SHA = "a" * 40


def _leg(directory: Path, *tests: str, number: int = 7, sha: str = SHA) -> Path:
    directory.mkdir(parents=True)
    run = Run(project="shop", commit=sha)
    run.tests = [TestRecord(node, node.split("::")[0], 1, "passed", {"queries": 1}) for node in tests]
    write_run(run, directory / "results.ndjson.gz")
    write_pr_context(directory, PrContext("acme/shop", number, sha, "CI", directory.name.removeprefix("perfbudget-"), "ok"))
    (directory / "perfbudget.yaml").write_text("version: 1\n")
    return directory


def test_shards_of_a_key_become_one_leg_and_other_legs_stay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _leg(tmp_path / "perfbudget-tests-shard-1", "t/a.py::one")
    _leg(tmp_path / "perfbudget-tests-shard-2", "t/b.py::two")
    _leg(tmp_path / "perfbudget-api", "t/c.py::three")
    assert cli("legs", "combine", str(tmp_path)) == 0
    assert capsys.readouterr().out == "tests\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["perfbudget-api", "perfbudget-tests"]
    joined = tmp_path / "perfbudget-tests"
    assert [t.node_id for t in load_run(joined / "results.ndjson.gz").tests] == ["t/a.py::one", "t/b.py::two"]
    assert (joined / "pr.json").is_file() and (joined / "perfbudget.yaml").is_file()
    assert [leg.key for leg in find_legs(tmp_path)] == ["api", "tests"]


def test_a_shard_without_results_or_a_key_with_a_whole_run_too_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _leg(tmp_path / "perfbudget-tests-shard-1", "t/a.py::one")
    (tmp_path / "perfbudget-tests-shard-2").mkdir()
    assert cli("legs", "combine", str(tmp_path)) == 3
    assert "perfbudget-tests-shard-2: no results.ndjson.gz; was that shard's job cancelled" in capsys.readouterr().err
    (tmp_path / "perfbudget-tests-shard-2").rmdir()
    _leg(tmp_path / "perfbudget-tests", "t/b.py::two")
    with pytest.raises(ArtifactError, match="has both a whole run and shards"):
        combine_shards(tmp_path)


def test_legs_must_agree_on_their_pull_request(tmp_path: Path) -> None:
    _leg(tmp_path / "perfbudget-a", "t/a.py::one")
    _leg(tmp_path / "perfbudget-b", "t/b.py::two", number=8)
    with pytest.raises(ArtifactError, match="the legs disagree on their pull request"):
        common_pull_request(find_legs(tmp_path))


def test_an_empty_download_says_so(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no perfbudget artifact in it"):
        find_legs(tmp_path)
    with pytest.raises(ArtifactError, match="no such directory"):
        find_legs(tmp_path / "missing")


def test_the_comment_joins_a_forks_shards_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The workflow_run stage downloads shards and comments: one section, the whole suite, said not compared."""
    for key in ("GITHUB_EVENT_PATH", "GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    _leg(tmp_path / "legs" / "perfbudget-tests-shard-1", "t/a.py::one")
    _leg(tmp_path / "legs" / "perfbudget-tests-shard-2", "t/b.py::two")
    assert cli("comment", "--from-artifact", str(tmp_path / "legs")) == 0  # no token: the report goes to the summary
    summary = (tmp_path / "summary.md").read_text()
    assert "### ⚠️ perfbudget: not compared · 0 regressions, 0 over budget, 2 ok" in summary
    assert sorted(p.name for p in (tmp_path / "legs").iterdir()) == ["perfbudget-tests"]
