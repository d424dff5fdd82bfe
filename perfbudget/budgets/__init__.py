"""Budgets: the limits and regression rules of perfbudget.yaml, and which apply where.

``load_budgets(path)`` validates a file; ``find_budget_file`` locates it;
``load_project_budgets`` does both (the plugin calls it at configure time to
turn a mistake into a usage error before any test runs).
"""

from perfbudget.budgets.discover import find_budget_file, load_project_budgets
from perfbudget.budgets.loader import load_budgets, parse_budgets
from perfbudget.budgets.model import (
    DEFAULT_REGRESSION,
    BudgetError,
    Budgets,
    Limit,
    RegressionRule,
    Rule,
    parse_marker,
)

__all__ = [
    "DEFAULT_REGRESSION",
    "BudgetError",
    "Budgets",
    "Limit",
    "RegressionRule",
    "Rule",
    "find_budget_file",
    "load_budgets",
    "load_project_budgets",
    "parse_budgets",
    "parse_marker",
]
