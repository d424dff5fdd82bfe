"""Shared test configuration. Helpers for one area live in tests/helpers_<area>.py."""
