from __future__ import annotations

import numpy as np
import pytest

from rca._skew import TOLERANCE_S, estimate_skew


def _traffic(seed: int, n: int = 1440) -> np.ndarray:
    rng = np.random.default_rng(seed)
    daily = 120 * (1 + 0.6 * np.sin(np.arange(n) / n * 2 * np.pi))
    return rng.poisson(daily).astype(float)


def _shifted(x: np.ndarray, buckets: int) -> np.ndarray:
    """``x`` as a clock ``buckets`` ahead would record it (NaN where unknown)."""
    out = np.full(len(x), np.nan)
    if buckets >= 0:
        out[buckets:] = x[: len(x) - buckets]
    else:
        out[:buckets] = x[-buckets:]
    return out


@pytest.mark.parametrize("buckets", [-5, -2, 0, 3, 5])
def test_skew_of_traffic_shaped_series_is_found(buckets: int) -> None:
    req = _traffic(0)
    rng = np.random.default_rng(1)
    rate = _shifted(req, buckets) / 60 * rng.normal(1, 0.03, len(req))
    cpu = 0.1 + _shifted(req, buckets) / 400 + rng.normal(0, 0.02, len(req))
    noise = [rng.normal(0, 1, len(req)).cumsum() for _ in range(10)]
    est = estimate_skew(req, [*noise, rate, cpu], bucket_seconds=60)
    assert est.seconds == 60.0 * buckets
    assert est.agreeing >= 2
    assert est.beyond_tolerance == (abs(60 * buckets) > TOLERANCE_S)


def test_no_traffic_shaped_series_gives_no_estimate() -> None:
    req = _traffic(2)
    rng = np.random.default_rng(3)
    noise = [rng.normal(0, 1, len(req)).cumsum() for _ in range(20)]
    noise += [np.sin(np.arange(len(req)) / 50.0) + rng.normal(0, 0.1, len(req))]
    est = estimate_skew(req, noise, bucket_seconds=60)
    assert est.seconds is None
    assert not est.beyond_tolerance


def test_fine_buckets_are_pooled_to_minutes() -> None:
    """10-second buckets hold too few requests to correlate; the estimate still works."""
    rng = np.random.default_rng(4)
    minute = _traffic(5, 180)
    req = np.repeat(minute / 6, 6) + rng.normal(0, 1, 1080)
    rate = _shifted(req, 24)  # 4 minutes ahead
    est = estimate_skew(req, [rate, rate * 2 + 1], bucket_seconds=10)
    assert est.seconds is not None and abs(est.seconds - 240) <= 60
