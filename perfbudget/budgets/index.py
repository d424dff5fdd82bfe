"""Which globs of a budget file match a name, found without trying every glob on every name.

Trying each of a budget file's rules on each test is rules x tests glob
matches: 12,000 rules against 1,000 tests took 51 s, and past fnmatch's cache
of 32,768 patterns every match compiled its pattern again (issue 19). A name
a glob matches contains each literal piece of it: it starts with the piece
before the first wildcard, ends with the piece after the last, and contains
the pieces between. So each distinct glob is filed under its longest piece,
and a name looks up only its own prefixes, suffixes and substrings of the
lengths filed: a few dictionary lookups per length, whatever the number of
globs (a bracket expression counts as a wildcard of one character). A glob
of wildcards alone (``*``) is tried on every name. Each glob is compiled
once, and matched once per name however many rules repeat it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from fnmatch import translate

_WILDCARDS = re.compile(r"[*?]")


class GlobIndex:
    """The positions of ``patterns`` that match a name (exactly, or as a glob); built once, asked per subject."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._positions: dict[str, list[int]] = {}
        for position, pattern in enumerate(patterns):
            self._positions.setdefault(pattern, []).append(position)
        self._compiled: dict[str, Callable[[str], object]] = {}
        self._everywhere: list[str] = []
        self._keys: dict[str, dict[str, list[str]]] = {"head": {}, "tail": {}, "middle": {}}
        for pattern in self._positions:
            where, piece = _key(pattern)
            if piece:
                self._keys[where].setdefault(piece, []).append(pattern)
            else:
                self._everywhere.append(pattern)
        self._lengths = {where: sorted({len(piece) for piece in keys}) for where, keys in self._keys.items()}

    def matching(self, names: Iterable[str]) -> list[int]:
        """The positions whose pattern equals or globs one of ``names``, in pattern order."""
        names = tuple(names)
        found: list[int] = []
        for pattern in self._candidates(names):
            match = self._compiled.get(pattern)
            if match is None:
                match = self._compiled[pattern] = re.compile(translate(pattern)).match
            if any(name == pattern or match(name) for name in names):
                found.extend(self._positions[pattern])
        return sorted(found)

    def _candidates(self, names: tuple[str, ...]) -> set[str]:
        found = set(self._everywhere)
        heads, tails, middles = self._keys["head"], self._keys["tail"], self._keys["middle"]
        for name in names:
            size = len(name)
            for length in self._lengths["head"]:
                if length > size:
                    break
                found.update(heads.get(name[:length], ()))
            for length in self._lengths["tail"]:
                if length > size:
                    break
                found.update(tails.get(name[size - length :], ()))
            for length in self._lengths["middle"]:
                if length > size:
                    break
                for start in range(size - length + 1):
                    found.update(middles.get(name[start : start + length], ()))
        return found


def _key(pattern: str) -> tuple[str, str]:
    """Where a matching name must hold which piece of ``pattern``: ("head", "tests/"), ("middle", "api"), or ("", "")."""
    pieces = _WILDCARDS.split(_skeleton(pattern))
    if len(pieces) == 1:
        return "head", pattern  # no wildcard: the whole name
    head, tail, middle = pieces[0], pieces[-1], max(pieces[1:-1], key=len, default="")
    if len(head) >= max(len(tail), len(middle)):
        return ("head", head) if head else ("", "")
    return ("tail", tail) if len(tail) >= len(middle) else ("middle", middle)


def _skeleton(pattern: str) -> str:
    """``pattern`` with each bracket expression written as ``?`` (it matches one character), scanned as fnmatch scans it.

    An unclosed ``[`` is a literal character, as for fnmatch.
    """
    out, i, n = [], 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char != "[":
            out.append(char)
            continue
        j = i
        if j < n and pattern[j] == "!":
            j += 1
        if j < n and pattern[j] == "]":
            j += 1
        while j < n and pattern[j] != "]":
            j += 1
        if j >= n:
            out.append("[")  # no closing bracket: fnmatch matches a "[" here
        else:
            out.append("?")
            i = j + 1
    return "".join(out)
