"""Clock skew between the metrics and the logs, estimated from the traffic they share.

Metrics and logs come from different machines, and their clocks disagree: by seconds
usually, by minutes when NTP is broken or a time zone was mislabelled. Minutes matter: the
timing feature would read a cause that leads by a minute as an effect that lags by four.

Many series move with traffic (request rates, bandwidth, CPU, connections), and so do the
logs' request counts. With the slow daily shape filtered out, what remains in both is the
same minute-to-minute jitter of real traffic, and the lag at which a series best matches
the logs is the skew. No metric names are used: every series is tried, and the estimate
stands only when several series agree on it (or one matches very closely).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest skew looked for, in seconds.
MAX_SKEW_S = 900.0
#: Skews up to this are absorbed by the timing feature's tolerance and left uncorrected
#: (rate-type series also trail the traffic by half a scrape interval by construction).
TOLERANCE_S = 90.0
#: Resolution of the estimate, seconds.
_BLOCK_S = 60
#: A series must match the traffic at least this well (correlation at its best lag) to vote.
_MIN_CORR = 0.3
#: ... and a lone voting series at least this well.
_LONE_CORR = 0.6


@dataclass(frozen=True)
class SkewEstimate:
    """How far the metrics' clock runs ahead of the logs' (seconds; negative: behind).

    Attributes
    ----------
    seconds
        The estimate, a whole number of buckets; None when no series tracks traffic
        closely enough to tell.
    series
        How many series voted (matched the traffic at their best lag).
    agreeing
        How many of them agree with the estimate to within one bucket.
    """

    seconds: float | None
    series: int
    agreeing: int

    @property
    def beyond_tolerance(self) -> bool:
        """Whether the skew is large enough to be corrected and reported."""
        return self.seconds is not None and abs(self.seconds) > TOLERANCE_S


def estimate_skew(
    requests: np.ndarray, series: list[np.ndarray], *, bucket_seconds: int
) -> SkewEstimate:
    """Estimate the metrics-minus-logs clock offset from per-bucket series on one grid.

    Parameters
    ----------
    requests
        Requests per bucket, from the logs.
    series
        Metric series on the same grid (NaN where missing).
    bucket_seconds
        Bucket width; the estimate's resolution.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> traffic = rng.poisson(100, 600).astype(float)
    >>> late = np.concatenate([np.full(5, np.nan), traffic[:-5]])  # 5 buckets late
    >>> estimate_skew(traffic, [late * 0.01], bucket_seconds=60).seconds
    300.0
    """
    # Smooth both sides over ~1 minute (at least 2 buckets): within one bucket of a few
    # seconds Poisson noise drowns the traffic's jitter, and scrape intervals are 15-60 s
    # anyway. Smoothing rather than pooling into blocks keeps the bucket as the
    # resolution, and widens the correlation peak so that an offset falling between two
    # buckets does not split it in halves that each look like chance.
    k = max(2, round(_BLOCK_S / bucket_seconds))
    max_lag = int(min(MAX_SKEW_S // bucket_seconds, len(requests) // 4))
    if max_lag < 1:
        return SkewEstimate(None, 0, 0)
    width = _detrend_width(bucket_seconds)
    # The grid may extend past the logs (metrics cover a longer window): outside the
    # logs' span "no requests" means "no logs", not "no traffic".
    req = np.asarray(requests, dtype=float).copy()
    seen = np.flatnonzero(req > 0)
    if seen.size < 2:
        return SkewEstimate(None, 0, 0)
    req[: seen[0]] = np.nan
    req[seen[-1] + 1 :] = np.nan
    ref = _highpass(_smooth(req, k), width)
    # Correlations of unrelated series reach ~3/sqrt(N) somewhere among the lags by chance
    # (N: independent points, i.e. after smoothing over k buckets).
    floor = max(_MIN_CORR, 5.0 / np.sqrt(max((len(ref) - max_lag) / k, 1.0)))
    lags, weights = [], []
    for values in series:
        hp = _highpass(_smooth(np.asarray(values, dtype=float), k), width)
        corr = _cross_correlation(hp, ref, max_lag)
        if not np.isfinite(corr).any():
            continue
        best = int(np.nanargmax(np.abs(corr)))
        peak = float(abs(corr[best]))
        if peak < floor or best in (0, 2 * max_lag):  # an edge peak is no peak
            continue
        lags.append(best - max_lag)
        weights.append(peak)
    if not lags:
        return SkewEstimate(None, 0, 0)
    # A vote: the lag backed by the most correlation among series within a block of it.
    # Unrelated series scatter their peaks over all lags; traffic-shaped ones pile up.
    lag_arr, w_arr = np.array(lags), np.array(weights)
    support = [float(w_arr[np.abs(lag_arr - x) <= k].sum()) for x in lag_arr]
    pick = int(np.argmax(support))
    near = np.abs(lag_arr - lag_arr[pick]) <= k
    agreeing = int(near.sum())
    if agreeing < 2 and float(w_arr[near].max()) < _LONE_CORR:
        return SkewEstimate(None, len(lags), agreeing)
    lag = float(np.average(lag_arr[near], weights=w_arr[near]))
    return SkewEstimate(float(round(lag)) * bucket_seconds, len(lags), agreeing)


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    """Centred mean over ``k`` buckets, ignoring missing values (NaN where all missing)."""
    ok = np.isfinite(x)
    kernel = np.ones(k)
    total = np.convolve(np.where(ok, x, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(float), kernel, mode="same")
    return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


def _detrend_width(bucket_seconds: int) -> int:
    """Buckets in the running median removed as "trend": ~10 minutes, at least 5, odd."""
    w = max(5, round(600 / bucket_seconds))
    return w | 1


def _highpass(x: np.ndarray, width: int) -> np.ndarray:
    """``x`` minus its running median (NaN kept where ``x`` is missing)."""
    import polars as pl

    s = pl.Series(x).fill_nan(None)
    trend = s.interpolate().forward_fill().backward_fill()
    med = trend.rolling_median(window_size=width, center=True, min_samples=1)
    out = (s - med).cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return np.asarray(out, dtype=float)


def _cross_correlation(m: np.ndarray, r: np.ndarray, max_lag: int) -> np.ndarray:
    """Pearson correlation of ``m[t + L]`` with ``r[t]`` for ``L`` in ``-max_lag..max_lag``."""
    out = np.full(2 * max_lag + 1, np.nan)
    n = len(r)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        if lag >= 0:
            a, b = m[lag:], r[: n - lag]
        else:
            a, b = m[: n + lag], r[-lag:]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 30:
            continue
        a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
        den = float(np.sqrt((a * a).sum() * (b * b).sum()))
        if den > 0:
            out[k] = float((a * b).sum()) / den
    return out
