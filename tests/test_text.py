"""terminal_safe / markdown_safe: log text cannot act on a terminal or a ticket."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rca._text import markdown_safe, terminal_safe

# What must never come out raw: control characters other than TAB/LF, format characters
# (bidi, zero-width, BOM, tags) and the line/paragraph separators.
_ACTING = {"Cc", "Cf", "Zl", "Zp"}


def _acting(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in _ACTING and c not in "\t\n"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\u202eb", "a\\u202eb"),  # RIGHT-TO-LEFT OVERRIDE
        ("a\u202ab\u202c", "a\\u202ab\\u202c"),  # embedding + pop
        ("\u2066x\u2069\u2067y\u2068", "\\u2066x\\u2069\\u2067y\\u2068"),  # isolates
        ("line\u2028two\u2029", "line\\u2028two\\u2029"),
        ("zero\u200bwidth\u200c\u200d\u200e\u200f", "zero\\u200bwidth\\u200c\\u200d\\u200e\\u200f"),
        ("\ufeffbom", "\\ufeffbom"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("esc\x1b[31m\r\x08", "esc\\x1b[31m\\x0d\\x08"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("docker/20.10 (amzn2) ünïcødé 日本", "docker/20.10 (amzn2) ünïcødé 日本"),
    ],
)
def test_terminal_safe_makes_acting_characters_visible(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_the_escaped_set_is_exactly_unicodes_acting_characters() -> None:
    """Every Cc/Cf/Zl/Zp character but TAB and LF is escaped, and nothing else is."""
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        acting = unicodedata.category(c) in _ACTING and c not in "\t\n"
        # 0x2065 is unassigned but sits inside the 2060-206F block of invisible operators.
        assert (terminal_safe(c) != c) == (acting or code == 0x2065), hex(code)


@given(st.text())
@example("\u202egpj.exe")
@example("\x1b]8;;http://evil.example\x07link\x1b]8;;\x07")
def test_terminal_safe_leaves_nothing_that_acts(text: str) -> None:
    out = terminal_safe(text)
    assert _acting(out) == []
    # Safe text passes through unchanged.
    if not _acting(text):
        assert out == text


@given(st.text())
@example("[x](http://evil.example) \u202e <b>")
def test_markdown_safe_leaves_nothing_that_acts_and_injects_nothing(text: str) -> None:
    out = markdown_safe(text)
    assert _acting(out) == [] and "\n" not in out
    html = MarkdownIt("commonmark").enable("table").render(out)
    assert "<a " not in html and "<img" not in html
    assert "<b>" not in html


def test_markdown_shows_a_bidi_override_as_its_escape() -> None:
    html = MarkdownIt("commonmark").render(markdown_safe("moc.\u202elive"))
    assert "\u202e" not in html and "\\u202e" in html
