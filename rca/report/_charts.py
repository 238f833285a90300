"""Vega-Lite charts for the report, built with Vega-Altair, and the JavaScript to draw them.

The HTML report embeds each chart's spec as JSON inside ``<script type="application/json">``
and draws it with vega-embed, whose JavaScript (Vega, Vega-Lite, vega-embed) is inlined
from ``vl_convert``'s bundle, so the page loads nothing from the network. The notebook
display renders the timeline to static SVG instead (no scripts needed in Jupyter).

Log text reaches a chart only in a cause chart's description (its alternative text, with
control and bidi characters made visible); titles, legends and tooltips carry only times,
numbers and metric names. The JSON is escaped for
a script element anyway (:func:`script_json`), so no string can close the tag.
"""

from __future__ import annotations

import functools
import json
import math
import re
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from rca._result import Result
from rca._text import terminal_safe
from rca.report._summary import fmt_duration, fmt_ts, symptom_name

#: Colours, chosen to stay distinguishable for the common colour-vision deficiencies.
SYMPTOM_COLOR = "#c0392b"
CAUSE_COLOR = "#1f5fa8"
REQUESTS_COLOR = "#9aa5b1"
EPISODE_COLOR = "#f2b8b5"

_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029]")


def script_json(obj: Any) -> str:
    """JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``-style escapes, so no value can close the
    element (``</script>``) or open a comment; JSON.parse restores them. Keys keep their
    insertion order and separators are compact, so the same input gives the same bytes.

    Examples
    --------
    >>> script_json({"ua": "</script><script>alert(1)</script>"})
    '{"ua":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES[m.group()], text)


@functools.cache
def vega_javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script defining ``window.vegaEmbed``.

    Taken from ``vl_convert`` (so it works offline), matching Altair's Vega-Lite version
    when vl-convert has it. Cached: building the bundle takes about a second.
    """
    import altair as alt
    import vl_convert

    # The stubs require ``snippet``, but None (the default snippet) is what we want.
    bundle: Any = vl_convert.javascript_bundle
    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    try:
        js = bundle(None, vl_version=version)
    except (RuntimeError, ValueError):  # vl-convert without Altair's exact version
        js = bundle(None)
    # The bundle is inlined in a <script> element: nothing in it may end the element.
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


