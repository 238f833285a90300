"""The HTML report: content, escaping, self-containment, determinism, chart specs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import altair as alt
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from rca._result import Result
from rca.report import render_html
from rca.report._charts import cause_spec, script_json, timeline_spec
from tests.report.conftest import BREAKOUT, HOSTILE, IMG, SCRIPT


class _Page(HTMLParser):
    """Collects tags, attributes, text outside scripts, and script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._body = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._body)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._body.append(data)
        else:
            self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_report_has_every_section_with_headings(incident_result: Result) -> None:
    page = _parse(render_html(incident_result))
    ids = {attrs.get("id") for _, attrs in page.tags}
    for section in (
        "verdict",
        "timeline",
        "causes",
        "segments",
        "ruled-out",
        "data-quality",
        "provenance",
    ):
        assert section in ids
    headings = [t for t, _ in page.tags if t in ("h1", "h2", "h3")]
    assert headings.count("h1") == 1 and headings.count("h2") == 7
    # Every table header cell declares its scope, every chart has alternative text.
    assert all(a.get("scope") == "col" for t, a in page.tags if t == "th")
    charts = [a for t, a in page.tags if "chart" in (a.get("class") or "").split()]
    assert len(charts) == 1 + incident_result.causes.height
    assert all(a.get("role") == "img" and len(a.get("aria-label") or "") > 40 for a in charts)


def test_verdict_names_failure_time_cause_and_ruled_out(incident_result: Result) -> None:
    # Text as a reader sees it: data inside <bdi> flows with the sentence around it.
    text = " ".join("".join(_parse(render_html(incident_result)).text).split())
    assert "3 failure episodes between 2021-04-01 08:30 and 15:50 UTC" in text
    assert "Most likely cause: lb_cpu_utilization{instance=lb-2} near saturation" in text
    assert "Ruled out: coredns_request_duration_seconds p99" in text


def test_log_fields_cannot_reorder_the_page_with_bidi_controls(incident_result: Result) -> None:
    """Autoescape does not stop U+202E from reversing text on screen: the report shows it
    as a visible escape, and isolates log fields in <bdi>."""
    rlo = "evil\u202egpj.exe\u2066x\u2069\u200b"
    ruled = incident_result.ruled_out.with_columns(
        pl.lit(rlo).alias("label"), pl.lit(f"because {rlo}").alias("reason")
    )
    causes = incident_result.causes.with_columns(
        pl.when(pl.col("rank") == 1).then(pl.lit(rlo)).otherwise(pl.col("label")).alias("label")
    )
    html = render_html(replace(incident_result, ruled_out=ruled, causes=causes))
    for c in ("\u202e", "\u2066", "\u2069", "\u200b"):
        assert c not in html
    page = _parse(html)
    text = "".join(page.text)
    assert "evil\\u202egpj.exe\\u2066x\\u2069\\u200b" in text
    # The verdict, the cause heading and the ruled-out table isolate the field.
    assert html.count("<bdi>evil\\u202egpj.exe") >= 4


def test_hostile_strings_are_text_never_markup(incident_result: Result) -> None:
    html = render_html(incident_result)
    page = _parse(html)
    text = "".join(page.text)
    for payload in HOSTILE:
        assert payload in text  # shown, as text
    assert not [t for t, _ in page.tags if t == "img"]
    assert not [a for _, a in page.tags for k in a if k.startswith("on")]
    # Only our two executable scripts; the rest are JSON data the browser never runs.
    executable = [body for attrs, body in page.scripts if attrs.get("type") != "application/json"]
    assert len(executable) == 2
    assert all("alert(" not in body for body in executable)
    for attrs, body in page.scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in body and ">" not in body
            json.loads(body)
    assert BREAKOUT not in html and IMG not in html and SCRIPT not in html


