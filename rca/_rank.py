"""Evidence -> one ranking across kinds, plus the suspects ruled out and why.

Sits after the evidence features (``rca.candidates._features``) and before the Result.

How the features combine, and why
---------------------------------
The score is a **weighted geometric mean** of features in [0, 1] (each floored at 0.02),
so it lies in [0, 1] and a candidate must be good on *every* axis: a weighted sum would let
a huge anomaly in one episode buy back a missing presence in the others, which is exactly
the April 2021 trap (DNS and heavy IPs looked dramatic in the first episode only).

* coverage (weight 2) and timing (1.5) weigh most: they are what separates a cause from a
  red herring or a consequence (DESIGN.md "Scoring");
* anomaly (1), specificity (1) and dose-response (1) establish that the candidate moved,
  only when failures happened, and in step with them;
* explaining-away (0.75) is measured against the leader: what a suspect adds once the
  leading candidate is accounted for (partial rank correlation with the symptom);
* kind-specific features: for segments and clients, the share of the episodes' excess
  failures they carry (1.5) and how surprising their failure rate is versus the rest (1);
  segments also carry ``rca.localize``'s score (2), which is what prefers the smallest
  combination that explains most: a superset or subset of the localised cause keeps
  almost no residual excess once that cause is explained away, and scores near 0;
  for metrics, saturation (0.5) for bounded series near their ceiling, as "utilization
  near saturation matters more than a raw correlation".

Kind priors: a log pattern is mined *from failed requests*, so it co-occurs with failures
by construction and partly restates the symptom; it gets a 0.8 prior. Everything else 1.0.

The weights were set by reasoning about which evidence separates causes from red herrings,
then checked, not fitted, on the simulated scenarios (``benchmarks/accuracy.py``), so no
scenario's particulars are baked in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from rca._result import CAUSE_SERIES, CAUSES, RULED_OUT
from rca._schema import UTC_TS
from rca.candidates._base import Candidate, Context
from rca.candidates._features import (
    SKEW_S,
    Evidence,
    evidence,
    partial_rank_correlation,
)

_FLOOR = 0.02
WEIGHTS: dict[str, float] = {
    "coverage": 2.0,
    "timing": 1.5,
    "anomaly": 1.0,
    "specificity": 1.0,
    "dose_response": 1.0,
    "explains_away": 0.75,
    "explained_share": 1.5,
    "surprise": 1.0,
    "localization": 2.0,
    "saturation": 0.5,
}
KIND_PRIOR: dict[str, float] = {"metric": 1.0, "segment": 1.0, "client": 1.0, "log_pattern": 0.8}

# A suspect "looked guilty" (and is worth naming when ruled out) when it was this
# abnormal in at least one episode.
_GUILTY = 0.6
# Explained away: association with the symptom shrinks below this share once the leader
# is partialled out.
_EXPLAINED = 0.15
# A client whose own requests did not fail and that added less than this share of an
# episode's traffic is ruled out: too little load to overload anything.
_LIGHT_LOAD = 0.15
#: How many causes a result lists.
MAX_CAUSES = 10
MAX_RULED_OUT = 15


@dataclass(frozen=True)
class Scored:
    """A candidate with its evidence, features, score and verdict."""

    cand: Candidate
    ev: Evidence
    features: dict[str, float]
    score: float
    ruled_out: str | None  # the reason, or None


def _features(cand: Candidate, ev: Evidence, explain: float) -> dict[str, float]:
    feats = {
        "anomaly": ev.anomaly_score,
        "coverage": ev.coverage_score,
        "timing": ev.timing_score,
        "specificity": ev.specificity_score,
        "dose_response": ev.dose_score,
        "explains_away": explain,
    }
    if cand.kind in ("segment", "client", "log_pattern"):
        feats["explained_share"] = cand.facts.get("explained_share", 0.0)
        if "surprise" in cand.facts:
            feats["surprise"] = cand.facts["surprise"]
        if "localization" in cand.facts:
            feats["localization"] = cand.facts["localization"]
    if cand.kind == "metric" and ev.ceiling is not None:
        # Only bounded series carry the saturation feature: for an unbounded series "near
        # its ceiling" has no meaning, and a zero there would punish it for its unit.
        feats["saturation"] = 0.5 + 0.5 * ev.saturation_score
    return feats


def combine(features: dict[str, float], kind: str) -> float:
    """Weighted geometric mean of the features, times the kind prior; in [0, 1].

    Examples
    --------
    >>> round(combine({"coverage": 1.0, "timing": 1.0}, "metric"), 3)
    1.0
    >>> combine({"coverage": 1 / 3, "timing": 1.0}, "metric") < 0.5
    True
    """
    total = sum(WEIGHTS[k] for k in features)
    if total == 0:
        return 0.0
    log_mean = sum(WEIGHTS[k] * math.log(max(_FLOOR, min(1.0, v))) for k, v in features.items())
    return float(KIND_PRIOR.get(kind, 1.0) * math.exp(log_mean / total))


def rank(cands: list[Candidate], ctx: Context) -> list[Scored]:
    """Score every candidate, apply explaining-away against the leader, decide ruled-out."""
    evs = [evidence(c, ctx) for c in cands]
    prelim = [combine(_features(c, e, 1.0), c.kind) for c, e in zip(cands, evs, strict=True)]
    order = sorted(range(len(cands)), key=lambda i: (-prelim[i], cands[i].key))
    leader = order[0] if order else None
    out: list[Scored] = []
    for i, (c, ev) in enumerate(zip(cands, evs, strict=True)):
        explain, why_explained = 1.0, None
        # Sibling series of the leader's metric (other instances) are not explained away
        # by it: they are the same finding on another instance, not a rival suspect.
        sibling = (
            leader is not None
            and c.kind == "metric"
            and c.metric is not None
            and c.metric == cands[leader].metric
        )
        if leader is not None and i != leader and ev.coverage_score > 0 and not sibling:
            raw, partial = partial_rank_correlation(c.series, ctx.rate, cands[leader].series)
            if raw > 0.2:
                explain = float(min(1.0, max(0.0, partial / raw)))
                if explain < _EXPLAINED:
                    why_explained = (
                        f"adds nothing once {cands[leader].label} is accounted for "
                        f"(rank correlation with failures {raw:.2f} alone, "
                        f"{partial:.2f} given it)"
                    )
        lead_c = cands[leader] if leader is not None else None
        if (
            why_explained is None
            and c.kind == "client"
            and lead_c is not None
            and lead_c.kind == "segment"
            and lead_c.facts.get("localization", 0.0) >= 0.5
            and lead_c.facts.get("explained_share", 0.0) >= 0.8
            and c.facts.get("rate_in", 0.0) <= 2 * c.facts.get("rate_rest", 0.0)
        ):
            # The failures are localised in a segment; a client whose own requests fail
            # no more than everyone else's is not what that segment selects. Its load
            # coinciding with the episode is explained away by the segment.
            explain = min(explain, 0.1)
            why_explained = (
                f"the failures are localised in {lead_c.label}; its own requests failed "
                f"at {_pct(c.facts.get('rate_in', 0.0))} versus "
                f"{_pct(c.facts.get('rate_rest', 0.0))} for everyone else"
            )
        feats = _features(c, ev, explain)
        score = combine(feats, c.kind)
        out.append(Scored(c, ev, feats, score, _verdict(c, ev, ctx, why_explained)))
    # Ties (several candidates at full marks) go to the larger robust excursion, as in BARO.
    out.sort(key=lambda s: (-round(s.score, 6), -min(abs(s.ev.z), 1e6), s.cand.key))
    return out


def _verdict(c: Candidate, ev: Evidence, ctx: Context, why_explained: str | None) -> str | None:
    """Why a suspect that looked guilty is not a cause, or None."""
    n_ep = len(ctx.episodes)
    if ev.peak_strength < _GUILTY or n_ep == 0:
        return None
    # Only a suspect abnormal in at least one episode "looked guilty"; one abnormal in
    # none is simply a weak candidate and keeps its (low) place in the ranking.
    if n_ep >= 2 and 0 < ev.n_covered < n_ep and ev.coverage_score <= 0.5:
        where = ", ".join(str(i + 1) for i, cov in enumerate(ev.covered) if cov)
        missing = n_ep - ev.n_covered
        return (
            f"abnormal only in episode {where} of {n_ep}; "
            f"failures recurred in {missing} episode(s) without it"
        )
    if (
        c.kind == "client"
        and c.facts.get("extra_share", 1.0) < _LIGHT_LOAD
        and c.facts.get("rate_in", 0.0) <= 2 * c.facts.get("rate_rest", 0.0)
    ):
        return (
            f"its requests did not fail more than others' ({_pct(c.facts.get('rate_in', 0.0))}"
            f" vs {_pct(c.facts.get('rate_rest', 0.0))}) and it added only "
            f"{_pct(c.facts.get('extra_share', 0.0))} of the episode traffic: "
            "too little load to cause the failures"
        )
    lead = ev.median_lead_s
    tol = ctx.bucket_seconds + SKEW_S
    if lead is not None and lead < -tol:
        return (
            f"rose {_dur(-lead)} after failures began (median over {ev.n_covered} "
            f"episode(s)): a consequence, not a cause"
        )
    return why_explained


# -- sentences ---------------------------------------------------------------------------


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 0.01 or ax == 0:
        return f"{x:.3g}"
    return f"{x:.2e}"


def _dur(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.0f}%"


def sentences(s: Scored, ctx: Context) -> list[str]:
    """Evidence sentences citing figures, strongest first."""
    c, ev = s.cand, s.ev
    n_ep = len(ctx.episodes)
    out: list[str] = []
    f = c.facts
    if c.kind == "segment":
        out.append(f"carries {_pct(f['explained_share'])} of the episodes' excess failures")
        out.append(
            f"failure rate {_pct(f['rate_in'])} in episodes versus "
            f"{_pct(f['rate_rest'])} for the rest of the traffic"
        )
    elif c.kind == "client":
        out.append(
            f"sent {_pct(f.get('extra_share', 0.0))} of an episode's requests beyond its calm rate"
        )
        out.append(
            f"its own failure rate {_pct(f['rate_in'])} in episodes versus "
            f"{_pct(f['rate_rest'])} for everyone else"
        )
    elif c.kind == "log_pattern":
        out.append(f"carries {_pct(f['explained_share'])} of the episodes' excess failures")
        out.append(
            f"logged on {_pct(f['rate_in'])} of requests in episodes versus "
            f"{_pct(f['rate_rest'])} when calm"
        )
    word = "above" if ev.direction > 0 else "below"
    what = {
        "segment": "excess failures per bucket ",
        "client": "requests per bucket ",
        "log_pattern": "occurrences per bucket ",
    }.get(c.kind, "")
    if ev.threshold is not None:
        out.append(
            f"{what}{word} {_num(ev.threshold)} in {ev.n_covered} of {n_ep} episodes; "
            f"{_pct(ev.calm_above_share)} of calm buckets reached that level"
        )
    # A flat calm level (an idle gauge) gives z in the billions: say so instead.
    spread = f"robust z {ev.z:.1f}" if abs(ev.z) < 1000 else "the calm level is flat"
    out.append(
        f"median {_num(ev.episode_level)} in episodes versus {_num(ev.calm_level)} when calm "
        f"({spread})"
    )
    lead = ev.median_lead_s
    if lead is not None:
        if lead > ctx.bucket_seconds:
            out.append(f"onset {_dur(lead)} before failures (median over episodes)")
        elif lead >= -(ctx.bucket_seconds + SKEW_S):
            out.append("onset together with the failures (within one bucket)")
        else:
            out.append(f"onset {_dur(-lead)} after failures began")
    if ev.ceiling is not None and ev.saturation_score > 0:
        out.append(
            f"at {_pct(ev.episode_level / ev.ceiling)} of its ceiling of {_num(ev.ceiling)} "
            "during episodes"
        )
    if ev.dose_score > 0:
        out.append(
            f"its level separates episode buckets from calm ones "
            f"(AUC {(1 + ev.dose_score) / 2:.2f})"
        )
    return out


# -- frames ------------------------------------------------------------------------------


def _segment(c: Candidate) -> list[dict[str, str]]:
    return [{"dimension": d, "value": v} for d, v in c.segment]


def causes_frame(scored: list[Scored], ctx: Context) -> pl.DataFrame:
    """The CAUSES table: the best non-ruled-out candidates, rank 1 first."""
    rows: list[dict[str, object]] = []
    for s in [s for s in scored if s.ruled_out is None][:MAX_CAUSES]:
        c = s.cand
        rows.append(
            {
                "rank": len(rows) + 1,
                "kind": c.kind,
                "label": c.label,
                "score": round(min(1.0, max(0.0, s.score)), 6),
                "metric": c.metric if c.kind == "metric" else None,
                "labels": c.labels if c.kind == "metric" else None,
                "segment": _segment(c),
                "evidence": sentences(s, ctx),
                "features": [{"name": k, "value": float(v)} for k, v in s.features.items()],
            }
        )
    return pl.DataFrame(rows, schema=CAUSES) if rows else pl.DataFrame(schema=CAUSES)


def ruled_out_frame(scored: list[Scored]) -> pl.DataFrame:
    """The RULED_OUT table: suspects that looked guilty, strongest first, with the reason."""
    out = sorted(
        (s for s in scored if s.ruled_out is not None),
        key=lambda s: (-s.ev.peak_strength, s.cand.key),
    )[:MAX_RULED_OUT]
    rows = [
        {
            "kind": s.cand.kind,
            "label": s.cand.label,
            "reason": s.ruled_out,
            "metric": s.cand.metric if s.cand.kind == "metric" else None,
            "labels": s.cand.labels if s.cand.kind == "metric" else None,
            "segment": _segment(s.cand),
        }
        for s in out
    ]
    return pl.DataFrame(rows, schema=RULED_OUT) if rows else pl.DataFrame(schema=RULED_OUT)


def cause_series_frame(scored: list[Scored], ctx: Context) -> pl.DataFrame:
    """Each listed cause's series on the grid, for the per-cause charts."""
    parts = []
    ts = pl.Series("ts", (ctx.ts_s * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC"))
    for r, s in enumerate([s for s in scored if s.ruled_out is None][:MAX_CAUSES], start=1):
        parts.append(
            pl.DataFrame(
                {
                    "rank": pl.Series([r] * ctx.n, dtype=pl.Int32),
                    "ts": ts,
                    "value": pl.Series(s.cand.series, dtype=pl.Float64).fill_nan(None),
                }
            )
        )
    if not parts:
        return pl.DataFrame(schema=CAUSE_SERIES)
    return pl.concat(parts).with_columns(pl.col("ts").cast(UTC_TS)).select(list(CAUSE_SERIES))
