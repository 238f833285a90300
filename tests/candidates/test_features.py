from __future__ import annotations

import numpy as np
import pytest

from rca.candidates._base import Candidate, Context
from rca.candidates._features import evidence, partial_rank_correlation


def context(
    n: int = 400, episodes: tuple[tuple[int, int], ...] = ((100, 120), (250, 270))
) -> Context:
    rate = np.full(n, 0.002)
    for s, e in episodes:
        rate[s:e] = 0.05
    return Context(np.arange(n) * 60.0, np.full(n, 200.0), rate * 200, rate, episodes, 60, 0.002)


def series(rng: np.random.Generator, n: int = 400) -> np.ndarray:
    return 0.5 + rng.normal(0, 0.03, n)


def test_cause_present_before_every_episode() -> None:
    rng = np.random.default_rng(0)
    x = series(rng)
    for s, e in ((100, 120), (250, 270)):
        x[s - 2 : e] = 0.96
    ev = evidence(Candidate("metric", "cpu", "cpu", x), context())
    assert ev.covered == (True, True)
    assert all(lead is not None and lead >= 120.0 for lead in ev.leads_s)
    assert ev.timing_score == 1.0
    assert ev.coverage_score == 1.0
    assert ev.saturation_score == pytest.approx(1.0)
    assert ev.dose_score > 0.95
    assert ev.specificity_score > 0.9


def test_red_herring_in_one_episode() -> None:
    rng = np.random.default_rng(1)
    x = series(rng)
    x[100:120] = 5.0
    ev = evidence(Candidate("metric", "dns", "dns", x), context())
    assert ev.covered == (True, False)
    assert ev.coverage_score == 0.5
    assert ev.peak_strength > 0.9


def test_consequence_lags() -> None:
    rng = np.random.default_rng(2)
    x = series(rng)
    for s, e in ((100, 120), (250, 270)):
        x[s + 5 : e + 5] = 3.0
    ev = evidence(Candidate("metric", "inflight", "inflight", x), context())
    assert ev.leads_s == (-300.0, -300.0)
    assert ev.timing_score < 0.1


def test_excursions_outside_episodes_cost_specificity() -> None:
    rng = np.random.default_rng(3)
    x = series(rng)
    for s in (100, 250, 20, 180):
        x[s : s + 20] = 3.0
    ev = evidence(Candidate("metric", "busy", "busy", x), context())
    assert ev.coverage_score == 1.0
    assert ev.specificity_score < 0.5


def test_partial_correlation_explains_away() -> None:
    rng = np.random.default_rng(4)
    cause = rng.normal(size=500)
    effect = cause + rng.normal(0, 0.05, 500)
    y = cause + rng.normal(0, 0.5, 500)
    raw, partial = partial_rank_correlation(effect, y, cause)
    assert raw > 0.7
    assert abs(partial) < 0.15
