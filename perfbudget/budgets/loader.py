"""Read perfbudget.yaml into ``Budgets``, naming file:line and key for every mistake.

PyYAML composes the file into nodes (which keep their line numbers) and this
module walks them, so an error points at the line the user must change rather
than at the document. Scalars are built with the same safe loader; tags it
has no use for (``!!python/object``, ``!custom``) are refused, never ignored.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.reader import ReaderError

from perfbudget.budgets.model import (
    DEFAULT_REGRESSION,
    FAIL_ON_CHOICES,
    BudgetError,
    Budgets,
    Limit,
    RegressionRule,
    Rule,
    Waiver,
    is_glob,
    metric_limit,
    shown,
)
from perfbudget.budgets.source import read_budget_text
from perfbudget.budgets.units import UnitError, parse_quantity
from perfbudget.run.metrics import METRICS, did_you_mean, suggest

SUPPORTED_VERSIONS = (1,)
TOP_KEYS = ["version", "defaults", "tests", "urls", "regression", "fail_on", "ignore", "sql", "accept"]
ACCEPT_KEYS = ["match", "metric", "limit", "change", "reason", "issue", "expires"]
SQL_KEYS = ["n_plus_one_threshold", "warmup_functions"]
REGRESSION_KEYS = ["max_increase", "floor", "relative", "confirm", "confirm_with_cpu"]
KINDS = ["count", "time", "bytes"]
MAX_NESTING = 50  # a budget file needs 4 levels; libyaml's composer crashes the interpreter near 100,000

_YAML_TAG = "tag:yaml.org,2002:"
# The tags a budget file's values may carry: what plain YAML resolves to (a date
# included: type checks then name it), and an explicit !!str or !!int.
_PLAIN_TAGS = {
    yaml.ScalarNode: {f"{_YAML_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")},
    yaml.MappingNode: {f"{_YAML_TAG}map"},
    yaml.SequenceNode: {f"{_YAML_TAG}seq"},
}
_MAX_INT_TEXT = 100  # characters: far more than any 64-bit integer, far fewer than int() chokes on
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")  # package.module.Class.method


class _BoundedComposer(Composer):
    """PyYAML's composer, refusing nesting deeper than MAX_NESTING with the line where it happens.

    libyaml's own composer recurses in C and crashes the interpreter (SIGSEGV)
    on 100,000 nested lists; PyYAML's raises RecursionError. Composing in
    Python keeps the parsing in C, the time that matters.
    """

    _depth = 0  # nodes open above the one being composed
    # A mixin, as PyYAML's own Composer is: the events come from the parser
    # _Loader combines it with (PyYAML's Parser or libyaml's CParser).
    peek_event: Callable[[], yaml.Event]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_NESTING:
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, f"nested more than {MAX_NESTING} levels deep", mark)  # type: ignore[arg-type]  # types-PyYAML: marks are yaml.error.Mark only, libyaml's are yaml._yaml.Mark
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# libyaml when PyYAML was built with it: a 1 MB budget file loads about 3x faster than in pure Python.
_SafeLoader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _Loader(_BoundedComposer, _SafeLoader):  # type: ignore[misc, valid-type]  # a base picked at import (libyaml or not): mypy takes no variable as a base
    def __init__(self, stream: str) -> None:
        _SafeLoader.__init__(self, stream)
        Composer.__init__(self)  # CSafeLoader composes in C and never sets up the anchors


class _Reader:
    """Walks composed YAML nodes; every error names ``source:line``."""

    def __init__(self, loader: yaml.constructor.SafeConstructor, source: str) -> None:
        self.loader = loader
        self.source = source

    def where(self, node: yaml.Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, message: str) -> BudgetError:
        return BudgetError(f"{self.where(node)}: {message}")

    def plain(self, node: yaml.Node, path: str) -> None:
        """Refuse a tag the file has no use for, rather than ignore it (on a mapping) or crash building it."""
        if node.tag in _PLAIN_TAGS[type(node)]:
            return
        if node.tag == f"{_YAML_TAG}merge":
            raise self.fail(node, f"{path}: merge keys ('<<') are not supported; write the keys out")
        name = node.tag.replace(_YAML_TAG, "!!", 1)
        raise self.fail(node, f"{path}: tag {shown(name)} is not allowed in a budget file; write the plain value")

    def scalar(self, node: yaml.Node, path: str) -> Any:
        self.plain(node, path)
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{path}: expected a single value, got a {_shape(node)}")
        if node.tag == f"{_YAML_TAG}int" and len(node.value) > _MAX_INT_TEXT:
            raise self.fail(node, f"{path}: a number of {len(node.value)} digits is out of range")
        try:
            value = self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, LookupError, AttributeError) as exc:  # !!int lots, !!bool maybe
            raise self.fail(node, f"{path}: cannot read {shown(node.value, 40)} as {node.tag.replace(_YAML_TAG, '!!', 1)}") from exc
        if isinstance(value, str) and "\x00" in value:
            raise self.fail(node, f"{path}: contains a NUL byte")
        return value

    def mapping(self, node: yaml.Node, path: str, allowed: list[str] | None = None) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """Key/value node pairs; refuses duplicate keys (YAML would keep the last silently)."""
        self.plain(node, path)
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{path}: expected a mapping of keys, got a {_shape(node)}")
        pairs, seen = [], set()
        for key_node, value_node in node.value:
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                raise self.fail(key_node, f"{path}: keys must be names, got {shown(key)}")
            if key in seen:
                raise self.fail(key_node, f"{path}: key {shown(key)} appears twice")
            seen.add(key)
            if allowed is not None and key not in allowed:
                hint = suggest(key, allowed)
                extra = f"; did you mean {hint!r}?" if hint else f"; valid keys: {', '.join(allowed)}"
                raise self.fail(key_node, f"{path}: unknown key {shown(key)}{extra}")
            pairs.append((key, key_node, value_node))
        return pairs

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        self.plain(node, path)
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{path}: expected a list, got a {_shape(node)}")
        return list(node.value)

    def limits(self, node: yaml.Node, path: str, source: str, extra_keys: tuple[str, ...] = ()) -> dict[str, Limit]:
        limits = {}
        for key, key_node, value_node in self.mapping(node, path):
            if key in extra_keys:
                continue
            value = self.scalar(value_node, f"{path}.{key}")
            name, number = metric_limit(key, value, f"{self.where(key_node)}: {path}", list(extra_keys))
            start, end = value_node.start_mark, value_node.end_mark
            span = (start.line, start.column, end.column) if start.line == end.line else None
            limits[name] = Limit(number, source, span)
        return limits


_SHAPES: dict[type[yaml.Node], str] = {yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}


def _shape(node: yaml.Node) -> str:
    return _SHAPES.get(type(node), "value")


def load_budgets(path: str | Path, name: str | None = None) -> Budgets:
    """Load and validate a budget file; BudgetError (exit code 2) for any mistake.

    ``name`` is how messages call the file (e.g. relative to the rootdir).
    """
    source = name or str(path)
    return parse_budgets(read_budget_text(path, source).text, source)


def _compose(text: str, source: str) -> tuple[_Loader, yaml.Node | None]:
    """The loader (which builds scalars later) and the root node; BudgetError with file:line:column for bad YAML."""
    try:
        loader = _Loader(text)  # the pure-Python reader refuses a NUL byte here already
        try:
            return loader, loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        context = exc.context_mark
        started = (
            f" ({exc.context} at line {context.line + 1})"
            if context is not None and exc.context and mark is not None and context.line != mark.line
            else ""
        )
        raise BudgetError(f"{source}{position}: malformed YAML: {exc.problem or exc.context}{started}") from exc
    except ReaderError as exc:  # a NUL byte or another control character: no mark, but its code
        raise BudgetError(f"{source}{_line_of(text, exc.character)}: malformed YAML: {_unacceptable(exc)}") from exc


def _line_of(text: str, character: object) -> str:
    """``:LINE`` of the first ``character`` (a code point) in ``text``, or nothing if it is not there."""
    found = text.find(chr(character)) if isinstance(character, int) else -1
    if found < 0:
        return ""
    line = text.count("\n", 0, found) + 1
    return f":{line}"


def _unacceptable(exc: ReaderError) -> str:
    """``control characters are not allowed: found a NUL byte``."""
    code = exc.character
    what = "a NUL byte" if code == 0 else f"character #x{code:04x}" if isinstance(code, int) else repr(code)
    return f"{exc.reason}: found {what}"


def parse_budgets(text: str, source: str = "perfbudget.yaml") -> Budgets:
    loader, root = _compose(text, source)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == "" and root.tag == f"{_YAML_TAG}null"):
        return Budgets(source=source, warnings=[f"{source}: the budget file is empty: no limits, built-in regression rules"])
    reader = _Reader(loader, source)
    budgets = Budgets(source=source)
    for key, key_node, _ in reader.mapping(root, "top level"):
        if key not in TOP_KEYS and key in METRICS:
            raise reader.fail(key_node, f"top level: {shown(key)} is a metric; put limits under 'defaults: tests:' or a 'tests' rule")
    sections = {key: (key_node, value_node) for key, key_node, value_node in reader.mapping(root, "top level", TOP_KEYS)}
    if "version" in sections:
        key_node, value_node = sections["version"]
        version = reader.scalar(value_node, "version")
        if version not in SUPPORTED_VERSIONS:
            raise reader.fail(value_node, f"version: {shown(version)} is not supported (this perfbudget reads version 1)")
    if "defaults" in sections:
        _, node = sections["defaults"]
        for kind, key_node, value_node in reader.mapping(node, "defaults", ["tests", "urls"]):
            limits = reader.limits(value_node, f"defaults.{kind}", f"defaults.{kind} in {reader.where(key_node)}")
            if kind == "tests":
                budgets.test_defaults = limits
            else:
                budgets.url_defaults = limits
    if "tests" in sections:
        budgets.test_rules = _rules(reader, sections["tests"][1], "tests")
    if "urls" in sections:
        budgets.url_rules = _rules(reader, sections["urls"][1], "urls")
    if "regression" in sections:
        budgets.regression = _regression(reader, sections["regression"][1])
    if "fail_on" in sections:
        budgets.fail_on = _fail_on(reader, sections["fail_on"][1])
    if "ignore" in sections:
        _, node = sections["ignore"]
        budgets.ignore = _strings(reader, node, "ignore")
        budgets.ignore_source = reader.where(node)
    if "sql" in sections:
        _sql(reader, sections["sql"][1], budgets)
    if "accept" in sections:
        budgets.waivers = _waivers(reader, sections["accept"][1])
        budgets.warnings.extend(
            f"{waiver.where}: this accept entry ({shown(waiver.match)}, {shown(waiver.metric)}) accepts any change "
            f"of {everything}: nothing it covers can fail the run; narrow 'match' or 'metric', or give a 'limit'"
            for waiver in budgets.waivers
            if (everything := waiver.accepts_everything)
        )
    return budgets


def _waivers(reader: _Reader, node: yaml.Node) -> list[Waiver]:
    """``accept``: the changes the project accepted, each with its reason; the limit or change in the metric's units."""
    waivers = []
    for index, item in enumerate(reader.sequence(node, "accept"), start=1):
        path = f"accept[{index}]"
        keys = {key: value_node for key, _, value_node in reader.mapping(item, path, ACCEPT_KEYS)}
        for required in ("match", "metric", "reason"):
            if required not in keys:
                raise reader.fail(item, f"{path}: missing {required!r} (an accepted change needs a subject, a metric and a reason)")
        texts = {}
        for key in ("match", "metric", "reason", "issue"):
            if key in keys:
                value = reader.scalar(keys[key], f"{path}.{key}")
                if not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
                    raise reader.fail(keys[key], f"{path}.{key}: expected text, got {shown(value)}")
                texts[key] = str(value).strip()
        metric = texts["metric"]
        if is_glob(metric):
            if not any(fnmatchcase(name, metric) for name in METRICS):
                raise reader.fail(keys["metric"], f"{path}.metric: {shown(metric)} matches no metric{did_you_mean(metric)}")
        elif metric not in METRICS:
            raise reader.fail(keys["metric"], f"{path}.metric: unknown metric {shown(metric)}{did_you_mean(metric)}")
        numbers = {}
        for key in ("limit", "change"):
            if key in keys:
                if is_glob(metric):
                    raise reader.fail(keys[key], f"{path}.{key}: give one metric (not {shown(metric)}) to accept a {key}")
                value = reader.scalar(keys[key], f"{path}.{key}")
                try:
                    numbers[key] = parse_quantity(value, METRICS[metric].kind)
                except UnitError as exc:
                    raise reader.fail(keys[key], f"{path}.{key}: {exc}") from exc
        expires = None
        if "expires" in keys:
            value = reader.scalar(keys["expires"], f"{path}.expires")
            try:
                if isinstance(value, datetime.datetime):  # "2027-03-31 10:00" is read as a moment: its day counts
                    value = value.date()
                expires = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
            except ValueError as exc:
                raise reader.fail(keys["expires"], f"{path}.expires: expected a date such as 2027-01-31, got {shown(value)}") from exc
        where = f"{reader.source}:{item.start_mark.line + 1}"
        waivers.append(
            Waiver(
                texts["match"], metric, texts["reason"], where, numbers.get("limit"), numbers.get("change"), texts.get("issue", ""), expires
            )
        )
    return waivers


