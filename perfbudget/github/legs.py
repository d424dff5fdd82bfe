"""Downloaded perfbudget artifacts: one leg's directory, or a directory of legs, one per key.

``download-artifact`` with ``pattern: perfbudget-*`` (and without
``merge-multiple``) puts each artifact in a directory named after it, so a
matrix's or a monorepo's legs never overwrite one another's files. Each leg's
key is its artifact's name after ``perfbudget-``; the shards of a suite split
over jobs (``perfbudget-KEY--shard-N``) are first joined into one leg. Everything here may come
from a fork's run: the tree is checked before any file in it is read
(``contained``), pr.json is validated, and the legs must agree on which
pull request they belong to. The budget file is the leg's own
``perfbudget.yaml``, the one the action saved, or none: an artifact's
pyproject.toml never names one.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfbudget.errors import PerfBudgetError
from perfbudget.github.artifacts import (
    ARTIFACT_PREFIX,
    BASELINE_NAME,
    BUDGETS_NAME,
    DEFAULT_KEY,
    PR_CONTEXT_NAME,
    RESULTS_NAME,
    ArtifactError,
    PrContext,
    artifact_name,
    clean_key,
    find,
    read_pr_context,
    shards_complete,
    split_artifact_name,
)
from perfbudget.github.contained import MAX_FILE_BYTES, check_tree, regular_file

if TYPE_CHECKING:
    from perfbudget.compare.verdicts import Comparison


@dataclass(frozen=True)
class Leg:
    key: str
    directory: Path
    pr: PrContext | None  # None: the leg ran on a push, not a pull request


MAX_BUDGETS_BYTES = 1024 * 1024  # far beyond any real budget file; a bigger one would be parsed whole


def _is_leg(directory: Path) -> bool:
    return os.path.lexists(directory / PR_CONTEXT_NAME) or find(directory, RESULTS_NAME) is not None


def find_legs(directory: Path) -> list[Leg]:
    """``directory`` itself when it is one leg, else each subdirectory that is one, by key."""
    directory = Path(directory)
    check_tree(directory)
    if _is_leg(directory):
        return [_leg(directory, None)]
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: no such directory; was the perfbudget artifact downloaded there?")
    legs = [_leg(sub, sub.name) for sub in sorted(directory.iterdir()) if sub.is_dir() and _is_leg(sub)]
    if not legs:
        raise ArtifactError(f"{directory}: no perfbudget artifact in it (neither {PR_CONTEXT_NAME} nor {RESULTS_NAME})")
    keys = [leg.key for leg in legs]
    if len(set(keys)) != len(keys):
        raise ArtifactError(f"{directory}: two legs share a key ({', '.join(keys)}); give each leg its own key")
    return legs


def combine_shards(directory: Path) -> tuple[list[str], list[str]]:
    """Join each key's shard artifacts (``perfbudget-KEY--shard-*``) into one leg, ``perfbudget-KEY``.

    The shards' results become one run (``run.aggregate.merge_runs``); the
    budget file and pr.json come from the first shard (every shard has the
    same), and the shard directories are removed, so the directory then holds
    one leg per key. Shards named ``I-of-N`` must all be there. A key whose
    shards cannot be joined (one missing, one without results) is left as it
    is, each shard its own leg, and the problem is returned in words.
    Returns (the keys joined, the problems); a tree that is unsafe to read
    raises ArtifactError before anything is joined.
    """
    check_tree(Path(directory))
    groups: dict[str, list[Path]] = {}
    for sub in sorted(Path(directory).iterdir()) if Path(directory).is_dir() else []:
        key, shard = split_artifact_name(sub.name)
        # A link, even one inside, is no shard to join and remove: it stays a leg of its own.
        if sub.is_dir() and not sub.is_symlink() and shard and sub.name.startswith(ARTIFACT_PREFIX):
            groups.setdefault(clean_key(key), []).append(sub)
    joined, problems = [], []
    for key, shards in groups.items():
        try:
            _join(Path(directory), key, shards)
        except PerfBudgetError as exc:
            problems.append(f"the shards of {key!r} were not joined, each is shown alone: {exc}")
            continue
        joined.append(key)
    return joined, problems


def _join(directory: Path, key: str, shards: list[Path]) -> None:
    from perfbudget.compare.origin import BaselineOrigin, write_origin
    from perfbudget.run.aggregate import merge_runs
    from perfbudget.run.read import load_run
    from perfbudget.run.write import write_run

    target = directory / artifact_name(key)
    if target.exists():
        raise ArtifactError(f"{target}: key {key!r} has both a whole run and shards; give the shards' suite its own key")
    incomplete = shards_complete([split_artifact_name(shard.name)[1] for shard in shards])
    if incomplete:
        raise ArtifactError(incomplete)
    runs = []
    for shard in shards:
        results = find(shard, RESULTS_NAME)
        if results is None:
            raise ArtifactError(f"{shard}: no {RESULTS_NAME}; was that shard's job cancelled before its tests ran?")
        regular_file(results, MAX_FILE_BYTES)  # a directory of that name is no results
        runs.append(load_run(results))
    target.mkdir()
    write_run(merge_runs(runs), target / RESULTS_NAME)
    for name in (BUDGETS_NAME, PR_CONTEXT_NAME):
        if regular_file(shards[0] / name, MAX_FILE_BYTES) is not None:
            shutil.copyfile(shards[0] / name, target / name)
    reason = "joined from shards here; only the action's merge job on a pull request fetches their baseline"
    write_origin(target / BASELINE_NAME, BaselineOrigin(found=False, reason=reason))
    for shard in shards:
        shutil.rmtree(shard)


def _leg(directory: Path, artifact: str | None) -> Leg:
    pr = read_pr_context(directory) if os.path.lexists(directory / PR_CONTEXT_NAME) else None
    if artifact and artifact.startswith(ARTIFACT_PREFIX):
        key, shard = split_artifact_name(artifact)
        key = clean_key(f"{key}-shard-{shard}" if shard else key)
    else:
        key = pr.key if pr is not None else DEFAULT_KEY
    return Leg(key, directory, pr)


def common_pull_request(legs: list[Leg]) -> PrContext | None:
    """The one pull request all legs' pr.json name (number and head commit), None when none names one."""
    named = [leg.pr for leg in legs if leg.pr is not None]
    if not named:
        return None
    first = named[0]
    for other in named[1:]:
        if (other.number, other.head_sha, other.repository) != (first.number, first.head_sha, first.repository):
            raise ArtifactError(
                f"the legs disagree on their pull request (#{first.number} at {first.head_sha[:12]} and "
                f"#{other.number} at {other.head_sha[:12]}); refusing to comment"
            )
    return first


