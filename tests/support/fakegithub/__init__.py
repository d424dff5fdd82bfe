"""Test doubles for GitHub: the Actions runner stand-in (the fake API lives in tests/support/github.py)."""