def _sql(reader: _Reader, node: yaml.Node, budgets: Budgets) -> None:
    """``sql``: the N+1 threshold and the project's cache-filling functions, whose queries are warm-up.

    A function's name is checked for its form here; whether it exists is
    known only once Django is set up, and the SQL collector then warns,
    naming the line given here.
    """
    for key, _, value_node in reader.mapping(node, "sql", SQL_KEYS):
        if key == "n_plus_one_threshold":
            value = reader.scalar(value_node, "sql.n_plus_one_threshold")
            if type(value) is not int or value < 2:
                raise reader.fail(value_node, f"sql.n_plus_one_threshold: expected a whole number of at least 2, got {shown(value)}")
            budgets.n_plus_one_threshold = value
            continue
        functions = []
        for index, item in enumerate(reader.sequence(value_node, "sql.warmup_functions"), start=1):
            path = f"sql.warmup_functions[{index}]"
            value = reader.scalar(item, path)
            if not isinstance(value, str) or not _DOTTED.match(value):
                raise reader.fail(
                    item, f"{path}: expected a function's dotted path such as 'myapp.models.SettingsManager.get_cached', got {shown(value)}"
                )
            functions.append((value, f"{reader.where(item)}: {path}"))
        budgets.warmup_functions = tuple(functions)