def judge_leg(leg: Leg, accepted_by: str = "") -> Comparison:
    """Judge a leg from its data: results, baseline (directory or file) and budgets, each validated on reading.

    The leg's report.md is never used: a fork's run wrote it, and posting it
    would put the fork's own text (mentions, images, links) on the PR.
    ``accepted_by`` is the accept label when GitHub says the PR carries it.
    """
    from perfbudget.compare.judge import judge_results
    from perfbudget.github.comments import NO_TARGET_BASELINE

    results, baseline = find(leg.directory, RESULTS_NAME), find(leg.directory, BASELINE_NAME)
    if results is None:
        raise ArtifactError(f"{leg.directory}: no {RESULTS_NAME} in the artifact; nothing is posted (report.md is never posted)")
    try:
        regular_file(results, MAX_FILE_BYTES)
        budgets = regular_file(leg.directory / BUDGETS_NAME, MAX_BUDGETS_BYTES)
        comparison, _ = judge_results(
            results,
            rootdir=leg.directory,
            budget_file=str(budgets) if budgets else None,
            discover=False,
            baseline=str(baseline) if baseline else None,
            no_baseline_note=NO_TARGET_BASELINE,
            accepted_by=accepted_by,
        )
    except PerfBudgetError as exc:
        raise ArtifactError(f"{exc}; nothing is posted (the artifact's report.md is never posted)") from exc
    if comparison.origin is not None:  # selection.json came with the artifact: its commit is text, its URL no link
        comparison.origin = dataclasses.replace(comparison.origin, run_url="")
    return comparison


def render_legs_body(legs: list[Leg], report_url: str | None, max_chars: int, accepted_by: str = "") -> tuple[str, list[Comparison | str]]:
    """The comment for the legs: one leg's report as it is, several under one verdict line.

    Among several, a leg that cannot be judged (its tests crashed before
    writing results) gets a section saying so, rather than vanishing from
    the comment; a single such leg is an error (nothing to post).
    """
    from perfbudget.report.markdown import render_legs, render_markdown

    if len(legs) == 1:
        comparison = judge_leg(legs[0], accepted_by)
        return render_markdown(comparison, report_url=report_url, max_chars=max_chars), [comparison]
    judged: list[Comparison | str] = []
    for leg in legs:
        try:
            judged.append(judge_leg(leg, accepted_by))
        except ArtifactError as exc:
            judged.append(str(exc))
    return render_legs([(leg.key, outcome) for leg, outcome in zip(legs, judged, strict=True)], max_chars=max_chars), judged
