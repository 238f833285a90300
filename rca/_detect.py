"""Symptom series -> episodes: when did it break, and how badly?

Sits after bucketing (``rca._bucket``) and before the candidates. Two symptom shapes:

* **counts** (the default: failures out of requests per bucket). The baseline is a pooled
  failure rate, made robust by iteratively excluding buckets that are significantly above
  it; when a window is mostly incident, it is found from the calm stretches instead. Each bucket is tested with the binomial tail ``P(X >= failures | requests, baseline)``,
  so 3 failures out of 40 requests is judged as the small sample it is, and a traffic
  burst with an unchanged failure rate raises nothing.
* **values** (any metric chosen as the symptom): robust z-scores against the median/MAD.

Hysteresis works on runs: a bucket is *elevated* under a lenient test; runs of elevated
buckets, merged across short gaps, become an episode only if the run *as a whole* passes a
strict test and lasts long enough. A lone noisy bucket never opens an episode, while a
long, modest excess (the April 2021 "under 3% failed") does, because its evidence adds up.
Severity is the excess: failures above what the baseline rate predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca._result import EPISODES
from rca._schema import UTC_TS


@dataclass(frozen=True)
class Episode:
    """One episode as bucket indices ``[start, end)`` and its severity."""

    start: int
    end: int
    excess: float
    pvalue: float


class EpisodeDetector:
    """Find episodes in a per-bucket symptom series (scikit-learn estimator shape).

    Parameters
    ----------
    alpha_elevated
        One-bucket significance under which a bucket counts as elevated (extends episodes).
    alpha_episode
        Significance the whole run must reach to become an episode (opens episodes). Small
        because a day has ~1500 buckets and a quiet day must give none.
    min_ratio
        An elevated bucket's rate must also be at least this multiple of the baseline:
        significance alone would flag negligible shifts on very high traffic.
    min_buckets
        Minimum episode length, in buckets.
    max_gap
        Runs separated by at most this many quiet buckets merge into one episode.
    z_elevated, z_episode
        Robust z thresholds used instead of the tests for a value (metric) symptom.

    Attributes
    ----------
    baseline_
        Baseline failure rate (counts) or median (values).
    scale_
        Robust scale (values only; 0 for counts).
    dispersion_
        Overdispersion of the failure counts over the baseline buckets (counts only; 1
        when they behave like independent trials).
    elevated_
        Boolean array, one per bucket.
    episodes_
        List of :class:`Episode`, in time order.

    Examples
    --------
    >>> import numpy as np
    >>> req = np.full(60, 200)
    >>> fail = np.full(60, 1); fail[20:30] = 40
    >>> [(e.start, e.end) for e in EpisodeDetector().fit(fail, req).episodes_]
    [(20, 30)]
    """

    def __init__(
        self,
        *,
        alpha_elevated: float = 1e-2,
        alpha_episode: float = 1e-9,
        min_ratio: float = 2.0,
        min_buckets: int = 2,
        max_gap: int = 2,
        z_elevated: float = 3.0,
        z_episode: float = 6.0,
    ) -> None:
        self.alpha_elevated = alpha_elevated
        self.alpha_episode = alpha_episode
        self.min_ratio = min_ratio
        self.min_buckets = min_buckets
        self.max_gap = max_gap
        self.z_elevated = z_elevated
        self.z_episode = z_episode

    def fit(self, symptom: np.ndarray, requests: np.ndarray | None = None) -> EpisodeDetector:
        """Detect episodes.

        Parameters
        ----------
        symptom
            Failures per bucket when ``requests`` is given, else the symptom's values
            (NaN for missing buckets).
        requests
            Requests per bucket, or None for a value symptom.
        """
        if not 0 < self.alpha_episode <= self.alpha_elevated < 1:
            raise ParameterError("need 0 < alpha_episode <= alpha_elevated < 1")
        if self.min_buckets < 1 or self.max_gap < 0:
            raise ParameterError("min_buckets must be >= 1 and max_gap >= 0")
        y = np.asarray(symptom, dtype=float)
        if requests is None:
            self._fit_values(y)
        else:
            self._fit_counts(y, np.asarray(requests, dtype=float))
        return self

    # -- counts ---------------------------------------------------------------------------

    def _fit_counts(self, failures: np.ndarray, requests: np.ndarray) -> None:
        n = np.maximum(requests, 0)
        f = np.clip(failures, 0, n)
        p0, dispersion, episodes = self._fit_from(f, n, None)
        if not episodes:
            # The median start ignores an incident covering up to half the window. A window
            # cut tightly around an incident (--since/--until) is mostly incident, though:
            # then start from the calm stretches instead, and keep what that finds only if
            # it has the shape of an incident rather than of a slow drift.
            low = self._calm_start(f, n)
            if low is not None:
                alt = self._fit_from(f, n, low)
                if alt[2] and self._majority_incident(f, n, alt[0], alt[2]):
                    p0, dispersion, episodes = alt
        elevated = self._elevated(f / dispersion, n / dispersion, p0, self.alpha_elevated)
        self.baseline_ = float(p0)
        self.scale_ = 0.0
        self.dispersion_ = dispersion
        self.elevated_ = elevated
        self.pvalues_ = _tail(f / dispersion, n / dispersion, p0)
        self.episodes_ = [ep for ep, _, _ in episodes]

    def _fit_from(
        self, f: np.ndarray, n: np.ndarray, start: float | None
    ) -> tuple[float, float, list[tuple[Episode, int, int]]]:
        """Baseline, dispersion and episodes, the baseline iterated from ``start`` (None: the
        pooled median)."""
        p0, keep = self._baseline(f, n, 1.0, start)
        # Real failures are clumpier than independent coin flips (retries, duplicated log
        # lines, one client failing in bursts). The Pearson dispersion over the baseline
        # buckets measures by how much; dividing the counts by it (a quasi-binomial test)
        # keeps a blip from turning into an episode merely because every line was logged
        # twice. Rare events make the statistic heavy-tailed, so it is only trusted over
        # many buckets and is capped.
        dispersion = 1.0
        if keep.sum() >= 30:
            e = n[keep] * p0
            chi2 = float(np.sum((f[keep] - e) ** 2 / np.maximum(e * (1 - p0), 1e-12)))
            dispersion = min(max(chi2 / (keep.sum() - 1), 1.0), _MAX_DISPERSION)
        if dispersion > 1.0:
            p0, keep = self._baseline(f, n, dispersion, start)
        elevated = self._elevated(f / dispersion, n / dispersion, p0, self.alpha_elevated)
        return p0, dispersion, self._episodes(f, n, p0, dispersion, elevated)

    def _calm_start(self, f: np.ndarray, n: np.ndarray) -> float | None:
        """A starting baseline from the calm stretches (a low percentile of rates pooled over
        a thirtieth of the window, short enough to fit in the few calm minutes of a tight
        cut), or None when it is not clearly below the median: the window has no calm part."""
        rates = self._pooled_rates(f, n, max(1, min(30, -(-len(n) // 30))))
        if rates.size < 5:
            return None
        low, med = np.percentile(rates, [_CALM_PERCENTILE, 50])
        if not med > self.min_ratio * low:
            return None
        return max(float(low), 0.5 / max(float(n.sum()), 1.0))

    def _majority_incident(
        self, f: np.ndarray, n: np.ndarray, p0: float, episodes: list[tuple[Episode, int, int]]
    ) -> bool:
        """Do episodes found from the calm start read as an incident filling the window?

        Three conditions, which a quiet day's slow drift (a failure rate twice as high in
        the afternoon as at night) or a window entirely inside an incident fails: the
        episodes cover most of the traffic (else the median start would have seen them);
        calm buckets remain to compare with; and every episode edge inside the window is a
        step -- the rate just inside is several times the rate just outside -- where a drift
        changes little from one side of any edge to the other. "Just" is as many buckets
        as make ~10 failures at the calm rate (at least 5, at most 30).
        """
        spans = [(ep.start, ep.end) for ep, _, _ in episodes]
        total = float(n.sum())
        if sum(float(n[s:e].sum()) for s, e in spans) < 0.4 * total:
            return False
        calm = np.ones(len(n), dtype=bool)
        for s, e in spans:
            calm[s:e] = False
        if calm.sum() < _STEP_MIN_BUCKETS:
            return False
        per_bucket = float(np.median(n[n > 0])) * p0
        k = int(np.clip(np.ceil(10.0 / max(per_bucket, 1e-9)), _STEP_MIN_BUCKETS, 30))
        for s, e in spans:
            for edge, inside, outside in (
                (s, slice(s, s + k), slice(max(s - k, 0), s)),
                (e, slice(max(e - k, 0), e), slice(e, e + k)),
            ):
                if edge in (0, len(n)):
                    continue  # the window's own edge: nothing to compare with
                fi, ni = f[inside].sum(), n[inside].sum()
                fo, no = f[outside].sum(), n[outside].sum()
                if ni <= 0 or no <= 0 or fi < _STEP_MIN_FAILURES:
                    return False
                # Conditional test of "inside rate <= _STEP_RATIO x outside rate": given the
                # failures on both sides, those inside are Binomial(fi + fo, q) at the bound.
                # A few calm buckets with no failure prove little, and this says so.
                q = _STEP_RATIO * ni / (_STEP_RATIO * ni + no)
                if _tail(np.array([fi]), np.array([fi + fo]), q)[0] >= _STEP_ALPHA:
                    return False
        return True

    def _episodes(
        self, f: np.ndarray, n: np.ndarray, p0: float, dispersion: float, elevated: np.ndarray
    ) -> list[tuple[Episode, int, int]]:
        """Runs of elevated buckets, trimmed to their core, that pass the strict test; each
        with the bounds of its untrimmed run."""
        episodes = []
        for s0, e0 in self._runs(elevated):
            s, e = _best_interval(f[s0:e0], n[s0:e0], p0, self.min_ratio)
            if e <= s:
                continue
            s, e = s0 + s, s0 + e
            fsum, nsum = f[s:e].sum(), n[s:e].sum()
            p = float(_tail(np.array([fsum / dispersion]), np.array([nsum / dispersion]), p0)[0])
            if e - s >= self.min_buckets and p < self.alpha_episode:
                episodes.append((Episode(s, e, float(fsum - nsum * p0), p), s0, e0))
        return episodes

    def _baseline(
        self, f: np.ndarray, n: np.ndarray, dispersion: float, start: float | None = None
    ) -> tuple[float, np.ndarray]:
        """Robust baseline rate, and the buckets it was pooled over.

        Start from ``start``, by default the median of pooled failure rates
        (:meth:`_pooled_rates`), which ignores an incident covering up to half the data.
        Then pool over the buckets outside the episodes that rate finds
        (their whole elevated runs, untrimmed), and repeat: an episode left in would
        inflate the baseline and hide itself. Only runs holding an episode are left out,
        never single buckets that merely look high: when a
        bucket expects a small fraction of one failure, every failure looks significant on
        its own, and leaving those out would drive the baseline to zero.
        """
        total = n.sum()
        floor = 0.5 / max(total, 1.0)
        if start is None:
            rates = self._pooled_rates(f, n)
            start = float(np.median(rates)) if rates.size else f.sum() / max(total, 1.0)
        p0 = min(max(start, floor), 0.5)
        keep = n > 0
        for _ in range(8):
            elevated = self._elevated(f / dispersion, n / dispersion, p0, self.alpha_elevated)
            new_keep = n > 0
            for _, s0, e0 in self._episodes(f, n, p0, dispersion, elevated):
                new_keep[s0:e0] = False
            if new_keep.any():
                p0 = f[new_keep].sum() / max(n[new_keep].sum(), 1.0)
                p0 = min(max(p0, floor), 0.5)
            if np.array_equal(new_keep, keep):
                break
            keep = new_keep
        return float(p0), keep

    @staticmethod
    def _pooled_rates(f: np.ndarray, n: np.ndarray, win: int | None = None) -> np.ndarray:
        """Failure rates pooled over windows of ``win`` buckets, by default ~30 (so that
        low-traffic buckets don't make a quantile of them 0)."""
        win = win or max(1, min(30, len(n) // 10))
        fw = np.convolve(f, np.ones(win), mode="valid")
        nw = np.convolve(n, np.ones(win), mode="valid")
        return np.asarray(fw[nw > 0] / nw[nw > 0], dtype=float)

    def _elevated(self, f: np.ndarray, n: np.ndarray, p0: float, alpha: float) -> np.ndarray:
        """Buckets above the baseline on their own or within a centred window.

        Windows of 3 and 5 buckets are tested too: a modest but sustained excess (3%
        failing at 100 requests a bucket) is not significant bucket by bucket and would
        otherwise fragment into many short episodes.
        """
        pv = _tail(f, n, p0)
        elevated = (n > 0) & (pv < alpha) & (f >= self.min_ratio * n * p0)
        for w in (3, 5):
            kernel = np.ones(w)
            fw = np.convolve(f, kernel, mode="same")
            nw = np.convolve(n, kernel, mode="same")
            pw = _tail(fw, nw, p0)
            elevated |= (n > 0) & (f > n * p0) & (pw < alpha / w) & (fw >= self.min_ratio * nw * p0)
        # Long windows catch a low, hours-long excess (July 2020: a fraction of a percent
        # more failures for eleven hours), where most buckets hold 0 or 1 failure. A
        # passing window marks all its buckets; episode edges are trimmed afterwards to
        # buckets that are themselves above the baseline. Scales grow by 3x up to a third
        # of the series, so a low-traffic day (a handful of requests a bucket) still has a
        # window long enough for its excess to add up.
        spiky = elevated.copy()
        w = 15
        while 3 * w <= len(n):
            kernel = np.ones(w)
            # Hours-long windows are judged on the buckets no spike test flagged: they look
            # for a diffuse excess, and nearly every such window holds some spike, whose
            # strength would otherwise stretch its episode by hours. (Up to 45 buckets, a
            # window passing on a spike is what bridges an episode's quieter minutes.)
            rest = ~spiky if w > 45 else np.ones(len(n), dtype=bool)
            fw = np.convolve(np.where(rest, f, 0.0), kernel, mode="valid")
            nw = np.convolve(np.where(rest, n, 0.0), kernel, mode="valid")
            pw = _tail(fw, nw, p0)
            # ... and only for a spread-out excess: the buckets above the baseline must
            # number a quarter of the window, or (at low traffic, where a bucket rarely
            # holds two failures) half the window's failures.
            above = np.convolve((rest & (f > n * p0)).astype(float), kernel, mode="valid")
            spread = above >= np.minimum(w / 4, fw / 2)
            hit = (pw < alpha / w) & (fw >= self.min_ratio * nw * p0) & spread
            if hit.any():
                marks = np.convolve(hit.astype(float), kernel, mode="full") > 0
                elevated |= marks[: len(n)] & (n > 0)
            # Go longer only while a window still expects few baseline failures: at high
            # traffic the short scales already see any real excess, and hours-long windows
            # would only pick up the slow daily drift of the failure rate.
            if np.median(nw) * p0 >= _ENOUGH_EXPECTED:
                break
            w *= 3
        return np.asarray(elevated, dtype=bool)

    # -- values ---------------------------------------------------------------------------

    def _fit_values(self, y: np.ndarray) -> None:
        ok = np.isfinite(y)
        if not ok.any():
            self.baseline_, self.scale_, self.dispersion_ = 0.0, 0.0, 1.0
            self.elevated_ = np.zeros(len(y), dtype=bool)
            self.pvalues_ = np.ones(len(y))
            self.episodes_ = []
            return
        med = float(np.median(y[ok]))
        mad = float(np.median(np.abs(y[ok] - med))) * 1.4826
        q75, q25 = np.percentile(y[ok], [75, 25])
        scale = max(mad, (q75 - q25) / 1.349, 1e-9 * (abs(med) + 1.0))
        z = np.where(ok, (y - med) / scale, 0.0)
        elevated = z > self.z_elevated
        self.baseline_, self.scale_, self.dispersion_ = med, scale, 1.0
        self.elevated_ = elevated
        self.pvalues_ = np.where(elevated, 0.0, 1.0)
        episodes = []
        for s, e in self._runs(elevated):
            if e - s >= self.min_buckets and float(np.max(z[s:e])) > self.z_episode:
                seg = y[s:e][np.isfinite(y[s:e])]
                episodes.append(Episode(s, e, float(np.sum(seg - med)), 0.0))
        self.episodes_ = episodes

    def _runs(self, elevated: np.ndarray) -> list[tuple[int, int]]:
        """Maximal runs of elevated buckets, merged across gaps of <= max_gap buckets."""
        idx = np.flatnonzero(elevated)
        if idx.size == 0:
            return []
        runs: list[tuple[int, int]] = []
        start = prev = int(idx[0])
        for i in idx[1:]:
            i = int(i)
            if i - prev - 1 > self.max_gap:
                runs.append((start, prev + 1))
                start = i
            prev = i
        runs.append((start, prev + 1))
        return runs


#: Expected baseline failures per window beyond which longer windows add nothing.
_ENOUGH_EXPECTED = 20.0
#: Cap on the estimated overdispersion: beyond it the baseline itself is suspect.
_MAX_DISPERSION = 8.0
#: Where the calm start for a window that is mostly incident is read (percentile of pooled
#: rates): inside calm stretches of a tenth of the window, not at its single best minute.
_CALM_PERCENTILE = 5
#: An episode edge is a step when the rate over the buckets just inside it (at least
#: _STEP_MIN_BUCKETS) is significantly (_STEP_ALPHA) more than _STEP_RATIO times the rate
#: just outside, with at least _STEP_MIN_FAILURES failures inside.
_STEP_MIN_BUCKETS = 5
_STEP_RATIO = 3.0
_STEP_ALPHA = 1e-3
_STEP_MIN_FAILURES = 5


def _tail(f: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """``P(X >= f)`` for ``X ~ Binomial(n, p)``, continuous in ``f`` and ``n``.

    The regularised incomplete beta equals ``scipy.stats.binom.sf(f - 1, n, p)`` for whole
    counts and also takes the fractional counts of the dispersion-scaled test (and
    ``scipy.special`` imports in a fraction of ``scipy.stats``' time).
    """
    from scipy.special import betainc

    f = np.asarray(f, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = f > 0
    out = betainc(np.where(safe, f, 1.0), np.maximum(n - f, 0.0) + 1.0, p)
    return np.where(safe, out, 1.0)


def _best_interval(f: np.ndarray, n: np.ndarray, p0: float, min_ratio: float) -> tuple[int, int]:
    """The sub-interval of a run with the largest log-likelihood ratio of "failing at an
    elevated rate" over "failing at the baseline rate" (a scan statistic; maximum-sum
    subarray). It trims the noisy edges that windowed tests and gap merging bring in.

    The elevated rate starts as the run's own and is re-estimated on the interval found,
    a few times: a run padded with quiet buckets understates it, and at low traffic an
    understated rate lets single background failures stretch the episode for hours.
    """
    best_s, best_e = 0, len(f)
    for _ in range(3):
        fs, ns = f[best_s:best_e].sum(), n[best_s:best_e].sum()
        p1 = min(max(fs / max(ns, 1.0), min_ratio * p0), 0.999)
        llr = f * np.log(p1 / p0) - n * (p1 - p0)
        best, s_new, e_new = 0.0, 0, 0
        run, run_s = 0.0, 0
        for i, v in enumerate(llr):
            if run <= 0:
                run, run_s = 0.0, i
            run += v
            if run > best:
                best, s_new, e_new = run, run_s, i + 1
        if e_new <= s_new or (s_new, e_new) == (best_s, best_e):
            return s_new, e_new
        best_s, best_e = s_new, e_new
    return best_s, best_e


def episodes_frame(
    detector: EpisodeDetector,
    grid: pl.DataFrame,
    bucket_seconds: int,
) -> pl.DataFrame:
    """The EPISODES table for a fitted count detector over a bucket grid (``ts``,
    ``requests``, ``failures``)."""
    from datetime import timedelta

    rows = []
    ts = grid["ts"].to_list()
    req = grid["requests"].to_numpy()
    fail = grid["failures"].to_numpy()
    for ep in detector.episodes_:
        n = int(req[ep.start : ep.end].sum())
        f = int(fail[ep.start : ep.end].sum())
        rows.append(
            {
                "start": ts[ep.start],
                "end": ts[ep.end - 1] + timedelta(seconds=bucket_seconds),
                "requests": n,
                "failures": f,
                "failure_rate": f / n if n else 0.0,
                "baseline_rate": detector.baseline_ if detector.scale_ == 0 else None,
                "excess_failures": ep.excess,
            }
        )
    if not rows:
        return pl.DataFrame(schema=EPISODES)
    return pl.DataFrame(rows, schema=EPISODES).with_columns(
        pl.col("start").cast(UTC_TS), pl.col("end").cast(UTC_TS)
    )
