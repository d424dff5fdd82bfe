"""A Django test's pytest-style node id, so results of ``manage.py test`` and ``pytest`` compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def where(test: Any, rootdir: Path) -> tuple[str, str, int | None]:
    """(node id, file, line) as pytest names the test: ``shop/tests.py::ShopTests::test_list``.

    The method's own code gives the file and line (an inherited test is where
    it is written). A test that is not a method of the project's code (a
    doctest, a ``FunctionTestCase``, a module that failed to import) is named
    by its unittest id: one id per test, never one shared by many.
    """
    cls = type(test)
    method = getattr(cls, getattr(test, "_testMethodName", ""), None)
    code = getattr(method, "__code__", None)
    try:
        if code is None or cls.__module__.startswith(("unittest", "doctest")):
            return test.id(), "", None
        source = Path(code.co_filename).resolve()
        if not source.is_relative_to(rootdir.resolve()):
            return test.id(), "", None
        file = source.relative_to(rootdir.resolve()).as_posix()
        return f"{file}::{cls.__qualname__.replace('.', '::')}::{test._testMethodName}", file, code.co_firstlineno
    except Exception:  # a name is advice: never let it stop the run
        return test.id(), "", None
