"""The budget data model: limits and regression rules, and which apply to a test or URL.

The loader (``loader.py``) fills these classes from YAML; ``compare/`` asks
them which limits hold for a subject. Precedence for a test: ``defaults.tests``
< matching ``tests`` rules in file order (a later rule overrides an earlier
one) < the test's ``perf_budget`` marker. For a URL: ``defaults.urls`` <
matching ``urls`` rules in file order.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from perfbudget.budgets.index import GlobIndex
from perfbudget.budgets.units import UnitError, parse_quantity
from perfbudget.errors import PerfBudgetError
from perfbudget.run.metrics import METRICS, N_PLUS_ONE_THRESHOLD, PARTS, Kind, did_you_mean, metric_kind
from perfbudget.run.model import Run, TestRecord, UrlSummary


class BudgetError(PerfBudgetError):
    """The budget file (or a perf_budget marker) is wrong; the message names file:line and key."""

    exit_code = 2


@dataclass(frozen=True)
class Limit:
    """One limit on one metric, and where it was set (for the reason in words)."""

    value: float
    source: str  # "rule #2 'api/*' in perfbudget.yaml:14", "defaults.tests in perfbudget.yaml:3"
    # Where the value is written in the budget file, (line, first column, end column), 0-based:
    # ``budgets tighten`` rewrites just those characters. None for a marker's or a one spanning lines.
    span: tuple[int, int, int] | None = field(default=None, compare=False)


@dataclass
class Rule:
    """A ``tests`` or ``urls`` entry: a pattern and the limits it sets."""

    match: str
    limits: dict[str, Limit]
    index: int  # 1-based position in its list, as users count
    line: int
    method: str | None = None  # urls only; None matches every method

    def matches_method(self, method: str) -> bool:
        """A URL rule's method, if given (its pattern is matched through ``Budgets``' index of every rule)."""
        return self.method is None or self.method == method.upper()


@dataclass(frozen=True)
class RegressionRule:
    """When a change against the baseline counts: above BOTH thresholds.

    ``floor`` is the absolute change allowed (``max_increase`` in the file),
    in the metric's storage unit; ``relative`` is a fraction of the baseline.
    ``enabled`` False switches regression checks off for the metric;
    ``confirm`` False trusts a single measurement of a time (a quiet,
    dedicated runner): a slower time then fails without reruns confirming it.
    """

    floor: float
    relative: float
    source: str = "default rule"
    enabled: bool = True
    # A slower time fails only once reruns confirm it (see compare/timing.py).
    confirm: bool = True

    def margin(self, baseline: float) -> float:
        return max(self.floor, self.relative * abs(baseline))


# Built-in regression rules per kind: counts are facts (any increase);
# times and memory are noisy samples, so both a relative and an absolute step.
DEFAULT_REGRESSION: dict[str, RegressionRule] = {
    "count": RegressionRule(floor=0.0, relative=0.0),
    # Low enough to catch x1.5 of a 5 ms test: a slower time must still be confirmed by reruns before it fails.
    "time": RegressionRule(floor=2.0, relative=0.20),  # +2 ms and +20 %
    "bytes": RegressionRule(floor=1_000_000.0, relative=0.10),  # +1 MB and +10 %
}

# Fail-on values a user may list; "none" (or an empty list) never fails. They
# name compare/'s verdict statuses (``Status`` is a str enum, so the two compare
# equal), kept as strings here so that budgets/ never imports from compare/.
FAIL_ON_CHOICES = ("over_budget", "regressed")


@dataclass(frozen=True)
class Waiver:
    """An ``accept:`` entry: a change the project decided to accept, recorded in the repository with its reason.

    ``match`` globs a test node id or a URL key ("GET /posts/"); ``metric``
    names one metric, whose parts it covers too (``queries`` covers
    ``queries.select``: see ``PARTS``), or globs metric names ("*" for all,
    "benchmark.*"). The change is accepted while the value stays within
    ``limit``, or within ``change`` above the baseline; with neither, any
    value is. After ``expires`` the waiver no longer accepts anything, and
    the verdict says so, naming it.
    """

    match: str
    metric: str
    reason: str
    where: str  # "perfbudget.yaml:14", for every message about it
    limit: float | None = None
    change: float | None = None
    issue: str = ""
    expires: datetime.date | None = None

    def covers_metric(self, metric: str) -> bool:
        """The entry's metric, one of its parts, or one its glob matches (the subject is matched apart, by an index)."""
        if metric == self.metric or metric in PARTS.get(self.metric, ()):
            return True
        return is_glob(self.metric) and fnmatchcase(metric, self.metric)

    @property
    def accepts_everything(self) -> str:
        """What it accepts any change of, such as "every metric of every test", when nothing bounds it; "" otherwise.

        An entry whose ``match`` covers every test or every URL and that has no
        ``limit`` or ``change`` accepts any change there: the run can pass
        whatever happens, and only a warning in every report says so.
        """
        if self.limit is not None or self.change is not None:
            return ""
        kinds = [kind for kind, names in _EVERY_SUBJECT.items() if all(fnmatchcase(name, self.match) for name in names)]
        if not kinds:
            return ""
        metrics = "every metric" if all(self.covers_metric(name) for name in METRICS) else f"{self.metric}"
        return f"{metrics} of every {' and every '.join(kinds)}"