def test_csp_forbids_network_and_allows_only_our_scripts(incident_result: Result) -> None:
    page = _parse(render_html(incident_result))
    csp = next(
        a["content"]
        for t, a in page.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for attrs, body in page.scripts:
        if attrs.get("type") != "application/json":
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp
    # Nothing refers to the network: no external src/href, no stylesheet links.
    for tag, attrs in page.tags:
        assert tag != "link"
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"(?i)\s*(https?:|//)", value), (tag, key, value)


def test_report_is_small(incident_result: Result) -> None:
    assert len(render_html(incident_result).encode()) < 5_000_000


def test_same_input_same_bytes_except_generated_line(incident_result: Result) -> None:
    first = render_html(incident_result)
    assert render_html(incident_result) == first
    later = replace(
        incident_result,
        provenance=replace(
            incident_result.provenance, generated_at=datetime(2030, 1, 1, tzinfo=UTC)
        ),
    )
    a, b = first.splitlines(), render_html(later).splitlines()
    assert len(a) == len(b)
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    assert len(diff) == 1 and "Generated at" in diff[0][0]


def test_episodes_table_matches_json(incident_result: Result) -> None:
    page = _parse(render_html(incident_result))
    table = next(a for t, a in page.tags if t == "table" and a.get("id") == "episodes-table")
    assert table is not None
    rows = [a for t, a in page.tags if t == "tr" and "data-start" in a]
    expected = incident_result.to_dict()["episodes"]
    assert [
        (r["data-start"], r["data-end"], int(r["data-requests"] or 0), int(r["data-failures"] or 0))
        for r in rows
    ] == [(e["start"], e["end"], e["requests"], e["failures"]) for e in expected]


def test_quiet_day_says_nothing_failed(quiet_result: Result) -> None:
    html = render_html(quiet_result)
    text = " ".join(_parse(html).text)
    assert "No failure episode found" in text
    assert "no failure episodes to explain" in text
    assert 'id="chart-cause-' not in html


def test_chart_specs_are_valid_vega_lite(incident_result: Result) -> None:
    alt.LayerChart.from_dict(timeline_spec(incident_result), validate=True)
    for rank in incident_result.causes["rank"]:
        spec = cause_spec(incident_result, rank)
        alt.LayerChart.from_dict(spec, validate=True)
        # The chart carries the cause's own series and the symptom, aligned on time.
        values = spec["data"]["values"]
        own = incident_result.cause_series.filter(pl.col("rank") == rank)
        assert sum(v["value"] is not None for v in values) == own.height
        assert all(isinstance(v["ts"], int) for v in values)  # epoch ms


def test_timeline_is_interactive(incident_result: Result) -> None:
    spec = json.dumps(timeline_spec(incident_result))
    assert '"bind": "scales"' in spec  # zoom and pan on the time axis
    assert '"tooltip"' in spec and '"nearest": true' in spec  # hover values


@given(st.text())
def test_script_json_cannot_close_a_script_and_round_trips(text: str) -> None:
    encoded = script_json({"x": text, "y": [text]})
    assert not set("<>&") & set(encoded)
    assert json.loads(encoded) == {"x": text, "y": [text]}


def test_metric_symptom_is_the_timeline_line(incident_result: Result) -> None:
    chosen = replace(
        incident_result,
        provenance=replace(
            incident_result.provenance, parameters=(("symptom", "lb_cpu_utilization"),)
        ),
    )
    spec = timeline_spec(chosen)
    alt.LayerChart.from_dict(spec, validate=True)
    assert '"field": "symptom"' in json.dumps(
        spec
    ) and '"title": "lb_cpu_utilization"' in json.dumps(spec)
    assert "lb_cpu_utilization (left axis)" in render_html(chosen)


def test_no_incident_report_says_what_was_checked(quiet_result: Result) -> None:
    page = _parse(render_html(quiet_result))
    text = " ".join("".join(page.text).split())
    assert "What was checked:" in text and "Largest excursion:" in text
    assert "Requests: 135,390 from 135,402 log lines" in text
