"""Everything a person reads: the HTML report, Markdown, the notebook display, the terminal.

Last stage of the data flow: each renderer only reads a :class:`rca.Result`.

>>> html = render_html(result)  # doctest: +SKIP
>>> md = render_markdown(result)  # doctest: +SKIP
"""

from __future__ import annotations

from rca.report._html import render_html, render_notebook
from rca.report._markdown import render_markdown

__all__ = ["render_html", "render_markdown", "render_notebook"]
