"""The shipped JSON Schema and budgets.example.yaml agree with the loader and the metric catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from perfbudget.budgets import BudgetError, load_budgets, parse_budgets
from perfbudget.budgets.loader import TOP_KEYS
from perfbudget.run.metrics import METRICS

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "perfbudget" / "schema" / "perfbudget.schema.json").read_text(encoding="utf-8"))
EXAMPLE = ROOT / "budgets.example.yaml"


def test_schema_knows_every_metric_and_top_key() -> None:
    assert set(SCHEMA["definitions"]["limits"]["properties"]) == set(METRICS)
    assert set(SCHEMA["definitions"]["testRule"]["properties"]) == set(METRICS) | {"match"}
    assert set(SCHEMA["definitions"]["urlRule"]["properties"]) == set(METRICS) | {"match", "method"}
    assert set(SCHEMA["properties"]) == set(TOP_KEYS)


def test_example_loads_and_documents_every_metric() -> None:
    budgets = load_budgets(EXAMPLE)
    assert budgets.warnings == [] and budgets.test_rules and budgets.url_rules
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [name for name in METRICS if f"#   {name} " not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("tests:\n  - match: a\n    queries: 3\n    duration: 200ms\n", True),
        ("tests:\n  - match: a\n    querys: 3\n", False),
        ("defaults:\n  tests: {peak_memory: 24MB}\n", True),
        ("defaults:\n  tests: {queries: -1}\n", False),
        ("regression:\n  time: {relative: 25%, floor: 10ms}\n", True),
        ("fail_on: none\n", True),
        ("fail_on: [sometimes]\n", False),
    ],
)
def test_schema_and_loader_agree(text: str, valid: bool) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates the shipped schema")
    schema_ok = jsonschema.Draft7Validator(SCHEMA).is_valid(yaml.safe_load(text))
    try:
        parse_budgets(text)
        loader_ok = True
    except BudgetError:
        loader_ok = False
    assert (schema_ok, loader_ok) == (valid, valid)


def test_example_is_valid_under_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates the shipped schema")
    jsonschema.validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), SCHEMA)
