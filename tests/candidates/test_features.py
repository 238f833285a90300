from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rca.candidates._base import Candidate, Context
from rca.candidates._features import _dose, evidence, partial_rank_correlation


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


# Small integer levels give many ties across and within the two groups; NaN buckets and
# buckets in neither group must be left out.
_level = st.one_of(st.integers(-3, 3).map(float), st.just(float("nan")), st.floats(-1e6, 1e6))


@given(st.lists(st.tuples(_level, st.sampled_from("ecn")), min_size=2, max_size=300))
def test_dose_is_scikit_learns_roc_auc(buckets: list[tuple[float, str]]) -> None:
    from sklearn.metrics import roc_auc_score

    x = np.array([v for v, _ in buckets])
    in_ep = np.array([g == "e" for _, g in buckets])
    calm = np.array([g == "c" for _, g in buckets])
    a, b = x[in_ep & np.isfinite(x)], x[calm & np.isfinite(x)]
    if a.size == 0 or b.size == 0:
        assert _dose(x, in_ep, calm) == 0.0
        return
    labels = np.r_[np.ones(a.size), np.zeros(b.size)]
    auc = roc_auc_score(labels, np.r_[a, b])
    assert _dose(x, in_ep, calm) == pytest.approx(max(0.0, 2 * auc - 1), abs=1e-12)
