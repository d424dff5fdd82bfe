"""Load the baseline to compare with: one results file, or a directory of past results (history).

A baseline is advice, not a requirement: every problem (missing, corrupt,
unsupported schema, another project) becomes a warning and the run is then
judged by its budgets only. Nothing here raises for bad data.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from perfbudget.compare.origin import SELECTION_NAME, BaselineOrigin, read_origin
from perfbudget.run.decode import ResultsError
from perfbudget.run.files import not_regular, outside
from perfbudget.run.metrics import metric_kind
from perfbudget.run.model import Run, TestRecord, UrlSummary
from perfbudget.run.read import load_run

# What a results file's name ends with in a history directory (.json: schema 1).
RESULTS_SUFFIXES = (".ndjson", ".ndjson.gz", ".json")


@dataclass
class Baseline:
    """One run, or several (oldest first): time metrics use a statistic over all of them."""

    runs: list[Run]
    source: str
    origin: BaselineOrigin | None = None  # how the CI fetch step chose it, when it did
    latest_path: Path | None = None  # the latest run's file: reports read the details of what changed from it
    _tests: list[dict[str, TestRecord]] = field(init=False, repr=False)
    _urls: list[dict[str, UrlSummary]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Indexed once: a history of 20 runs x 1000 tests is looked up per metric.
        self._tests = [{test.node_id: test for test in run.tests} for run in self.runs]
        self._urls = [{url.key: url for url in run.urls} for run in self.runs]

    @property
    def latest(self) -> Run:
        """The run that decides which subjects exist, and the counts (counts are facts)."""
        return self.runs[-1]

    def test_values(self, node_id: str, metric: str) -> list[float]:
        return _values([tests.get(node_id) for tests in self._tests], metric)

    def url_values(self, key: str, metric: str) -> list[float]:
        """One value per baseline run: a URL's hits within a run are not independent samples."""
        return [url.metrics[metric] for urls in self._urls if (url := urls.get(key)) is not None and metric in url.metrics]

    def latest_test(self, node_id: str) -> TestRecord | None:
        return self._tests[-1].get(node_id)

    def latest_url(self, key: str) -> UrlSummary | None:
        return self._urls[-1].get(key)


def _values(records: list[TestRecord | None] | list[UrlSummary | None], metric: str) -> list[float]:
    """One value of ``metric`` per baseline run: the median of a run's samples, or its single value.

    Samples taken in one run (benchmark rounds, --perf-repeat) share that
    run's machine and warm-up: counted as independent repeats they would
    make the baseline's spread look narrower than runs really differ.
    """
    values: list[float] = []
    for record in records:
        if record is None or metric not in record.metrics:
            continue
        samples = record.samples.get(metric)
        values.append(statistics.median(samples) if samples else record.metrics[metric])
    return values


def baseline_value(values: list[float], latest: float, metric: str) -> float:
    """The figure the run is compared with: the latest count, or the median of time samples."""
    kind = metric_kind(metric)
    if kind == "count":
        return latest
    return statistics.median(values) if values else latest


@dataclass
class BaselineLoad:
    baseline: Baseline | None
    warnings: list[str] = field(default_factory=list)
    reason: str = ""  # without a baseline: why, in a few words, for "not compared: ..."


# Why a file of a baseline was refused, in the words of the one line that stands for many of them.
_UNREADABLE, _INTERRUPTED, _FOREIGN, _SPECIAL, _OUTSIDE = (
    "cannot be read",
    "are interrupted runs",
    "are of another project",
    "are not regular files",
    "lead out of the baseline directory",
)
_LISTED = 3  # refusals of one kind shown one a line; more become one line with a count and the first names


@dataclass
class _Refusals:
    """The files of a baseline refused, by kind: a history of 3,000 broken files is one line, not 3,000."""

    kinds: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)

    def add(self, kind: str, path: Path, message: str) -> None:
        self.kinds.setdefault(kind, []).append((path, message))

    def warnings(self) -> list[str]:
        lines: list[str] = []
        for kind, refused in self.kinds.items():
            if len(refused) <= _LISTED:
                lines.extend(f"baseline ignored: {message}" for _, message in refused)
            else:
                names = ", ".join(str(path) for path, _ in refused[:_LISTED])
                lines.append(f"baseline ignored: {len(refused)} files {kind} ({names}, ...); the first: {refused[0][1]}")
        return lines

    def reason(self) -> str:
        """The first problem, for the one-line "not compared: ..." (the warnings keep them all)."""
        messages = [message for refused in self.kinds.values() for _, message in refused]
        if not messages:
            return "no usable baseline"
        return messages[0] if len(messages) == 1 else f"{len(messages)} baseline files were unusable ({messages[0]}, ...)"


