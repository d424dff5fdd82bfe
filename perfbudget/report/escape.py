"""Escape user-controlled text (test ids, URLs, SQL, rule names) for Markdown and GitHub workflow commands.

Test ids, parametrize ids, routes and SQL come from the user's code: in the PR
comment nothing in them may break a table row, open an HTML tag, make a link
or image, ping a user or team (``@name``) or reference an issue (``#12``,
``GH-12``, ``owner/repo#12``). Identifiers are shown in code spans (GitHub
neither links nor mentions inside code); free text is backslash-escaped and
its ``@``/``#`` references are broken with a zero-width space, the trick
GitHub's own bots use. No output holds a ``<!--`` of the text, not even in
code (where GitHub shows it as text): a zero-width space splits it, so what
a test or a fork controls never opens an HTML comment, nor passes for a
comment's marker in the raw body (issue 19). HTML escaping is Jinja2's
autoescape (``html.py``).
"""

from __future__ import annotations

import re
import string

# Zero-width space: invisible, but GitHub's mention/reference filters no longer match.
ZWSP = "\u200b"
ELLIPSIS = "…"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMED_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# "GH-12" is an issue reference on GitHub; so is "#12" (handled with every "#").
_GH_REF = re.compile(r"\b(gh)(-\d)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def visible_controls(text: str) -> str:
    """Show control characters as escapes (``\\n``) so a name stays on one line and stays readable."""
    return _CONTROL.sub(lambda m: _NAMED_CONTROL.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def _no_comment_opener(text: str) -> str:
    """``<!--`` split by a zero-width space: shown the same, but no longer an HTML comment's opener."""
    return text.replace("<!--", "<!" + ZWSP + "--")


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def code_span(text: str, *, width: int | None = None, in_table: bool = True) -> str:
    """``text`` as one Markdown code span, whatever backticks, pipes or newlines it holds.

    The fence is one backtick longer than the longest run inside; in a table
    ``|`` is written ``\\|``, which GFM unescapes inside code spans of cells.
    """
    text = visible_controls(text)
    if width is not None:
        text = shorten(text, width)
    if not text:
        return ""
    text = _no_comment_opener(text)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def md_text(text: str, *, width: int | None = None) -> str:
    """Free text for Markdown: no formatting, HTML, links, autolinks, mentions or issue references.

    Every ASCII punctuation character is backslash-escaped (CommonMark makes
    them literal; this also stops URL autolinks and keeps ``|`` inside a table
    cell), then ``@`` and ``#`` get a zero-width space after them and ``GH-``
    one inside, because GitHub links mentions and references in rendered text.
    """
    text = " ".join(_CONTROL.sub(" ", text).split())
    if width is not None:
        text = shorten(text, width)
    text = _GH_REF.sub(lambda m: m.group(1) + ZWSP + m.group(2), text)
    text = _PUNCTUATION.sub(r"\\\1", text)
    return text.replace("@", "@" + ZWSP).replace("#", "#" + ZWSP)


def code_fence(text: str, info: str = "") -> str:
    """A fenced code block that no line of ``text`` can close early."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = "\n".join(_no_comment_opener(visible_controls(line)) for line in text.splitlines()) or " "
    return f"{fence}{info}\n{body}\n{fence}"


def html_comment(text: str) -> str:
    """A hidden HTML comment holding ``text``; ``--`` and ``>`` cannot end it early."""
    safe = visible_controls(text).replace("--", "- -").replace(">", "&gt;")
    return f"<!-- {safe} -->"


# --- GitHub workflow commands (actions/toolkit: packages/core/src/command.ts) ---


def command_data(text: str) -> str:
    """The message part of ``::error ...::message``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A property value (``file=``, ``title=``): data escaping plus ``:`` and ``,``."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")
