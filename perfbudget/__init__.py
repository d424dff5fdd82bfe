"""perfbudget: performance budgets for Django and pytest, checked in CI."""

__version__ = "0.1.0"
