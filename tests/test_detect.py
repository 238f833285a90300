from __future__ import annotations

import numpy as np
import pytest

from rca._detect import EpisodeDetector
from rca._errors import ParameterError


def spans(det: EpisodeDetector) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in det.episodes_]


def test_flat_series_has_no_episode() -> None:
    rng = np.random.default_rng(0)
    req = rng.poisson(180, 1440).astype(float)
    fail = rng.binomial(req.astype(int), 0.003).astype(float)
    assert EpisodeDetector().fit(fail, req).episodes_ == []


def test_three_of_forty_is_not_a_spike() -> None:
    req = np.full(600, 40.0)
    fail = np.zeros(600)
    fail[::7] = 1  # baseline ~0.36%
    fail[300] = 3
    assert EpisodeDetector().fit(fail, req).episodes_ == []


def test_single_spike() -> None:
    rng = np.random.default_rng(1)
    req = np.full(300, 200.0)
    fail = rng.binomial(200, 0.002, 300).astype(float)
    fail[100:110] = rng.binomial(200, 0.06, 10)
    det = EpisodeDetector().fit(fail, req)
    [(s, e)] = spans(det)
    assert abs(s - 100) <= 1 and e == 110
    ep = det.episodes_[0]
    assert ep.excess == pytest.approx(fail[s:e].sum() - 200 * (e - s) * det.baseline_)
    assert det.baseline_ < 0.005


def test_three_recurring_spikes_give_three_episodes() -> None:
    rng = np.random.default_rng(2)
    req = rng.poisson(180, 1000).astype(float)
    fail = rng.binomial(req.astype(int), 0.002).astype(float)
    for s in (100, 400, 800):
        fail[s : s + 15] = rng.binomial(req[s : s + 15].astype(int), 0.03)
    det = EpisodeDetector().fit(fail, req)
    assert len(det.episodes_) == 3
    for (s, e), truth in zip(spans(det), (100, 400, 800), strict=True):
        assert abs(s - truth) <= 2 and abs(e - (truth + 15)) <= 2


def test_traffic_burst_without_extra_failures_is_not_an_episode() -> None:
    rng = np.random.default_rng(3)
    req = rng.poisson(100, 1440).astype(float)
    req[600:660] *= 8  # a burst
    fail = rng.binomial(req.astype(int), 0.004).astype(float)
    assert EpisodeDetector().fit(fail, req).episodes_ == []


def test_short_gaps_merge_and_min_duration() -> None:
    req = np.full(200, 100.0)
    fail = np.zeros(200)
    fail[50:55] = 30
    fail[57:62] = 30  # a 2-bucket gap: same episode
    fail[150] = 60  # one bucket: too short
    det = EpisodeDetector(min_buckets=2, max_gap=2).fit(fail, req)
    assert spans(det) == [(50, 62)]


def test_value_symptom_uses_robust_z() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(100, 5, 500)
    y[200:220] = 200
    y[50] = np.nan
    assert spans(EpisodeDetector().fit(y)) == [(200, 220)]


def test_estimator_contract() -> None:
    det = EpisodeDetector(min_buckets=3)
    assert det.min_buckets == 3 and not hasattr(det, "episodes_")
    assert det.fit(np.zeros(10), np.ones(10)) is det
    with pytest.raises(TypeError):
        EpisodeDetector(3)  # type: ignore[misc]
    with pytest.raises(ParameterError):
        EpisodeDetector(alpha_episode=0.5, alpha_elevated=0.1).fit(np.zeros(3), np.ones(3))


def test_low_traffic_hours_long_excess_is_one_episode() -> None:
    """July 2020 at low traffic: 30 requests a bucket, the failure rate 5x baseline for 9 of
    24 hours, so most buckets hold 0 or 1 failure and no short window is significant."""
    rng = np.random.default_rng(5)
    req = rng.poisson(30, 1440).astype(float)
    rate = np.full(1440, 0.0012)
    rate[300:840] = 0.006
    fail = rng.binomial(req.astype(int), rate).astype(float)
    det = EpisodeDetector().fit(fail, req)
    [(s, e)] = spans(det)
    overlap = min(e, 840) - max(s, 300)
    assert overlap >= 0.8 * 540 and (e - s) <= 1.3 * 540, (s, e)
    assert det.baseline_ == pytest.approx(0.0012, rel=0.35)


@pytest.mark.parametrize("seed", range(4))
def test_low_traffic_quiet_day_has_no_episode(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    req = rng.poisson(30 * (1 + 0.5 * np.sin(np.arange(1440) / 1440 * 2 * np.pi)), 1440)
    fail = rng.binomial(req, 0.0012).astype(float)
    assert EpisodeDetector().fit(fail, req.astype(float)).episodes_ == []


def test_duplicated_counts_do_not_make_blips_into_episodes() -> None:
    """Every line logged twice doubles every count; the dispersion estimate absorbs it."""
    rng = np.random.default_rng(7)
    req = rng.poisson(20, 1080).astype(float)
    fail = rng.binomial(req.astype(int), 0.0006).astype(float)
    fail[500] += 2  # a blip that is nothing on single counts
    fail[700:760] = rng.binomial(req[700:760].astype(int), 0.12)
    once = EpisodeDetector().fit(fail, req)
    twice = EpisodeDetector().fit(2 * fail, 2 * req)
    assert spans(once) == spans(twice)
    assert twice.dispersion_ == pytest.approx(2.0, rel=0.3)
    assert once.dispersion_ < 1.3


@pytest.mark.parametrize("calm", [(40, 30), (15, 25), (0, 40), (40, 0)])
def test_window_cut_tightly_around_an_incident_still_finds_it(calm: tuple[int, int]) -> None:
    """--since/--until around the incident: most of the window fails; the calm minutes
    before and/or after are the baseline."""
    before, after = calm
    rng = np.random.default_rng(11)
    n_buckets = 200
    req = rng.poisson(80, n_buckets).astype(float)
    fail = rng.binomial(req.astype(int), 0.004).astype(float)
    s, e = before, n_buckets - after
    fail[s:e] = rng.binomial(req[s:e].astype(int), 0.06)
    [(found_s, found_e)] = spans(EpisodeDetector().fit(fail, req))
    assert abs(found_s - s) <= 2 and abs(found_e - e) <= 2


@pytest.mark.parametrize("seed", range(3))
def test_slow_drift_of_the_failure_rate_is_not_an_episode(seed: int) -> None:
    """A failure rate drifting fourfold across the window has calm-looking stretches too,
    but no step: it is not an incident filling the window."""
    rng = np.random.default_rng(200 + seed)
    req = rng.poisson(150, 720).astype(float)
    rate = np.linspace(0.002, 0.008, 720)
    fail = rng.binomial(req.astype(int), rate).astype(float)
    assert EpisodeDetector().fit(fail, req).episodes_ == []


def test_window_entirely_inside_an_incident_has_no_episode() -> None:
    """Nothing calm to compare with: a uniformly high rate is not an episode."""
    rng = np.random.default_rng(12)
    req = rng.poisson(80, 200).astype(float)
    fail = rng.binomial(req.astype(int), 0.06).astype(float)
    assert EpisodeDetector().fit(fail, req).episodes_ == []
