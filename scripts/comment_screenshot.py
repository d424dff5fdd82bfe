"""Screenshot the PR comment for the example project's dropped ``select_related``, as the README shows it.

Runs the example's suite twice under ``pytest --perf-budget`` (as it is, then
with ``select_related("author")`` removed from the post list), renders the
comment with ``perfbudget report`` and photographs it in headless Chromium at
GitHub's 800 px comment width (``tests/support/comment.py`` styles it).
Writes ``docs/comment.png`` and ``docs/comment.md``, and prints the number of
table rows and causes.

    python scripts/comment_screenshot.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.action import add_n_plus_one, copy_example  # noqa: E402
from tests.support.comment import CHROMIUM, screenshot  # noqa: E402


def _record(project: Path, output: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--perf-budget", f"--perf-output={output}", *extra]
    subprocess.run(command, cwd=project, check=False, capture_output=True, timeout=600)


def main() -> int:
    if CHROMIUM is None:
        print("chromium is not installed; nothing to photograph", file=sys.stderr)
        return 1
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        project = copy_example(Path(scratch) / "example")
        base, head = Path(scratch) / "base.ndjson.gz", Path(scratch) / "head.ndjson.gz"
        _record(project, base)
        add_n_plus_one(project)
        _record(project, head, f"--perf-baseline={base}", "--perf-budget-report-only")
        comment = docs / "comment.md"
        subprocess.run(
            [sys.executable, "-m", "perfbudget", "report", str(head), "--baseline", str(base), "--format", "markdown", "-o", str(comment)],
            cwd=project,
            check=True,
            capture_output=True,
            timeout=120,
        )
    text = comment.read_text(encoding="utf-8")
    image = screenshot(text, docs / "comment.png")
    shutil.rmtree(docs / ".profile", ignore_errors=True)
    rows = sum(1 for line in text.splitlines() if line.startswith("| ") and not line.startswith("| |") and "---" not in line)
    causes = sum(1 for line in text.splitlines() if line.startswith(("🔺 **", "🟢 **", "✏️ **")))
    print(f"{image}: the comment has {rows} table rows and {causes} causes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
