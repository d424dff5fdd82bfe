"""``tomllib`` on Python 3.11+, the ``tomli`` backport before (a dependency there): pyproject.toml is read the same on 3.10.

Without it, ``[tool.perfbudget]`` and ``[project].name`` were silently
ignored on Python 3.10.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 leg of the CI matrix
    import tomli as tomllib

__all__ = ["tomllib"]