def load_baseline(path: str | Path, project: str | None = None, force: bool = False, exclude: Path | None = None) -> BaselineLoad:
    """Load ``path`` (a file or a directory of results files), never raising.

    A run of another project (both names known and different) is ignored with
    a warning unless ``force``: its tests would all look new or removed.
    ``exclude`` is the results file of the run being judged: it is not its own
    baseline, even when it sits in the history directory.
    """
    source = Path(path)
    fallback = "compared with budgets only"
    if not source.exists():
        return BaselineLoad(None, [f"{source}: baseline not found; {fallback}"], f"the baseline {source} does not exist")
    if exclude is not None and source.is_file() and source.resolve() == exclude.resolve():
        return BaselineLoad(
            None,
            [
                f"{source}: the baseline is the results file this run just wrote; "
                f"copy it elsewhere first (or set --perf-output) to compare with it; {fallback}"
            ],
            "the baseline given is this run's own results file",
        )
    warnings: list[str] = []
    origin, problem = read_origin(source) if source.is_dir() else (None, "")
    if problem:
        warnings.append(problem)
    if origin is not None and not origin.found:
        reason = origin.reason or f"{source / SELECTION_NAME}: the fetch found no baseline and did not say why"
        return BaselineLoad(None, [*warnings, f"{reason}; {fallback}"], reason)
    refusals = _Refusals()
    files = results_files(source, refusals) if source.is_dir() else [source]
    if exclude is not None:
        files = [file for file in files if file.resolve() != exclude.resolve()]
    runs: list[Run] = []
    paths: dict[int, Path] = {}  # id(run) -> its file
    chosen: Run | None = None
    for file in files:
        try:
            run = load_run(file, allow_partial=False, details=False)  # a crashed run is no baseline
        except ResultsError as exc:
            refusals.add(_UNREADABLE, file, str(exc))
            continue
        if run.interrupted:
            refusals.add(_INTERRUPTED, file, f"{file} is an interrupted run (its missing tests would look new)")
            continue
        if project and run.project and run.project != project and not force:
            message = f"{file} is from project {run.project!r}, not {project!r} (pass --force-baseline to compare anyway)"
            refusals.add(_FOREIGN, file, message)
            continue
        runs.append(run)
        paths[id(run)] = file
        if origin is not None and file.name == origin.chosen and file.parent == source:
            chosen = run
    warnings.extend(refusals.warnings())
    if not runs:
        if source.is_dir() and not files and not refusals.kinds:
            warnings.append(f"{source}: no results files ({', '.join('*' + s for s in RESULTS_SUFFIXES)}) in the baseline directory")
            return BaselineLoad(None, [*warnings, f"no usable baseline; {fallback}"], warnings[-1])
        warnings.append(f"no usable baseline; {fallback}")
        return BaselineLoad(None, warnings, refusals.reason())
    if origin is not None and chosen is None:  # the chosen run was refused: the label would name the wrong run
        warnings.append(f"{source}: the run the fetch chose ({origin.chosen}) was not usable; compared with the rest of its history")
        origin = None
    # History in the order it was recorded; undated runs keep their file order. The run the
    # fetch step chose (the PR's base) is the latest whatever its date: later runs were not kept.
    runs.sort(key=lambda run: (run is chosen, run.finished or run.started or ""))
    return BaselineLoad(Baseline(runs, str(source), origin, paths[id(runs[-1])]), warnings)


def baseline_files(directory: Path) -> list[Path]:
    """What of a baseline directory is read (its results files and ``selection.json``): what goes into a build's artifact.

    An artifact made from anything else could carry a FIFO, a device's
    endless bytes or a file from outside the directory.
    """
    selection = directory / SELECTION_NAME
    usable = not outside(selection, directory) and not_regular(selection) is None and selection.is_file()
    return [*results_files(directory), *([selection] if usable else [])]


def results_files(directory: Path, refusals: _Refusals | None = None) -> list[Path]:
    """The results files of a baseline directory, sorted, its subdirectories included (symbolic links to them are not followed).

    Only regular files inside it are read: a FIFO, a device or a link out of
    the directory (an artifact's files may be anything) goes to ``refusals``.
    """
    found = []
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            if not name.endswith(RESULTS_SUFFIXES) or name == SELECTION_NAME:
                continue
            if outside(path, directory):
                kind, message = _OUTSIDE, f"{path}: a symbolic link out of the baseline directory, not read"
            elif (what := not_regular(path)) is not None:
                kind, message = _SPECIAL, f"{path}: {what}, not a results file; refusing to read it"
            else:
                found.append(path)
                continue
            if refusals is not None:
                refusals.add(kind, path, message)
    return found
