"""Fetch the target branch's results: newest successful run of this workflow, its perfbudget artifact.

github3.py has no Actions API, so the workflow-run and artifact endpoints are
called through its session (same timeout, retries and token). Not finding a
baseline is normal (first PR, expired artifacts): the outcome says why and the
comparison then uses budgets only.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from github3 import GitHub
from github3.exceptions import GitHubError

from perfbudget.github.artifacts import OLD_NAMES, RESULTS_NAME
from perfbudget.github.client import API_ERRORS, describe, get_json
from perfbudget.run.store import ResultsError, load_run, write_run

# Results file names an artifact may hold, newest format first (the last: perfbudget 0.1's schema 1).
RESULTS_NAMES = (RESULTS_NAME, "results.ndjson", OLD_NAMES[RESULTS_NAME])
MAX_RUNS = 10  # successful runs looked at before giving up
MAX_RESULTS_BYTES = 200 * 1024 * 1024  # refuse absurd archive members rather than fill the disk


@dataclass
class BaselineQuery:
    owner: str
    repo: str
    branch: str
    artifact_prefix: str = "perfbudget-"
    workflow: str = ""  # workflow file name or id; "" -> filter all runs by workflow_name
    workflow_name: str = ""
    exclude_run_id: str = ""  # this build's own run


@dataclass
class FetchOutcome:
    path: Path | None = None  # the validated results file, None when no baseline was found
    run_id: int | None = None
    run_url: str = ""
    notes: list[str] = field(default_factory=list)  # why runs/artifacts were skipped, in words

    @property
    def message(self) -> str:
        if self.path is not None:
            return f"baseline: results of run {self.run_id} ({self.run_url}) saved to {self.path}"
        return "; ".join(self.notes) or "no baseline found"


def _successful_runs(client: GitHub, query: BaselineQuery) -> list[dict[str, Any]]:
    base = f"/repos/{quote(query.owner)}/{quote(query.repo)}/actions"
    params = {"branch": query.branch, "status": "success", "per_page": 30}
    if query.workflow:
        data = get_json(client, f"{base}/workflows/{quote(query.workflow, safe='')}/runs", params)
    else:
        data = get_json(client, f"{base}/runs", params)
    runs = [run for run in data.get("workflow_runs", []) if isinstance(run, dict)]
    if not query.workflow and query.workflow_name:
        runs = [run for run in runs if run.get("name") == query.workflow_name]
    runs = [run for run in runs if str(run.get("id")) != query.exclude_run_id]
    # Newest first, whatever order the server used.
    return sorted(runs, key=lambda run: str(run.get("created_at") or ""), reverse=True)[:MAX_RUNS]


def _results_from_zip(content: bytes) -> bytes:
    """The shallowest results file in the artifact archive (read in memory, never extracted)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ResultsError(f"the artifact is not a zip archive ({exc})") from exc
    members = [info for info in archive.infolist() if Path(info.filename).name in RESULTS_NAMES]
    if not members:
        raise ResultsError(f"the artifact holds no {' or '.join(RESULTS_NAMES)}")
    member = min(members, key=lambda info: (info.filename.count("/"), RESULTS_NAMES.index(Path(info.filename).name)))
    if member.file_size > MAX_RESULTS_BYTES:
        raise ResultsError(f"{member.filename} is {member.file_size} bytes; refusing to read it")
    return archive.read(member)


def _download(client: GitHub, query: BaselineQuery, artifact: dict[str, Any]) -> bytes:
    # The API answers 302 to a short-lived storage URL; requests follows it and
    # drops the Authorization header when the host changes.
    session = client.session
    url = str(artifact.get("archive_download_url") or "") or (
        f"{session.base_url}/repos/{quote(query.owner)}/{quote(query.repo)}/actions/artifacts/{int(artifact['id'])}/zip"
    )
    response = session.get(url, allow_redirects=True)
    if response.status_code != 200:
        raise GitHubError(response)
    return response.content


def fetch_baseline(client: GitHub, query: BaselineQuery, output: Path) -> FetchOutcome:
    """Write the newest usable baseline results to ``output``; raises GitHubProblem when the API fails."""
    outcome = FetchOutcome()
    doing = f"looking for {query.branch!r} results in {query.owner}/{query.repo}"
    try:
        runs = _successful_runs(client, query)
        if not runs:
            outcome.notes.append(f"no successful run of this workflow on branch {query.branch!r} yet")
            return outcome
        for run in runs:
            url = f"/repos/{quote(query.owner)}/{quote(query.repo)}/actions/runs/{int(run['id'])}/artifacts"
            artifacts = get_json(client, url, {"per_page": 100}).get("artifacts", [])
            matching = [
                artifact
                for artifact in artifacts
                if str(artifact.get("name", "")).startswith(query.artifact_prefix) and not artifact.get("expired")
            ]
            if not matching:
                outcome.notes.append(f"run {run['id']} has no unexpired {query.artifact_prefix}* artifact")
                continue
            try:
                newest = max(matching, key=lambda artifact: str(artifact.get("created_at") or ""))
                data = _results_from_zip(_download(client, query, newest))
                _validate_and_write(data, output, run)
            except ResultsError as exc:
                outcome.notes.append(f"run {run['id']}: {exc}")
                continue
            except GitHubError as exc:  # e.g. 410: expired since it was listed; an older run may do
                outcome.notes.append(str(describe(exc, f"run {run['id']}: downloading its artifact")))
                continue
            outcome.path, outcome.run_id, outcome.run_url = output, int(run["id"]), str(run.get("html_url", ""))
            return outcome
        outcome.notes.append(f"no usable baseline among the last {len(runs)} successful runs")
        return outcome
    except (*API_ERRORS, KeyError, ValueError) as exc:
        raise describe(exc, doing) from exc


def _validate_and_write(data: bytes, output: Path, run: dict[str, Any]) -> None:
    """Load the downloaded results with the normal reader (schema checks) before anyone relies on them."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".download")
    partial.write_bytes(data)
    try:
        loaded = load_run(partial, allow_partial=False)  # a run cut short is no baseline
    finally:
        partial.unlink(missing_ok=True)
    if loaded.interrupted:  # stopped with Ctrl-C: its missing tests would all look new
        raise ResultsError("its results are of an interrupted run")
    if not loaded.build_id:
        loaded.build_id = f"{run.get('id')}-{run.get('run_attempt', 1)}"
    write_run(loaded, output)