def _rules(reader: _Reader, node: yaml.Node, section: str) -> list[Rule]:
    rules = []
    extra = ("match", "method") if section == "urls" else ("match",)
    for index, item in enumerate(reader.sequence(node, section), start=1):
        path = f"{section}[{index}]"
        keys = {key: value_node for key, _, value_node in reader.mapping(item, path)}
        if "match" not in keys:
            raise reader.fail(item, f"{path}: missing 'match' (a glob on the {'route' if section == 'urls' else 'node id or file'})")
        match = reader.scalar(keys["match"], f"{path}.match")
        if not isinstance(match, str) or not match:
            raise reader.fail(
                keys["match"], f"{path}.match: expected a pattern such as {'/api/*' if section == 'urls' else 'tests/api/*'!r}"
            )
        method = None
        if "method" in keys:
            method = reader.scalar(keys["method"], f"{path}.method")
            if not isinstance(method, str) or not method.isalpha():
                raise reader.fail(keys["method"], f"{path}.method: expected an HTTP method such as GET, got {shown(method)}")
            method = method.upper()
        line = item.start_mark.line + 1
        source = f"{section} rule #{index} {shown(match)} in {reader.source}:{line}"
        limits = reader.limits(item, path, source, extra)
        rules.append(Rule(match=match, limits=limits, index=index, line=line, method=method))
    return rules


