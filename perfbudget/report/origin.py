"""One sentence on what a run was compared with, or that it was not: every report says it.

"compared with `3f2a9c1` on main, the PR's base; times against 10 runs"
or "not compared: no run of main has the artifact perfbudget-api". A
report without a baseline must never read like a green comparison. The
callers pass how to show a commit and free text in their medium (Markdown
escapes both; the HTML template's autoescape does its own).
"""

from __future__ import annotations

from collections.abc import Callable

from perfbudget.compare.verdicts import Comparison


def compared_with(comparison: Comparison, code: Callable[[str], str] = str, text: Callable[[str], str] = str) -> str:
    """The sentence, starting in lower case, without a final full stop."""
    if comparison.not_compared:
        return f"not compared: {text(comparison.not_compared)}"
    baseline, origin = comparison.baseline, comparison.origin
    assert baseline is not None  # not_compared is "" only when there is a baseline
    commit = (origin.commit if origin and origin.commit else baseline.commit) or ""
    branch = (origin.branch if origin and origin.branch else baseline.branch) or ""
    sentence = "compared with " + (code(commit[:12]) if commit else "a baseline of unknown commit")
    if branch:
        sentence += f" on {text(branch)}"
    if origin is not None and origin.how:
        base = code(origin.base_commit[:12]) if origin.base_commit else "the PR's base"
        behind = origin.behind or 0
        if origin.searched > 1:
            newest = f", the newest results: neither the PR's base {base} nor its last {origin.searched - 1} ancestors have usable ones"
        else:
            newest = f", the newest results: the PR's base {base} has no usable ones, and its ancestors could not be listed"
        sentence += {
            "base": ", the PR's base",
            "ancestor": f", {behind} commit{'s' if behind != 1 else ''} behind the PR's base {base} (which has no usable results)",
            "newest": newest,
            "branch": ", the newest results",
        }[origin.how]
    if comparison.baseline_runs > 1:
        sentence += f"; times against {comparison.baseline_runs} runs"
    return sentence
