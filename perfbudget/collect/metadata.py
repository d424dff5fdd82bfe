"""Run metadata: which project, commit, branch and build a run belongs to, and where it ran.

GitHub Actions' environment is preferred (it names the PR branch rather than
the detached merge commit's); outside it, ``git`` is asked with a short
timeout; failing both, the field is None. Nothing here may fail a test run.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path

from perfbudget.run.model import Run
from perfbudget.run.toml import tomllib

GIT_TIMEOUT_S = 2.0


def utc_now() -> str:
    """ISO 8601 in UTC, to the second: ``2026-11-25T08:41:20Z``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_name(rootdir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The run's project, which a baseline must share: from configuration or the repository, never the checkout's name.

    In order: $PERFBUDGET_PROJECT; ``[project].name`` of the rootdir's
    pyproject.toml; the GitHub repository (GITHUB_REPOSITORY, with the
    rootdir's path inside GITHUB_WORKSPACE); the ``origin`` remote's
    owner/name (with the rootdir's path in the repository); only then the
    rootdir's name. A renamed checkout directory keeps its project, so its
    baseline still applies and a wrong one is still refused.
    """
    env = os.environ if environ is None else environ
    return (
        env.get("PERFBUDGET_PROJECT", "").strip()
        or _pyproject_name(rootdir)
        or _github_project(rootdir, env)
        or _git_remote_project(rootdir)
        or rootdir.name
    )


def _pyproject_name(rootdir: Path) -> str:
    try:
        with (rootdir / "pyproject.toml").open("rb") as handle:
            name = tomllib.load(handle).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) else ""


def _github_project(rootdir: Path, env: Mapping[str, str]) -> str:
    repository, workspace = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_WORKSPACE", "")
    if not repository:
        return ""
    try:
        inside = rootdir.resolve().relative_to(Path(workspace).resolve()).as_posix() if workspace else "."
    except ValueError:
        inside = "."
    return repository if inside == "." else f"{repository}/{inside}"


def _git_remote_project(rootdir: Path) -> str:
    """``owner/name`` of the origin remote (https or ssh form) and the rootdir's path in the repository."""
    url = _git(rootdir, "config", "--get", "remote.origin.url") or ""
    path = url.rstrip("/").removesuffix(".git").replace(":", "/")
    parts = [part for part in path.split("/") if part]
    if len(parts) < 2:
        return ""
    prefix = (_git(rootdir, "rev-parse", "--show-prefix") or "").strip("/")
    return "/".join(parts[-2:]) + (f"/{prefix}" if prefix else "")


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


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(workers: int, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The run's fingerprint: machine, versions and CI runner; see ``run.model.ENVIRONMENT_KEYS``.

    Times measured on another CPU, Python or database are not comparable,
    and the reports can say so only if the run wrote down where it ran.
    """
    env = os.environ if environ is None else environ
    facts = {
        "cpu_model": cpu_model(),
        "cpu_count": str(os.cpu_count() or 0),
        "os": f"{platform.system()} {platform.release()}".strip(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(terse=True),
        "pytest": _version("pytest") or "",
        "xdist_workers": str(workers),
    }
    for key, variable in (("runner_name", "RUNNER_NAME"), ("runner_os", "RUNNER_OS"), ("runner_labels", "PERFBUDGET_RUNNER_LABELS")):
        if env.get(variable):
            facts[key] = env[variable]
    django = _version("Django")
    if django:
        facts["django"] = django
    perfbudget = _version("perfbudget")
    if perfbudget:
        facts["perfbudget"] = perfbudget
    return facts


def base_commit(environ: Mapping[str, str]) -> str | None:
    """The commit a pull request is compared with: ``pull_request.base.sha`` of the Actions event."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            sha = json.load(handle).get("pull_request", {}).get("base", {}).get("sha")
    except (OSError, ValueError, AttributeError):
        return None
    return sha if isinstance(sha, str) and sha else None


def database_fingerprint() -> dict[str, str]:
    """``{"database": "sqlite 3.45.1"}`` for the default alias, when Django is set up; else nothing.

    Asked at the end of the run, without opening a connection: a server's
    version is known only if a test connected.
    """
    if "django" not in sys.modules:
        return {}
    try:
        from django.conf import settings
        from django.db import DEFAULT_DB_ALIAS, connections

        if not settings.configured or DEFAULT_DB_ALIAS not in settings.DATABASES:
            return {}
        connection = connections[DEFAULT_DB_ALIAS]
        version = ""
        if connection.vendor == "sqlite":
            version = connection.Database.sqlite_version
        elif connection.connection is not None:
            version = ".".join(str(part) for part in connection.get_database_version())
    except Exception:  # a half-configured project: the fingerprint is advice, never an error
        return {}
    return {"database": f"{connection.vendor} {version}".strip()}


def new_run(rootdir: Path, workers: int, environ: Mapping[str, str] | None = None) -> Run:
    """A run with its identity and environment filled in and ``started`` set to now.

    ``PERFBUDGET_SHARD`` names the shard or matrix entry when a suite is
    split over several jobs (the action sets it from its ``shard`` input).
    """
    env = os.environ if environ is None else environ
    commit, branch, build_id = vcs_facts(rootdir, env)
    return Run(
        project=project_name(rootdir, env),
        commit=commit,
        branch=branch,
        base_commit=base_commit(env),
        build_id=build_id,
        shard=env.get("PERFBUDGET_SHARD") or None,
        started=utc_now(),
        environment=environment(workers, env),
    )