def _regression(reader: _Reader, node: yaml.Node) -> dict[str, Any]:
    rules: dict[str, RegressionRule] = {}
    for key, key_node, value_node in reader.mapping(node, "regression"):
        if key not in METRICS and key not in KINDS:
            extra = did_you_mean(key, KINDS + list(METRICS))
            raise reader.fail(key_node, f"regression: unknown key {shown(key)} (a metric name or one of {', '.join(KINDS)}){extra}")
        kind = key if key in KINDS else METRICS[key].kind
        source = f"regression.{key} in {reader.where(key_node)}"
        default = DEFAULT_REGRESSION[kind]
        if isinstance(value_node, yaml.ScalarNode):
            value = reader.scalar(value_node, f"regression.{key}")
            if value is not False:
                raise reader.fail(value_node, f"regression.{key}: expected a mapping (max_increase, relative) or false, got {shown(value)}")
            rules[key] = RegressionRule(default.floor, default.relative, source, enabled=False)
            continue
        fields = {name: (kn, vn) for name, kn, vn in reader.mapping(value_node, f"regression.{key}", REGRESSION_KEYS)}
        if "max_increase" in fields and "floor" in fields:
            raise reader.fail(fields["floor"][0], f"regression.{key}: 'floor' and 'max_increase' mean the same; keep one")
        floor, relative = default.floor, default.relative
        for name in ("max_increase", "floor"):
            if name in fields:
                value = reader.scalar(fields[name][1], f"regression.{key}.{name}")
                try:
                    floor = parse_quantity(value, kind)
                except UnitError as exc:
                    raise reader.fail(fields[name][1], f"regression.{key}.{name}: {exc}") from exc
        if "relative" in fields:
            relative = _percent(reader, fields["relative"][1], f"regression.{key}.relative")
        if "confirm" in fields and "confirm_with_cpu" in fields:
            raise reader.fail(fields["confirm_with_cpu"][0], f"regression.{key}: 'confirm_with_cpu' is the old name of 'confirm'; keep one")
        confirm = True
        for name in ("confirm", "confirm_with_cpu"):  # the old name, from before reruns confirmed timings
            if name in fields:
                confirm = reader.scalar(fields[name][1], f"regression.{key}.{name}")
                if not isinstance(confirm, bool):
                    raise reader.fail(fields[name][1], f"regression.{key}.{name}: expected true or false, got {shown(confirm)}")
        rules[key] = RegressionRule(floor, relative, source, confirm=confirm)
    return rules


