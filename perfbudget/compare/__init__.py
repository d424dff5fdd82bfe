"""Comparison: turn (run, budgets, baseline) into verdicts, and their JSON form."""

from perfbudget.compare.engine import compare
from perfbudget.compare.serialize import comparison_to_dict, verdict_to_dict

__all__ = ["compare", "comparison_to_dict", "verdict_to_dict"]
