"""Escape user-controlled text (test ids, URLs, SQL, rule names) for Markdown, terminals and logs, and GitHub workflow commands.

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

A terminal or CI log acts on control characters instead of showing them:
ESC starts a sequence that clears the screen, sets the window title or makes
a link (OSC 8), ``\r`` and ``\b`` overwrite what came before, a line break
forges a line of our own. ``visible_controls`` shows each as an escape
(``\x1b``); every line perfbudget prints (terminal reports, the run summary,
warnings, errors) is a ``terminal_line``, which also bounds its length, and
every workflow command is escaped by ``command_data``/``command_property``.
"""

from __future__ import annotations

import re
import string

# Zero-width space: invisible, but GitHub's mention/reference filters no longer match.
ZWSP = "\u200b"
ELLIPSIS = "…"
# Characters of one terminal or log line: a 100,000-character test id is cut, not printed at each mention.
MAX_LINE = 2000

# What a terminal, log viewer or editor acts on or cannot print: C0 controls, DEL and C1 controls
# (U+009B is a one-character CSI), the bidi marks, embeddings, overrides and isolates that reorder
# what is shown ("Trojan Source", CVE-2021-42574), the Unicode line and paragraph separators, and
# lone surrogates (from undecodable file names), which no UTF-8 stream can write.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
_NAMED_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# "GH-12" is an issue reference on GitHub; so is "#12" (handled with every "#").
_GH_REF = re.compile(r"\b(gh)(-\d)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED_CONTROL.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible_controls(text: str) -> str:
    """``text`` on one line, each control character shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``).

    For a terminal or a log: a name stays on one line, readable, and can no
    longer move the cursor, colour, retitle or link anything. Applying it
    twice changes nothing more.
    """
    return _CONTROL.sub(_escape, text)


def terminal_line(text: str) -> str:
    """One line for a terminal or a log: control characters shown as escapes, and at most ``MAX_LINE`` characters.

    A longer line loses its middle, not its end: a message naming a huge path still says what went wrong.
    """
    text = visible_controls(text)
    if len(text) <= MAX_LINE:
        return text
    half = (MAX_LINE - len(ELLIPSIS)) // 2
    return text[:half] + ELLIPSIS + text[-half:]


def terminal_lines(text: str) -> str:
    """Several lines of ours for a terminal or a log: each a ``terminal_line``, the line breaks between them kept."""
    return "\n".join(terminal_line(line) for line in text.split("\n"))


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
    """The message part of ``::error ...::message``: its line breaks encoded, every other control shown as an escape.

    The runner decodes ``%0A`` back into a line break of the annotation, so
    a message may have several lines; the caller makes each piece of user
    text visible first, so a line break inside a test id is not one of them.
    ESC is no part of the command syntax, but the log shows the line raw.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    return "%0A".join(visible_controls(line).replace("%", "%25") for line in lines)


def command_property(text: str, width: int | None = None) -> str:
    """A property value (``file=``, ``title=``): one line of visible controls, cut at ``width``; ``%``, ``:`` and ``,`` encoded."""
    text = visible_controls(text)
    if width is not None:
        text = shorten(text, width)
    return text.replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
