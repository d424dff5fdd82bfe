"""Per-build files: ``.perfbudget/builds/<key>-<build id>/`` with results, reports and the PR context.

The action uploads that directory as one artifact named ``perfbudget-<key>``.
The key names one leg of a matrix or one project of a monorepo: each has its
own artifact, comment marker and comment section, and a PR's baseline is the
target branch's artifact of exactly that name. On the default branch the
artifact is the baseline later PRs download; on a PR from a fork it carries
what the second, trusted ``workflow_run`` stage needs to post the comment
(``pr.json``). ``pr.json`` comes from an untrusted run, so it is
validated field by field when read. This module is the only place that names
these paths: ``action.yml`` reads them from ``perfbudget artifact paths``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from perfbudget.budgets.discover import DEFAULT_NAMES
from perfbudget.compare.verdicts import CiVerdict
from perfbudget.config.paths import RESULTS_NAME  # the run's results; write_run compresses by the suffix
from perfbudget.github.contained import ArtifactError, regular_file
from perfbudget.run.decode import ResultsError
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run

BUILDS_DIR = Path(".perfbudget") / "builds"
BASELINE_NAME = "baseline"  # directory: the target branch's results (and history) and selection.json
BUDGETS_NAME = DEFAULT_NAMES[0]  # the name find_budget_file looks for, so the second stage judges alike
REPORT_NAME = "report.md"
HTML_NAME = "report.html"
COMPARISON_NAME = "comparison.json"
PR_CONTEXT_NAME = "pr.json"
# What artifacts of perfbudget 0.1 called the same files; still read, for one release.
OLD_NAMES = {RESULTS_NAME: ("results.json",), BASELINE_NAME: ("baseline.ndjson.gz", "baseline.json")}
ARTIFACT_PREFIX = "perfbudget-"
SHARD_MARK = "--shard-"  # clean_key never writes "--", so a key cannot contain it
DEFAULT_KEY = "tests"
_SHA = re.compile(r"[0-9a-f]{7,64}")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
_OF = re.compile(r"(\d+)-of-(\d+)")  # a shard named "I/N" in the action's shard input
_KEY_SEPARATORS = re.compile(r"[^A-Za-z0-9._]+")
_NOT_IN_ARTIFACT_NAMES = set('":<>|*?\\/\r\n')  # upload-artifact refuses these


def _shown(value: object) -> str:
    """A value from a file or the action's inputs in a message: its repr, cut short (a 100,000-character sha is not echoed)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def default_key(job: str, working_directory: str = ".", matrix: str = "") -> str:
    """The key of a leg or project that names none: the job, the working directory and the matrix values.

    Two ``uses:`` of the action in one job differ by working directory, and
    two legs of a matrix by their matrix values, so neither collides. ``matrix``
    is the matrix context as JSON (``toJSON(matrix)``); "null" or "" when none.
    """
    parts = [job or DEFAULT_KEY]
    directory = Path(working_directory or ".").as_posix().strip("/")
    if directory not in ("", "."):
        parts.append(directory)
    try:
        values = json.loads(matrix) if matrix else None
    except ValueError:
        values = None
    parts.extend(_scalars(values))
    return clean_key("-".join(parts))


def _scalars(value: object) -> list[str]:
    """A matrix entry's values in key order, nested objects and lists flattened (``include`` entries are objects)."""
    if isinstance(value, dict):
        return [text for _, item in sorted(value.items()) for text in _scalars(item)]
    if isinstance(value, list):
        return [text for item in value for text in _scalars(item)]
    return [] if value is None else [str(value)]


def clean_key(key: str) -> str:
    """A key as it appears in artifact names and markers: letters, digits, ``.``, ``_`` and ``-``."""
    cleaned = _KEY_SEPARATORS.sub("-", key).strip("-")[:100]
    if not cleaned:
        raise ArtifactError(f"key {_shown(key)} has no letters or digits; name the leg or project with the action's key input")
    return cleaned


def artifact_name(key: str, shard: str = "") -> str:
    """``perfbudget-<key>``, the same in every run: a PR finds its baseline by this exact name.

    A shard of a suite split over jobs is ``perfbudget-<key>--shard-<shard>``:
    the merge job joins a key's shards into one run, and a baseline is the
    target branch's shards of that key, joined the same way.
    """
    name = ARTIFACT_PREFIX + clean_key(key)
    return f"{name}{SHARD_MARK}{clean_key(shard)}" if shard else name


def shard_id(shard: str) -> str:
    """The shard input as it names an artifact: "2/3" (the second of three) is "2-of-3", so the set can be checked."""
    index, slash, total = shard.strip().partition("/")
    if slash and index.isdigit() and total.isdigit():
        return f"{int(index)}-of-{int(total)}"
    return clean_key(shard)


def shards_complete(names: list[str]) -> str:
    """ "" when the shard names (``1-of-3`` ...) form a whole set, else what is missing, in words.

    Shards named without a total (a plain matrix value) cannot be checked and count as whole.
    """
    totals = {match.group(2) for name in names if (match := _OF.fullmatch(name))}
    if not totals:
        return ""
    if len(totals) > 1:
        return f"the shards disagree on their total ({', '.join(sorted(names))})"
    total = int(totals.pop())
    missing = sorted(set(range(1, total + 1)) - {int(m.group(1)) for name in names if (m := _OF.fullmatch(name))})
    return f"shard {', '.join(map(str, missing))} of {total} missing" if missing else ""


