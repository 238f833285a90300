"""Words and numbers shared by every renderer: the verdict, and fixed-format figures.

The HTML page, the Markdown summary, the notebook display and the terminal summary all
say the same thing in the same words; this module is where those words are made. It
returns plain (unescaped) text: each renderer escapes it for its own medium.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from rca._result import Result


def fmt_ts(ts: datetime, *, date: bool = True) -> str:
    """A UTC time as ``2021-04-01 10:05 UTC`` (seconds only when non-zero).

    Examples
    --------
    >>> fmt_ts(datetime(2021, 4, 1, 10, 5, tzinfo=UTC))
    '2021-04-01 10:05 UTC'
    """
    ts = ts.astimezone(UTC)
    text = ts.strftime("%H:%M:%S" if ts.second else "%H:%M")
    return f"{ts:%Y-%m-%d} {text} UTC" if date else f"{text} UTC"


def fmt_span(start: datetime, end: datetime) -> str:
    """``2021-04-01 10:05–10:40 UTC``, or with both dates when the span crosses midnight.

    Examples
    --------
    >>> fmt_span(datetime(2021, 4, 1, 10, 5, tzinfo=UTC), datetime(2021, 4, 1, 10, 40, tzinfo=UTC))
    '2021-04-01 10:05–10:40 UTC'
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.date() == end.date():
        return f"{fmt_ts(start)[:-4]}–{fmt_ts(end, date=False)}"
    return f"{fmt_ts(start)[:-4]} – {fmt_ts(end)}"


