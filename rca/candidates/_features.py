"""Evidence features: how guilty does each candidate look, measured the same way for all kinds.

Sits between the candidate builders and the ranking (``rca._rank``). Every feature is in
[0, 1] and comes with the figures needed to write a sentence a reviewer can check:

* **anomaly** - how far the candidate moved in the episodes against its own calm baseline,
  by robust z (median/MAD, IQR fallback) and by its percentile among calm buckets (which
  also works for skewed or diurnal series, where a z-score undersells a real excursion);
* **coverage** - the share of episodes in which it was abnormal ("present in every episode");
* **timing** - onset at or before the symptom's onset, tolerant of one bucket plus 30 s of
  clock skew; an onset minutes after is a consequence;
* **specificity** - of the calm and episode buckets at least as extreme as the episode
  level, the share inside episodes (no big excursions without failures);
* **dose-response** - how well the candidate's level separates episode buckets from calm
  ones (rank AUC, so thresholds and saturation shapes count fully) and whether failures ever
  occurred below that level; plus **saturation** for bounded series near their ceiling;
* **explains away** - computed later against the leading candidate, in ``rca._rank``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from rca.candidates._base import Candidate, Context

# A bucket is "abnormal" for a candidate beyond this robust z or this calm percentile.
Z_ABNORMAL = 3.0
PCT_ABNORMAL = 0.98
# How far before an episode an onset is looked for.
_LOOKBACK_S = 3600.0
# Clock skew between logs and metrics we tolerate (DESIGN.md: tens of seconds).
SKEW_S = 30.0


@dataclass(frozen=True)
class Evidence:
    """The evidence features of one candidate, plus the figures sentences cite.

    All ``*_score`` fields are in [0, 1]. Per-episode tuples follow the episode order.
    """

    direction: int  # +1 the candidate rose in the episodes, -1 it fell
    calm_level: float  # median over calm buckets
    episode_level: float  # median over episode buckets
    z: float  # robust z of the episode level
    episode_strength: tuple[float, ...]  # per-episode anomaly in [0, 1] (nan: no data)
    covered: tuple[bool, ...]
    leads_s: tuple[float | None, ...]  # onset before the episode start (negative: after)
    threshold: float | None  # level the candidate exceeded in most episode buckets
    calm_above_share: float  # share of calm buckets beyond ``threshold``
    ceiling: float | None  # for bounded series (ratios, percents)
    anomaly_score: float
    coverage_score: float
    timing_score: float
    specificity_score: float
    dose_score: float
    saturation_score: float

    @property
    def n_covered(self) -> int:
        return sum(self.covered)

    @property
    def peak_strength(self) -> float:
        vals = [v for v in self.episode_strength if not math.isnan(v)]
        return max(vals) if vals else 0.0

    @property
    def median_lead_s(self) -> float | None:
        leads = [lead for lead in self.leads_s if lead is not None]
        return float(np.median(leads)) if leads else None


def robust_scale(values: np.ndarray, *, counts: bool = False) -> tuple[float, float]:
    """Median and a robust scale (MAD, else IQR, else a tiny share of the level).

    For count series (events per bucket) the scale is at least the Poisson noise of the
    level, and at least one event: a pattern seen 0 times per calm bucket that shows up 5
    times is notable, not 10^9 sigmas.
    """
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    q75, q25 = np.percentile(values, [75, 25])
    scale = max(mad, float(q75 - q25) / 1.349)
    if counts:
        scale = max(scale, float(np.sqrt(max(abs(med), 1.0))))
    if scale <= 0:
        # A flat baseline (a config value, an idle counter): any change is an anomaly; a
        # scale of 1% of the level keeps z finite and ordered by relative change.
        scale = max(0.01 * abs(med), 1e-9)
    return med, scale


def _ceiling(cand: Candidate, finite: np.ndarray) -> float | None:
    """The natural ceiling of a bounded series: 1 for ratios, 100 for percents.

    Decided from the values and the declared unit, never from a metric's name: a series
    entirely within [0, 1] reaching above 0.5 is a ratio; a candidate declaring itself a
    percent (unit ``percent``) in [0, 100] is a percent.
    """
    if finite.size == 0 or finite.min() < 0:
        return None
    top = float(finite.max())
    if cand.unit == "percent" and top <= 100:
        return 100.0
    if top <= 1.0 + 1e-9 and top >= 0.5 and cand.unit in ("value", "ratio"):
        return 1.0
    return None


def evidence(cand: Candidate, ctx: Context) -> Evidence:
    """Compute the evidence features of one candidate against the detected episodes.

    Examples
    --------
    >>> import numpy as np
    >>> n = 100
    >>> rate = np.full(n, 0.01); rate[40:50] = 0.2
    >>> ctx = Context(np.arange(n) * 60.0, np.full(n, 100.0), rate * 100, rate,
    ...               ((40, 50),), 60, 0.01)
    >>> x = np.full(n, 0.5) + np.random.default_rng(0).normal(0, 0.02, n); x[38:50] = 0.97
    >>> ev = evidence(Candidate("metric", "cpu", "cpu", x), ctx)
    >>> ev.covered, ev.timing_score
    ((True,), 1.0)
    """
    x = np.asarray(cand.series, dtype=float)
    in_ep = ctx.in_episode
    if cand.unit == "count":
        x = _smooth_counts(x, in_ep)
    calm = ctx.calm() & np.isfinite(x)
    if calm.sum() < 5:
        calm = ~in_ep & np.isfinite(x)
    ep_ok = in_ep & np.isfinite(x)
    n_ep = len(ctx.episodes)
    if calm.sum() < 3 or ep_ok.sum() == 0:
        return _empty(n_ep)

    base = x[calm]
    med, scale = robust_scale(base, counts=cand.unit == "count")
    ep_level = float(np.median(x[ep_ok]))
    direction = 1 if ep_level >= med else -1
    z_all = direction * (x - med) / scale
    # Percentile of each bucket among calm buckets, in the candidate's direction.
    sorted_base = np.sort(direction * base)
    pct_all = np.searchsorted(sorted_base, direction * np.nan_to_num(x, nan=-np.inf * direction))
    pct_all = pct_all / len(sorted_base)
    abnormal = np.isfinite(x) & ((z_all >= Z_ABNORMAL) | (pct_all >= PCT_ABNORMAL))
    # A flat calm baseline makes every calm bucket sit at percentile <= 1: only z counts.
    if scale <= max(0.01 * abs(med), 1e-9) * 1.0001:
        abnormal = np.isfinite(x) & (z_all >= Z_ABNORMAL)

    strengths: list[float] = []
    covered: list[bool] = []
    leads: list[float | None] = []
    for s, e in ctx.episodes:
        seg = np.isfinite(x[s:e])
        if not seg.any():
            strengths.append(math.nan)
            covered.append(False)
            leads.append(None)
            continue
        z_ep = float(np.median(z_all[s:e][seg]))
        pct_ep = float(np.median(pct_all[s:e][seg]))
        strength = max(
            1.0 - math.exp(-max(z_ep, 0.0) / Z_ABNORMAL),
            min(1.0, max(0.0, (pct_ep - 0.5) / 0.5)) ** 2,
        )
        if scale <= max(0.01 * abs(med), 1e-9) * 1.0001:
            strength = 1.0 - math.exp(-max(z_ep, 0.0) / Z_ABNORMAL)
        is_cov = bool(abnormal[s:e][seg].mean() >= 0.5)
        strengths.append(strength)
        covered.append(is_cov)
        leads.append(_lead(abnormal, s, e, ctx.bucket_seconds) if is_cov else None)

    n_cov = sum(covered)
    coverage = n_cov / n_ep if n_ep else 0.0
    cov_strengths = [v for v, c in zip(strengths, covered, strict=True) if c]
    anomaly = float(np.mean(cov_strengths)) if cov_strengths else 0.0

    # Timing: full credit up to one bucket plus skew late; decays by e per bucket after.
    tol = ctx.bucket_seconds + SKEW_S
    timing_parts = [
        1.0 if lead >= -tol else math.exp(-(-lead - tol) / ctx.bucket_seconds)
        for lead in leads
        if lead is not None
    ]
    timing = float(np.mean(timing_parts)) if timing_parts else 0.0

    # Threshold: the level the candidate held in most covered-episode buckets.
    cov_mask = np.zeros(ctx.n, dtype=bool)
    for (s, e), c in zip(ctx.episodes, covered, strict=True):
        if c:
            cov_mask[s:e] = True
    cov_mask &= np.isfinite(x)
    threshold = None
    calm_above = 1.0
    specificity = 0.0
    if cov_mask.any():
        threshold = float(direction * np.percentile(direction * x[cov_mask], 20))
        beyond = np.isfinite(x) & (direction * x >= direction * threshold)
        calm_above = float(beyond[calm].mean())
        n_in, n_out = int((beyond & in_ep).sum()), int((beyond & calm).sum())
        # Precision of "beyond the threshold" for "in an episode", with calm buckets
        # re-weighted to the episode share so that long calm periods don't swamp it.
        w = max(in_ep.sum(), 1) / max(calm.sum(), 1)
        specificity = n_in / max(n_in + w * n_out * 10.0, 1e-9) if n_in else 0.0

    dose = _dose(direction * x, in_ep, calm)
    ceiling = _ceiling(cand, x[np.isfinite(x)])
    saturation = 0.0
    if ceiling is not None and direction > 0:
        saturation = min(1.0, max(0.0, (ep_level / ceiling - 0.8) / 0.15))

    return Evidence(
        direction=direction,
        calm_level=med,
        episode_level=ep_level,
        z=float(direction * (ep_level - med) / scale),
        episode_strength=tuple(strengths),
        covered=tuple(covered),
        leads_s=tuple(leads),
        threshold=threshold,
        calm_above_share=calm_above,
        ceiling=ceiling,
        anomaly_score=anomaly,
        coverage_score=coverage,
        timing_score=timing,
        specificity_score=float(min(1.0, specificity)),
        dose_score=dose,
        saturation_score=saturation,
    )


def _smooth_counts(x: np.ndarray, in_ep: np.ndarray) -> np.ndarray:
    """Rolling mean of a sparse count series, wide enough for ~5 events per window in the
    episodes: a long, low excess (0.5 extra failures a bucket for hours) is invisible
    bucket by bucket and plain over ten buckets."""
    level = float(np.nanmean(np.abs(x[in_ep]))) if in_ep.any() else 0.0
    width = int(min(31, max(1, np.ceil(5.0 / max(level, 1e-9)))))
    if width <= 1:
        return x
    width += 1 - width % 2  # odd, so the window is centred
    filled = np.nan_to_num(x, nan=0.0)
    return np.convolve(filled, np.ones(width) / width, mode="same")


def _lead(abnormal: np.ndarray, s: int, e: int, bucket_s: int) -> float | None:
    """Seconds from the candidate's onset to the episode start (negative: it came after).

    The onset is the start of the abnormal run (bridging one-bucket gaps) that holds the
    first abnormal bucket at or after the episode start, followed back at most an hour.
    """
    inside = np.flatnonzero(abnormal[s:e])
    if inside.size == 0:
        return None
    t = s + int(inside[0])
    if t > s:
        return -float((t - s) * bucket_s)
    limit = max(0, s - int(_LOOKBACK_S / bucket_s))
    while t - 1 >= limit and (abnormal[t - 1] or (t - 2 >= limit and abnormal[t - 2])):
        t -= 1 if abnormal[t - 1] else 2
    return float((s - t) * bucket_s)


def _dose(x: np.ndarray, in_ep: np.ndarray, calm: np.ndarray) -> float:
    """2 * AUC - 1 of the candidate's level for telling episode buckets from calm ones,
    clipped at 0: 1 when every episode bucket is beyond every calm bucket."""
    a = x[in_ep & np.isfinite(x)]
    b = x[calm & np.isfinite(x)]
    if a.size == 0 or b.size == 0:
        return 0.0
    # The ROC AUC by the Mann-Whitney identity, from average ranks (a tie counts half),
    # which is what scikit-learn's roc_auc_score gives (tests/candidates compare the two).
    # Importing scikit-learn cost 0.9 s of CPU, a fifth of re-analysing 4M requests.
    ranks = pl.Series(np.concatenate([a, b])).rank("average").to_numpy()
    auc = (float(ranks[: a.size].sum()) - a.size * (a.size + 1) / 2) / (a.size * b.size)
    return max(0.0, 2.0 * auc - 1.0)


def _empty(n_ep: int) -> Evidence:
    return Evidence(
        direction=1,
        calm_level=math.nan,
        episode_level=math.nan,
        z=0.0,
        episode_strength=tuple([math.nan] * n_ep),
        covered=tuple([False] * n_ep),
        leads_s=tuple([None] * n_ep),
        threshold=None,
        calm_above_share=1.0,
        ceiling=None,
        anomaly_score=0.0,
        coverage_score=0.0,
        timing_score=0.0,
        specificity_score=0.0,
        dose_score=0.0,
        saturation_score=0.0,
    )


def partial_rank_correlation(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Spearman correlation of x and y, and the same with z partialled out.

    Used for explaining-away: a suspect whose association with failures vanishes once the
    leading cause is accounted for adds nothing.
    """
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    if ok.sum() < 10:
        return 0.0, 0.0
    # Average ranks for ties, as scipy.stats.rankdata gives them (whose import alone
    # costs a second of every analysis).
    rx, ry, rz = (pl.Series(v[ok]).rank("average").to_numpy().astype(float) for v in (x, y, z))

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        sa, sb = a.std(), b.std()
        if sa == 0 or sb == 0:
            return 0.0
        return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))

    rxy, rxz, ryz = corr(rx, ry), corr(rx, rz), corr(ry, rz)
    denom = math.sqrt(max((1 - rxz**2) * (1 - ryz**2), 1e-12))
    return rxy, (rxy - rxz * ryz) / denom
