"""Install every Django collector (SQL, cache, templates, signals, test-client requests) at once.

The plugin calls ``install`` once per session. Each family patches a class or
hooks a signal rather than the objects that exist at install time, so
connections, caches and handlers created later (another thread, an
``override_settings``, settings configured after the session started) are
covered too. This module imports Django only inside ``install``; the family
modules replace attributes with ``patching.patch``, which can be undone even
when someone else wrapped the same attribute after us.
"""

from __future__ import annotations

import importlib
import importlib.util

from perfbudget.collect.patching import Undo, undo_all
from perfbudget.collect.recording import CollectSettings, Recorder


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
