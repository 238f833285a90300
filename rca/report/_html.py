"""The HTML report (full page) and the notebook display (fragment), from Jinja2 templates.

Rendering is separate from the data: :func:`_context` turns a :class:`~rca.Result` into
plain, formatted values; the templates lay them out. Autoescape is on, so every string
from the logs (labels, evidence, file names, malformed samples) is escaped by Jinja2.
The only unescaped insertions are our own CSS and JavaScript and the chart specs, which
:func:`rca.report._charts.script_json` has made safe for a ``<script>`` element.

The page carries a Content-Security-Policy that forbids every network load and allows
only the page's own scripts, by hash: even if an escaping bug let markup through, an
injected script or event handler would not run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from datetime import timedelta
from importlib import resources
from typing import Any

from markupsafe import Markup

from rca._result import Result, iso
from rca._schema import parse_labels
from rca._text import terminal_safe
from rca.report import _charts
from rca.report._summary import (
    data_quality_totals,
    episode_rows,
    fmt_bytes,
    fmt_duration,
    fmt_pct,
    fmt_span,
    fmt_ts,
    segment_text,
    symptom_name,
    verdict,
)

#: rca._analyze's note of the run time: it varies between runs, so it joins the timestamp.
_TIMING_NOTE = "analysis took "

#: The notebook display shows at most this many causes and episodes.
NOTEBOOK_CAUSES = 5
NOTEBOOK_EPISODES = 10


@functools.cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("rca.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly, in tests
        keep_trailing_newline=True,
    )


@functools.cache
def _static(name: str) -> str:
    return resources.files("rca.report").joinpath("static", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(*scripts: str) -> str:
    """The page's CSP: nothing from the network; only these exact inline scripts run.

    ``'unsafe-eval'`` is needed because Vega compiles its expressions with ``Function``;
    inline styles are needed by vega-embed's tooltip and our own stylesheet.
    """
    hashes = " ".join(_sha256(s) for s in scripts)
    return (
        "default-src 'none'; "
        f"script-src {hashes} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _kind_text(kind: str) -> str:
    return kind.replace("_", " ")


def _t(text: str) -> str:
    """Log text for the page: control and bidi characters made visible (Jinja2 escapes it).

    Escaping stops markup, not a U+202E that reverses what follows it on screen; shown as
    ``\\u202e`` it cannot disguise a path or a user agent. The templates also wrap such
    fields in ``<bdi>``, so legitimate right-to-left text cannot reorder its neighbours.
    """
    return terminal_safe(text)


# Sentinels around data inside verdict sentences: terminal_safe escapes them in the data,
# so they cannot be forged, and they become <bdi>...</bdi> after the sentence is escaped.
_OPEN, _CLOSE = "\x00", "\x01"


def _isolated(text: str) -> str:
    return _OPEN + terminal_safe(text) + _CLOSE


def _sentence_html(sentence: str) -> Markup:
    """Escape a whole sentence (the tool's words and the data alike), then isolate the data."""
    import html

    escaped = html.escape(sentence, quote=True)
    return Markup(escaped.replace(_OPEN, "<bdi>").replace(_CLOSE, "</bdi>"))


def _verdict_html(result: Result) -> dict[str, Any]:
    v = verdict(result, esc=_isolated)
    return {
        "headline": _sentence_html(v.headline),
        "cause": _sentence_html(v.cause) if v.cause else None,
        "ruled_out": [_sentence_html(item) for item in v.ruled_out_items],
        "checked": [_sentence_html(item) for item in v.checked],
    }


def _cause_facts(row: dict[str, Any]) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    if row["kind"] == "metric" and row["metric"]:
        facts.append(("metric", row["metric"]))
        if row["labels"]:
            labels = parse_labels(row["labels"])
            facts.append(("labels", ", ".join(f"{k}={v}" for k, v in labels.items())))
    for pair in row["segment"] or []:
        facts.append((pair["dimension"], pair["value"]))
    return facts


def _causes(result: Result, limit: int | None = None) -> list[dict[str, Any]]:
    causes = result.causes.sort("rank")
    if limit is not None:
        causes = causes.head(limit)
    out = []
    for row in causes.iter_rows(named=True):
        out.append(
            {
                "rank": row["rank"],
                "kind_text": _kind_text(row["kind"]),
                "label": _t(row["label"]),
                "score_text": f"{row['score']:.2f}",
                "facts": [(_t(k), _t(v)) for k, v in _cause_facts(row)],
                "evidence": [_t(e) for e in row["evidence"] or []],
                "features": [
                    (f["name"].replace("_", " "), _feature_value(f["value"]))
                    for f in row["features"] or []
                ],
                "alt": _t(_charts.cause_alt(result, row["rank"])),
            }
        )
    return out


def _feature_value(x: float | None) -> str:
    # Features lie in [0, 1]: two decimals read at a glance and keep the row short.
    return "–" if x is None or x != x else f"{x:.2f}"


def _episodes(result: Result, limit: int | None = None) -> list[dict[str, Any]]:
    eps = result.episodes.sort("start")
    formatted = episode_rows(result)
    rows = []
    for raw, text in zip(eps.iter_rows(named=True), formatted, strict=True):
        rows.append(
            {
                **text,
                "start_iso": iso(raw["start"]),
                "end_iso": iso(raw["end"]),
                "requests_raw": raw["requests"],
                "failures_raw": raw["failures"],
            }
        )
    return rows if limit is None else rows[:limit]


def _quality(result: Result) -> list[tuple[str, str]]:
    totals = data_quality_totals(result)
    diag = result.diagnostics
    malformed = totals["malformed"]
    share = f" ({fmt_pct(malformed / totals['lines'])} of lines)" if totals["lines"] else ""
    rows = [
        ("log lines", f"{totals['lines']:,} in {totals['log_files']} file(s)"),
        ("requests parsed", f"{totals['requests']:,}"),
        ("malformed log lines", f"{malformed:,}{share}" + (", samples below" if malformed else "")),
        (
            "metrics",
            f"{diag.metric_series:,} series, {totals['metric_points']:,} points in "
            f"{totals['metric_files']} file(s)"
            + (f", {totals['metric_malformed']:,} malformed" if totals["metric_malformed"] else ""),
        ),
        ("gaps in logs", f"{diag.log_gaps:,} empty bucket(s) inside the window"),
        ("gaps in metrics", f"{diag.metric_gaps:,} missing scrape(s), summed over series"),
    ]
    if diag.clock_skew_s is None:
        rows.append(("clock skew", "not measurable (needs logs and metrics that overlap)"))
    else:
        rows.append(("clock skew", f"metrics minus logs ≈ {diag.clock_skew_s:+.1f} s (estimated)"))
    return rows


def _files(result: Result) -> dict[str, Any]:
    """The per-file table, compact: names under their common folder, problems in words."""
    import os

    rows = list(result.data_quality.iter_rows(named=True))
    sources = [str(r["source"]) for r in rows if r["source"]]
    try:
        common = os.path.commonpath(sources) if len(sources) > 1 else ""
    except ValueError:  # absolute and relative paths mixed
        common = ""
    out = []
    for row in rows:
        source = str(row["source"] or "")
        short = os.path.relpath(source, common) if common else source
        problems = [
            f"{row[k]:,} {label}"
            for k, label in (
                ("invalid_utf8", "lines with invalid UTF-8"),
                ("out_of_order", "out of order"),
            )
            if row[k]
        ]
        out.append(
            {
                "input": row["input"],
                "source": _t(source),
                "short": _t(short),
                "format": _t(str(row["format"] or "–")),
                "bytes": fmt_bytes(row["bytes"]),
                **{
                    k: f"{row[k]:,}" if row[k] is not None else "–"
                    for k in ("lines", "records", "malformed", "other")
                },
                "problems": ", ".join(problems),
                # Verbatim but with control characters visible (a sample may hold ANSI
                # escapes or NULs); Jinja2 escapes the markup.
                "samples": [terminal_safe(s) for s in (row["samples"] or [])],
            }
        )
    return {"common": _t(common), "rows": out}


def _segments(result: Result) -> list[dict[str, str]]:
    out = []
    for row in result.segments.iter_rows(named=True):
        out.append(
            {
                "label": _t(segment_text(row["segment"]) or row["label"]),
                "requests": f"{row['requests']:,}",
                "failures": f"{row['failures']:,}",
                "failure_rate": fmt_pct(row["failure_rate"]),
                "rest_failure_rate": fmt_pct(row["rest_failure_rate"]),
                "explained_share": fmt_pct(row["explained_share"]),
                "score": "–" if row["score"] is None else f"{row['score']:.2f}",
            }
        )
    return out


def _bucket_text(result: Result) -> str:
    return fmt_duration(timedelta(seconds=result.bucket_seconds))


def _common(result: Result) -> dict[str, Any]:
    return {
        "window": fmt_span(*result.window),
        "verdict": _verdict_html(result),
        "has_episodes": result.episodes.height > 0,
        "symptom": symptom_name(result),
        "bucket_short": _bucket_text(result),
        "timeline_alt": _charts.timeline_alt(result),
        "version": result.provenance.version,
    }


def render_html(result: Result) -> str:
    """The full, self-contained HTML report.

    Examples
    --------
    >>> html = render_html(result)  # doctest: +SKIP
    >>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    vega_js = _charts.vega_javascript()
    boot_js = _static("report.js")
    charts = [("chart-timeline", _charts.timeline_spec(result))]
    charts += [
        (f"chart-cause-{rank}", _charts.cause_spec(result, rank))
        for rank in result.causes.sort("rank")["rank"]
    ]
    prov = result.provenance
    eps = result.episodes
    files = _files(result)
    timing = [n for n in result.diagnostics.notes if n.startswith(_TIMING_NOTE)]
    notes = [n for n in result.diagnostics.notes if not n.startswith(_TIMING_NOTE)]
    subtitle = (
        f"{eps.height} failure episode(s) · {result.causes.height} ranked cause(s) · "
        f"{result.ruled_out.height} ruled out · {_bucket_text(result)} buckets · rca {prov.version}"
    )
    context = {
        **_common(result),
        "subtitle": subtitle,
        "csp": content_security_policy(vega_js, boot_js),
        "css": Markup(_static("report.css")),  # our own file, not data
        "vega_js": Markup(vega_js),
        "boot_js": Markup(boot_js),
        "charts": [(cid, Markup(_charts.script_json(spec))) for cid, spec in charts],
        "causes": _causes(result),
        "episodes": _episodes(result),
        "segments": _segments(result),
        "ruled_out": [
            {"kind_text": _kind_text(r["kind"]), "label": _t(r["label"]), "reason": _t(r["reason"])}
            for r in result.ruled_out.iter_rows(named=True)
        ],
        "quality": _quality(result),
        "files": files,
        "notes": [_t(n) for n in notes],
        "command": _t(prov.command),
        # Empty parameters (no --since given) are left out: they say nothing.
        "parameters": [(_t(k), _t(v)) for k, v in prov.parameters if v != ""],
        "inputs": [(_t(name), fmt_bytes(size)) for name, size in prov.inputs],
        "inputs_total": fmt_bytes(sum(size for _, size in prov.inputs)),
        "window_iso": f"{iso(result.window[0])} – {iso(result.window[1])}",
        "bucket": f"{_bucket_text(result)} ({result.bucket_seconds} s)",
        # The one line allowed to differ between runs holds both varying facts: when,
        # and how long the analysis took (a note from the engine).
        "generated_at": (fmt_ts(prov.generated_at) if prov.generated_at else "–")
        + "".join(f", {n}" for n in timing),
        "table_id": None,
    }
    html: str = _environment().get_template("report.html").render(context)
    return html


def render_notebook(result: Result) -> str:
    """The compact notebook display: verdict, top causes, episodes and a static timeline.

    Rows are capped (:data:`NOTEBOOK_CAUSES`, :data:`NOTEBOOK_EPISODES`); the timeline is
    inline SVG, so it shows in notebooks that do not run scripts.

    Examples
    --------
    >>> result._repr_html_()  # doctest: +SKIP
    '<div class="rca-nb">...'
    """
    svg = _charts.timeline_svg(result) if result.timeline.height else ""
    context = {
        **_common(result),
        "css": Markup(_static("notebook.css")),
        # Rendered by Vega from times and counts only (no log text reaches a chart).
        "timeline_svg": Markup(svg),
        "causes": _causes(result, NOTEBOOK_CAUSES),
        "more_causes": max(result.causes.height - NOTEBOOK_CAUSES, 0),
        "episodes": _episodes(result, NOTEBOOK_EPISODES),
        "more_episodes": max(result.episodes.height - NOTEBOOK_EPISODES, 0),
        "table_id": None,
    }
    html: str = _environment().get_template("notebook.html").render(context)
    return html
