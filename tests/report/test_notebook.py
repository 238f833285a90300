"""The notebook display (capped rows, static timeline, no scripts) and the Result repr."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import polars as pl

from rca._result import Result
from rca.report._html import NOTEBOOK_CAUSES, NOTEBOOK_EPISODES
from tests.report.conftest import IMG, SCRIPT


def _many(result: Result, causes: int, episodes: int) -> Result:
    base = result.causes.row(0, named=True)
    many_causes = pl.DataFrame(
        [{**base, "rank": i + 1, "label": f"cause {i + 1} {SCRIPT}"} for i in range(causes)],
        schema=result.causes.schema,
    )
    ep = result.episodes.row(0, named=True)
    many_eps = pl.DataFrame(
        [
            {
                **ep,
                "start": ep["start"] + timedelta(minutes=5 * i),
                "end": ep["start"] + timedelta(minutes=5 * i + 3),
            }
            for i in range(episodes)
        ],
        schema=result.episodes.schema,
    )
    return replace(result, causes=many_causes, episodes=many_eps)


def test_repr_html_caps_rows_and_says_how_many_more(incident_result: Result) -> None:
    html = _many(incident_result, causes=12, episodes=15)._repr_html_()
    assert (
        len(re.findall(r"<tr><td class=\"num\">\d+</td><td><span class=\"kind\">", html))
        == NOTEBOOK_CAUSES
    )
    assert html.count("<tr data-start=") == NOTEBOOK_EPISODES
    assert f"and {12 - NOTEBOOK_CAUSES} more cause(s)" in html
    assert f"and {15 - NOTEBOOK_EPISODES} more episode(s)" in html


def test_repr_html_is_compact_escaped_and_script_free(incident_result: Result) -> None:
    html = incident_result._repr_html_()
    assert html.startswith('<div class="rca-nb">')
    assert "Most likely cause" in html and "<svg" in html
    assert "<script" not in html
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(html) < 200_000


def test_repr_names_episodes_and_top_cause(incident_result: Result, quiet_result: Result) -> None:
    text = repr(incident_result)
    assert "3 episode(s)" in text and "lb_cpu_utilization" in text and "0.91" in text
    assert "top cause none" in repr(quiet_result)
