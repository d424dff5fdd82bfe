"""Run a composite action's or a workflow job's steps the way the Actions runner does, on this machine.

Each ``run:`` step becomes ``bash --noprofile --norc -eo pipefail SCRIPT`` with
its ``env:`` (expressions evaluated), its own ``GITHUB_OUTPUT`` file (parsed
into ``steps.<id>.outputs``), the job's ``GITHUB_STEP_SUMMARY`` and the
working directory it names. ``if:`` follows the runner's rule (skip after a
failure unless ``always()``). The few ``uses:`` steps are simulated:
upload/download-artifact store to and read from the fake GitHub API (one
directory per artifact unless ``merge-multiple``; a second upload of a name
is a 409 unless ``overwrite``), ``perfbudget/perfbudget`` runs this checkout's
action.yml as a nested composite action, and checkout, setup-python,
setup-uv and cache do nothing (the workspace, Python and tools are there).
Expressions are the small subset our YAML uses: context lookups (github,
inputs, steps, env, runner, matrix), ``toJSON(context)``, ``==``, ``!=``,
``&&``, ``||`` and ``always()``.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import REPO_ROOT
from tests.support.github import FakeGitHub, zip_bytes

ACTION_FILE = REPO_ROOT / "action.yml"
PERFBUDGET_ACTION = "perfbudget/perfbudget"  # how the examples' workflows name the action
_LOOKUP = re.compile(r"\b(inputs|github|steps|env|runner|matrix)((?:\.[A-Za-z0-9_-]+)+)")
_TO_JSON = re.compile(r"toJSON\((\w+)\)")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


@dataclass
class StepRun:
    name: str
    status: str  # "success" | "failure" | "skipped"
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None


@dataclass
class JobRun:
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(step.status == "failure" for step in self.steps)

    def step(self, name: str) -> StepRun:
        return next(step for step in self.steps if step.name == name)

    @property
    def log(self) -> str:
        return "\n".join(step.stdout + step.stderr for step in self.steps)


def _walk(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return ""
        value = value.get(key, "")
    return value


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression of the subset above against the contexts."""

    def lookup(match: re.Match[str]) -> str:
        return repr(_walk(context.get(match.group(1), {}), match.group(2).lstrip(".").split(".")))

    python = _TO_JSON.sub(lambda m: repr(json.dumps(context.get(m.group(1)))), expression.strip())
    python = _LOOKUP.sub(lookup, python)
    python = python.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
    return eval(f"({python})", {"__builtins__": {}}, {})  # our own YAML's expressions only