def split_artifact_name(name: str) -> tuple[str, str]:
    """(key, shard) of an artifact name, shard "" for a whole run; the inverse of ``artifact_name``."""
    key = name.removeprefix(ARTIFACT_PREFIX)
    if SHARD_MARK in key:
        key, shard = key.rsplit(SHARD_MARK, 1)
        return key, shard
    return key, ""


def build_dir(root: Path, build_id: str) -> Path:
    """The directory for one build, created; ``build_id`` is reduced to safe file-name characters."""
    path = Path(root) / BUILDS_DIR / (_SAFE_ID.sub("_", build_id) or "local")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class BuildPaths:
    """One build's directory, the files the action's steps pass between them, and its artifact name."""

    directory: Path
    artifact_name: str

    @property
    def results(self) -> Path:
        return self.directory / RESULTS_NAME

    @property
    def baseline(self) -> Path:
        """A directory inside the build directory: a baseline left by an earlier job in the workspace is never reused."""
        return self.directory / BASELINE_NAME

    def outputs(self) -> dict[str, str]:
        """The step outputs ``action.yml`` wires into the later steps."""
        return {
            "build-dir": str(self.directory),
            "results": str(self.results),
            "baseline": str(self.baseline),
            "artifact-name": self.artifact_name,
        }


def build_paths(root: Path, key: str, build_id: str, shard: str = "") -> BuildPaths:
    """The key is checked first, so a bad one creates no directory."""
    name = artifact_name(key, shard)
    return BuildPaths(build_dir(root, f"{name.removeprefix(ARTIFACT_PREFIX)}-{build_id}"), name)


def find(directory: Path, name: str) -> Path | None:
    """``directory/name`` (a file, or the baseline directory), else what an older artifact called it, else None."""
    for candidate in (name, *OLD_NAMES.get(name, ())):
        if (directory / candidate).exists():
            return directory / candidate
    return None


def save_results(source: Path | None, target: Path) -> Path | None:
    """Put a results file at ``target``, re-encoded: its name promises gzip NDJSON, whatever ``source`` was.

    A byte copy of a schema-1 ``results.json`` would not be what the name says.
    None when there is no readable source; the comparison already says why.
    """
    if source is None or not source.is_file():
        return None
    if source.resolve() == target.resolve():
        return target
    try:
        return write_run(load_run(source), target)
    except ResultsError:
        return None


def save_baseline(source: Path | None, target: Path) -> Path | None:
    """Put the baseline into the directory ``target``: a fetched directory's files as they are, a single file re-encoded."""
    if source is None or not source.exists():
        return None
    if source.resolve() == target.resolve():
        return target
    if source.is_dir():
        from perfbudget.compare.baseline import baseline_files
        from perfbudget.run.files import copy_regular

        target.mkdir(parents=True, exist_ok=True)
        for path in baseline_files(source):  # only what is read: a fork's directory may hold FIFOs or links out
            with contextlib.suppress(ResultsError, OSError):  # gone or swapped since listed: not part of the baseline
                copy_regular(path, target / path.relative_to(source))
        return target
    target.mkdir(parents=True, exist_ok=True)
    return save_results(source, target / RESULTS_NAME.replace("results", "baseline"))


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
    """What the first stage knows and the second (workflow_run) stage needs to comment.

    A fork's run writes it, so the second stage takes none of it on trust:
    the number is only a claim that GitHub's answer for that pull request
    must confirm (its head commit and repository those of the triggering
    run), and the labels are asked from GitHub. An ``accepted_by`` that an
    earlier build wrote here is ignored.
    """

    repository: str
    number: int
    head_sha: str
    workflow: str
    key: str  # the leg's or project's key: which marker and section the comment goes to
    verdict: CiVerdict


MAX_PR_JSON_BYTES = 64 * 1024  # what the action writes is about 200 bytes
MAX_PR_NUMBER = 2**31 - 1  # GitHub's issue numbers are 32-bit


def write_pr_context(directory: Path, context: PrContext) -> Path:
    path = Path(directory) / PR_CONTEXT_NAME
    path.write_text(json.dumps(asdict(context), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_pr_context(directory: Path) -> PrContext:
    """Read and check ``pr.json``; every problem names the file and the key."""
    path = Path(directory) / PR_CONTEXT_NAME
    if regular_file(path, MAX_PR_JSON_BYTES) is None:
        raise ArtifactError(f"{path}: not found; was the artifact uploaded by the perfbudget action on a PR?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and 4301-digit numbers are ValueErrors
        raise ArtifactError(f"{path}: unreadable: {exc}") from exc
    except RecursionError as exc:  # json has no nesting limit of its own
        raise ArtifactError(f"{path}: unreadable: nested too deeply") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number <= MAX_PR_NUMBER:
        raise ArtifactError(f"{path}: key 'number' must be a positive integer up to {MAX_PR_NUMBER}, got {_shown(number)}")
    sha = data.get("head_sha")
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise ArtifactError(f"{path}: key 'head_sha' must be a hex commit sha, got {_shown(sha)}")
    strings = {}
    if "key" not in data and "job" in data:  # pr.json of perfbudget 0.1 named the job
        data["key"] = data["job"]
    for key in ("repository", "workflow", "key", "verdict"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ArtifactError(f"{path}: key {key!r} must be a string, got {_shown(value)}")
        strings[key] = value
    strings["key"] = clean_key(strings["key"] or DEFAULT_KEY)
    try:
        verdict = CiVerdict(strings.pop("verdict"))
    except ValueError:
        raise ArtifactError(f"{path}: key 'verdict' must be fail, changed, ok or error, got {_shown(data.get('verdict'))}") from None
    return PrContext(number=number, head_sha=sha, verdict=verdict, **strings)
