"""Which query group of the baseline a group of the run is: the same database, shape, file and function, whatever the lines.

A call site is shown as "path:line", but lines move with every edit: a line
inserted above a call site, a function moved within its file, a file
renamed are no change to the queries. So a group of the run and one of the
baseline are the same query by ``SqlGroup.identity`` (database, shape,
file, function, template file), and ``pair_groups`` pairs one subject's
groups in stages, each on what the earlier ones left:

1. same database, shape, file, function and template file: paired in line
   order, so two call sites of one shape in one function stay apart
   (nothing moved is the case of equal lines);
2. same database, shape, function and template file in another file: the
   file was renamed, or the function moved to another module;
3. the same call site exactly (database, shape, location, template line);
4. the same database, shape and file, one of the two without a function
   (module-level code, or a results file written before functions were
   recorded): the nearest line.

Pure: ``compare/causes.py`` turns the pairs whose counts differ into causes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable

from perfbudget.run.model import SqlGroup, split_location

# A run's group (None: none) and the baseline's it was paired with (None: none).
Pair = tuple[SqlGroup | None, SqlGroup | None]

_MAX_SHIFTS = 64  # pairs of call sites of one shape in one function beyond which only "nothing moved" is tried


def pair_groups(now: list[SqlGroup], before: list[SqlGroup]) -> list[Pair]:
    """Each group of one subject's run paired with its baseline group, in the stages of the module's docstring.

    Every group of both sides is in exactly one pair; a group with no
    partner is paired with None (new, or gone).
    """
    pairs: list[Pair] = []

    def in_function(group: SqlGroup) -> Hashable | None:
        return group.identity if group.function is not None else None

    def in_another_file(group: SqlGroup) -> Hashable | None:
        if group.function is None:
            return None
        database, sql, _, function, template_file = group.identity
        return (database, sql, function, template_file)

    def exactly(group: SqlGroup) -> Hashable:
        return group.key

    def in_file(group: SqlGroup) -> Hashable:
        return (group.database, group.sql, _file(group))

    now, before = _stage(now, before, in_function, in_function, _in_line_order, pairs)
    now, before = _stage(now, before, in_another_file, in_another_file, _in_line_order, pairs)
    now, before = _stage(now, before, exactly, exactly, _same, pairs)
    now, before = _stage(now, before, in_file, in_file, _nearest, pairs)
    return pairs + [(group, None) for group in now] + [(None, group) for group in before]


_Pairer = Callable[[list[SqlGroup], list[SqlGroup]], list[tuple[SqlGroup, SqlGroup]]]


def _stage(
    now: list[SqlGroup],
    before: list[SqlGroup],
    bucket_now: Callable[[SqlGroup], Hashable | None],
    bucket_before: Callable[[SqlGroup], Hashable | None],
    pair: _Pairer,
    pairs: list[Pair],
) -> tuple[list[SqlGroup], list[SqlGroup]]:
    """Pair the groups that share a bucket (None: not this stage's) with ``pair``, onto ``pairs``; the groups left."""
    buckets: defaultdict[Hashable, tuple[list[SqlGroup], list[SqlGroup]]] = defaultdict(lambda: ([], []))
    for group in now:
        if (key := bucket_now(group)) is not None:
            buckets[key][0].append(group)
    for group in before:
        if (key := bucket_before(group)) is not None:
            buckets[key][1].append(group)
    used: set[int] = set()
    for ours, theirs in buckets.values():
        if ours and theirs:
            for pair_now, pair_before in pair(ours, theirs):
                pairs.append((pair_now, pair_before))
                used.update((id(pair_now), id(pair_before)))
    return [g for g in now if id(g) not in used], [g for g in before if id(g) not in used]


def _same(now: list[SqlGroup], before: list[SqlGroup]) -> list[tuple[SqlGroup, SqlGroup]]:
    """One group each with one key: the same call site (a key is unique among one subject's groups)."""
    return [(now[0], before[0])]


def _nearest(now: list[SqlGroup], before: list[SqlGroup]) -> list[tuple[SqlGroup, SqlGroup]]:
    """Nearest lines first, each group paired once, if one of the two has no function (two functions differ)."""
    candidates = sorted(
        (
            (_distance(a, b, (0, 0)), _position(a), _position(b), i, j)
            for i, a in enumerate(now)
            for j, b in enumerate(before)
            if a.function is None or b.function is None
        )
    )
    taken_now: set[int] = set()
    taken_before: set[int] = set()
    found = []
    for _, _, _, i, j in candidates:
        if i not in taken_now and j not in taken_before:
            taken_now.add(i)
            taken_before.add(j)
            found.append((now[i], before[j]))
    return found


def _in_line_order(now: list[SqlGroup], before: list[SqlGroup]) -> list[tuple[SqlGroup, SqlGroup]]:
    """The call sites of one shape in one function, paired in line order.

    With as many on each side, the first with the first and so on, however
    far they moved. With more on one side (one was added or removed), the
    order-keeping pairing that moves the lines least once they are all
    shifted alike (lines inserted above move every call site by as many);
    each shift some pair of them shows is tried.
    """
    now, before = sorted(now, key=_position), sorted(before, key=_position)
    if len(now) == len(before):
        return list(zip(now, before, strict=True))
    shifts = {_shift(a, b) for a in now for b in before} if len(now) * len(before) <= _MAX_SHIFTS else {(0, 0)}
    best: tuple[int, list[tuple[SqlGroup, SqlGroup]]] | None = None
    for shift in sorted(shifts, key=lambda s: (abs(s[0]) + abs(s[1]), s)):  # a tie goes to the smaller shift
        found = _monotone(now, before, shift)
        if best is None or found[0] < best[0]:
            best = found
    assert best is not None
    return best[1]


def _monotone(now: list[SqlGroup], before: list[SqlGroup], shift: tuple[int, int]) -> tuple[int, list[tuple[SqlGroup, SqlGroup]]]:
    """Each group of the shorter side paired with one of the other, keeping their order, at the least total distance.

    Dynamic programming over both sides in line order: ``cost[i][j]`` is the
    least distance pairing the first ``i`` of the shorter side among the
    first ``j`` of the longer one.
    """
    flipped = len(now) > len(before)
    short, long = (before, now) if flipped else (now, before)

    def distance(i: int, j: int) -> int:
        return _distance(long[j], short[i], shift) if flipped else _distance(short[i], long[j], shift)

    rows, columns = len(short), len(long)
    unreachable = 1 << 62
    cost = [[0] * (columns + 1)] + [[unreachable] * (columns + 1) for _ in range(rows)]
    for i in range(1, rows + 1):
        for j in range(i, columns + 1):
            cost[i][j] = min(cost[i][j - 1], cost[i - 1][j - 1] + distance(i - 1, j - 1))
    found: list[tuple[SqlGroup, SqlGroup]] = []
    j = columns
    for i in range(rows, 0, -1):
        while j > i and cost[i][j] == cost[i][j - 1]:
            j -= 1  # the longer side's j-th is left unpaired
        found.append((long[j - 1], short[i - 1]) if flipped else (short[i - 1], long[j - 1]))
        j -= 1
    return cost[rows][columns], found[::-1]


def _position(group: SqlGroup) -> tuple[int, int]:
    return split_location(group.location)[1], split_location(group.template)[1]


def _shift(a: SqlGroup, b: SqlGroup) -> tuple[int, int]:
    (line_a, template_a), (line_b, template_b) = _position(a), _position(b)
    return line_a - line_b, template_a - template_b


def _distance(now: SqlGroup, before: SqlGroup, shift: tuple[int, int]) -> int:
    """How far ``before`` moved to become ``now``, beyond ``shift``: in the code's lines plus in the template's."""
    moved = _shift(now, before)
    return abs(moved[0] - shift[0]) + abs(moved[1] - shift[1])


def _file(group: SqlGroup) -> str:
    return split_location(group.location)[0]
