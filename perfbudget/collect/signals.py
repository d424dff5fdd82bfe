"""Django signals sent, counted by a readable name (``post_save``, ``request_started``...).

``Signal.send``, ``send_robust`` and (Django 5+) ``asend``/``asend_robust``
are patched on the class, so every signal is seen, Django's and the
project's. Every send counts, whether or not anyone listens (so a count does
not change because, say, ``assertNumQueries`` disconnected a receiver for a
while), with one exception: ``pre_init`` and ``post_init``, which Django sends
for every model instance it builds, count only when they reach a receiver;
otherwise the count would mostly repeat the number of rows loaded.

Names: Django's own signals by their attribute name in
``django.db.models.signals``, ``django.core.signals``, ``django.test.signals``,
``django.db.backends.signals`` and ``django.contrib.auth.signals``; any other
signal as ``module.attribute`` of a module holding it (a ``*.signals`` module
preferred), else ``signal@<module that sent it>``. Each signal object is
named once.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, Recorder

DJANGO_SIGNAL_MODULES = (
    "django.db.models.signals",
    "django.core.signals",
    "django.test.signals",
    "django.db.backends.signals",
    "django.contrib.auth.signals",
)


def _holders(signal: Any, module_names: list[str]) -> list[tuple[str, str]]:
    """``(module, attribute)`` pairs under which ``signal`` is a module-level name."""
    found = []
    for module_name in module_names:
        module = sys.modules.get(module_name)
        try:
            namespace = vars(module) if module is not None else {}
        except TypeError:  # sys.modules may hold objects without a __dict__
            continue
        for attribute, value in list(namespace.items()):
            if value is signal and not attribute.startswith("_"):
                found.append((module_name, attribute))
    return found


def signal_name(signal: Any, sender_frame: FrameType | None) -> str:
    """A readable, stable name for a signal object (see the module docstring)."""
    django_names = _holders(signal, list(DJANGO_SIGNAL_MODULES))
    if django_names:
        return django_names[0][1]
    holders = _holders(signal, list(sys.modules))
    if holders:
        module_name, attribute = min(holders, key=lambda pair: (not pair[0].endswith("signals"), pair))
        return f"{module_name}.{attribute}"
    sender_module = sender_frame.f_globals.get("__name__", "?") if sender_frame is not None else "?"
    return f"signal@{sender_module}"


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Count signals sent; returns the remover."""
    from django.db.models.signals import post_init, pre_init
    from django.dispatch import Signal

    per_instance = (pre_init, post_init)  # counted only when someone listens

    names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def count(signal: Any) -> None:
        name = names.get(signal)
        if name is None:
            name = names[signal] = signal_name(signal, sys._getframe(2))
        recorder.emit_signal(name)

    def sync(original: Callable[..., Any]) -> Callable[..., Any]:
        def send(signal: Any, sender: Any, **named: Any) -> Any:
            if not recorder.active:
                return original(signal, sender, **named)
            try:
                responses = original(signal, sender, **named)
            except BaseException:
                count(signal)  # a receiver ran, and raised
                raise
            if responses or signal not in per_instance:
                count(signal)
            return responses

        return send

    def asynchronous(original: Callable[..., Any]) -> Callable[..., Any]:
        async def asend(signal: Any, sender: Any, **named: Any) -> Any:
            if not recorder.active:
                return await original(signal, sender, **named)
            try:
                responses = await original(signal, sender, **named)
            except BaseException:
                count(signal)
                raise
            if responses or signal not in per_instance:
                count(signal)
            return responses

        return asend

    undos = [patch(Signal, name, sync(vars(Signal)[name])) for name in ("send", "send_robust")]
    undos += [patch(Signal, name, asynchronous(vars(Signal)[name])) for name in ("asend", "asend_robust") if name in vars(Signal)]
    return undo_all(undos)
