"""Requests -> per-bucket aggregates, the point after which everything is small.

Sits after ingest and the failure definition (``rca._failure``) and before detection.
Every aggregate is *mergeable*: counts and sums add up, and latency is kept as a fixed
log-spaced histogram whose bin counts add up too. So files (or partitions processed on
another engine) can be bucketed separately and combined with :meth:`Buckets.merge`, and
the quantiles come out of the merged histogram.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca._failure import KINDS
from rca._schema import UTC_TS

#: Bucket widths :func:`choose_bucket` picks from, in seconds.
BUCKET_CHOICES: tuple[int, ...] = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)

# About this many buckets over the window: enough resolution to see onsets to the minute
# on a day of data, few enough that per-bucket counts are not all zero at low traffic.
_TARGET_BUCKETS = 1500
# Never finer than this by default: scrape intervals are 15-60 s and clocks skew by tens of
# seconds, so finer buckets would only add empty metric cells and spurious lags.
_MIN_AUTO_BUCKET = 30

#: Latency histogram: bin i holds durations in [EDGES[i-1], EDGES[i]); 8 bins per decade
#: from 1 ms to 10^4 s, plus an underflow (bin 0) and an overflow bin (bin len(EDGES)).
LATENCY_EDGES: np.ndarray = 10.0 ** np.arange(-3.0, 4.0 + 1e-9, 1.0 / 8.0)

# The cell key of bucket_requests: bucket * _BINS * _FLAGS + bin * _FLAGS + flag bits.
_BINS = 64  # latency bins 0..len(LATENCY_EDGES) (58), and _NO_BIN
_NO_BIN = _BINS - 1
_FLAGS = 64  # six flag bits
# The bucket of requests without a time: below any bucket a Datetime(us) can fall in.
_NO_TIME = -(2**44)

#: The request columns :func:`bucket_requests` reads, besides the failure columns it is given.
BUCKET_COLUMNS: tuple[str, ...] = ("ts", "duration_s", "bytes_sent")

#: Columns of :attr:`Buckets.counts`.
COUNTS: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "requests": pl.Int64(),
    "failures": pl.Int64(),
    **{k: pl.Int64() for k in KINDS},
    "duration_count": pl.Int64(),
    "duration_sum": pl.Float64(),
    "bytes_sent": pl.Int64(),
}


def parse_bucket(text: str | int | float | timedelta) -> int:
    """Bucket width in whole seconds from ``"30s"``, ``"1m"``, ``"5min"``, ``"1h"``, a number
    of seconds or a timedelta.

    Examples
    --------
    >>> parse_bucket("5m"), parse_bucket("90s"), parse_bucket(60)
    (300, 90, 60)
    """
    if isinstance(text, timedelta):
        seconds = text.total_seconds()
    elif isinstance(text, int | float):
        seconds = float(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d)?\s*", str(text).lower())
        if not m:
            raise ParameterError(f"bucket {text!r}: not a duration; write e.g. 30s, 1m, 5m or 1h")
        unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
        seconds = float(m.group(1)) * unit[m.group(2) or "s"]
    if not seconds >= 1 or seconds != int(seconds):
        raise ParameterError(f"bucket {text!r}: must be a whole number of seconds, at least 1s")
    return int(seconds)


def choose_bucket(window_s: float, *, min_bucket_s: int = _MIN_AUTO_BUCKET) -> int:
    """The smallest standard width giving at most ~1500 buckets over the window.

    Examples
    --------
    >>> choose_bucket(24 * 3600), choose_bucket(3600), choose_bucket(30 * 86400)
    (60, 30, 1800)
    """
    for width in BUCKET_CHOICES:
        if width >= min_bucket_s and window_s / width <= _TARGET_BUCKETS:
            return width
    return BUCKET_CHOICES[-1]


@dataclass(frozen=True)
class Buckets:
    """Mergeable per-bucket aggregates of a requests frame.

    Attributes
    ----------
    counts
        One row per non-empty bucket (:data:`COUNTS`), ``ts`` being the bucket start.
    latency
        Histogram cells: ``ts``, ``bin`` (UInt8 index into :data:`LATENCY_EDGES`), ``count``.
    bucket_seconds
        Width of a bucket.
    """

    counts: pl.DataFrame
    latency: pl.DataFrame
    bucket_seconds: int

    def merge(self, *others: Buckets) -> Buckets:
        """Combine aggregates of disjoint request sets (e.g. one per file).

        Examples
        --------
        >>> import polars as pl
        >>> from datetime import datetime, UTC
        >>> f = pl.DataFrame({"ts": [datetime(2021, 4, 1, tzinfo=UTC)], "failed": [True],
        ...                   "duration_s": [0.1], "bytes_sent": [1]})
        >>> a = bucket_requests(f, bucket_seconds=60)
        >>> a.merge(a).counts["requests"].to_list()
        [2]
        """
        for other in others:
            if other.bucket_seconds != self.bucket_seconds:
                raise ParameterError(
                    f"cannot merge buckets of {other.bucket_seconds}s into {self.bucket_seconds}s"
                )
        counts = pl.concat([self.counts, *(o.counts for o in others)])
        latency = pl.concat([self.latency, *(o.latency for o in others)])
        return Buckets(
            counts.group_by("ts").agg(pl.exclude("ts").sum()).sort("ts").select(list(COUNTS)),
            latency.group_by("ts", "bin").agg(pl.col("count").sum()).sort("ts", "bin"),
            self.bucket_seconds,
        )

    def grid(self, start: datetime, end: datetime) -> pl.DataFrame:
        """Counts on every bucket of ``[start, end)``, empty buckets as zeros, plus
        ``failure_rate`` and latency quantiles ``p50_s``, ``p95_s``, ``p99_s``."""
        step = self.bucket_seconds
        first = _floor(start, step)
        n = max(1, math.ceil((end - first).total_seconds() / step))
        ts = pl.datetime_range(
            first, first + timedelta(seconds=step * (n - 1)), f"{step}s", eager=True
        ).cast(UTC_TS)
        frame = pl.DataFrame({"ts": ts}).join(self.counts, on="ts", how="left")
        frame = frame.with_columns(
            [pl.col(c).fill_null(0) for c in COUNTS if c != "ts"]
        ).with_columns(
            pl.when(pl.col("requests") > 0)
            .then(pl.col("failures") / pl.col("requests"))
            .otherwise(0.0)
            .alias("failure_rate")
        )
        return frame.join(self.quantiles((0.5, 0.95, 0.99)), on="ts", how="left")

    def quantiles(self, qs: tuple[float, ...]) -> pl.DataFrame:
        """Latency quantiles per bucket from the histogram (upper edge of the quantile's bin,
        so within 1/8 of a decade of the exact value)."""
        names = [f"p{round(q * 100)}_s" for q in qs]
        if self.latency.height == 0:
            return pl.DataFrame(schema={"ts": UTC_TS, **{n: pl.Float64() for n in names}})
        upper = np.append(LATENCY_EDGES, LATENCY_EDGES[-1] * 10)
        cells = self.latency.sort("ts", "bin").with_columns(
            pl.col("count").cum_sum().over("ts").alias("_cum"),
            pl.col("count").sum().over("ts").alias("_tot"),
        )
        # Bin b holds durations below upper[b]; report that edge.
        edges = pl.DataFrame({"bin": np.arange(len(upper), dtype=np.uint8), "_edge": upper})
        cells = cells.join(edges, on="bin", how="left")
        out = cells.group_by("ts").agg(
            [
                pl.col("_edge").filter(pl.col("_cum") >= q * pl.col("_tot")).first().alias(name)
                for q, name in zip(qs, names, strict=True)
            ]
        )
        return out.sort("ts")


def _floor(ts: datetime, step: int) -> datetime:
    epoch = int(ts.timestamp())
    floored = epoch - epoch % step
    return datetime.fromtimestamp(floored, tz=ts.tzinfo)


def bucket_requests(requests: pl.LazyFrame | pl.DataFrame, *, bucket_seconds: int) -> Buckets:
    """Aggregate a requests frame that already has a ``failed`` column (and, optionally,
    the failure-kind columns of ``rca._failure``) into per-bucket counts.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, UTC
    >>> f = pl.DataFrame({"ts": [datetime(2021, 4, 1, 0, m, s, tzinfo=UTC)
    ...                          for m, s in ((0, 1), (0, 2), (1, 59))],
    ...                   "failed": [False, True, False], "duration_s": [0.1, 0.2, 0.3],
    ...                   "bytes_sent": [10, 0, 5]})
    >>> bucket_requests(f, bucket_seconds=60).counts["failures"].to_list()
    [1, 0]
    """
    lf = requests.lazy()
    schema = lf.collect_schema()
    d = pl.col("duration_s")
    # Bins are 1/8 decade wide from 1 ms: bin = number of edges <= duration. Requests
    # without a usable duration get no bin (_NO_BIN).
    log_edges = np.log10(LATENCY_EDGES)
    bin_ = (
        pl.when(d >= 0)
        .then(
            (((pl.max_horizontal(d, 1e-9).log10() - log_edges[0]) * 8).floor() + 1)
            .clip(0, len(LATENCY_EDGES))
            .cast(pl.Int64)
        )
        .otherwise(_NO_BIN)
    )
    # One integer per request, grouped on alone: its bucket, its latency bin and one bit
    # per flag (failed, each kind, has a duration). The flags' sums are then counts of
    # the few dozen cells per bucket: grouping on (bucket, bin) and summing six boolean
    # columns over every request took a third longer. A request without a time falls in
    # a bucket of its own (_NO_TIME), null again once decoded.
    flags = [
        pl.col("failed"),
        *[pl.col(k) if k in schema else pl.lit(False) for k in KINDS],
        d.is_not_null(),
    ]
    bits = pl.lit(0, pl.Int64)
    for i, flag in enumerate(flags):
        bits = bits + flag.fill_null(False).cast(pl.Int64) * (1 << i)
    width_us = bucket_seconds * 1_000_000
    bucket = (pl.col("ts").dt.epoch("us") // width_us).fill_null(_NO_TIME)
    key = (bucket * _BINS + bin_) * _FLAGS + bits
    cells = (
        lf.select(key.alias("_k"), d, pl.col("bytes_sent"))
        .group_by("_k")
        .agg(
            pl.len().cast(pl.Int64).alias("_n"),
            d.sum().cast(pl.Float64).alias("duration_sum"),
            pl.col("bytes_sent").sum().cast(pl.Int64).alias("bytes_sent"),
        )
        .collect(engine="streaming")
    )
    k, n = pl.col("_k"), pl.col("_n")
    bucket_of = k // (_BINS * _FLAGS)
    cells = cells.select(
        pl.when(bucket_of != _NO_TIME)
        .then(bucket_of * width_us)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("ts"),
        (k // _FLAGS % _BINS).alias("bin"),
        n.alias("requests"),
        *[
            (k // (1 << i) % 2 * n).alias(name)
            for i, name in enumerate(["failures", *KINDS, "duration_count"])
        ],
        "duration_sum",
        "bytes_sent",
    )
    c = (
        cells.group_by("ts")
        .agg(pl.exclude("ts", "bin").sum())
        .with_columns(pl.col("ts").cast(UTC_TS))
        .sort("ts")
        .select(list(COUNTS))
    )
    lat = (
        cells.filter(pl.col("bin") != _NO_BIN)
        .group_by("ts", "bin")
        .agg(pl.col("requests").sum().alias("count"))
        .select(pl.col("ts").cast(UTC_TS), pl.col("bin").cast(pl.UInt8), "count")
        .sort("ts", "bin")
    )
    return Buckets(c, lat, bucket_seconds)
