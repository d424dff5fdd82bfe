"""Install every Django collector (SQL, cache, templates, signals, test-client requests) at once.

The plugin calls ``install`` once per session. Each family patches a class or
hooks a signal rather than the objects that exist at install time, so
connections, caches and handlers created later (another thread, an
``override_settings``, settings configured after the session started) are
covered too. This module imports Django only inside ``install``; the family
modules use ``patch`` from here to replace attributes in a way that can be
undone even when someone else wrapped the same attribute after us.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from perfbudget.collect.recording import CollectSettings, Recorder

Undo = Callable[[], None]

_MISSING = object()


def patch(owner: Any, name: str, replacement: Any) -> Undo:
    """Set ``owner.name`` to ``replacement``; the returned function puts back what was there.

    If another tool replaced the attribute after us, undoing leaves its
    replacement in place (our wrapper stays inside it, inert once the
    recorder has nothing open) rather than silently dropping its patch.
    """
    previous = vars(owner).get(name, _MISSING)
    setattr(owner, name, replacement)

    def undo() -> None:
        if vars(owner).get(name, _MISSING) is not replacement:
            return
        if previous is _MISSING:
            delattr(owner, name)  # the attribute was inherited (or absent): uncover it again
        else:
            setattr(owner, name, previous)

    return undo


def undo_all(undos: list[Undo]) -> Undo:
    """One function undoing ``undos`` in reverse order (last patch first)."""

    def undo() -> None:
        while undos:
            undos.pop()()

    return undo


def _noop() -> None:
    """Nothing was installed, so there is nothing to remove."""


def django_configured() -> bool:
    """Django is installed and its settings are configured."""
    if importlib.util.find_spec("django") is None:
        return False
    from django.conf import settings

    try:
        return bool(settings.configured)
    except Exception:  # a broken settings module is Django's error to report, not ours
        return False


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Install the Django collectors; returns the function that removes them.

    A no-op when Django is not installed. Settings need not be configured
    yet: every hook applies to connections and caches created later, and
    those that already exist are instrumented only once settings are
    configured (before that there are none).
    """
    if importlib.util.find_spec("django") is None:
        return _noop
    undos: list[Undo] = []
    try:
        for name in ("sql", "cache", "templates", "signals", "http_requests"):
            # By full name from sys.modules, as ``summary.optional_collector``
            # finds them: the events a wrapper emits and the summary reading
            # them then share their classes, even after the import system
            # dropped a module (pytester's in-process runs do) that a
            # ``from package import name`` would still find on the package.
            family = importlib.import_module(f"perfbudget.collect.{name}")
            undos.append(family.install(recorder, settings))
    except BaseException:
        undo_all(undos)()
        raise
    return undo_all(undos)