def _percent(reader: _Reader, node: yaml.Node, path: str) -> float:
    """``25%`` or ``25`` -> 0.25."""
    value = reader.scalar(node, path)
    text = str(value).strip()
    number_text = text[:-1].strip() if text.endswith("%") else text
    try:
        number = float(number_text)
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or number < 0:
        raise reader.fail(node, f"{path}: expected a percentage such as '25%', got {shown(value)}")
    if not math.isfinite(number):  # nan% never lets a change count, inf% none either: checks silently off
        raise reader.fail(node, f"{path}: expected a finite percentage such as '25%', got {shown(value)}")
    return number / 100


def _fail_on(reader: _Reader, node: yaml.Node) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode):
        value = reader.scalar(node, "fail_on")
        values = [] if value in (None, "none", False) else [value]
    else:
        values = [reader.scalar(item, "fail_on") for item in reader.sequence(node, "fail_on")]
    statuses = []
    for value in values:
        if value not in FAIL_ON_CHOICES:
            extra = did_you_mean(str(value), list(FAIL_ON_CHOICES))
            raise reader.fail(node, f"fail_on: unknown value {shown(value)} (choose from {', '.join(FAIL_ON_CHOICES)} or none){extra}")
        statuses.append(value)
    return tuple(statuses)


def _strings(reader: _Reader, node: yaml.Node, path: str) -> list[str]:
    values = []
    for item in reader.sequence(node, path):
        value = reader.scalar(item, path)
        if not isinstance(value, str):
            raise reader.fail(item, f"{path}: expected a glob such as 'tests/slow/*', got {shown(value)}")
        values.append(value)
    return values
