from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from rca.candidates._metrics import align, metric_candidates, wide_to_long

T0 = datetime(2021, 4, 1, tzinfo=UTC)


def long(points: list[tuple[float, float]], metric: str = "m", labels: str = "") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": pl.Series([T0 + timedelta(seconds=s) for s, _ in points]).cast(
                pl.Datetime("us", "UTC")
            ),
            "metric": metric,
            "labels": labels,
            "value": [v for _, v in points],
        }
    )


def test_alignment_tolerates_skew_and_bridges_short_gaps() -> None:
    # Scrapes at +25 s (skewed) every minute, one missing scrape at minute 3.
    pts = [(60 * i + 25, float(i)) for i in range(10) if i != 3]
    [(metric, labels, grid)] = align(long(pts), start_s=T0.timestamp(), n=10, bucket_seconds=60)
    assert (metric, labels) == ("m", "")
    np.testing.assert_allclose(grid, np.arange(10.0))


def test_long_gaps_stay_unknown() -> None:
    pts = [(60 * i, 1.0 + (i % 2)) for i in range(30) if not 5 <= i < 20]
    [(_, _, grid)] = align(long(pts), start_s=T0.timestamp(), n=30, bucket_seconds=60)
    assert np.isnan(grid[5:20]).all()
    assert np.isfinite(grid[:5]).all()


def test_counters_become_rates() -> None:
    # A counter growing 120 per minute (2/s), with a reset at minute 30.
    values = [120.0 * i for i in range(30)] + [120.0 * i for i in range(1, 31)]
    pts = [(60 * i, v) for i, v in enumerate(values)]
    [(_, _, grid)] = align(long(pts), start_s=T0.timestamp(), n=60, bucket_seconds=60)
    np.testing.assert_allclose(grid[1:], 2.0)


def test_wide_frames_and_constant_series() -> None:
    wide = pl.DataFrame(
        {
            "Time": [T0 + timedelta(minutes=i) for i in range(50)],
            "cpu": [0.1 * (i % 5) for i in range(50)],
            "flat": [1.0] * 50,
        }
    )
    frame = wide_to_long(wide)
    assert set(frame["metric"]) == {"cpu", "flat"}
    cands = metric_candidates(frame, start_s=T0.timestamp(), n=50, bucket_seconds=60)
    assert [c.metric for c in cands] == ["cpu"]  # constant series carry no evidence
