"""The data model of a perfbudget run: plain, typed records every layer talks through.

Collectors fill them, ``run/write.py`` and ``run/read.py`` stream them to disk and back,
``compare/`` reads them, reporters render what ``compare/`` decided. They
carry no behaviour beyond the derived values a reader needs (a URL's key, a
group's identity); aggregation lives in ``run/aggregate.py``.

Units: times are milliseconds (float), memory and sizes are bytes, everything
else is a plain count. Metric names are those of ``run/metrics.py``.

Records use ``slots=True``: a 50,000-test run holds hundreds of thousands of
them, and a slots instance is about half the size of a dict-backed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SqlGroup:
    """Queries of one normalized shape issued from one call site, within one test or request.

    Keyed by shape *and* call site (``key``): the same SELECT issued from a
    loop in a view and once from a template are two groups, so an N+1 is
    pinned to the line that repeats it and a change can be diffed against the
    baseline group by group. ``count`` is the group's total in the test or
    request; whether it is an N+1 is judged within one request or test phase.

    Across runs a group is known by ``identity`` (database, shape, file,
    function and template file), never by its line numbers: a line inserted
    above a call site moves it, it does not make it another query
    (``compare/causes.py`` pairs the groups).
    """

    sql: str  # normalized: literals and placeholders as %s
    kind: str  # "select" | "insert" | "update" | "delete" | "other"
    database: str  # Django database alias
    count: int
    time_ms: float
    # Executions that repeated an identical (SQL, parameters) pair already seen:
    # count minus the number of distinct parameter sets.
    duplicates: int = 0
    location: str | None = None  # the call site: first project-code frame, "path:line"
    # An N+1 in application code: a SELECT repeated at least the threshold's times
    # (run/metrics.N_PLUS_ONE_THRESHOLD by default) within one request or test phase.
    n_plus_one: bool = False
    params: list[str] | None = None  # only stored when the user opts in
    # Queries that filled a per-process cache (ContentType, Site, the budget file's
    # sql.warmup_functions): outside every compared count, counted as warmup_queries.
    warmup: bool = False
    # The same repetition as an N+1, from test code: reported apart, never judged.
    n_plus_one_in_tests: bool = False
    # The call site's function, qualified ("PostList.get", "archive"); None at module level
    # and in results files written before it was recorded.
    function: str | None = None
    # The template line whose rendering issued the queries ("shop/templates/shop/list.html:5"),
    # beside ``location``, the view that rendered it; None outside templates.
    template: str | None = None
    # The relation the queries load one row at a time ("Post.author") and the queryset call
    # that loads it with the rows instead ('select_related("author")'); None when not known.
    relation: str | None = None
    fix: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The group's identity within one run: database, shape, call site and template line."""
        return (self.database, self.sql, self.location or "", self.template or "")

    @property
    def identity(self) -> tuple[str, str, str, str | None, str]:
        """The group's identity across runs: database, shape, file, function and template file; no line."""
        return (self.database, self.sql, split_location(self.location)[0], self.function, split_location(self.template)[0])


@dataclass(slots=True)
class NetworkCall:
    """Outbound connections to one endpoint, grouped by method and URL."""

    host: str
    port: int | None
    loopback: bool
    method: str | None = None  # known when the HTTP layer saw the request
    url: str | None = None
    count: int = 1


@dataclass(slots=True)
class CacheOp:
    """Calls of one cache operation (get, set, get_many, ...) on one cache alias."""

    operation: str
    cache: str = "default"
    calls: int = 0
    hits: int = 0
    misses: int = 0
    time_ms: float = 0.0


@dataclass(slots=True)
class TemplateStat:
    """Renders of one template."""

    name: str
    count: int
    time_ms: float


@dataclass(slots=True)
class Details:
    """The facts behind the metrics of one test, test phase or request."""

    sql_groups: list[SqlGroup] = field(default_factory=list)
    network_calls: list[NetworkCall] = field(default_factory=list)
    cache_ops: list[CacheOp] = field(default_factory=list)
    templates: list[TemplateStat] = field(default_factory=list)
    signals: dict[str, int] = field(default_factory=dict)

    @property
    def n_plus_one_groups(self) -> list[SqlGroup]:
        return [group for group in self.sql_groups if group.n_plus_one]

    @property
    def external_calls(self) -> list[NetworkCall]:
        return [call for call in self.network_calls if not call.loopback]


@dataclass(slots=True)
class RequestRecord:
    """One request made through Django's test client."""

    method: str
    path: str
    route: str | None  # resolved route pattern, e.g. "/posts/<int:pk>/"
    view_name: str | None
    status: int
    metrics: dict[str, float] = field(default_factory=dict)
    details: Details = field(default_factory=Details)

    @property
    def url_key(self) -> str:
        return url_key(self.method, self.route or self.path)


