"""Where a query came from: the frame that asked for the rows, the template line, the relation; plumbing, warm-up, test code.

A call site is the frame that asked for the rows: the walk passes over the
standard library, installed packages, Django and perfbudget, and over the
project's own overrides of Django's machinery (a QuerySet subclass's
``_fetch_all``, a Manager's ``get_queryset``...), and stops at the first
other frame of the project. It is known by its file, line and function (the
line is shown; the file and function are what stays put across edits). On
the way, Django's own frames say which template line rendered the query and
which relation it loads (``collect/django_frames.py``). The walk also tells
apart the queries Django's test cases run to isolate tests (plumbing, left
out), those run while a per-process cache fills (warm-up, counted apart)
and, by the project's test globs, test code. Its own module because it is a
job of its own, on the collector's hot path, and the SQL collector's
patching only calls it.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
import sysconfig
import warnings
from fnmatch import fnmatchcase
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from perfbudget.collect.django_frames import RENDER_NODE, DjangoFrames, Relation
from perfbudget.collect.recording import CallSite, CollectSettings

# Functions of django/test/testcases.py that exist to isolate tests from each
# other, not to run the test: their queries are plumbing. pytest-django's
# ``db``/``transactional_db`` fixtures go through them too; data its fixtures
# create for a test (``admin_user``...) is the test's set-up and counts.
_PLUMBING_FUNCTIONS = frozenset(
    {
        "setUpClass",
        "tearDownClass",
        "_enter_atomics",
        "_rollback_atomics",
        "_pre_setup",
        "_post_teardown",
        "_fixture_setup",
        "_fixture_teardown",
        "_reset_sequences",
    }
)

# Django's functions that fill a per-process cache, by module and qualified name:
# a query issued under one is warm-up (read django/contrib/contenttypes/models.py
# and django/contrib/sites/models.py). ``_get_from_cache`` and ``clear_cache``
# never query; ``SiteManager.get_by_natural_key`` queries but caches nothing.
WARMUP_FUNCTIONS = (
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_model"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_models"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_for_id"),
    ("django.contrib.contenttypes.models", "ContentTypeManager.get_by_natural_key"),
    ("django.contrib.sites.models", "SiteManager.get_current"),
    ("django.contrib.sites.models", "SiteManager._get_site_by_id"),
    ("django.contrib.sites.models", "SiteManager._get_site_by_request"),
)

# How a source file counts when looking for the code that issued a query: bits,
# so that a library frame (0, nearly every frame walked) costs one truth test.
# _DJANGO: one of the few Django files whose frames say the relation or the template
# line (``DjangoFrames.files``); _JINJA: a compiled Jinja2 template.
_LIBRARY, _PROJECT, _TESTCASES, _WARMUP, _TEST_CODE, _DJANGO, _JINJA = 0, 1, 2, 4, 8, 16, 32

# What ``Locator.locate`` answers for a query issued from no project code at all.
NOWHERE: CallSite = (None, 0, False, None, None, None)
_NOWHERE_WARMUP: CallSite = (None, 0, True, None, None, None)


class WarmupWarning(UserWarning):
    """A function the budget file names under ``sql.warmup_functions`` could not be found; the run goes on."""


class Locator:
    """Finds the frame that asked for the rows, spots test-framework plumbing and cache warm-up.

    Each file is classified once (a dict lookup per frame after that), and the
    walk stops at the first project frame, so locating a query costs a fraction
    of a microsecond per frame walked (2 for a raw cursor, 5 to 11 for the
    ORM), however many queries a test makes. A project frame named like one
    of the methods of Django's QuerySet, Manager, Model... may be an override
    of Django's, to walk past: that is decided once per code object
    (``_overrides``), so only such frames cost a dict lookup more; the others
    cost a set lookup of their name. Frames of the three Django files that
    can name a relation or a template line cost a dict lookup by code
    object; only the four reader functions among them are looked into
    (``DjangoFrames``). It answers a ``CallSite`` tuple holding the asking
    frame's code object: its function is named, and the ``"path:line"``
    strings are built, once per group when a recording is summarised.

    Warm-up is told by code object: the ``__code__`` of each warm-up function,
    found once Django's app registry is ready (never importing a module
    Django has not: an app that is not installed fills no cache). Only frames
    of the few files that define one are checked. Django's sit below the
    first project frame, on the way; when the budget file names project
    functions, the walk goes on past the first project frame up to the test
    code, since the function may call the code that queries.
    """

    def __init__(self, rootdir: Path, settings: CollectSettings | None = None) -> None:
        import django

        import perfbudget

        self._rootdir = str(rootdir.resolve())
        self._library_dirs = tuple(
            os.path.join(os.path.realpath(path), "")
            for path in {
                *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
                os.path.dirname(django.__file__),
                os.path.dirname(perfbudget.__file__),
            }
        )
        self._testcases = os.path.realpath(os.path.join(os.path.dirname(django.__file__), "test", "testcases.py"))
        self._kinds: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self._frames: DjangoFrames | None = None
        with contextlib.suppress(Exception):  # without them, call sites are found as before, with no relation or template
            self._frames = DjangoFrames(self._rootdir)
        self._readers = self._frames.readers if self._frames is not None else {}
        self._overridable = self._frames.method_names if self._frames is not None else frozenset()
        self._override_ids: dict[int, bool] = {}  # id() of each project code object so named -> whether it overrides
        self._override_codes: list[CodeType] = []  # keeps them alive, so their ids stay theirs
        self._test_files = settings.test_files if settings is not None else ()
        self._project_warmup = settings.warmup_functions if settings is not None else ()
        self._warmup_ids: set[int] = set()  # id() of each warm-up code object: a code's own hash is slow
        self._warmup_codes: list[Any] = []  # keeps them alive, so their ids stay theirs
        self._walk_on = False  # a project function is warm-up: look past the first project frame
        self.pending = True  # warm-up functions not looked up yet (the app registry was not ready)

    def locate(self, frame: FrameType | None) -> CallSite | None:
        """The ``CallSite`` of the frame that asked, outwards from ``frame``; ``NOWHERE`` if none, None for plumbing.

        The template line and the relation are those of the innermost frames
        that tell them, met on the way out to the asking frame.
        """
        if self.pending:
            self.resolve_warmup()
        kinds = self._kinds
        overridable = self._overridable
        warmup = False
        template: tuple[str, int] | None = None
        relation: Relation | None = None
        while frame is not None:
            code = frame.f_code
            filename = code.co_filename
            kind = kinds.get(filename)
            if kind is None:
                kind = self._classify(filename, frame)
            if kind:
                if kind & _WARMUP and id(code) in self._warmup_ids:
                    warmup = True
                if kind & _PROJECT:
                    if code.co_name not in overridable or not self._overrides(code, frame):
                        if self._walk_on and not warmup and not kind & _TEST_CODE:
                            warmup = self._warmup_above(frame.f_back)
                        return self._names[filename], frame.f_lineno, warmup, code, template, relation
                elif kind & _DJANGO:
                    reader = self._readers.get(id(code))
                    if reader is not None:
                        self_ = frame.f_locals.get("self")
                        if reader == RENDER_NODE:
                            if template is None and self._frames is not None:
                                template = self._frames.node_site(self_)
                        elif relation is None and self._frames is not None:
                            relation = self._frames.relation(reader, self_)
                elif kind & _JINJA:
                    if template is None and self._frames is not None:
                        template = self._frames.jinja_site(frame)
                elif kind & _TESTCASES and code.co_name in _PLUMBING_FUNCTIONS:
                    return None
            frame = frame.f_back
        if template is None and relation is None:
            return _NOWHERE_WARMUP if warmup else NOWHERE
        return None, 0, warmup, None, template, relation

    def _overrides(self, code: CodeType, frame: FrameType) -> bool:
        """Whether a project method named like one of Django's overrides it: decided at its first frame, once."""
        found = self._override_ids.get(id(code))
        if found is None:
            found = self._override_ids[id(code)] = self._frames is not None and self._frames.overrides_django(code, frame)
            self._override_codes.append(code)
        return found

    def _warmup_above(self, frame: FrameType | None) -> bool:
        """Whether a warm-up function runs further out, before the test code that called it all."""
        kinds = self._kinds
        while frame is not None:
            code = frame.f_code
            kind = kinds.get(code.co_filename)
            if kind is None:
                kind = self._classify(code.co_filename, frame)
            if kind & _WARMUP and id(code) in self._warmup_ids:
                return True
            if kind & _TEST_CODE:
                return False
            frame = frame.f_back
        return False

    def _classify(self, filename: str, frame: FrameType | None = None) -> int:
        kind = self._classify_file(filename, frame)
        self._kinds[filename] = kind
        return kind

    def _classify_file(self, filename: str, frame: FrameType | None) -> int:
        if frame is not None and "__jinja_template__" in frame.f_globals:
            return _JINJA  # a compiled Jinja2 template, named after its template file (or "<template>")
        warmup = _WARMUP if any(code.co_filename == filename for code in self._warmup_codes) else 0
        if filename.startswith("<"):  # <frozen ...>, <string>, <stdin>
            return _LIBRARY | warmup
        path = os.path.realpath(filename)
        if path == self._testcases:
            return _TESTCASES
        if self._frames is not None and path in self._frames.files:
            return _DJANGO
        parts = Path(path).parts
        if "site-packages" in parts or "dist-packages" in parts or path.startswith(self._library_dirs):
            return _LIBRARY | warmup
        name = os.path.relpath(path, self._rootdir) if path.startswith(os.path.join(self._rootdir, "")) else path
        name = self._names[filename] = name.replace(os.sep, "/")
        return _PROJECT | warmup | (_TEST_CODE if is_test_file(name, self._test_files) else 0)

    def resolve_warmup(self) -> None:
        """Find the warm-up functions' code objects once Django's apps are ready; never raises, a bad name is a warning."""
        try:
            from django.apps import apps

            if not apps.ready:
                return
            self.pending = False
            codes = [code for module, name in WARMUP_FUNCTIONS if (code := _loaded_code(module, name)) is not None]
            for dotted, where in self._project_warmup:
                try:
                    codes.append(_code_of(dotted))
                except Exception as exc:
                    _warn(f"perfbudget: {where}: {dotted!r} is no warm-up function: {exc}; its queries are counted as usual")
            self._warmup_codes = codes
            self._warmup_ids = {id(code) for code in codes}
            for filename in {code.co_filename for code in codes}:
                self._classify(filename)  # again, now with the warm-up bit
            self._walk_on = any(self._kinds[code.co_filename] & _PROJECT for code in codes)
        except Exception as exc:  # never the test's error: the run goes on without warm-up detection
            self.pending = False
            _warn(f"perfbudget: looking up the cache warm-up functions failed: {type(exc).__name__}: {exc}")


