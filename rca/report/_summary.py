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
    return f"{days} d {hours} h" if hours else f"{days} d"


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
    ruled_out_items
        The same, one ``suspects — reason`` item per reason, for renderers that list them.
    checked
        When no episode was found: what was looked at (window, requests, failures, the
        largest excursion), so "nothing found" can be judged rather than taken on trust.
    """

    headline: str
    cause: str | None
    ruled_out: str | None
    ruled_out_items: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()

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
            f"No failure episode found in {window}: the {symptom} did not rise above its "
            f"baseline for long enough to count{level}, checked in {bucket} buckets."
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
        # A runner-up that scores about the same is named: a reader should not stop at
        # one load balancer when its twin saturated too.
        ties = [
            r
            for r in result.causes.sort("rank").iter_rows(named=True)
            if r["rank"] != top["rank"] and r["score"] >= top["score"] - 0.05
        ]
        also = (
            f" About as likely: {', '.join(esc(r['label']) for r in ties[:2])}"
            f"{f' and {len(ties) - 2} more' if len(ties) > 2 else ''}"
            f" (score {ties[0]['score']:.2f})."
            if ties
            else ""
        )
        cause = (
            f"Most likely cause: {esc(top['label'])} ({top['kind'].replace('_', ' ')}, "
            f"score {top['score']:.2f}).{because}{also}"
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
        items = parts + ([f"{more} more suspect(s), listed below"] if more > 0 else [])
    else:
        items = []
    return Verdict(
        headline=headline,
        cause=cause,
        ruled_out=ruled,
        ruled_out_items=tuple(items),
        checked=tuple(checked(result, esc)) if eps.height == 0 else (),
    )


#: Stretch lengths scanned for the largest excursion when no episode was found.
EXCURSION_SPANS = tuple(timedelta(minutes=m) for m in (15, 30, 60, 120, 240, 480))


@dataclass(frozen=True)
class Excursion:
    """The stretch of the timeline whose failures most exceeded the overall rate."""

    start: datetime
    end: datetime
    requests: int
    failures: int
    rate: float
    rest_rate: float | None  # failure rate over the rest of the window


def largest_excursion(result: Result) -> Excursion | None:
    """The stretch whose failure count stands out most from the window's overall rate.

    Stretches of 15 minutes to 8 hours (at most half the window) are scored by how many
    binomial standard deviations their failures lie above what the overall rate predicts,
    so a short burst and a long, shallow rise compete fairly, and three failures among ten
    requests in a quiet minute do not outrank a sustained rise. ``None`` when nothing
    failed.

    Examples
    --------
    >>> largest_excursion(result).rate  # doctest: +SKIP
    0.0187
    """
    import numpy as np

    tl = result.timeline.sort("ts")
    req = tl["requests"].fill_null(0).to_numpy().astype(float)
    fail = tl["failures"].fill_null(0).to_numpy().astype(float)
    total_req, total_fail = req.sum(), fail.sum()
    if total_req <= 0 or total_fail <= 0 or total_fail >= total_req:
        return None
    p = total_fail / total_req
    creq = np.concatenate([[0.0], np.cumsum(req)])
    cfail = np.concatenate([[0.0], np.cumsum(fail)])
    best: tuple[float, int, int] | None = None  # (z, first bucket, width)
    for span in EXCURSION_SPANS:
        width = round(span.total_seconds() / max(result.bucket_seconds, 1))
        if width < 1 or 2 * width > len(req):
            continue
        n = creq[width:] - creq[:-width]
        f = cfail[width:] - cfail[:-width]
        z = (f - n * p) / np.sqrt(np.maximum(n * p * (1 - p), 1e-12))
        z = np.where(n > 0, z, -np.inf)
        i = int(np.argmax(z))  # the first maximum: deterministic
        if best is None or z[i] > best[0]:
            best = (float(z[i]), i, width)
    if best is None or best[0] <= 0:
        return None
    _, i, width = best
    n_req = int(creq[i + width] - creq[i])
    n_fail = int(cfail[i + width] - cfail[i])
    rest_req = total_req - n_req
    ts = tl["ts"]
    return Excursion(
        start=ts[i],
        end=ts[i + width - 1] + timedelta(seconds=result.bucket_seconds),
        requests=n_req,
        failures=n_fail,
        rate=n_fail / n_req,
        rest_rate=float((total_fail - n_fail) / rest_req) if rest_req > 0 else None,
    )


def checked(result: Result, esc: Callable[[str], str] = str) -> list[str]:
    """What a run with no episode looked at: window, traffic, failures, the worst stretch.

    An empty report reads as "the tool did nothing"; these sentences let the reader judge
    the "no incident" verdict, and say what to try when they expected one.
    """
    start, end = result.window
    buckets = result.timeline.height
    bucket = fmt_duration(timedelta(seconds=result.bucket_seconds))
    totals = data_quality_totals(result)
    out = [
        f"Window: {fmt_span(start, end)} ({fmt_duration(end - start)}), "
        f"{buckets:,} buckets of {bucket}."
    ]
    if totals["log_files"]:
        failures = int(result.timeline["failures"].sum()) if buckets else 0
        requests = int(result.timeline["requests"].sum()) if buckets else 0
        rate = fmt_pct(failures / requests) if requests else "–"
        out.append(
            f"Requests: {requests:,} from {totals['lines']:,} log lines in "
            f"{totals['log_files']} file(s); {failures:,} failed ({rate})."
        )
    if result.diagnostics.metric_series:
        out.append(f"Metrics: {result.diagnostics.metric_series:,} series checked.")
    symptom = symptom_name(result)
    exc = largest_excursion(result) if symptom == "failure rate" else None
    if exc is not None:
        rest = (
            f" against {fmt_pct(exc.rest_rate)} in the rest of the window"
            if exc.rest_rate is not None
            else ""
        )
        ratio = (
            f" ({exc.rate / exc.rest_rate:.1f}×)"
            if exc.rest_rate and exc.rate > exc.rest_rate
            else ""
        )
        out.append(
            f"Largest excursion: {fmt_span(exc.start, exc.end)}, {exc.failures:,} of "
            f"{exc.requests:,} requests failed ({fmt_pct(exc.rate)}){rest}{ratio}; the "
            "episode detector did not flag it as abnormal."
        )
    elif symptom != "failure rate" and buckets:
        values = result.timeline["symptom"].drop_nulls().drop_nans()
        if values.len():
            peak = result.timeline.sort(
                "symptom", descending=True, nulls_last=True, maintain_order=True
            ).row(0, named=True)
            out.append(
                f"Largest value of {esc(symptom)}: {fmt_num(peak['symptom'])} at "
                f"{fmt_ts(peak['ts'])} (median {fmt_num(values.median())}); not flagged as abnormal."  # type: ignore[arg-type]
            )
    out.append(
        "Expected an incident? Narrow the window around it, keeping some calm time before "
        f"or after it to compare with (--since/--until), widen the buckets (--bucket {_bucket_spec(4 * result.bucket_seconds)}), or say what counts "
        "as a failure (--failure)."
    )
    return out


def _bucket_spec(seconds: int) -> str:
    """A --bucket value for ``seconds``, e.g. 20m or 2h (whole units only)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
