"""Making attacker-controlled text safe for the terminal and Markdown.

Log fields (user agents, paths, error messages) come from the internet. HTML escaping is
Jinja2's job (autoescape); this module covers the other two outputs.
"""

from __future__ import annotations

import re

# C0/C1 control characters (incl. ESC, which starts ANSI sequences) and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Replace control characters (ANSI escapes, backspaces, CR) by a visible ``\\xNN``.

    Examples
    --------
    >>> terminal_safe("ok\\x1b[31mred")
    'ok\\\\x1b[31mred'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# Text is always inline (newlines are folded), so line-start syntax (#, -, +, 1.) cannot
# trigger; what remains dangerous is link/image brackets, HTML tags and entities, code
# spans, emphasis and table pipes. Escaping only these keeps figures like 0.93 readable.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~&])")
# GitHub-flavoured Markdown links bare URLs (scheme://), www. names and e-mail addresses.
_AUTOLINK = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*:(?=//)|\bwww\.|@)")


def markdown_safe(text: str) -> str:
    """Escape Markdown and HTML metacharacters so log text can't inject links, images or tags.

    Examples
    --------
    >>> markdown_safe("![x](http://e) <b> 0.93")
    '!\\\\[x\\\\](http\\\\://e) \\\\<b\\\\> 0.93'
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", terminal_safe(text).replace("\n", " "))
    # GitHub-flavoured Markdown turns bare URLs and www. names into links with no brackets
    # at all; an escaped ":" or "." is not seen by its autolinker.
    return _AUTOLINK.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)
