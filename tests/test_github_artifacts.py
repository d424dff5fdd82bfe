"""Per-build artifact directories and the pr.json the fork-PR second stage trusts only after checking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfbudget.github.artifacts import (
    ArtifactError,
    PrContext,
    artifact_name,
    build_dir,
    collect,
    read_pr_context,
    write_pr_context,
)


def test_build_dir_and_name(tmp_path: Path) -> None:
    directory = build_dir(tmp_path, "123-2")
    assert directory == tmp_path / ".perfbudget" / "builds" / "123-2" and directory.is_dir()
    assert build_dir(tmp_path, "../../etc").parent == tmp_path / ".perfbudget" / "builds"
    assert artifact_name("perfbudget-", "123-2") == "perfbudget-123-2"


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
        ({"job": ["x"]}, "key 'job' must be a string"),
        ({"verdict": "great"}, "key 'verdict' must be fail, changed or ok"),
    ],
)
def test_pr_context_rejects_bad_values(tmp_path: Path, change: dict, message: str) -> None:  # type: ignore[type-arg]
    data = {"repository": "acme/shop", "number": 7, "head_sha": "a" * 40, "workflow": "CI", "job": "perf", "verdict": "ok"}
    (tmp_path / "pr.json").write_text(json.dumps({**data, **change}))
    with pytest.raises(ArtifactError, match=message) as raised:
        read_pr_context(tmp_path)
    assert str(tmp_path / "pr.json") in str(raised.value)


def test_pr_context_missing_or_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        read_pr_context(tmp_path)
    (tmp_path / "pr.json").write_text("[1, 2")
    with pytest.raises(ArtifactError, match="unreadable"):
        read_pr_context(tmp_path)