def is_test_file(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``path`` (relative to the rootdir, "/"-separated) is test code: a glob on its name, or on its path if the glob has a "/"."""
    name = path.rpartition("/")[2]
    return any(
        fnmatchcase(path, pattern) or fnmatchcase(path, "*/" + pattern) if "/" in pattern else fnmatchcase(name, pattern)
        for pattern in patterns
    )


def _loaded_code(module: str, qualname: str) -> Any:
    """The code of a function of an already imported module, None if it is not imported or lacks it."""
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return getattr(found, "__code__", None)


def _code_of(dotted: str) -> Any:
    """The code object of the function at ``dotted`` (``package.module.Class.method``), importing its module."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            found: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # a shorter prefix may be the module
            raise
        for index, part in enumerate(parts[split:], start=split):
            try:
                found = inspect.getattr_static(found, part)
            except AttributeError:
                raise LookupError(f"{'.'.join(parts[:index])} has no attribute {part!r}") from None
            found = getattr(found, "__func__", found)  # classmethod, staticmethod
        code = getattr(inspect.unwrap(found), "__code__", None)
        if code is None:
            raise TypeError(f"not a function but {type(found).__name__}")
        return code
    raise LookupError(f"no module {parts[0]!r} to import")


def _warn(message: str) -> None:
    # Raised inside a query of a test: -W error must not turn it into the test's failure.
    with contextlib.suppress(Exception):
        warnings.warn(WarmupWarning(message), stacklevel=3)
