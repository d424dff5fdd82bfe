"""Tighten a budget file's limits to what the suite now needs, with head-room, keeping the file as it was written.

Each limit in the file (``defaults`` and every ``tests``/``urls`` rule)
decides some subjects: the tests or URLs whose limit on that metric comes
from it (a later matching rule overrides an earlier one, as when judging).
The most any of them used, over every run given (a history gives the
noisiest of them), plus the head-room, becomes the new limit when it is
lower than the current one. Limits are never raised.

The file is edited as text: only the characters of each changed value are
rewritten, in the unit it was written in ("200ms" stays in ms), so comments,
order, quoting and layout stay exactly as they were. PyYAML cannot write a
file back with its comments, and this needs no round-trip library.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import dataclass

from perfbudget.budgets.model import BudgetError, Budgets, Limit
from perfbudget.budgets.units import parse_quantity, write_quantity
from perfbudget.run.metrics import METRICS
from perfbudget.run.model import Run

JUDGED_OUTCOMES = ("passed",)  # a failed test may have stopped early; skipped and xfailed ones say nothing


@dataclass(frozen=True)
class Tightening:
    metric: str
    limit: Limit  # the current limit, with where its value is written
    observed: float  # the most a subject it decides used
    subjects: int  # how many tests and URLs it decides
    new: str  # the new value, as it will be written

    @property
    def line(self) -> int:
        """1-based line of the value in the file."""
        return (self.limit.span or (0, 0, 0))[0] + 1


def plan(budgets: Budgets, text: str, runs: list[Run], headroom: float, time_headroom: float | None = None) -> list[Tightening]:
    """The limits of the file ``text`` (the one ``budgets`` was read from) to lower, in file order.

    ``headroom`` 0.1 allows 10 % above the most used; times and sizes get
    ``time_headroom`` (default the same), as one run's times are noisy. A
    limit no subject reached (no test matches its rule) is left alone:
    nothing says what it should be.
    """
    time_headroom = headroom if time_headroom is None else time_headroom
    for room in (headroom, time_headroom):
        if room < 0 or not math.isfinite(room):
            raise BudgetError(f"head-room must be 0 or more, got {room!r}")
    seen: dict[int, tuple[str, Limit, float, set[str]]] = {}
    for run in runs:
        for test in run.tests:
            if test.outcome in JUDGED_OUTCOMES:
                _observe(
                    seen,
                    _file_limits(budgets.limits_for_test(test), budgets.limits_for_test(test, marker=False)),
                    test.metrics,
                    test.node_id,
                )
        for url in run.urls:
            _observe(seen, budgets.limits_for_url(url), url.metrics, url.key)
    lines = text.splitlines()
    spans = Counter(limit.span for limit in _all_limits(budgets))  # counted once: 25,000 limits asked 25,000 times was minutes
    found = []
    for metric, limit, observed, subjects in seen.values():
        if limit.span is None or limit.span[0] >= len(lines) or spans[limit.span] > 1:
            continue  # a value written once for several limits (a YAML alias) is left as it is
        line, start, end = limit.span
        written = lines[line][start:end]
        if written[:1] in ("&", "*"):
            continue  # an anchored value: others share it
        kind = METRICS[metric].kind
        room = headroom if kind == "count" else time_headroom
        new = write_quantity(observed * (1 + room), kind, written.strip("'\""))
        if parse_quantity(_number_or_text(new), kind) < limit.value:
            found.append(Tightening(metric, limit, observed, len(subjects), new))
    return sorted(found, key=lambda t: t.limit.span or (0, 0, 0))


def apply(text: str, tightenings: list[Tightening]) -> str:
    """``text`` with each tightened value rewritten in place; every other character kept."""
    lines = text.splitlines(keepends=True)
    for tightening in sorted(tightenings, key=lambda t: t.limit.span or (0, 0, 0), reverse=True):
        line, start, end = tightening.limit.span or (0, 0, 0)
        written = lines[line][start:end]
        quote = written[0] if written[:1] in ("'", '"') else ""  # keep "1.5s" quoted as it was
        lines[line] = lines[line][:start] + f"{quote}{tightening.new}{quote}" + lines[line][end:]
    return "".join(lines)


def diff(text: str, new_text: str, name: str) -> str:
    return "".join(difflib.unified_diff(text.splitlines(keepends=True), new_text.splitlines(keepends=True), f"a/{name}", f"b/{name}"))


def _observe(
    seen: dict[int, tuple[str, Limit, float, set[str]]], limits: dict[str, Limit], metrics: dict[str, float], subject: str
) -> None:
    for metric, limit in limits.items():
        if metric not in metrics:
            continue
        _, _, most, subjects = seen.get(id(limit), (metric, limit, 0.0, set()))
        subjects.add(subject)
        seen[id(limit)] = (metric, limit, max(most, metrics[metric]), subjects)


def _file_limits(effective: dict[str, Limit], from_file: dict[str, Limit]) -> dict[str, Limit]:
    """The limits the file decides for a test: a perf_budget marker's own limit takes the metric out of the file's hands."""
    return {metric: limit for metric, limit in from_file.items() if effective.get(metric) is limit}


def _all_limits(budgets: Budgets) -> list[Limit]:
    rules = [*budgets.test_rules, *budgets.url_rules]
    return [*budgets.test_defaults.values(), *budgets.url_defaults.values(), *(limit for rule in rules for limit in rule.limits.values())]


def _number_or_text(text: str) -> object:
    """A bare number as a number (``parse_quantity`` reads bare numbers in storage units), else the text."""
    try:
        return float(text)
    except ValueError:
        return text


def suggestion(text: str, tightenings: list[Tightening], name: str) -> str:
    """The tightened lines as YAML, each under a comment naming its place and what was used: for a PR comment."""
    new_lines = apply(text, tightenings).splitlines()
    blocks = []
    for tightening in tightenings:
        line = tightening.line
        blocks.append(f"# {name}:{line}: {tightening.metric}, most used {tightening.observed:g}\n{new_lines[line - 1]}")
    return "\n".join(blocks)
