"""Writing the results file when the machine is hostile (issue 19): a full disk, a test that forks.

Run the way users run the plugin: a pytest subprocess (``pytester``). A
full disk is simulated deterministically by a conftest that makes the
results file's writes fail with ENOSPC after a number of them; the fork is
a real ``os.fork()`` in a test whose child returns into pytest's loop.
"""

from __future__ import annotations

import re

import pytest

from perfbudget.run.read import load_run

FULL_DISK = """
import errno
import perfbudget.run.write as write

_open = write._open_for_writing


class FullDisk:
    '''The results file on a disk that is full after {writes} writes.'''

    def __init__(self, raw):
        self.raw, self.writes = raw, 0

    def write(self, data):
        self.writes += 1
        if self.writes > {writes}:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.raw.write(data)

    def __getattr__(self, name):
        return getattr(self.raw, name)


write._open_for_writing = lambda path: FullDisk(_open(path))
"""

TESTS = """
import pytest

@pytest.mark.parametrize("n", range(300))
def test_n(n):
    pass
"""

# Writes before the disk is full (the header is the first) -> how many records are lost; the layout.
DISKS = {
    "full after the header": (1, "300 records not written"),
    "full after 10 tests": (11, "290 records not written"),
    "full at the trailer": (301, "the file keeps the 300 before"),
}


@pytest.mark.parametrize("output", ["results.ndjson", "results.ndjson.gz"])
@pytest.mark.parametrize("disk", DISKS)
def test_a_full_disk_is_one_line_with_a_count_and_the_tests_pass(pytester: pytest.Pytester, disk: str, output: str) -> None:
    """Before, every test after the disk filled printed "building a test record failed" (2,736 lines in the red team's run)."""
    writes, said = DISKS[disk]
    pytester.makeconftest(FULL_DISK.format(writes=writes))
    pytester.makepyfile(test_many=TESTS)
    result = pytester.runpytest_subprocess("--perf-budget", "--perf-output", output, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK  # perfbudget's trouble never fails the tests
    out = result.stdout.str() + result.stderr.str()
    section = out[out.index("= perfbudget =") :]
    [line] = [line for line in section.splitlines() if "No space left on device" in line]
    assert "writing failed (No space left on device)" in line and said in line and output in line, line
    assert "building a test record failed" not in out and "Traceback" not in out
    assert out.count("No space left on device") <= 2  # the perfbudget section and pytest's warnings summary
    written = load_run(pytester.path / output)  # what made it to disk reads, as an interrupted run
    assert written.interrupted and len(written.tests) == writes - 1


def test_a_full_disk_under_xdist_is_one_line_a_file(pytester: pytest.Pytester) -> None:
    """Each worker's stream and the results file say it once each, whatever the number of tests."""
    pytest.importorskip("xdist", reason="pytest-xdist runs the tests on two workers")
    pytester.makeconftest(FULL_DISK.format(writes=1))
    pytester.makepyfile(test_many=TESTS)
    result = pytester.runpytest_subprocess("--perf-budget", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str() + result.stderr.str()
    section = out[out.index("= perfbudget =") :]
    lines = [line for line in section.splitlines() if "No space left on device" in line]
    assert len(lines) == 3, lines  # two workers' streams, and the results file
    assert sum(int(lost) for line in lines for lost in re.findall(r"(\d+) records not written", line)) == 300, lines
    assert "building a test record failed" not in out and "Traceback" not in out


def test_an_output_path_on_a_device_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_many=TESTS)
    result = pytester.runpytest_subprocess("--perf-budget", "--perf-output", "/dev/full", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert "/dev/full: refusing to replace it with results: it is not a regular file" in out and "Traceback" not in out


FORKS = {  # how the forked child ends -> the test file
    "returns into pytest": "",  # and runs the rest of the loop, session finish included
    "raises SystemExit": "        raise SystemExit(0)\n",
    "exits at once": "        os._exit(0)\n",  # the well-behaved child: nothing to undo
}


@pytest.mark.parametrize("output", ["results.ndjson", "results.ndjson.gz"])
@pytest.mark.parametrize("child", FORKS)
def test_a_forked_child_never_writes_to_the_results_file(pytester: pytest.Pytester, child: str, output: str) -> None:
    """Before, the child's tests and trailer landed in the parent's stream: "a record after the end line", or a corrupt gzip."""
    pytester.makepyfile(
        test_fork=(
            "import os\n\n"
            "def test_a():\n    pass\n\n"
            "def test_forks():\n"
            "    pid = os.fork()\n"
            "    if pid:\n"
            "        os.waitpid(pid, 0)\n"
            "    else:\n"
            "        pass\n" + FORKS[child] + "\n"
            "def test_b():\n    pass\n\n"
            "def test_c():\n    pass\n"
        )
    )
    result = pytester.runpytest_subprocess("--perf-budget", "--perf-output", output, "-p", "no:cacheprovider", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    run = load_run(pytester.path / output)  # readable: only the parent wrote it
    assert not run.interrupted
    assert [test.node_id.split("::")[1] for test in run.tests] == ["test_a", "test_b", "test_c", "test_forks"]