@dataclass(slots=True)
class TestRecord:
    """Everything recorded for one test: setup + call + teardown, and call alone."""

    __test__ = False  # not a pytest test class, despite the name

    node_id: str
    file: str
    line: int | None
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    metrics: dict[str, float] = field(default_factory=dict)
    call_metrics: dict[str, float] = field(default_factory=dict)
    details: Details = field(default_factory=Details)
    requests: list[RequestRecord] = field(default_factory=list)
    # Several samples of a metric (pytest-benchmark rounds under
    # ``benchmark.median``, merged reruns, --perf-repeat), keyed by metric
    # name; compare/ judges a statistic over them rather than one value.
    samples: dict[str, list[float]] = field(default_factory=dict)
    budget_marker: dict[str, Any] | None = None  # kwargs of @pytest.mark.perf_budget
    reruns: Reruns | None = None  # the timing evidence of a suspect rerun after the run


@dataclass(slots=True)
class UrlSummary:
    """Requests to one route, by method, aggregated across all tests of the run."""

    method: str
    route: str
    view_name: str | None
    hits: int
    metrics: dict[str, float] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    tests: list[str] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=dict)
    reruns: Reruns | None = None  # the timing evidence of a suspect rerun after the run

    @property
    def key(self) -> str:
        return url_key(self.method, self.route)


@dataclass(slots=True)
class Reruns:
    """A timing suspect measured again after the run, round by round, to confirm or clear it.

    One value per round of each time metric, and per round how long the
    calibration loop took just before (``calibration``, ms): how fast the
    machine was at that moment, compared with ``loop_calibration_ms``, the
    same loop's median while the rerunning process ran its tests (under
    xdist each worker's own: two processes' loops differ). ``control`` is a
    neighbouring test like the suspect, rerun in the same rounds
    (``control_samples``): what rerunning alone costs an unchanged test,
    compared with its time in the loop.
    """

    samples: dict[str, list[float]] = field(default_factory=dict)
    calibration: list[float] = field(default_factory=list)
    control: str | None = None
    control_samples: dict[str, list[float]] = field(default_factory=dict)
    loop_calibration_ms: float | None = None


@dataclass(slots=True)
class Confirmation:
    """What confirming timing suspects by rerun cost a run, and the machine's speed during it.

    ``calibration_ms`` is the calibration loop's time while the run's tests
    ran (the median over the processes that ran tests): reruns of a run too
    small to measure a drift compare their calibration with the baseline's.
    ``calibration_noise`` is how much those timings spread (robust, relative).
    """

    calibration_ms: float | None = None
    calibration_noise: float | None = None  # relative spread of the calibration timings: the run's noise band
    tests: int = 0  # suspects rerun
    rounds: int = 0  # rounds asked for each
    seconds: float = 0.0  # spent rerunning (and re-creating what the reruns needed)
    loop_seconds: float = 0.0  # the main test loop, for the ratio
    not_rerun: int = 0  # suspects left unconfirmed: the rerun budget was spent


# The keys of ``Run.environment`` perfbudget fills in, where known: enough to
# tell whether two runs' times are comparable at all (same CPU, same Python,
# same database). Values are strings; a missing key was not known.
ENVIRONMENT_KEYS = (
    "cpu_model",
    "cpu_count",
    "os",
    "platform",
    "implementation",
    "python",
    "pytest",
    "django",
    "database",  # "sqlite 3.45.1": vendor and server version of the default alias
    "perfbudget",
    "runner_name",  # CI runner (RUNNER_NAME) and its labels (PERFBUDGET_RUNNER_LABELS)
    "runner_labels",
    "runner_os",
    "xdist_workers",
)


@dataclass(slots=True)
class Run:
    """One recorded test run: its identity, its environment, and per-test and per-URL records.

    Identity: ``project``, ``commit``, ``branch``, ``base_commit`` (what a PR
    is compared with), ``build_id`` (CI run id and attempt, ``"1234.1"``)
    and ``shard`` (the matrix or shard key, when one job of several).
    """

    project: str = ""
    commit: str | None = None
    branch: str | None = None
    build_id: str | None = None
    started: str | None = None  # ISO 8601, UTC
    finished: str | None = None
    interrupted: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    tests: list[TestRecord] = field(default_factory=list)
    urls: list[UrlSummary] = field(default_factory=list)
    base_commit: str | None = None
    shard: str | None = None
    confirmation: Confirmation | None = None

    def test(self, node_id: str) -> TestRecord | None:
        return next((t for t in self.tests if t.node_id == node_id), None)

    def url(self, key: str) -> UrlSummary | None:
        return next((u for u in self.urls if u.key == key), None)


def split_location(location: str | None) -> tuple[str, int]:
    """``"blog/views.py:12"`` as ``("blog/views.py", 12)``; ``("", 0)`` for None, line 0 when there is none."""
    if not location:
        return "", 0
    path, _, line = location.rpartition(":")
    # ASCII digits, and few: "²" passes isdigit() and 5,000 digits pass it too, and int() refuses both (a hostile results file).
    return (path, int(line)) if path and line.isascii() and line.isdigit() and len(line) <= 9 else (location, 0)


def url_key(method: str, route: str) -> str:
    """The identity of a URL across runs: method and route pattern."""
    return f"{method.upper()} {route}"
