"""Fetch the target branch's results: the PR base's run (or the nearest ancestor's), and its history.

github3.py has no Actions API, so the workflow-run, artifact and commit
endpoints are called through its session (same timeout, retries and token).
``baseline_select`` decides which runs are trusted and preferred; this module
asks GitHub, downloads, validates and writes the baseline directory: one
results file per run and ``selection.json`` saying which run was chosen and
how, or why none was. Not finding a baseline is normal (first PR, expired
artifacts): the directory then holds only the reason, and every report says
"not compared" with it.
"""

from __future__ import annotations

import io
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from github3 import GitHub
from github3.exceptions import GitHubError

from perfbudget.compare.origin import SELECTION_NAME, BaselineOrigin, write_origin
from perfbudget.github.artifacts import OLD_NAMES, RESULTS_NAME
from perfbudget.github.baseline_select import ArtifactRef, Candidate, Choice, candidates, history, preference, trusted_runs
from perfbudget.github.client import API_ERRORS, Listing, describe, get_pages, on_api
from perfbudget.github.options import DEFAULT_HISTORY, DEFAULT_HISTORY_SECONDS
from perfbudget.run.aggregate import merge_runs
from perfbudget.run.decode import ResultsError
from perfbudget.run.model import Run
from perfbudget.run.read import load_run
from perfbudget.run.write import write_run

# Results file names an artifact may hold, newest format first (the last: perfbudget 0.1's schema 1).
RESULTS_NAMES = (RESULTS_NAME, "results.ndjson", *OLD_NAMES[RESULTS_NAME])
MAX_RESULTS_BYTES = 200 * 1024 * 1024  # refuse absurd archive members rather than fill the disk
# How far back each list is read (x100 items, newest first): a look-back window, so reaching it is no news;
# a next-page link that loops or leaves the API ends a list sooner, with a note.
RUN_PAGES = 3  # runs of the branch: how far back a baseline is looked for
ARTIFACT_PAGES = 3  # artifacts of the key's name
ANCESTOR_PAGES = 1  # commits of the PR base's history searched for an ancestor with results
SHARD_RUNS = 20  # runs looked through for a split suite's shard artifacts


@dataclass
class BaselineQuery:
    owner: str
    repo: str
    branch: str
    artifact_name: str  # matched exactly: another leg's or project's artifact is never this key's baseline
    workflow: str = ""  # workflow file name or id; "" -> filter all runs by workflow_name
    workflow_name: str = ""
    exclude_run_id: str = ""  # this build's own run
    base_sha: str = ""  # the PR's base commit; "" when there is no PR
    history: int = DEFAULT_HISTORY  # runs to fetch, the chosen one included
    history_seconds: float = DEFAULT_HISTORY_SECONDS  # no more history downloads after this long

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def api(self) -> str:
        return f"/repos/{quote(self.owner)}/{quote(self.repo)}"


@dataclass
class FetchOutcome:
    directory: Path
    origin: BaselineOrigin
    notes: list[str] = field(default_factory=list)  # runs or artifacts skipped, and why

    @property
    def found(self) -> bool:
        return self.origin.found

    @property
    def message(self) -> str:
        if not self.found:
            return f"no baseline: {self.origin.reason}"
        origin = self.origin
        return (
            f"baseline: run {origin.run_url or '?'} of commit {origin.commit[:12]} ({origin.how}), "
            f"{origin.history} run(s) saved to {self.directory}"
        )


def _listed(listing: Listing, what: str, notes: list[str]) -> list[dict[str, Any]]:
    """The listing's items; a note (once) when a next-page link ended it early."""
    note = f"listing {what}: {listing.cut}; the pages after it were not read"
    if listing.cut and note not in notes:
        notes.append(note)
    return listing.items