def substitute(text: Any, context: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        result = evaluate(match.group(1), context)
        return str(result).lower() if isinstance(result, bool) else str(result)

    return _EXPRESSION.sub(value, str(text))


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT: ``name=value`` lines and ``name<<DELIM`` heredocs."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            outputs[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        name, _, value = line.partition("=")
        outputs[name] = value
        index += 1
    return outputs


@dataclass
class Runner:
    """One job's environment: the workspace, GITHUB_* variables, contexts and the fake API."""

    fake: FakeGitHub
    workspace: Path
    env: dict[str, str]  # GITHUB_* variables of the job
    github: dict[str, Any]  # the `github` context (event, event_name, token, repository, ...)
    run_id: int
    summary: Path
    skip: tuple[str, ...] = ()  # step names not to run (installs that need the network)
    matrix: dict[str, Any] | None = None  # the job's matrix values (None: not a matrix job)
    action_inputs: dict[str, str] = field(default_factory=dict)  # forced on perfbudget/perfbudget steps (install: false)
    _calls: int = 0  # actions and jobs run so far: each gets its own step directories

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTEST_", "PERFBUDGET_", "INPUT_"))}
        env["PYTEST_ADDOPTS"] = "-p no:randomly -p no:socket -p no:recording"  # installed here for other tests, not on a runner
        env.update(self.env)
        env["GITHUB_STEP_SUMMARY"] = str(self.summary)
        return env

    def run_steps(self, steps: list[dict[str, Any]], context: dict[str, Any], step_dir: Path, action_path: Path | None = None) -> JobRun:
        job = JobRun()
        context.setdefault("steps", {})
        for index, step in enumerate(steps):
            name = str(step.get("name") or step.get("uses") or step.get("run", "")[:40])
            condition = str(step.get("if", "")).replace("${{", "").replace("}}", "")
            wanted = evaluate(condition, context) if condition else not job.failed
            if not wanted or name in self.skip or (job.failed and "always()" not in condition):
                job.steps.append(StepRun(name, "skipped"))
                if step.get("id"):
                    context["steps"][step["id"]] = {"outputs": {}, "outcome": "skipped"}
                continue
            result = self._step(step, name, context, step_dir / f"step{index}", action_path)
            job.steps.append(result)
            if step.get("id"):
                context["steps"][step["id"]]["outcome"] = result.status
        return job

    def _step(self, step: dict[str, Any], name: str, context: dict[str, Any], step_dir: Path, action_path: Path | None) -> StepRun:
        step_dir.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, str] = {}
        if step.get("id"):
            context["steps"][step["id"]] = {"outputs": outputs}
        uses = str(step.get("uses", ""))
        if uses:
            arguments = {k: substitute(v, context) for k, v in (step.get("with") or {}).items()}
            return self._uses(uses, arguments, name, outputs)
        env = self._base_env()
        env.update({k: substitute(v, context) for k, v in (step.get("env") or {}).items()})
        output_file = step_dir / "output"
        output_file.touch()
        env["GITHUB_OUTPUT"] = str(output_file)
        if action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(action_path)
        script = step_dir / "script.sh"
        script.write_text(str(step["run"]), encoding="utf-8")
        cwd = self.workspace / substitute(step.get("working-directory", "."), context)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs.update(read_outputs(output_file))
        status = "success" if done.returncode == 0 else "failure"
        return StepRun(name, status, done.stdout, done.stderr, done.returncode)

    def _uses(self, uses: str, arguments: dict[str, str], name: str, outputs: dict[str, str]) -> StepRun:
        action = uses.split("@", 1)[0]
        if action in (PERFBUDGET_ACTION, "./"):  # perfbudget itself, as a workflow uses it: this checkout's action.yml
            nested = self.run_action(ACTION_FILE, {**arguments, **self.action_inputs}, finish=False)
            outputs.update(nested.outputs)
            status = "failure" if nested.failed else "success"
            return StepRun(name, status, "\n".join(f"--- {s.name} [{s.status}]\n{s.stdout}\n{s.stderr}" for s in nested.steps))
        if action == "actions/upload-artifact":
            source = self.workspace / arguments["path"]
            files = {str(p.relative_to(source)): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
            if not files:
                return StepRun(name, "success", stdout="No files were found; no artifact uploaded")
            same = [a for a in self.fake.artifacts.values() if a["_run"] == self.run_id and a["name"] == arguments["name"]]
            if same and arguments.get("overwrite") != "true":  # upload-artifact v4+: names are unique per run
                return StepRun(
                    name,
                    "failure",
                    stderr="Failed to CreateArtifact: (409) Conflict: an artifact with this name already exists on the workflow run",
                )
            for artifact in same:
                del self.fake.artifacts[artifact["id"]]
            aid = self.fake.add_artifact(self.run_id, arguments["name"], zip_bytes(files))  # type: ignore[arg-type]
            outputs.update(
                {
                    "artifact-id": str(aid),
                    "artifact-url": f"https://github.com/{self.fake.owner}/{self.fake.repo}/actions/runs/{self.run_id}/artifacts/{aid}",
                }
            )
            return StepRun(name, "success", stdout=f"uploaded {arguments['name']}: {sorted(files)}")
        if action == "actions/download-artifact":
            # By pattern without merge-multiple, each artifact goes to its own directory, as v4+ does.
            run_id = int(arguments.get("run-id") or self.run_id)
            target = self.workspace / arguments.get("path", ".")
            target.mkdir(parents=True, exist_ok=True)
            found = [
                a for a in self.fake.artifacts.values() if a["_run"] == run_id and fnmatch.fnmatch(a["name"], arguments.get("pattern", "*"))
            ]
            merge = arguments.get("merge-multiple") == "true"
            for artifact in found:
                zipfile.ZipFile(io.BytesIO(self.fake.blobs[artifact["id"]])).extractall(target if merge else target / artifact["name"])
            return StepRun(name, "success" if found else "failure", stdout=f"downloaded {[a['name'] for a in found]}")
        if action in ("actions/checkout", "actions/setup-python", "actions/cache", "astral-sh/setup-uv"):
            return StepRun(name, "success", stdout="simulated: the workspace, Python and caches are ready")
        raise AssertionError(f"the runner stand-in does not simulate {uses}")

    def _context(self) -> dict[str, Any]:
        temp = self.summary.parent / "runner-temp"
        temp.mkdir(exist_ok=True)
        return {"github": self.github, "steps": {}, "runner": {"temp": str(temp), "os": "Linux"}, "matrix": self.matrix}

    def run_action(self, action_file: Path, inputs: dict[str, str], finish: bool = True) -> JobRun:
        """A composite action: defaults for missing inputs, steps in order, then its outputs."""
        import yaml

        action = yaml.safe_load(action_file.read_text(encoding="utf-8"))
        context = self._context()
        context["inputs"] = {
            name: substitute(inputs.get(name, spec.get("default", "")), context) for name, spec in action["inputs"].items()
        }
        unknown = set(inputs) - set(action["inputs"])
        assert not unknown, f"inputs not declared in action.yml: {unknown}"
        self._calls += 1
        job = self.run_steps(
            action["runs"]["steps"], context, self.summary.parent / f"action-{self.run_id}-{self._calls}", action_file.parent
        )
        job.outputs = {name: substitute(spec["value"], context) for name, spec in action["outputs"].items()}
        if finish:
            self._finish(job)
        return job

    def _finish(self, job: JobRun) -> None:
        """The run is completed once its (last) job is: a later run can find it among finished runs."""
        for run in self.fake.runs:
            if run["id"] == self.run_id:
                run["status"] = "completed"
                run["conclusion"] = "failure" if job.failed or run.get("conclusion") == "failure" else "success"

    def run_workflow_job(self, workflow_file: Path, job_name: str) -> JobRun | None:
        """A workflow job's steps (None when its ``if:`` is false)."""
        import yaml

        workflow = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
        job = workflow["jobs"][job_name]
        context = self._context()
        if "if" in job and not evaluate(str(job["if"]), context):
            return None
        self._calls += 1
        run = self.run_steps(job["steps"], context, self.summary.parent / f"job-{self.run_id}-{self._calls}")
        self._finish(run)
        return run
