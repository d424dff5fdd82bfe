"""pytest plugin entry point (placeholder until the recorder lands)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbudget", "performance budgets")
    group.addoption("--perf-budget", action="store_true", default=False, help="record performance facts per test and URL")
