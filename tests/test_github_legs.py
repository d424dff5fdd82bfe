"""Downloaded legs: shards joined into one leg per key, and legs that must agree on their pull request."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfbudget.github.artifacts import ArtifactError, PrContext, shards_complete, write_pr_context
from perfbudget.github.legs import combine_shards, common_pull_request, find_legs, render_legs_body
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run
from tests.support.github import cli

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
    _leg(tmp_path / "perfbudget-tests--shard-1", "t/a.py::one")
    _leg(tmp_path / "perfbudget-tests--shard-2", "t/b.py::two")
    _leg(tmp_path / "perfbudget-api", "t/c.py::three")
    assert cli("legs", "combine", str(tmp_path)) == 0
    assert capsys.readouterr().out == "tests\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["perfbudget-api", "perfbudget-tests"]
    joined = tmp_path / "perfbudget-tests"
    assert [t.node_id for t in load_run(joined / "results.ndjson.gz").tests] == ["t/a.py::one", "t/b.py::two"]
    assert (joined / "pr.json").is_file() and (joined / "perfbudget.yaml").is_file()
    assert [leg.key for leg in find_legs(tmp_path)] == ["api", "tests"]


def test_shards_that_cannot_be_joined_stay_legs_of_their_own_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _leg(tmp_path / "perfbudget-tests--shard-1", "t/a.py::one")
    (tmp_path / "perfbudget-tests--shard-2").mkdir()
    assert cli("legs", "combine", str(tmp_path)) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "::warning title=perfbudget::the shards of 'tests' were not joined" in captured.err
    assert "perfbudget-tests--shard-2: no results.ndjson.gz; was that shard's job cancelled" in captured.err
    assert [leg.key for leg in find_legs(tmp_path)] == ["tests-shard-1"]  # the empty download is no leg; the warning names it
    (tmp_path / "perfbudget-tests--shard-2").rmdir()
    _leg(tmp_path / "perfbudget-tests", "t/b.py::two")
    assert combine_shards(tmp_path) == (
        [],
        [
            f"the shards of 'tests' were not joined, each is shown alone: {tmp_path / 'perfbudget-tests'}: key 'tests' has both a whole run and shards; give the shards' suite its own key"
        ],
    )


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["1-of-3", "3-of-3"], "shard 2 of 3 missing"),
        (["1-of-2", "2-of-3"], "the shards disagree on their total (1-of-2, 2-of-3)"),
        (["1-of-2", "2-of-2"], ""),
        (["1", "2"], ""),  # plain matrix values: nothing to check against
    ],
)
def test_a_set_of_shards_named_i_of_n_must_be_whole(names: list[str], problem: str) -> None:
    assert shards_complete(names) == problem


def test_a_missing_shard_is_not_joined(tmp_path: Path) -> None:
    _leg(tmp_path / "perfbudget-tests--shard-1-of-3", "t/a.py::one")
    _leg(tmp_path / "perfbudget-tests--shard-3-of-3", "t/c.py::three")
    keys, [problem] = combine_shards(tmp_path)
    assert keys == [] and problem.endswith("shard 2 of 3 missing")


def test_a_leg_that_could_not_be_judged_is_a_section_not_a_gap(tmp_path: Path) -> None:
    """Its tests crashed before writing results: only pr.json (verdict error) was uploaded."""
    _leg(tmp_path / "perfbudget-api", "t/a.py::one")
    crashed = tmp_path / "perfbudget-web"
    crashed.mkdir()
    write_pr_context(crashed, PrContext("acme/shop", 7, SHA, "CI", "web", "error"))
    body, judged = render_legs_body(find_legs(tmp_path), None, 60_000)
    assert body.startswith("## ❌ perfbudget: 2 legs, 0 failing, 1 passing, 1 not judged")
    assert "### ❌ perfbudget `web`: not judged" in body and "no results\\.ndjson\\.gz in the artifact" in body
    assert isinstance(judged[1], str)


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


def test_the_comment_joins_a_forks_shards_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workflow_run stage downloads shards and comments: one section, the whole suite, said not compared."""
    for key in ("GITHUB_EVENT_PATH", "GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    _leg(tmp_path / "legs" / "perfbudget-tests--shard-1", "t/a.py::one")
    _leg(tmp_path / "legs" / "perfbudget-tests--shard-2", "t/b.py::two")
    assert cli("comment", "--from-artifact", str(tmp_path / "legs")) == 0  # no token: the report goes to the summary
    summary = (tmp_path / "summary.md").read_text()
    assert "### ⚠️ perfbudget: not compared · 0 regressions, 0 over budget, 2 ok" in summary
    assert sorted(p.name for p in (tmp_path / "legs").iterdir()) == ["perfbudget-tests"]
