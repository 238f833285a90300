"""Metric series -> candidates aligned to the bucket grid.

Sits between the metrics frame (``rca._schema.METRICS``, long form) and the evidence
features. Each series (``metric`` + ``labels``) is averaged per bucket. Scrapes that miss a
bucket are bridged by linear interpolation over short gaps (a few buckets); longer gaps stay
NaN and are simply not evidence either way. Clock skew of tens of seconds moves a point by
at most one bucket, which the timing feature tolerates (``SKEW_S`` plus one bucket).

Monotone counters (``*_total`` style cumulative series) are turned into per-second rates,
recognised by their values, not their names: non-decreasing apart from resets.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from rca._schema import UTC_TS, parse_labels
from rca.candidates._base import Candidate

# Bridge gaps up to this many buckets, or this many seconds, whichever is more.
_MAX_GAP_BUCKETS = 3
_MAX_GAP_S = 300


def wide_to_long(frame: pl.DataFrame, *, time: str | None = None) -> pl.DataFrame:
    """A wide frame (a time column plus one numeric column per series) in METRICS long form.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, UTC
    >>> w = pl.DataFrame({"time": [datetime(2021, 4, 1, tzinfo=UTC)], "cpu": [0.5]})
    >>> wide_to_long(w)["metric"].to_list()
    ['cpu']
    """
    from rca._errors import SchemaError
    from rca.ingest.metrics._common import epoch_to_datetime, find_time_column, text_to_datetime

    if time is None:
        temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
        named = find_time_column(frame.columns)
        if not temporal and named is None:
            raise SchemaError(
                "wide metrics frame: no time column (looked for a datetime column or one "
                "named ts, time, timestamp, date, or with such a word); pass time=NAME"
            )
        time = temporal[0] if temporal else frame.columns[named]  # type: ignore[index]
    values = [c for c, t in frame.schema.items() if c != time and t.is_numeric()]
    col = frame[time]
    # Unix times in s, ms, µs or ns (by magnitude) and text as the metrics readers take them:
    # a bare cast would read unix seconds as microseconds since 1970.
    if col.dtype.is_numeric():
        ts = epoch_to_datetime(pl.col(time))
    elif col.dtype == pl.String:
        ts = text_to_datetime(pl.col(time))
    elif isinstance(col.dtype, pl.Datetime) and col.dtype.time_zone is None:
        ts = pl.col(time).dt.replace_time_zone("UTC")
    else:
        ts = pl.col(time)
    base = frame.select(*values, ts.cast(UTC_TS).alias("ts"))
    if base["ts"].null_count() > frame[time].null_count():
        raise SchemaError(
            f"wide metrics frame: column {time!r} holds values that are not times "
            "(datetimes, ISO text or unix s/ms/µs/ns); pass time=NAME"
        )
    return (
        base.unpivot(index="ts", on=values, variable_name="metric", value_name="value")
        .with_columns(
            pl.lit("").alias("labels"), pl.col("value").cast(pl.Float64), pl.col("ts").cast(UTC_TS)
        )
        .select("ts", "metric", "labels", "value")
    )


def series_label(metric: str, labels: str) -> str:
    """``metric{k=v,...}``, the way Prometheus users read a series."""
    return f"{metric}{{{labels}}}" if labels else metric


def align(
    metrics: pl.DataFrame, *, start_s: float, n: int, bucket_seconds: int
) -> list[tuple[str, str, np.ndarray]]:
    """Per series: (metric, labels, values on the grid of ``n`` buckets from ``start_s``)."""
    if metrics.height == 0:
        return []
    frame = (
        metrics.filter(pl.col("value").is_finite())
        .with_columns(
            ((pl.col("ts").dt.epoch("us") / 1e6 - start_s) // bucket_seconds)
            .cast(pl.Int64)
            .alias("_i")
        )
        .filter((pl.col("_i") >= 0) & (pl.col("_i") < n))
        .sort("metric", "labels", "ts", maintain_order=True)
    )
    out: list[tuple[str, str, np.ndarray]] = []
    max_gap = max(_MAX_GAP_BUCKETS, _MAX_GAP_S // bucket_seconds)
    for (metric, labels), part in frame.group_by(["metric", "labels"], maintain_order=True):
        values = part["value"].to_numpy()
        ts_s = part["ts"].dt.epoch("us").to_numpy() / 1e6
        idx = part["_i"].to_numpy()
        if _is_counter(values):
            values, ts_s, idx = _counter_rate(values, ts_s, idx)
            if values.size == 0:
                continue
        sums = np.bincount(idx, weights=values, minlength=n)
        counts = np.bincount(idx, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        out.append((str(metric), str(labels or ""), _bridge(grid, max_gap)))
    return out


def _is_counter(values: np.ndarray) -> bool:
    """Cumulative counter: many points, mostly rising, rarely falling (resets), and growing
    far beyond its step size. A gauge wanders up and down."""
    if values.size < 10:
        return False
    diffs = np.diff(values)
    if (diffs < 0).mean() > 0.02 or (diffs > 0).mean() < 0.5:
        return False
    return bool(values.max() - values.min() > 20 * np.median(np.abs(diffs[diffs != 0])))


def _counter_rate(
    values: np.ndarray, ts_s: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dv = np.diff(values)
    dt = np.diff(ts_s)
    # A reset restarts from ~0: the increase is the new value itself.
    dv = np.where(dv < 0, values[1:], dv)
    ok = dt > 0
    return (dv[ok] / dt[ok], ts_s[1:][ok], idx[1:][ok])


def _bridge(grid: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation across interior gaps of at most ``max_gap`` buckets."""
    ok = np.flatnonzero(np.isfinite(grid))
    if ok.size < 2:
        return grid
    out = grid.copy()
    for a, b in itertools.pairwise(ok):
        if 1 < b - a <= max_gap + 1:
            out[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [grid[a], grid[b]])
    return out


def metric_candidates(
    metrics: pl.DataFrame, *, start_s: float, n: int, bucket_seconds: int
) -> list[Candidate]:
    """One candidate per metric series with enough data on the grid."""
    cands = []
    for metric, labels, values in align(
        metrics, start_s=start_s, n=n, bucket_seconds=bucket_seconds
    ):
        finite = np.isfinite(values)
        if finite.sum() < max(5, n // 20) or np.nanmax(values) == np.nanmin(values):
            continue  # too sparse to judge, or constant: no evidence either way
        unit = "value"
        pairs = parse_labels(labels) if labels else {}
        # A declared unit is honoured (Prometheus naming convention puts it last in the
        # name, OpenMetrics in a "unit" label); the name itself is never matched against a
        # list of known metrics.
        tail = metric.rsplit("_", 1)[-1].lower()
        if tail in ("percent", "pct") or pairs.get("unit", "").lower() in ("percent", "%"):
            unit = "percent"
        cands.append(
            Candidate(
                kind="metric",
                key=f"metric:{metric}:{labels}",
                label=series_label(metric, labels),
                series=values,
                metric=metric,
                labels=labels,
                unit=unit,
            )
        )
    return cands
