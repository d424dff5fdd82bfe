"""Test support: builders, fakes and fixtures shared by the tests, one module per area.

``tests/conftest.py`` registers the fixture modules (``django``, ``github``,
``plugin``) once through ``pytest_plugins``; a test module imports only the
helpers it calls. ``fakegithub/`` holds the Actions runner stand-in.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # tests/support/__init__.py -> the checkout
