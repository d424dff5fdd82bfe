"""The composite action's judging step: one Comparison, every CI output written from it.

``python -m perfbudget.github.action --results R --build-dir D --key K [--baseline B] [--budgets F]``
compares once, then fills the build directory under the names ``artifacts``
gives (results, the baseline directory and budgets beside ``report.md``,
``report.html`` and ``comparison.json``), appends the job summary, prints the annotations, saves
``pr.json`` for the fork-PR second stage, and sets the step outputs the
remaining steps (comment, upload, verdict) read. Keeping this in Python keeps
``action.yml`` to wiring. Problems become warnings: it never fails the job
itself; the action's last step decides that from the ``verdict`` output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from perfbudget.compare.verdicts import CiVerdict
from perfbudget.config.options import BASELINE, BUDGET_FILE, add_cli_options
from perfbudget.errors import PerfBudgetError

if TYPE_CHECKING:
    from perfbudget.compare.verdicts import Comparison
from perfbudget.github.artifacts import (
    BASELINE_NAME,
    BUDGETS_NAME,
    COMPARISON_NAME,
    DEFAULT_KEY,
    HTML_NAME,
    REPORT_NAME,
    RESULTS_NAME,
    PrContext,
    collect,
    save_baseline,
    save_results,
    write_pr_context,
)
from perfbudget.github.comments import BODY_CHARS, NO_TARGET_BASELINE, existing
from perfbudget.github.context import ActionsContext, read_context
from perfbudget.github.summary import append_summary, set_outputs, warn
from perfbudget.report.escape import terminal_line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m perfbudget.github.action", description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results file the test run wrote")
    parser.add_argument("--build-dir", required=True, help="the build's artifact directory")
    parser.add_argument("--key", default=DEFAULT_KEY, help="this leg's or project's key (for pr.json)")
    parser.add_argument(
        "--shard", default="", help="this job's shard of the key's suite: judged by budgets here, compared in the merge job"
    )
    add_cli_options(parser.add_argument, (BASELINE, BUDGET_FILE))  # --baseline, --budgets: declared once for every front end
    parser.add_argument("--accept-label", default="", help="a PR label that accepts the PR's regressions ('' : none)")
    return parser


def judge(
    results: Path,
    build_dir: Path,
    baseline: str | None,
    budgets: str | None,
    key: str,
    context: ActionsContext,
    shard: str = "",
    accept_label: str = "",
) -> dict[str, str]:
    """Compare and write every report; returns the step outputs.

    ``baseline`` and ``budgets`` come from the options ``perfbudget compare``
    declares and mean what they mean there, None or '' being none (action.yml
    passes '' for an empty input), with one difference kept on purpose: a
    baseline path that does not exist is no baseline, reported with the
    action's note, not compare's "baseline not found" warning. action.yml
    always passes the path the fetch step would write, which it does only on
    a pull request whose target branch has results, so its absence is the
    usual budgets-only run, not a mistake.
    """
    from perfbudget.compare import comparison_to_dict
    from perfbudget.compare.judge import judge_results
    from perfbudget.report import write_report
    from perfbudget.report.annotations import render_annotations
    from perfbudget.report.markdown import configured, render_job_summary

    comparison, budget_file = judge_results(
        results,
        rootdir=Path.cwd(),
        budget_file=budgets or None,
        baseline=existing(baseline),
        no_baseline_note=f"shard {shard} of {key}: the merge job compares the whole suite" if shard else NO_TARGET_BASELINE,
        accepted_by=accept_label if accept_label and accept_label in context.pr_labels else "",
    )
    report_url = context.run_url or None
    build_dir.mkdir(parents=True, exist_ok=True)
    save_results(results, build_dir / RESULTS_NAME)
    save_baseline(Path(baseline) if baseline else None, build_dir / BASELINE_NAME)
    # The budgets go along so the fork-PR second stage judges the artifact as this step did.
    collect(build_dir, {BUDGETS_NAME: budget_file})
    markdown, html = build_dir / REPORT_NAME, build_dir / HTML_NAME
    tighten = _tighten_suggestion(comparison, budget_file)
    write_report(comparison, configured(report_url=report_url, max_chars=BODY_CHARS, tighten=tighten), markdown)
    write_report(comparison, "html", html)
    data = comparison_to_dict(comparison)
    (build_dir / COMPARISON_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    append_summary(context, render_job_summary(comparison, report_url=report_url, tighten=tighten))
    for line in render_annotations(comparison, root=Path.cwd(), prefix=context.workspace_prefix(Path.cwd())):
        print(line)
    verdict = comparison.ci_verdict
    if context.pr_number is not None:  # the accept label is not saved: the second stage asks GitHub
        pr = PrContext(context.repository, context.pr_number, context.head_sha, context.workflow, key, verdict)
        write_pr_context(build_dir, pr)
    outputs = {
        "verdict": str(verdict),
        "summary": comparison.summary_line(),
        "results-path": str(build_dir / RESULTS_NAME),
        "markdown-path": str(markdown),
        "html-path": str(html),
        "build-dir": str(build_dir),
        "baseline-found": str(comparison.baseline is not None).lower(),
        "baseline-reason": comparison.not_compared,
    }
    outputs.update({f"count-{status.replace('_', '-')}": str(n) for status, n in data["counts"].items()})
    return outputs


def _tighten_suggestion(comparison: Comparison, budget_file: Path | None) -> str:
    """When something improved: the budget file's lines that could be lowered (10 % room for counts, 50 % for times)."""
    from perfbudget.budgets import parse_budgets
    from perfbudget.budgets.source import read_budget_text
    from perfbudget.budgets.tighten import plan, suggestion
    from perfbudget.compare.verdicts import Status

    if budget_file is None or budget_file.suffix not in (".yaml", ".yml") or not comparison.by_status(Status.IMPROVED):
        return ""
    try:
        text = read_budget_text(budget_file).text  # as tighten reads it: a BOM set apart, so YAML's columns fit the text
        changes = plan(parse_budgets(text, budget_file.name), text, [comparison.run], 0.1, 0.5)
    except (OSError, PerfBudgetError):
        return ""  # judging already read this file: a problem here only means no suggestion
    return suggestion(text, changes, budget_file.name) if changes else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    context = read_context()
    results = Path(args.results)
    try:
        outputs = judge(results, Path(args.build_dir), args.baseline, args.budgets, args.key, context, args.shard, args.accept_label)
    except PerfBudgetError as exc:
        # No results (the tests crashed before writing) or a broken budget file: say so, let the
        # last step fail the job, and keep whatever files exist for the artifact.
        problem = f"perfbudget could not judge this run: {exc}"
        warn(problem)
        append_summary(context, f"> **perfbudget:** {problem}")
        outputs = {
            "verdict": str(CiVerdict.ERROR),
            "summary": problem,
            "build-dir": args.build_dir,
            "baseline-found": "false",
            "baseline-reason": problem,
        }
        if context.pr_number is not None:  # the merge job and the fork stage show this leg as not judged
            Path(args.build_dir).mkdir(parents=True, exist_ok=True)
            pr = PrContext(context.repository, context.pr_number, context.head_sha, context.workflow, args.key, CiVerdict.ERROR)
            write_pr_context(Path(args.build_dir), pr)
    set_outputs(context, outputs)
    print(terminal_line(f"perfbudget: {outputs['verdict']}: {outputs['summary']}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
