"""A PR comment as GitHub shows it: cmark-gfm's HTML in a page styled like GitHub's comment body, 800 px wide.

The CSS is the part of GitHub's markdown styles that decides widths: tables
are blocks at most 100 % wide that scroll when a cell cannot wrap; code
spans keep their spaces; long words may break. Chromium renders it; a script
opens every ``<details>`` (a table inside one counts too), measures each
table and writes the tables that overflow into ``<html data-overflow>``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
COMMENT_WIDTH = 800  # px: GitHub's comment column

CSS = f"""
body {{ margin: 0; background: #fff; }}
.markdown-body {{ box-sizing: border-box; width: {COMMENT_WIDTH}px; padding: 16px; color: #1f2328;
  font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.5; word-wrap: break-word; }}
.markdown-body table {{ border-spacing: 0; border-collapse: collapse; display: block; width: max-content; max-width: 100%; overflow: auto; }}
.markdown-body td, .markdown-body th {{ padding: 6px 13px; border: 1px solid #d0d7de; }}
.markdown-body tr:nth-child(2n) {{ background: #f6f8fa; }}
.markdown-body code {{ padding: .2em .4em; font-size: 85%; white-space: break-spaces; background: rgba(175,184,193,.2); border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }}
.markdown-body pre {{ overflow: auto; padding: 16px; background: #f6f8fa; border-radius: 6px; font-size: 85%; }}
.markdown-body pre code {{ white-space: pre; padding: 0; background: none; font-size: 100%; }}
.markdown-body h3 {{ font-size: 1.25em; }} .markdown-body h4 {{ font-size: 1em; }}
.markdown-body details summary {{ cursor: pointer; }}
"""
MEASURE = """<script>
document.querySelectorAll('details').forEach(d => d.open = true);
const over = [...document.querySelectorAll('table')].map((t, i) => [i, t.scrollWidth, t.clientWidth]).filter(x => x[1] > x[2] + 1);
document.documentElement.dataset.overflow = JSON.stringify(over);
</script>"""


def comment_page(markdown: str, measure: bool = True) -> str:
    """The comment's HTML page; cmark-gfm with raw HTML allowed, as GitHub allows ``<details>`` and ``<sub>``."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    script = MEASURE if measure else ""
    return f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head><body><div class="markdown-body">{body}</div>{script}</body></html>'


def overflowing_tables(markdown: str, workdir: Path) -> list[list[int]]:
    """[table index, scroll width, visible width] of each table wider than the comment."""
    page = workdir / "comment.html"
    page.write_text(comment_page(markdown), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={workdir / 'profile'}"]
    done = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90)  # type: ignore[list-item]
    match = re.search(r'data-overflow="([^"]*)"', done.stdout)
    assert match is not None, done.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"'))


def screenshot(markdown: str, target: Path, height: int = 1400) -> Path:
    """A PNG of the comment at GitHub's width, its collapsed sections closed as a reviewer first sees them."""
    page = target.with_suffix(".html")
    page.write_text(comment_page(markdown, measure=False), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={COMMENT_WIDTH},{height}"]
    subprocess.run(
        [CHROMIUM, *flags, f"--user-data-dir={target.parent / '.profile'}", f"--screenshot={target}", page.as_uri()],  # type: ignore[list-item]
        capture_output=True,
        timeout=90,
        check=True,
    )
    page.unlink()
    return target