def _finite(x: float | None, digits: int = 6) -> float | None:
    """Round to ``digits`` significant digits (smaller, stable JSON); NaN/inf become null."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _when(ts: datetime) -> int:
    # Epoch milliseconds: what Vega uses for time, and about half the bytes of ISO text.
    return int(ts.timestamp() * 1000)


#: Tooltip time of a bucket, formatted in UTC by Vega.
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def _timeline_rows(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "ts": _when(r["ts"]),
            "requests": r["requests"],
            "failures": r["failures"],
            "failure_rate": _finite(r["failure_rate"]),
            "symptom": _finite(r["symptom"]),
        }
        for r in result.timeline.sort("ts").iter_rows(named=True)
    ]


def _episode_rows(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "start": _when(r["start"]),
            "end": _when(r["end"]),
            "episode": f"episode {i}",
            "from": fmt_ts(r["start"]),
            "to": fmt_ts(r["end"]),
            "failure_rate": _finite(r["failure_rate"]),
        }
        for i, r in enumerate(result.episodes.sort("start").iter_rows(named=True), start=1)
    ]


#: 24-hour UTC tick labels; the first tick and each midnight carry the date on a second
#: line, so a reader always knows which day a time is on (also after zooming in).
_TIME_LABELS = (
    "datum.index == 0 || (utchours(datum.value) == 0 && utcminutes(datum.value) == 0)"
    " ? [utcFormat(datum.value, '%H:%M'), utcFormat(datum.value, '%b %d')]"
    " : utcFormat(datum.value, '%H:%M')"
)


def _utc_x(title: str | None = "time (UTC)") -> Any:
    import altair as alt

    return alt.X(
        "ts:T", title=title, scale=alt.Scale(type="utc"), axis=alt.Axis(labelExpr=_TIME_LABELS)
    )


def _episode_layer(result: Result) -> Any:
    import altair as alt

    rows = _episode_rows(result)
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_rect(color=EPISODE_COLOR, opacity=0.55)
        .encode(
            x=alt.X("start:T", scale=alt.Scale(type="utc")),
            x2="end:T",
            tooltip=[
                alt.Tooltip("episode:N", title="episode"),
                alt.Tooltip("from:N", title="from"),
                alt.Tooltip("to:N", title="until"),
                alt.Tooltip("failure_rate:Q", title="failure rate", format=".2%"),
            ],
        )
    )


def timeline_spec(
    result: Result, *, width: int | str = "container", interactive: bool = True
) -> dict[str, Any]:
    """The timeline: requests per bucket and the failure rate, episodes shaded.

    Interactive: hovering shows the bucket's figures; dragging pans and the wheel zooms the
    time axis (double-click resets).

    Examples
    --------
    >>> spec = timeline_spec(result)  # doctest: +SKIP
    >>> spec["description"]  # doctest: +SKIP
    'Requests and failure rate per 1-minute bucket ...'
    """
    import altair as alt

    rows = _timeline_rows(result)
    data = alt.Data(values=rows)
    # Episodes were found on the failure rate, or on a metric the user chose as symptom:
    # the red line is whichever it was.
    symptom = symptom_name(result)
    is_rate = symptom == "failure rate"
    field, fmt = ("failure_rate", "%") if is_rate else ("symptom", "~s")
    requests = (
        alt.Chart()
        .mark_area(color=REQUESTS_COLOR, opacity=0.45, interpolate="step-after")
        .encode(
            x=_utc_x(),
            y=alt.Y(
                "requests:Q",
                title=f"requests per {_bucket_words(result)}",
                axis=alt.Axis(orient="right", format="~s"),
            ),
        )
    )
    rate = (
        alt.Chart()
        .mark_line(color=SYMPTOM_COLOR, strokeWidth=1.6, interpolate="step-after")
        .encode(
            x=_utc_x(),
            y=alt.Y(f"{field}:Q", title=symptom, axis=alt.Axis(format=fmt, orient="left")),
        )
    )
    layers = [_episode_layer(result), requests, rate]
    if interactive:
        zoom = alt.selection_interval(name="zoom", bind="scales", encodings=["x"])
        hover = alt.selection_point(
            name="hover",
            on="pointerover",
            nearest=True,
            fields=["ts"],
            empty=False,
            clear="pointerout",
        )
        rule = (
            alt.Chart()
            .mark_rule(color="#333", strokeWidth=1)
            .encode(
                x=_utc_x(),
                opacity=alt.when(hover).then(alt.value(0.7)).otherwise(alt.value(0.0)),
                tooltip=[
                    alt.Tooltip(
                        "utcyearmonthdatehoursminutesseconds(ts):T",
                        title="bucket",
                        format=_TIME_FORMAT,
                    ),
                    alt.Tooltip("requests:Q", title="requests", format=","),
                    alt.Tooltip("failures:Q", title="failures", format=","),
                    alt.Tooltip("failure_rate:Q", title="failure rate", format=".2%"),
                    *([] if is_rate else [alt.Tooltip("symptom:Q", title=symptom, format=",.4~g")]),
                ],
            )
            .add_params(hover)
        )
        layers = [layers[0], layers[1], rate.add_params(zoom), rule]
    chart = (
        alt.layer(*layers, data=data)
        .resolve_scale(y="independent")
        .properties(width=width, height=230, description=timeline_alt(result))
        .configure_view(stroke=None)
    )
    return _to_dict(chart)


def _bucket_words(result: Result) -> str:
    return fmt_duration(timedelta(seconds=result.bucket_seconds))


def timeline_alt(result: Result) -> str:
    """Alternative text for the timeline chart."""
    tl = result.timeline
    bucket = (
        f"{result.bucket_seconds}-second"
        if result.bucket_seconds < 60
        else f"{result.bucket_seconds // 60}-minute"
    )
    text = (
        f"Requests and failure rate per {bucket} bucket from {fmt_ts(result.window[0])} "
        f"to {fmt_ts(result.window[1])}; {result.episodes.height} episode(s) shaded."
    )
    if tl.height and tl["failure_rate"].drop_nulls().len():
        peak = tl.sort("failure_rate", descending=True, nulls_last=True, maintain_order=True).row(
            0, named=True
        )
        text += f" Peak failure rate {100 * peak['failure_rate']:.2f}% at {fmt_ts(peak['ts'])}."
    return text


def cause_spec(result: Result, rank: int, *, width: int | str = "container") -> dict[str, Any]:
    """One cause's own series (left axis, blue) over the symptom (right axis, red)."""
    import altair as alt

    cause = result.causes.filter(pl.col("rank") == rank).row(0, named=True)
    series = result.cause_series.filter(pl.col("rank") == rank).select("ts", "value")
    joined = (
        result.timeline.select("ts", "symptom")
        .join(series, on="ts", how="full", coalesce=True)
        .sort("ts")
    )
    rows = [
        {
            "ts": _when(r["ts"]),
            "value": _finite(r["value"]),
            "symptom": _finite(r["symptom"]),
        }
        for r in joined.iter_rows(named=True)
    ]
    data = alt.Data(values=rows)
    symptom = symptom_name(result)
    cause_title = _axis_title(cause)
    candidate = (
        alt.Chart()
        .mark_line(color=CAUSE_COLOR, strokeWidth=1.6)
        .encode(x=_utc_x(), y=alt.Y("value:Q", title=cause_title, axis=alt.Axis(orient="left")))
    )
    sym_axis = alt.Axis(orient="right", format="%" if symptom == "failure rate" else "~s")
    symptom_line = (
        alt.Chart()
        .mark_line(color=SYMPTOM_COLOR, strokeWidth=1.2, strokeDash=[4, 2], opacity=0.9)
        .encode(x=_utc_x(), y=alt.Y("symptom:Q", title=symptom, axis=sym_axis))
    )
    zoom = alt.selection_interval(name=f"zoom{rank}", bind="scales", encodings=["x"])
    hover = alt.selection_point(
        name=f"hover{rank}",
        on="pointerover",
        nearest=True,
        fields=["ts"],
        empty=False,
        clear="pointerout",
    )
    rule = (
        alt.Chart()
        .mark_rule(color="#333")
        .encode(
            x=_utc_x(),
            opacity=alt.when(hover).then(alt.value(0.7)).otherwise(alt.value(0.0)),
            tooltip=[
                alt.Tooltip(
                    "utcyearmonthdatehoursminutesseconds(ts):T", title="bucket", format=_TIME_FORMAT
                ),
                alt.Tooltip("value:Q", title=f"cause #{rank}", format=",.4~g"),
                alt.Tooltip(
                    "symptom:Q",
                    title=symptom,
                    format=".2%" if symptom == "failure rate" else ",.4~g",
                ),
            ],
        )
        .add_params(hover)
    )
    chart = (
        alt.layer(_episode_layer(result), candidate.add_params(zoom), symptom_line, rule, data=data)
        .resolve_scale(y="independent")
        .properties(width=width, height=150, description=cause_alt(result, rank))
        .configure_view(stroke=None)
    )
    return _to_dict(chart)