def _branch_runs(client: GitHub, query: BaselineQuery, notes: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Finished trusted runs of the branch, newest first, and the number of untrusted ones refused."""
    params = {"branch": query.branch, "status": "completed", "per_page": 100}
    if query.workflow:
        path = f"{query.api}/actions/workflows/{quote(query.workflow, safe='')}/runs"
    else:
        path = f"{query.api}/actions/runs"
    runs = _listed(get_pages(client, path, params, "workflow_runs", RUN_PAGES), f"the runs of {query.branch!r}", notes)
    if not query.workflow and query.workflow_name:
        runs = [run for run in runs if run.get("name") == query.workflow_name]
    return trusted_runs(runs, query.repository, query.exclude_run_id)


def _ancestors(client: GitHub, query: BaselineQuery, notes: list[str]) -> list[str]:
    """The PR base and its history, newest first; just the base (and a note) when they cannot be listed."""
    try:
        listing = get_pages(client, f"{query.api}/commits", {"sha": query.base_sha, "per_page": 100}, None, ANCESTOR_PAGES)
    except GitHubError as exc:  # unknown sha (404), empty repository (409), no contents: read (403 on private repos)
        notes.append(str(describe(exc, f"listing the ancestors of {query.base_sha[:12]}")) + "; only the base itself is looked for")
        return [query.base_sha]
    shas = [str(commit.get("sha") or "") for commit in _listed(listing, f"the ancestors of {query.base_sha[:12]}", notes)]
    return shas if shas and shas[0] == query.base_sha else [query.base_sha, *shas]


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
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:  # corrupt or encrypted
        raise ResultsError(f"{member.filename} in the artifact cannot be read ({type(exc).__name__}: {exc})") from exc


def _download(client: GitHub, query: BaselineQuery, artifact: ArtifactRef) -> bytes:
    # The API answers 302 to a short-lived storage URL; requests follows it and
    # drops the Authorization header when the host changes.
    session = client.session
    url = f"{session.base_url}{query.api}/actions/artifacts/{artifact.id}/zip"
    if artifact.download_url and on_api(session.base_url, artifact.download_url):  # the token goes nowhere else
        url = artifact.download_url
    response = session.get(url, allow_redirects=True)
    if response.status_code != 200:
        raise GitHubError(response)
    return response.content


def _file_name(position: int, candidate: Candidate) -> str:
    return f"{position:02d}-run-{candidate.run_id}.ndjson.gz"


def fetch_baseline(client: GitHub, query: BaselineQuery, output: Path) -> FetchOutcome:
    """Fill the directory ``output`` with the chosen run's results and its history; raises GitHubProblem.

    When the preferred run's artifact turns out unusable, the next in order
    of preference is chosen instead, and the notes say why.
    """
    doing = f"looking for {query.branch!r} results in {query.repository}"
    output.mkdir(parents=True, exist_ok=True)
    for stale in [*output.glob("[0-9][0-9]-run-*.ndjson.gz"), output / SELECTION_NAME]:  # an earlier fetch's files
        stale.unlink(missing_ok=True)
    notes: list[str] = []
    try:
        runs, refused = _branch_runs(client, query, notes)
        listing = get_pages(
            client, f"{query.api}/actions/artifacts", {"name": query.artifact_name, "per_page": 100}, "artifacts", ARTIFACT_PAGES
        )
        artifacts = _listed(listing, f"the artifacts named {query.artifact_name!r}", notes)
        found = candidates(runs, artifacts, query.artifact_name) or _shard_candidates(client, query, runs, notes)
        if refused:
            notes.append(f"ignored {refused} run(s) of branch {query.branch!r}: pull requests and forks are never a baseline")
        if not found:
            return _none(output, query, notes, _why_none(query, runs, refused))
        ancestors = _ancestors(client, query, notes) if query.base_sha else []
        return _download_selection(client, query, found, preference(found, query.base_sha, ancestors), ancestors, output, notes)
    except (*API_ERRORS, KeyError, ValueError) as exc:
        raise describe(exc, doing) from exc


def _shard_candidates(client: GitHub, query: BaselineQuery, runs: list[dict[str, Any]], notes: list[str]) -> list[Candidate]:
    """Runs whose suite was split over jobs: each run's own artifacts, looked through for this key's shards.

    GitHub lists artifacts by exact name only, so this costs one request per
    run, for the newest ``SHARD_RUNS`` runs.
    """
    artifacts: list[dict[str, Any]] = []
    for run in runs[:SHARD_RUNS]:
        listing = get_pages(client, f"{query.api}/actions/runs/{int(run['id'])}/artifacts", {"per_page": 100}, "artifacts", ARTIFACT_PAGES)
        listed = _listed(listing, "a run's artifacts", notes)
        artifacts.extend({**a, "workflow_run": {"id": int(run["id"])}} for a in listed)
    return candidates(runs, artifacts, query.artifact_name)


def _why_none(query: BaselineQuery, runs: list[dict[str, Any]], refused: int) -> str:
    if not runs:
        forks = f" ({refused} pull-request or fork runs do not count)" if refused else ""
        return f"no finished push run of this workflow on {query.branch!r} yet{forks}"
    return (
        f"none of the last {len(runs)} runs of {query.branch!r} has an unexpired artifact named "
        f"{query.artifact_name!r} (expired, or uploaded under another key)"
    )


def _none(output: Path, query: BaselineQuery, notes: list[str], reason: str) -> FetchOutcome:
    origin = BaselineOrigin(found=False, reason=reason, branch=query.branch, base_commit=query.base_sha)
    write_origin(output, origin)
    return FetchOutcome(output, origin, notes)


def _download_selection(
    client: GitHub,
    query: BaselineQuery,
    found: list[Candidate],
    choices: list[Choice],
    ancestors: list[str],
    output: Path,
    notes: list[str],
) -> FetchOutcome:
    """The first preferred run whose artifact is usable, then its history until the count or time bound."""
    chosen = next((choice for choice in choices if _save(client, query, choice.candidate, output, 0, notes)), None)
    if chosen is None:
        return _none(output, query, notes, f"no usable results among {len(choices)} runs with the artifact {query.artifact_name!r}")
    saved, started = 1, time.monotonic()
    for candidate in history(found, chosen.candidate):
        if saved >= query.history or time.monotonic() - started > query.history_seconds:
            break
        saved += _save(client, query, candidate, output, saved, notes)
    origin = BaselineOrigin(
        found=True,
        how=chosen.how,
        commit=chosen.candidate.head_sha,
        branch=query.branch,
        base_commit=query.base_sha,
        behind=chosen.behind,
        run_url=chosen.candidate.run_url,
        chosen=_file_name(0, chosen.candidate),
        history=saved,
        searched=len(ancestors),
    )
    write_origin(output, origin)
    return FetchOutcome(output, origin, notes)


def _save(client: GitHub, query: BaselineQuery, candidate: Candidate, output: Path, position: int, notes: list[str]) -> bool:
    """Download and validate one run's results (its shards' joined) into ``output``; False (and a note) when unusable."""
    target = output / _file_name(position, candidate)
    try:
        runs = [_validated(_results_from_zip(_download(client, query, artifact)), target) for artifact in candidate.artifacts]
        run = runs[0] if len(runs) == 1 else merge_runs(runs)
        if not run.build_id:
            run.build_id = str(candidate.run_id)
        write_run(run, target)
    except ResultsError as exc:
        notes.append(f"skipped run {candidate.run_id}: {exc}")
        return False
    except API_ERRORS as exc:  # e.g. 410: expired since it was listed, or no answer; another run may do
        notes.append(str(describe(exc, f"skipped run {candidate.run_id}: downloading its artifact")))
        return False
    return True


def _validated(data: bytes, target: Path) -> Run:
    """Load the downloaded results with the normal reader (schema checks) before anyone relies on them."""
    partial = target.with_name(target.name + ".download")
    partial.write_bytes(data)
    try:
        loaded = load_run(partial, allow_partial=False)  # a run cut short is no baseline
    finally:
        partial.unlink(missing_ok=True)
    if loaded.interrupted:  # stopped with Ctrl-C: its missing tests would all look new
        raise ResultsError("its results are of an interrupted run")
    return loaded
