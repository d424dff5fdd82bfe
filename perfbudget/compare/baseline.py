"""Load the baseline to compare with: one results file, or a directory of past results (history).

A baseline is advice, not a requirement: every problem (missing, corrupt,
unsupported schema, another project) becomes a warning and the run is then
judged by its budgets only. Nothing here raises for bad data.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from perfbudget.compare.origin import SELECTION_NAME, BaselineOrigin, read_origin
from perfbudget.run.decode import ResultsError
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


def load_baseline(path: str | Path, project: str | None = None, force: bool = False, exclude: Path | None = None) -> BaselineLoad:
    """Load ``path`` (a file or a directory of ``*.json`` results), never raising.

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
    origin = read_origin(source) if source.is_dir() else None
    if origin is not None and not origin.found:
        return BaselineLoad(None, [f"{origin.reason}; {fallback}"], origin.reason)
    files = (
        sorted(p for p in source.rglob("*") if p.is_file() and p.name.endswith(RESULTS_SUFFIXES) and p.name != SELECTION_NAME)
        if source.is_dir()
        else [source]
    )
    if exclude is not None:
        files = [file for file in files if file.resolve() != exclude.resolve()]
    warnings: list[str] = []
    runs: list[Run] = []
    paths: dict[int, Path] = {}  # id(run) -> its file
    chosen: Run | None = None
    for file in files:
        try:
            run = load_run(file, allow_partial=False, details=False)  # a crashed run is no baseline
        except ResultsError as exc:
            warnings.append(f"baseline ignored: {exc}")
            continue
        if run.interrupted:
            warnings.append(f"baseline ignored: {file} is an interrupted run (its missing tests would look new)")
            continue
        if project and run.project and run.project != project and not force:
            warnings.append(
                f"baseline ignored: {file} is from project {run.project!r}, not {project!r} (pass --force-baseline to compare anyway)"
            )
            continue
        runs.append(run)
        paths[id(run)] = file
        if origin is not None and file.name == origin.chosen and file.parent == source:
            chosen = run
    if not runs:
        if source.is_dir() and not files:
            warnings.append(f"{source}: no results files ({', '.join('*' + s for s in RESULTS_SUFFIXES)}) in the baseline directory")
        warnings.append(f"no usable baseline; {fallback}")
        return BaselineLoad(None, warnings, _reason(warnings))
    if origin is not None and chosen is None:  # the chosen run was refused: the label would name the wrong run
        warnings.append(f"{source}: the run the fetch chose ({origin.chosen}) was not usable; compared with the rest of its history")
        origin = None
    # History in the order it was recorded; undated runs keep their file order. The run the
    # fetch step chose (the PR's base) is the latest whatever its date: later runs were not kept.
    runs.sort(key=lambda run: (run is chosen, run.finished or run.started or ""))
    return BaselineLoad(Baseline(runs, str(source), origin, paths[id(runs[-1])]), warnings)


def _reason(warnings: list[str]) -> str:
    """The first specific problem, for the one-line "not compared: ..." (the warnings keep them all)."""
    specific = [warning.removeprefix("baseline ignored: ") for warning in warnings[:-1]]
    if not specific:
        return "no usable baseline"
    return specific[0] if len(specific) == 1 else f"{len(specific)} baseline files were unusable ({specific[0]}, ...)"
