"""Replacing an attribute in a way that can be undone, even under someone else's patch.

Every collector installs its hooks this way: the network collector (sockets,
``http.client``, httpcore) and the Django families (``django.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