def _axis_title(cause: dict[str, Any]) -> str:
    if cause["kind"] == "metric" and cause["metric"]:
        name: str = cause["metric"]
        return name if len(name) <= 40 else name[:39] + "…"
    return f"cause #{cause['rank']} ({cause['kind'].replace('_', ' ')})"


def cause_alt(result: Result, rank: int) -> str:
    """Alternative text for a cause chart (plain text; the template escapes it).

    It is also the chart's Vega ``description``, so the label's control and bidi
    characters are made visible here, once for both.
    """
    cause = result.causes.filter(pl.col("rank") == rank).row(0, named=True)
    return (
        f"Cause #{rank}, {terminal_safe(cause['label'])}: its series (solid blue line, left axis) over the "
        f"{symptom_name(result)} (dashed red line, right axis), with the "
        f"{result.episodes.height} episode(s) shaded."
    )


def _to_dict(chart: Any, *, validate: bool = False) -> dict[str, Any]:
    # Validation against the Vega-Lite schema costs ~0.5 s per chart; the report tests
    # validate every chart once, so rendering skips it.
    spec: dict[str, Any] = chart.to_dict(validate=validate)
    # The $schema URL is never fetched, but leaving no URL in the page keeps audits simple.
    spec.pop("$schema", None)
    return spec


def timeline_svg(result: Result, *, width: int = 640) -> str:
    """The timeline as static SVG (for the notebook display; no JavaScript)."""
    import vl_convert

    spec = timeline_spec(result, width=width, interactive=False)
    svg: str = vl_convert.vegalite_to_svg(spec)
    return svg
