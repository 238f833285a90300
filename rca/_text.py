"""Making attacker-controlled text safe for the terminal and Markdown.

Log fields (user agents, paths, error messages) come from the internet. HTML escaping is
Jinja2's job (autoescape, plus ``<bdi>`` isolation in the templates); this module covers
the other two outputs.
"""

from __future__ import annotations

import re

# What a log field may not carry into a terminal or a ticket, because it acts instead of
# showing: C0/C1 control characters (ESC starts ANSI sequences; CR and BS rewrite the
# line) and DEL, but not TAB and LF; and every Unicode format character (category Cf)
# plus the line and paragraph separators (Zl, Zp). Format characters are invisible: bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows
# them, so "moc.live" can read as "evil.com" (CVE-2021-42574, "Trojan Source"); zero-width
# spaces, joiners and marks (U+200B-U+200F), word joiners (U+2060-U+2064), the BOM
# (U+FEFF) and the tag characters (U+E0000-U+E007F) hide text or split look-alikes.
# The ranges are Unicode 14's Cf, Zl and Zp (Python 3.11's unicodedata); tests/test_text.py
# checks them against unicodedata, so a newer Unicode fails there first.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def terminal_safe(text: str) -> str:
    """Make control and invisible format characters visible as ``\\xNN`` or ``\\uNNNN``.

    Covers ANSI escapes, backspaces and CR, bidi overrides and isolates, zero-width
    characters and the line/paragraph separators. TAB and LF are kept.

    Examples
    --------
    >>> terminal_safe("ok\\x1b[31mred")
    'ok\\\\x1b[31mred'
    >>> terminal_safe("user\\u202egpj.exe")
    'user\\\\u202egpj.exe'
    """
    return _UNSAFE.sub(_visible, text)


# Text is always inline (newlines are folded), so line-start syntax (#, -, +, 1.) cannot
# trigger; what remains dangerous is link/image brackets, HTML tags and entities, code
# spans, emphasis and table pipes. Escaping only these keeps figures like 0.93 readable.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~&])")
# GitHub-flavoured Markdown links bare URLs (scheme://), www. names and e-mail addresses.
_AUTOLINK = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*:(?=//)|\bwww\.|@)")


def markdown_safe(text: str) -> str:
    """Escape Markdown and HTML metacharacters so log text can't inject links, images or tags.

    Control and invisible format characters are made visible first (:func:`terminal_safe`),
    so a bidi override cannot reorder the ticket's text either.

    Examples
    --------
    >>> markdown_safe("![x](http://e) <b> 0.93")
    '!\\\\[x\\\\](http\\\\://e) \\\\<b\\\\> 0.93'
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", terminal_safe(text).replace("\n", " "))
    # GitHub-flavoured Markdown turns bare URLs and www. names into links with no brackets
    # at all; an escaped ":" or "." is not seen by its autolinker.
    return _AUTOLINK.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)
