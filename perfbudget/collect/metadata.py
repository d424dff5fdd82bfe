"""Run metadata: which project, commit, branch and build a run belongs to, and where it ran.

GitHub Actions' environment is preferred (it names the PR branch rather than
the detached merge commit's); outside it, ``git`` is asked with a short
timeout; failing both, the field is None. Nothing here may fail a test run.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path

from perfbudget.results import Run

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the project is named after its rootdir
    tomllib = None  # type: ignore[assignment]

GIT_TIMEOUT_S = 2.0


def utc_now() -> str:
    """ISO 8601 in UTC, to the second: ``2026-11-25T08:41:20Z``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_name(rootdir: Path) -> str:
    """``[project].name`` of the rootdir's pyproject.toml, else the rootdir's name."""
    if tomllib is None:
        return rootdir.name
    try:
        with (rootdir / "pyproject.toml").open("rb") as handle:
            name = tomllib.load(handle).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else rootdir.name


def _git(rootdir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=rootdir,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def vcs_facts(rootdir: Path, environ: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(commit, branch, build id) from GitHub Actions, else git, else None."""
    commit = environ.get("GITHUB_SHA") or _git(rootdir, "rev-parse", "HEAD")
    branch = environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME")
    if not branch:
        branch = _git(rootdir, "rev-parse", "--abbrev-ref", "HEAD")
        if branch == "HEAD":  # detached: no branch name to report
            branch = None
    run_id = environ.get("GITHUB_RUN_ID")
    build_id = f"{run_id}.{environ.get('GITHUB_RUN_ATTEMPT', '1')}" if run_id else None
    return commit, branch, build_id


def _version(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def environment(workers: int) -> dict[str, str]:
    """Versions and platform; Django only if it is installed."""
    facts = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(terse=True),
        "pytest": _version("pytest") or "",
        "xdist_workers": str(workers),
    }
    django = _version("Django")
    if django:
        facts["django"] = django
    perfbudget = _version("perfbudget")
    if perfbudget:
        facts["perfbudget"] = perfbudget
    return facts


def new_run(rootdir: Path, workers: int, environ: Mapping[str, str] | None = None) -> Run:
    """A run with its metadata filled in and ``started`` set to now."""
    env = os.environ if environ is None else environ
    commit, branch, build_id = vcs_facts(rootdir, env)
    return Run(
        project=project_name(rootdir),
        commit=commit,
        branch=branch,
        build_id=build_id,
        started=utc_now(),
        environment=environment(workers),
    )
