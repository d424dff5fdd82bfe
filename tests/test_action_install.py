"""action/install.sh: perfbudget goes into the environment the tests run in, or the step says what to add.

The package managers are stand-ins on PATH that log how they were called
(installing for real would need the network); the script, its detection and
its output for GITHUB_OUTPUT are the real ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "action" / "install.sh"
SPEC = "/opt/perfbudget-action"
SHIM = """#!/bin/bash
echo "{name} $*" >> "$SHIM_LOG"
if [[ "{name}" == *python ]] && [ "$1" = - ]; then  # the PEP 668 check reads its script from stdin
    [ -n "$SHIM_EXTERNALLY_MANAGED" ] && exit 0
    exit 1
fi
"""


def _install(
    tmp_path: Path, mode: str, *tools: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    for name in ("python", *tools):
        path = shims / name
        path.write_text(SHIM.format(name=name))
        path.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    environ = {"PATH": f"{shims}:/usr/bin:/bin", "SHIM_LOG": str(log), "INPUT_INSTALL": mode, "PERFBUDGET_SPEC": SPEC, **(env or {})}
    done = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=60)
    return done, log.read_text().splitlines()


def test_false_installs_nothing_and_true_uses_python_on_path(tmp_path: Path) -> None:
    done, calls = _install(tmp_path, "false")
    assert (done.returncode, done.stdout, calls) == (0, "python=python\n", [])
    done, calls = _install(tmp_path, "true")
    assert done.returncode == 0 and done.stdout == "python=python\n"
    assert calls[-1] == f"python -m pip install --disable-pip-version-check --quiet {SPEC}"


@pytest.mark.parametrize(
    ("lock", "tool", "call", "python"),
    [
        ("uv.lock", "uv", f"uv pip install --quiet --python .venv {SPEC}", "uv run python"),
        ("poetry.lock", "poetry", f"poetry run python -m pip install --disable-pip-version-check --quiet {SPEC}", "poetry run python"),
        ("Pipfile.lock", "pipenv", f"pipenv run python -m pip install --disable-pip-version-check --quiet {SPEC}", "pipenv run python"),
    ],
)
def test_auto_installs_into_the_projects_own_environment(tmp_path: Path, lock: str, tool: str, call: str, python: str) -> None:
    (tmp_path / lock).write_text("")
    (tmp_path / ".venv").mkdir()
    done, calls = _install(tmp_path, "auto", tool)
    assert done.returncode == 0, done.stderr
    assert calls == [call] and done.stdout == f"python={python}\n"


def test_a_uv_project_without_its_environment_is_synced_first(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("")
    _, calls = _install(tmp_path, "auto", "uv")
    assert calls == ["uv sync --frozen", f"uv pip install --quiet --python .venv {SPEC}"]


@pytest.mark.parametrize(
    ("lock", "advice"),
    [
        ("uv.lock", "add 'uses: astral-sh/setup-uv' before perfbudget"),
        ("poetry.lock", "add 'run: pipx install poetry' before perfbudget"),
        ("Pipfile.lock", "add 'run: pipx install pipenv' before perfbudget"),
    ],
)
def test_a_missing_project_tool_says_which_step_to_add(tmp_path: Path, lock: str, advice: str) -> None:
    (tmp_path / lock).write_text("")
    done, calls = _install(tmp_path, "auto")
    assert done.returncode == 1 and calls == []
    assert "::error title=perfbudget install::" in done.stderr and advice in done.stderr


def test_an_active_virtualenv_or_a_dot_venv_is_used(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(SHIM.format(name="venv-python"))
    (venv / "bin" / "python").chmod(0o755)
    done, calls = _install(tmp_path, "auto", env={"VIRTUAL_ENV": str(venv)})
    assert done.stdout == f"python={venv}/bin/python\n"
    assert calls[-1] == f"venv-python -m pip install --disable-pip-version-check --quiet {SPEC}"
    dot = tmp_path / ".venv" / "bin"
    dot.mkdir(parents=True)
    (dot / "python").write_text(SHIM.format(name="dot-venv-python"))
    (dot / "python").chmod(0o755)
    done, calls = _install(tmp_path, "auto")
    assert done.stdout == "python=.venv/bin/python\n" and calls[-1].startswith("dot-venv-python -m pip install")


def test_an_externally_managed_python_is_installed_into_and_says_so(tmp_path: Path) -> None:
    """PEP 668: a runner's system Python refuses plain pip installs."""
    done, calls = _install(tmp_path, "auto", env={"SHIM_EXTERNALLY_MANAGED": "1"})
    assert done.returncode == 0 and "externally managed (PEP 668)" in done.stderr
    assert calls[-1] == f"python -m pip install --disable-pip-version-check --quiet --break-system-packages {SPEC}"


def test_the_pep_668_check_runs_on_a_real_interpreter(tmp_path: Path) -> None:
    """This machine's Python (not externally managed, or a virtualenv) gets no --break-system-packages."""
    shims = tmp_path / "real"
    shims.mkdir()
    (shims / "python").symlink_to(sys.executable)
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{shims}:/usr/bin:/bin", "INPUT_INSTALL": "true", "PERFBUDGET_SPEC": str(tmp_path / "missing")},
    )
    assert "externally managed" not in done.stderr and "break-system-packages" not in done.stderr
    assert done.returncode != 0  # pip itself ran and refused the missing path


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    done, _ = _install(tmp_path, "yes")
    assert done.returncode == 1 and "install must be auto, true or false, not 'yes'" in done.stderr
