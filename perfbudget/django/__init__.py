"""perfbudget for projects that run Django's own test runner: ``TEST_RUNNER = "perfbudget.django.PerfBudgetRunner"``."""

from perfbudget.django.runner import PerfBudgetRunner

__all__ = ["PerfBudgetRunner"]
