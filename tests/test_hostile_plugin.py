"""``pytest --perf-budget`` with bad option values, results paths and variables: one line each, never a traceback (issue 19).

The cases are ``tests/support/hostile_options.py``'s table, which the Django runner
shares (``tests/test_hostile_django_runner.py``). Each runs pytest in a
subprocess with a time limit, so a results path that would block (a FIFO)
fails the test instead of hanging it. Then hostile test file names (escape
codes, bidi overrides, line breaks) reach the terminal summary as escapes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfbudget.report.escape import visible_controls
from perfbudget.run.model import Run, TestRecord
from perfbudget.run.write import write_run
from tests.support.hostile_options import CASES, PYTEST_USAGE, UNSAFE, Case, lines_saying

PLUGIN_CASES = {name: case for name, case in CASES.items() if not case.django_only}


def _section(output: str) -> list[str]:
    """The lines of perfbudget's section of the terminal summary."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("=") and " perfbudget " in line), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"=|\d+ (passed|failed)", lines[i])), len(lines))
    return lines[start + 1 : end]


@pytest.mark.parametrize("case", PLUGIN_CASES.values(), ids=PLUGIN_CASES.keys())
def test_each_bad_input_is_one_line_and_the_documented_exit_code(
    case: Case, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    directory = pytester.mkdir("case")
    path = case.setup(directory) if case.setup is not None else ""
    baseline = directory / "base.ndjson"
    write_run(Run(project="demo", tests=[TestRecord("test_x.py::test_one", "test_x.py", 1, "passed", {"queries": 1.0})]), baseline)
    if case.ini:
        (pytester.path / "pytest.ini").write_text(f"[pytest]\n{case.ini}\n", encoding="utf-8")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    args = [arg.format(path=path, baseline=baseline) for arg in case.args]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--perf-budget", *args, timeout=60)
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert not UNSAFE.findall(output)
    if case.usage:  # before any test: pytest's one ERROR, the option and value named
        assert result.ret == PYTEST_USAGE
        assert len(lines_saying(result.stderr.str(), case.fragment)) == case.mentions, result.stderr.str()[-3000:]
        assert "1 passed" not in result.stdout.str()
    else:  # the tests ran; perfbudget's section says it once (pytest's warnings summary repeats its warnings)
        assert result.ret == pytest.ExitCode.OK
        assert result.parseoutcomes().get("passed") == 1
        assert len(lines_saying("\n".join(_section(result.stdout.str())), case.fragment)) == case.mentions, result.stdout.str()[-3000:]
    precious = directory / "elsewhere" / "precious.txt"  # a symlink's target is left as it was
    assert not precious.exists() or precious.read_text(encoding="utf-8") == "keep me\n"


HOSTILE_NAMES = {
    "CSI clear screen": "\x1b[2J",
    "OSC window title": "\x1b]0;pwned\x07",
    "OSC 8 hyperlink": "\x1b]8;;http:evil\x1b\\link\x1b]8;;\x1b\\",
    "C1 CSI": "\x9b2J",
    "RTL override": "\u202eyp",
    "carriage return": "ok\rFAKE",
    "backspace": "abc\x08\x08",
    "line break": "a\nperfbudget: 0 regressions",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_a_hostile_test_file_name_reaches_the_terminal_summary_as_escapes(name: str, pytester: pytest.Pytester) -> None:
    """pytest escapes parametrize ids itself, but a node id's path is the file's name, as it is on disk."""
    (pytester.path / f"test_{name}.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--perf-budget", "-q", timeout=60)
    assert result.ret == pytest.ExitCode.OK
    section = _section(result.stdout.str())
    assert section and not UNSAFE.findall("\n".join(section))
    assert [line for line in section if line.endswith(f"test_{visible_controls(name)}.py::test_one")], section
    assert len(section) == 5, section  # the run's line, the slowest test's two, the results path, the verdict: none forged
    assert Path(pytester.path / ".perfbudget" / "results.ndjson.gz").is_file()