def fmt_duration(delta: timedelta) -> str:
    """A duration as ``45 s``, ``35 min``, ``2 h 05 min`` or ``1 d 3 h``.

    Examples
    --------
    >>> fmt_duration(timedelta(minutes=125))
    '2 h 05 min'
    """
    seconds = round(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def fmt_pct(x: float | None) -> str:
    """A rate as a percentage with precision that suits its size; ``–`` when unknown.

    Examples
    --------
    >>> fmt_pct(0.0283), fmt_pct(0.00042), fmt_pct(None)
    ('2.83%', '0.042%', '–')
    """
    if x is None:
        return "–"
    pct = 100.0 * float(x)
    if pct == 0:
        return "0%"
    if abs(pct) >= 10:
        return f"{pct:.1f}%"
    if abs(pct) >= 0.1:
        return f"{pct:.2f}%"
    return f"{pct:.2g}%" if abs(pct) >= 0.001 else "<0.001%"


def fmt_num(x: float | None) -> str:
    """A measured value in at most 4 significant digits, thousands separated.

    Examples
    --------
    >>> fmt_num(12345), fmt_num(0.93456), fmt_num(None)
    ('12,345', '0.9346', '–')
    """
    if x is None:
        return "–"
    x = float(x)
    if x != x:  # NaN
        return "NaN"
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def fmt_bytes(n: int | None) -> str:
    """A file size in B, kB, MB or GB (decimal units).

    Examples
    --------
    >>> fmt_bytes(1234567)
    '1.2 MB'
    """
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def segment_text(segment: list[dict[str, str]] | None) -> str:
    """A segment as ``ua_kernel = amzn2 ∧ edge = IAD89`` (plain text, unescaped)."""
    return " ∧ ".join(f"{p['dimension']} = {p['value']}" for p in (segment or []))


def parameters(result: Result) -> dict[str, str]:
    """The provenance parameters as a dict."""
    return dict(result.provenance.parameters)


def symptom_name(result: Result) -> str:
    """What the episodes were detected on: ``failure rate`` or the chosen metric's name."""
    symptom = parameters(result).get("symptom", "failure_rate")
    return "failure rate" if symptom in ("", "failure_rate") else symptom


@dataclass(frozen=True)
class Verdict:
    """The verdict in parts, so each renderer can lay it out (and escape it) its own way.

    Attributes
    ----------
    headline
        One sentence: what failed and when, or that nothing did.
    cause
        The most likely cause and its strongest evidence, or ``None``.
    ruled_out
        One sentence naming what was ruled out and why, or ``None``.
    """

    headline: str
    cause: str | None
    ruled_out: str | None

    def sentences(self) -> list[str]:
        """The non-empty parts, in reading order."""
        return [s for s in (self.headline, self.cause, self.ruled_out) if s]

    def text(self) -> str:
        """The verdict as one paragraph of plain text."""
        return " ".join(self.sentences())


def verdict(result: Result, esc: Callable[[str], str] = str) -> Verdict:
    """Say what failed, when, the most likely cause and what was ruled out.

    ``esc`` is applied to every piece of text that may come from the data (labels,
    evidence, reasons, the symptom's metric name), so a renderer can escape exactly those
    for its medium and leave the tool's own words readable.

    Examples
    --------
    >>> verdict(result).headline  # doctest: +SKIP
    '3 failure episodes between 2021-04-01 10:00 and 16:40 UTC ...'
    """
    eps = result.episodes.sort("start")
    window = fmt_span(*result.window)
    symptom = esc(symptom_name(result))
    bucket = fmt_duration(timedelta(seconds=result.bucket_seconds))
    if eps.height == 0:
        rate = _overall_rate(result)
        level = f" (overall {fmt_pct(rate)} of requests failed)" if rate is not None else ""
        headline = (
            f"No failure episode found in {window}: the {symptom} stayed at its baseline"
            f"{level}, checked in {bucket} buckets."
        )
    else:
        first, last = eps["start"].min(), eps["end"].max()
        peak = eps.sort("failure_rate", descending=True, maintain_order=True).row(0, named=True)
        failures = int(eps["failures"].sum())
        requests = int(eps["requests"].sum())
        total = sum(((e - s) for s, e in zip(eps["start"], eps["end"], strict=True)), timedelta())
        count = "1 failure episode" if eps.height == 1 else f"{eps.height} failure episodes"
        span = fmt_span(first, last)  # type: ignore[arg-type]
        when = span if eps.height == 1 else "between " + re.sub(r"\s*–\s*", " and ", span, count=1)
        headline = (
            f"{count} {when}, {fmt_duration(total)} in all: {failures:,} of {requests:,} "
            f"requests failed during the episodes ({fmt_pct(failures / requests if requests else None)}); "
            f"the worst, at {fmt_ts(peak['start'])}, reached {fmt_pct(peak['failure_rate'])} "
            f"against a baseline of {fmt_pct(peak['baseline_rate'])}."
        )
    cause = None
    if result.causes.height:
        top = result.causes.sort("rank").row(0, named=True)
        evidence = list(top["evidence"] or [])
        because = f" Evidence: {esc(evidence[0].rstrip('.'))}." if evidence else ""
        cause = (
            f"Most likely cause: {esc(top['label'])} ({top['kind'].replace('_', ' ')}, "
            f"score {top['score']:.2f}).{because}"
        )
    elif eps.height:
        cause = "No candidate cause explained the episodes; see the data quality section."
    ruled = None
    if result.ruled_out.height:
        # Suspects ruled out for the same reason are named together (three heavy IPs
        # of one episode read as one finding, as they were in the April 2021 incident).
        by_reason: dict[str, list[str]] = {}
        for r in result.ruled_out.iter_rows(named=True):
            by_reason.setdefault(r["reason"].rstrip("."), []).append(r["label"])
        parts = []
        for reason, labels in list(by_reason.items())[:3]:
            named = ", ".join(esc(label) for label in labels[:3])
            if len(labels) > 3:
                named += f" and {len(labels) - 3} similar"
            parts.append(f"{named} — {esc(reason)}")
        more = sum(len(v) for v in list(by_reason.values())[3:])
        tail = f"; and {more} more" if more > 0 else ""
        ruled = f"Ruled out: {'; '.join(parts)}{tail}."
    return Verdict(headline=headline, cause=cause, ruled_out=ruled)


def _overall_rate(result: Result) -> float | None:
    tl = result.timeline
    if tl.height == 0:
        return None
    requests = tl["requests"].sum()
    return float(tl["failures"].sum()) / float(requests) if requests else None


def episode_rows(result: Result) -> list[dict[str, str]]:
    """The episodes as formatted strings, in time order (shared by every table)."""
    rows = []
    for r in result.episodes.sort("start").iter_rows(named=True):
        rows.append(
            {
                "start": fmt_ts(r["start"]),
                "end": fmt_ts(r["end"]),
                "duration": fmt_duration(r["end"] - r["start"]),
                "requests": f"{r['requests']:,}",
                "failures": f"{r['failures']:,}",
                "failure_rate": fmt_pct(r["failure_rate"]),
                "baseline_rate": fmt_pct(r["baseline_rate"]),
                "excess_failures": fmt_num(
                    None if r["excess_failures"] is None else round(r["excess_failures"])
                ),
            }
        )
    return rows


def data_quality_totals(result: Result) -> dict[str, int]:
    """Lines, requests, malformed and metric points summed over the input files."""
    dq = result.data_quality
    logs = dq.filter(pl.col("input") == "logs")
    metrics = dq.filter(pl.col("input") == "metrics")
    return {
        "log_files": logs.height,
        "lines": int(logs["lines"].sum()),
        "requests": int(logs["records"].sum()),
        "malformed": int(logs["malformed"].sum()),
        "metric_files": metrics.height,
        "metric_points": int(metrics["records"].sum()),
        "metric_malformed": int(metrics["malformed"].sum()),
    }
