"""Inline SVG charts for the HTML report, drawn server-side so the file needs no library and no network.

Two kinds: paired bars (baseline vs this run) for the largest changes, each
row on its own scale because metrics differ in unit; and histograms on 1-2-5
bins, which keep skewed figures (most tests fast, a few slow) readable. Text
in the SVG is escaped with markupsafe, as the template's autoescape would.

The changes chart leads with what fails, counts before times, one bar per
subject and kind of metric: six unconfirmed template times of 1 ms → 562 ms
must not push out the one query that broke 1,000 tests (issue 20). The page
gives unconfirmed times a collapsed chart of their own.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from markupsafe import Markup, escape

from perfbudget.compare.verdicts import FAILING, Verdict
from perfbudget.report.escape import shorten
from perfbudget.run.metrics import format_value, is_time

_COLOURS = {"baseline": "#94a3b8", "worse": "#dc2626", "better": "#16a34a", "bar": "#4f46e5"}
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'


@dataclass(frozen=True)
class Change:
    """One row of the paired-bar chart."""

    label: str
    metric: str
    baseline: float
    value: float

    @property
    def worse(self) -> bool:
        return self.value > self.baseline


def top_changes(verdicts: list[Verdict], limit: int = 6) -> list[Change]:
    """The metric verdicts that moved against the baseline: failing first, counts before times, then the largest relative change.

    One bar per subject and kind of metric (its ``queries``, not its ``queries.select`` too).
    """
    moved = [v for v in verdicts if v.metric and v.value is not None and v.baseline is not None and v.value != v.baseline]
    moved.sort(
        key=lambda v: (
            v.status not in FAILING,
            is_time(v.metric or ""),
            -abs(v.delta_ratio if v.delta_ratio is not None else 1.0),
            v.subject,
            v.metric or "",
        )
    )
    changes: dict[tuple[str, str, bool], Change] = {}
    for v in moved:
        key = (v.subject_kind, v.subject, is_time(v.metric or ""))
        if key not in changes:
            changes[key] = Change(_short(v.subject), v.metric or "", v.baseline or 0.0, v.value or 0.0)
            if len(changes) == limit:
                break
    return list(changes.values())


def _short(subject: str, width: int = 30) -> str:
    return shorten(subject.split("::")[-1], width)


def change_bars(changes: list[Change], width: int = 560, label: str = "Largest changes against the baseline") -> Markup:
    """Baseline (grey) over this run (red if worse, green if better), labelled with both values."""
    if not changes:
        return Markup('<p class="empty">No metric moved against the baseline.</p>')
    row, label_width = 46, 210
    bar_room = width - label_width - 90
    height = row * len(changes) + 28
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" {_FONT} font-size="12">',
        f'<g font-size="11" fill="#475569"><rect x="{label_width}" y="4" width="10" height="10" fill="{_COLOURS["baseline"]}"/>'
        f'<text x="{label_width + 14}" y="13">baseline</text>'
        f'<rect x="{label_width + 80}" y="4" width="10" height="10" fill="{_COLOURS["worse"]}"/>'
        f'<text x="{label_width + 94}" y="13">this run (worse)</text>'
        f'<rect x="{label_width + 200}" y="4" width="10" height="10" fill="{_COLOURS["better"]}"/>'
        f'<text x="{label_width + 214}" y="13">(better)</text></g>',
    ]
    for index, change in enumerate(changes):
        top = 28 + index * row
        scale = max(change.baseline, change.value) or 1.0
        base_w = max(bar_room * change.baseline / scale, 1.0)
        head_w = max(bar_room * change.value / scale, 1.0)
        colour = _COLOURS["worse"] if change.worse else _COLOURS["better"]
        parts.append(
            f"<g><title>{escape(change.label)} {escape(change.metric)}: "
            f"{escape(format_value(change.metric, change.baseline))} → {escape(format_value(change.metric, change.value))}</title>"
            f'<text x="0" y="{top + 13}" fill="#0f172a">{escape(change.label)}</text>'
            f'<text x="0" y="{top + 29}" fill="#64748b" font-size="11">{escape(change.metric)}</text>'
            f'<rect x="{label_width}" y="{top + 3}" width="{base_w:.1f}" height="14" rx="2" fill="{_COLOURS["baseline"]}"/>'
            f'<text x="{label_width + base_w + 6:.1f}" y="{top + 14}" fill="#475569" font-size="11">'
            f"{escape(format_value(change.metric, change.baseline))}</text>"
            f'<rect x="{label_width}" y="{top + 20}" width="{head_w:.1f}" height="14" rx="2" fill="{colour}"/>'
            f'<text x="{label_width + head_w + 6:.1f}" y="{top + 31}" fill="#0f172a" font-size="11" font-weight="600">'
            f"{escape(format_value(change.metric, change.value))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _edges(largest: float) -> list[float]:
    """1-2-5 upper bin edges from 1 up to the first edge >= ``largest`` (0 gets its own bin)."""
    edges, magnitude = [0.0], 1.0
    while edges[-1] < largest:
        for step in (1, 2, 5):
            edges.append(step * magnitude)
            if edges[-1] >= largest:
                break
        magnitude *= 10
    return edges


def histogram(values: list[float], metric: str, caption: str, width: int = 380, height: int = 220) -> Markup:
    """Counts of ``values`` in 1-2-5 bins, labelled with each bin's upper edge in the metric's unit."""
    if not values:
        return Markup(f'<p class="empty">No {escape(caption)} recorded.</p>')
    edges = _edges(max(values))
    counts = [0] * len(edges)
    for value in values:
        counts[bisect_left(edges, value)] += 1
    first = next(index for index, count in enumerate(counts) if count)
    edges, counts = edges[first:], counts[first:]
    every = 1 if len(edges) <= 9 else 2  # label every other bin when labels would collide
    bottom, top, left = height - 34, 16, 8
    slot = (width - left * 2) / len(edges)
    tallest = max(counts)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(caption)}" {_FONT} font-size="10">',
        f'<line x1="{left}" y1="{bottom}" x2="{width - left}" y2="{bottom}" stroke="#cbd5e1"/>',
    ]
    for index, (edge, count) in enumerate(zip(edges, counts, strict=True)):
        x = left + index * slot
        bar = (bottom - top) * count / tallest if tallest else 0
        label = "0" if edge == 0 else f"≤{format_value(metric, edge)}"
        parts.append(
            f"<g><title>{escape(label)}: {count:,}</title>"
            f'<rect x="{x + 2:.1f}" y="{bottom - bar:.1f}" width="{slot - 4:.1f}" height="{bar:.1f}" rx="2" fill="{_COLOURS["bar"]}"/>'
            + (
                f'<text x="{x + slot / 2:.1f}" y="{bottom - bar - 4:.1f}" text-anchor="middle" fill="#334155">{count:,}</text>'
                if count
                else ""
            )
            + (
                f'<text x="{x + slot / 2:.1f}" y="{bottom + 14}" text-anchor="middle" fill="#64748b">{escape(label)}</text>'
                if index % every == 0
                else ""
            )
            + "</g>"
        )
    parts.append(f'<text x="{width / 2:.0f}" y="{height - 4}" text-anchor="middle" fill="#475569" font-size="11">{escape(caption)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
