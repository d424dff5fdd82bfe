"""``--perf-output`` replaces only a regular file or creates a missing one, refusing anything else before any test runs.

Writing through a symlink would overwrite whatever it points to, and a device
node or a directory is surely a mistyped path: each is a usage error that
names the path and what it is, and leaves it as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.plugin import read_results


@pytest.fixture
def _one_test(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile("def test_one():\n    pass\n")
    return pytester


def _refused(pytester: pytest.Pytester, output: Path, what: str) -> None:
    result = pytester.runpytest_inprocess("--perf-budget", f"--perf-output={output}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*perfbudget: --perf-output {output}: refusing to replace it with results: it is {what}*"])
    assert "Traceback" not in result.stderr.str()


def test_a_symlink_is_refused_and_its_target_left_unchanged(_one_test: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> None:
    target = tmp_path_factory.mktemp("elsewhere") / "precious.txt"
    target.write_text("keep me\n", encoding="utf-8")
    link = _one_test.path / "results.ndjson"
    link.symlink_to(target)
    _refused(_one_test, link, "a symbolic link")
    assert target.read_text(encoding="utf-8") == "keep me\n" and link.is_symlink()


def test_a_dangling_symlink_is_refused_and_nothing_created(_one_test: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> None:
    target = tmp_path_factory.mktemp("elsewhere") / "not-yet.txt"
    link = _one_test.path / "results.ndjson"
    link.symlink_to(target)
    _refused(_one_test, link, "a symbolic link")
    assert not target.exists()


def test_a_directory_is_refused(_one_test: pytest.Pytester) -> None:
    directory = _one_test.mkdir("results")
    _refused(_one_test, directory, "a directory")
    assert list(directory.iterdir()) == []


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_node_is_refused(_one_test: pytest.Pytester) -> None:
    _refused(_one_test, Path("/dev/null"), "not a regular file")
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("existing", [False, True], ids=["missing path", "regular file"])
def test_a_missing_path_or_a_regular_file_is_written(_one_test: pytest.Pytester, existing: bool) -> None:
    output = _one_test.path / "out" / "results.ndjson"
    if existing:
        output.parent.mkdir()
        output.write_text("an older run\n", encoding="utf-8")
    result = _one_test.runpytest_inprocess("--perf-budget", f"--perf-output={output}")
    assert result.ret == pytest.ExitCode.OK
    assert [test["node_id"] for test in read_results(output)["tests"]] == ["test_a_missing_path_or_a_regular_file_is_written.py::test_one"]
