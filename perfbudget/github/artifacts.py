"""Per-build files: ``.perfbudget/builds/<build id>/`` with results, reports and the PR context.

The action uploads that directory as one artifact named ``<prefix><run id>-<attempt>``.
On the default branch it is the baseline later PRs download; on a PR from a
fork it carries what the second, trusted ``workflow_run`` stage needs to post
the comment (``pr.json``). ``pr.json`` comes from an untrusted run, so it is
validated field by field when read.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from perfbudget.errors import PerfBudgetError

BUILDS_DIR = Path(".perfbudget") / "builds"
PR_CONTEXT_NAME = "pr.json"
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


class ArtifactError(PerfBudgetError):
    """The artifact directory or its pr.json is missing or malformed."""


def artifact_name(prefix: str, build_id: str) -> str:
    """``perfbudget-1234-1``: the stable prefix finds it, run id and attempt keep it unique."""
    return f"{prefix}{build_id}"


def build_dir(root: Path, build_id: str) -> Path:
    """The directory for one build, created; ``build_id`` is reduced to safe file-name characters."""
    path = Path(root) / BUILDS_DIR / (_SAFE_ID.sub("_", build_id) or "local")
    path.mkdir(parents=True, exist_ok=True)
    return path


def collect(directory: Path, files: dict[str, Path | None]) -> list[Path]:
    """Copy each existing file into ``directory`` under its target name; missing ones are skipped."""
    copied = []
    for name, source in files.items():
        if source is None or not Path(source).is_file():
            continue
        target = directory / name
        if Path(source).resolve() != target.resolve():
            shutil.copyfile(source, target)
        copied.append(target)
    return copied


@dataclass
class PrContext:
    """What the first stage knows and the second (workflow_run) stage needs to comment."""

    repository: str
    number: int
    head_sha: str
    workflow: str
    job: str
    verdict: str  # "fail" | "changed" | "ok"


def write_pr_context(directory: Path, context: PrContext) -> Path:
    path = Path(directory) / PR_CONTEXT_NAME
    path.write_text(json.dumps(asdict(context), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_pr_context(directory: Path) -> PrContext:
    """Read and check ``pr.json``; every problem names the file and the key."""
    path = Path(directory) / PR_CONTEXT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{path}: not found; was the artifact uploaded by the perfbudget action on a PR?") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise ArtifactError(f"{path}: key 'number' must be a positive integer, got {number!r}")
    sha = data.get("head_sha")
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise ArtifactError(f"{path}: key 'head_sha' must be a hex commit sha, got {sha!r}")
    strings = {}
    for key in ("repository", "workflow", "job", "verdict"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ArtifactError(f"{path}: key {key!r} must be a string, got {value!r}")
        strings[key] = value
    if strings["verdict"] not in ("fail", "changed", "ok"):
        raise ArtifactError(f"{path}: key 'verdict' must be fail, changed or ok, got {strings['verdict']!r}")
    return PrContext(number=number, head_sha=sha, **strings)
