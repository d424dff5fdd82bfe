"""Per-build artifact directories and the pr.json the fork-PR second stage trusts only after checking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfbudget.github.artifacts import (
    BUILDS_DIR,
    ArtifactError,
    PrContext,
    artifact_name,
    build_dir,
    build_paths,
    clean_key,
    collect,
    default_key,
    find,
    read_pr_context,
    save_results,
    split_artifact_name,
    write_pr_context,
)
from perfbudget.run.lines import GZIP_MAGIC
from perfbudget.run.read import load_run
from tests.support.fakegithub.runner import read_outputs
from tests.support.github import cli


def test_build_dir_and_name(tmp_path: Path) -> None:
    directory = build_dir(tmp_path, "123-2")
    assert directory == tmp_path / ".perfbudget" / "builds" / "123-2" and directory.is_dir()
    assert build_dir(tmp_path, "../../etc").parent == tmp_path / ".perfbudget" / "builds"
    assert artifact_name("api") == "perfbudget-api"  # the same in every run: PRs match it exactly


def test_build_paths_name_every_file_the_steps_pass_on(tmp_path: Path) -> None:
    paths = build_paths(tmp_path, "shop", "123-2")
    directory = tmp_path / ".perfbudget" / "builds" / "shop-123-2"
    assert paths.outputs() == {
        "build-dir": str(directory),
        "results": str(directory / "results.ndjson.gz"),
        "baseline": str(directory / "baseline"),
        "artifact-name": "perfbudget-shop",
    }
    assert directory.is_dir()


@pytest.mark.parametrize(
    ("job", "directory", "matrix", "key"),
    [
        ("tests", ".", "", "tests"),
        ("tests", "services/api/", "null", "tests-services-api"),
        ("tests", ".", '{"python": "3.12", "django": "5.2"}', "tests-5.2-3.12"),
        ("tests", "web", '{"os": "ubuntu-latest", "flags": [1, "x"]}', "tests-web-1-x-ubuntu-latest"),
        ("tests", ".", '{"config": {"python": "3.11", "db": "pg"}}', "tests-pg-3.11"),
        ("", ".", "not json", "tests"),
        ("perf tests", ".", '{"shard": 2}', "perf-tests-2"),
    ],
)
def test_default_key_tells_legs_and_projects_apart(job: str, directory: str, matrix: str, key: str) -> None:
    assert default_key(job, directory, matrix) == key


@pytest.mark.parametrize("key", ["///", "", "***"])
def test_a_key_without_letters_is_an_error_before_any_directory(tmp_path: Path, key: str) -> None:
    with pytest.raises(ArtifactError, match="name the leg or project with the action's key input"):
        build_paths(tmp_path, key, "1-1")
    assert not (tmp_path / BUILDS_DIR).exists()


def test_keys_are_cleaned_to_what_artifact_names_and_markers_accept() -> None:
    assert clean_key("api/v2: <py3.12>") == "api-v2-py3.12"


def test_a_shards_artifact_name_gives_back_its_key_and_shard() -> None:
    assert artifact_name("tests", "2") == "perfbudget-tests--shard-2"
    assert split_artifact_name("perfbudget-tests--shard-2") == ("tests", "2")
    assert split_artifact_name("perfbudget-unit-shard-tests") == ("unit-shard-tests", "")  # a key may say "shard"
    assert split_artifact_name("perfbudget-tests-3.12") == ("tests-3.12", "")


def test_artifact_paths_prints_github_output_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    monkeypatch.chdir(tmp_path)
    assert cli("artifact", "paths", "--key", "shop") == 0
    (tmp_path / "output").write_text(capsys.readouterr().out)
    assert read_outputs(tmp_path / "output") == {"key": "shop", "shard": "", **build_paths(tmp_path, "shop", "77-2").outputs()}
    assert cli("artifact", "paths", "--key", "shop", "--shard", "2") == 0
    assert "artifact-name=perfbudget-shop--shard-2\n" in capsys.readouterr().out
    assert cli("artifact", "paths", "--key", "shop", "--shard", "2/3") == 0  # second of three: a set that can be checked
    assert "artifact-name=perfbudget-shop--shard-2-of-3\n" in capsys.readouterr().out


def test_artifact_paths_default_key_and_a_bad_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_JOB", "perf")
    monkeypatch.chdir(tmp_path)
    assert cli("artifact", "paths", "--working-directory", "api", "--matrix", '{"python": "3.13"}') == 0
    out = capsys.readouterr().out
    assert out.startswith("key=perf-api-3.13\n") and "artifact-name=perfbudget-perf-api-3.13\n" in out
    assert cli("artifact", "paths", "--key", "|||") == 3
    captured = capsys.readouterr()
    assert captured.out == "" and "perfbudget artifact: key '|||' has no letters or digits" in captured.err


def test_find_prefers_the_current_name_and_accepts_an_older_artifacts(tmp_path: Path) -> None:
    assert find(tmp_path, "results.ndjson.gz") is None
    (tmp_path / "results.json").write_text("{}")
    assert find(tmp_path, "results.ndjson.gz") == tmp_path / "results.json"
    (tmp_path / "results.ndjson.gz").write_bytes(b"")
    assert find(tmp_path, "results.ndjson.gz") == tmp_path / "results.ndjson.gz"
    assert find(tmp_path, "report.md") is None


def test_save_results_reencodes_so_the_name_tells_the_truth(tmp_path: Path) -> None:
    """A schema-1 results.json saved as results.ndjson.gz becomes gzip NDJSON with the same tests."""
    old = tmp_path / "results.json"
    old.write_text(json.dumps({"schema_version": 1, "project": "shop", "tests": [{"node_id": "t.py::test_a", "metrics": {"queries": 3}}]}))
    target = save_results(old, tmp_path / "build" / "results.ndjson.gz")
    assert target == tmp_path / "build" / "results.ndjson.gz" and target.read_bytes()[:2] == GZIP_MAGIC
    assert [(t.node_id, t.metrics) for t in load_run(target).tests] == [("t.py::test_a", {"queries": 3})]
    assert save_results(target, target) == target  # already in place: untouched
    assert save_results(tmp_path / "missing.json", tmp_path / "build" / "baseline.ndjson.gz") is None
    (tmp_path / "broken.json").write_text("{broken")
    assert save_results(tmp_path / "broken.json", tmp_path / "build" / "baseline.ndjson.gz") is None
    assert not (tmp_path / "build" / "baseline.ndjson.gz").exists()


def test_collect_copies_what_exists(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{}")
    directory = build_dir(tmp_path, "1-1")
    copied = collect(directory, {"results.json": tmp_path / "results.json", "report.html": tmp_path / "missing.html", "report.md": None})
    assert copied == [directory / "results.json"] and (directory / "results.json").read_text() == "{}"


def test_pr_context_round_trip(tmp_path: Path) -> None:
    context = PrContext("acme/shop", 7, "a" * 40, "CI", "perf", "changed")
    write_pr_context(tmp_path, context)
    assert read_pr_context(tmp_path) == context


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": 0}, "key 'number' must be a positive integer"),
        ({"number": True}, "key 'number' must be a positive integer"),
        ({"head_sha": "main; echo"}, "key 'head_sha' must be a hex commit sha"),
        ({"key": ["x"]}, "key 'key' must be a string"),
        ({"verdict": "great"}, "key 'verdict' must be fail, changed, ok or error"),
    ],
)
def test_pr_context_rejects_bad_values(tmp_path: Path, change: dict, message: str) -> None:  # type: ignore[type-arg]
    data = {"repository": "acme/shop", "number": 7, "head_sha": "a" * 40, "workflow": "CI", "key": "perf", "verdict": "ok"}
    (tmp_path / "pr.json").write_text(json.dumps({**data, **change}))
    with pytest.raises(ArtifactError, match=message) as raised:
        read_pr_context(tmp_path)
    assert str(tmp_path / "pr.json") in str(raised.value)


def test_pr_context_of_the_previous_release_names_the_job(tmp_path: Path) -> None:
    data = {"repository": "acme/shop", "number": 7, "head_sha": "a" * 40, "workflow": "CI", "job": "perf", "verdict": "ok"}
    (tmp_path / "pr.json").write_text(json.dumps(data))
    assert read_pr_context(tmp_path).key == "perf"


def test_pr_context_missing_or_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        read_pr_context(tmp_path)
    (tmp_path / "pr.json").write_text("[1, 2")
    with pytest.raises(ArtifactError, match="unreadable"):
        read_pr_context(tmp_path)