# Names as different as tests and URLs get: a glob matching all of a kind's matches every name of that kind.
_EVERY_SUBJECT = {
    "test": ("t.py::t", "tests/a/test_b.py::TestC::test_d[x-1]", "app/tests.py::Case::test_e"),
    "URL": ("GET /", "POST /api/<int:pk>/items/", "DELETE /x.json"),
}


def is_glob(text: str) -> bool:
    """A glob rather than a name: an ``accept:`` metric such as ``benchmark.*`` covers every metric it matches."""
    return any(char in text for char in "*?[")


@dataclass
class Budgets:
    """A loaded budget file; an empty Budgets() means no limits and built-in rules."""

    source: str | None = None
    test_defaults: dict[str, Limit] = field(default_factory=dict)
    url_defaults: dict[str, Limit] = field(default_factory=dict)
    test_rules: list[Rule] = field(default_factory=list)
    url_rules: list[Rule] = field(default_factory=list)
    regression: dict[str, RegressionRule] = field(default_factory=dict)  # metric name or kind
    fail_on: tuple[str, ...] = FAIL_ON_CHOICES
    ignore: list[str] = field(default_factory=list)
    ignore_source: str = ""
    warnings: list[str] = field(default_factory=list)  # found while loading (empty file...)
    # The ``sql`` section: what the collectors need from the file, in every process.
    n_plus_one_threshold: int = N_PLUS_ONE_THRESHOLD
    # (dotted path, "perfbudget.yaml:12: sql.warmup_functions[1]"): looked up by the SQL
    # collector once Django is set up, which names the place of a bad one.
    warmup_functions: tuple[tuple[str, str], ...] = ()
    waivers: list[Waiver] = field(default_factory=list)  # the ``accept`` section, in file order
    _rules: dict[str, RegressionRule] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexes: dict[str, tuple[list[Rule], int, GlobIndex]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def limits_for_test(self, test: TestRecord, marker: bool = True) -> dict[str, Limit]:
        """defaults.tests < matching rules in file order < the perf_budget marker.

        BudgetError for a bad marker; ``marker=False`` gives the file's limits alone.
        """
        limits = dict(self.test_defaults)
        for rule in self.test_rules_for(test):
            limits.update(rule.limits)
        if marker and test.budget_marker:
            where = f"{test.file}:{test.line}" if test.line else test.node_id
            limits.update(parse_marker(test.budget_marker, where))
        return limits

    def limits_for_url(self, url: UrlSummary) -> dict[str, Limit]:
        limits = dict(self.url_defaults)
        for rule in self.url_rules_for(url):
            limits.update(rule.limits)
        return limits

    def test_rules_for(self, test: TestRecord) -> list[Rule]:
        """The ``tests`` rules matching ``test``, in file order: a glob on its node id, on its file, or the id itself.

        A bare file path matches the file's tests.
        """
        path = test.node_id.split("::", 1)[0]
        names = (test.node_id, path, test.file) if test.file else (test.node_id, path)
        rules = self.test_rules
        return [rules[i] for i in self._index("tests", rules).matching(names)]

    def url_rules_for(self, url: UrlSummary) -> list[Rule]:
        """The ``urls`` rules matching ``url``, in file order: the route pattern itself (``/api/*``) or a glob on it, and the method."""
        rules = self.url_rules
        return [rules[i] for i in self._index("urls", rules).matching((url.route,)) if rules[i].matches_method(url.method)]

    def _index(self, section: str, rules: list[Rule]) -> GlobIndex:
        """The section's rules indexed by their globs, built on first use (the loader sets the rules once)."""
        cached = self._indexes.get(section)
        if cached is None or cached[0] is not rules or cached[1] != len(rules):
            cached = self._indexes[section] = (rules, len(rules), GlobIndex(rule.match for rule in rules))
        return cached[2]

    def regression_rule(self, metric: str) -> RegressionRule:
        """The metric's own rule, else its kind's, else the built-in one for its kind.

        Remembered per metric: compare asks it twice per metric per subject.
        """
        rule = self._rules.get(metric)
        if rule is None:
            kind = metric_kind(metric)
            rule = self._rules[metric] = self.regression.get(metric) or self.regression.get(kind) or DEFAULT_REGRESSION[kind]
        return rule

    def is_ignored(self, subject: str) -> bool:
        return any(fnmatchcase(subject, pattern) for pattern in self.ignore)

    def unused_rule_warnings(self, run: Run) -> list[str]:
        """A rule that matches nothing is probably a typo: say so, without failing, in one line however many there are.

        A generated file of 16,000 rules printed 16,000 lines (issue 19): the
        line counts them and names the first few by file:line.
        """
        used = {id(rule) for test in run.tests for rule in self.test_rules_for(test)}
        used.update(id(rule) for url in run.urls for rule in self.url_rules_for(url))
        unused = [(rule, "tests") for rule in self.test_rules if id(rule) not in used]
        unused += [(rule, "urls") for rule in self.url_rules if id(rule) not in used]
        if len(unused) == 1:
            rule, section = unused[0]
            return [f"{self.source}:{rule.line}: {_named(rule, section)} matches no {_NOUN[section]} in this run"]
        if not unused:
            return []
        named = ", ".join(f"{self.source}:{rule.line} {_named(rule, section)}" for rule, section in unused[:UNUSED_SHOWN])
        more = f" and {len(unused) - UNUSED_SHOWN:,} more" if len(unused) > UNUSED_SHOWN else ""
        return [f"{self.source}: {len(unused):,} rules match no test or URL in this run: {named}{more}"]


UNUSED_SHOWN = 3  # unused rules named in the warning line; the rest are counted
_NOUN = {"tests": "test", "urls": "URL"}


def _named(rule: Rule, section: str) -> str:
    """``tests rule #3 '*::test_x'``, the pattern cut to fit one line."""
    method = f" {rule.method}" if rule.method else ""
    return f"{section} rule #{rule.index}{method} {shown(rule.match)}"


def shown(value: object, width: int = 60) -> str:
    """A key, pattern or value as written (its repr), cut to fit a one-line message: a budget file may hold kilobytes in one."""
    if isinstance(value, str) and len(value) > width:
        return repr(value[: width - 3] + "...")
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# Marker kwargs cannot contain dots: queries_select means queries.select.
_MARKER_NAMES = {name.replace(".", "_"): name for name in METRICS}


def metric_limit(name: str, value: Any, where: str, valid_keys: list[str] | None = None) -> tuple[str, float]:
    """Validate one ``metric: limit`` pair; BudgetError naming ``where`` and the key."""
    if name not in METRICS:
        raise BudgetError(f"{where}: unknown key {shown(name)}{did_you_mean(name, (valid_keys or []) + list(METRICS))}")
    kind: Kind = METRICS[name].kind
    try:
        return name, parse_quantity(value, kind)
    except UnitError as exc:
        raise BudgetError(f"{where}: {name}: {exc}") from exc


def parse_marker(kwargs: dict[str, Any], where: str) -> dict[str, Limit]:
    """Limits from ``@pytest.mark.perf_budget(queries=3, duration="200ms")``.

    The plugin may call this at collection time to turn a bad marker into a
    usage error; compare/ calls it again and reports problems as warnings.
    """
    limits = {}
    for key, value in kwargs.items():
        name = key if key in METRICS else _MARKER_NAMES.get(key, key)
        metric, number = metric_limit(name, value, f"{where}: @pytest.mark.perf_budget", list(_MARKER_NAMES))
        limits[metric] = Limit(number, "@perf_budget marker")
    return limits
