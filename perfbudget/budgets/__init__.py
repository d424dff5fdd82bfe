"""Budgets: the limits and regression rules of perfbudget.yaml, and which apply where.

``load_budgets(path)`` validates a file (the plugin may call it at configure
time to turn a mistake into a usage error); ``find_budget_file`` locates it.
"""

from perfbudget.budgets.discover import find_budget_file
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
    "parse_budgets",
    "parse_marker",
]
