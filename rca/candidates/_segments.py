"""Segments: attribute combinations of the requests that carry the episodes' excess failures.

Sits between the slim requests projection built in ``rca._analyze`` (bucket index ``_i``,
``failed``, ``_ep`` = in an episode, and the derived attributes) and the evidence features.

For every value of every dimension, and for pairs built from the strongest values, it
compares the episodes with calm time:

* **explained share** (explanatory power, Adtributor/Squeeze): the segment's excess
  failures in episodes, over its own calm failure rate, as a share of all excess failures;
* **surprise**: how much its episode failure rate exceeds the rest of the traffic's,
  as ``1 - rest / segment`` (0 when failures are spread evenly, 1 when only it fails);
* **purity**, for preferring the smallest combination that explains most: a segment is
  kept in place of its refinement only if the refinement does not concentrate the same
  excess markedly better.

Each segment's series is its excess failures per bucket, so timing, coverage and
specificity are measured on it like on any other candidate.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rca._result import SEGMENTS
from rca.candidates._base import Candidate, Context

#: Dimensions searched for segments (client identity belongs to ``_clients``).
SEGMENT_DIMS: tuple[str, ...] = (
    "endpoint",
    "method",
    "ua_family",
    "ua_os",
    "ua_kernel",
    "edge",
    "upstream",
    "country",
    "asn",
    "namespace",
)

# A single value must carry this share of the excess to be a candidate, or to seed pairs.
_MIN_SHARE = 0.1
# A segment whose failure rate is barely above the rest's is the failures spread evenly,
# not a localised cause: below this surprise it is not a candidate.
_MIN_SURPRISE = 0.3
_SEEDS = 6
# Prior weight (in requests) that shrinks a small segment's calm rate to the global one.
_PRIOR_REQUESTS = 200.0
MAX_SEGMENTS = 12


def _stats(frame: pl.DataFrame, keys: list[str], p_global: float) -> pl.DataFrame:
    """Per group: episode/calm requests and failures, excess, and rates."""
    g = frame.group_by(keys).agg(
        pl.col("_ep").sum().cast(pl.Float64).alias("n_ep"),
        (pl.col("failed") & pl.col("_ep")).sum().cast(pl.Float64).alias("f_ep"),
        (~pl.col("_ep")).sum().cast(pl.Float64).alias("n_cal"),
        (pl.col("failed") & ~pl.col("_ep")).sum().cast(pl.Float64).alias("f_cal"),
    )
    return g.with_columns(
        (
            (pl.col("f_cal") + _PRIOR_REQUESTS * p_global) / (pl.col("n_cal") + _PRIOR_REQUESTS)
        ).alias("p_cal")
    ).with_columns((pl.col("f_ep") - pl.col("n_ep") * pl.col("p_cal")).alias("excess"))


def segment_candidates(slim: pl.DataFrame, ctx: Context) -> tuple[list[Candidate], pl.DataFrame]:
    """Segment candidates and the SEGMENTS table (best combinations first)."""
    dims = [d for d in SEGMENT_DIMS if d in slim.columns and slim[d].null_count() < slim.height]
    if not dims or not slim["_ep"].any():
        return [], pl.DataFrame(schema=SEGMENTS)
    n_ep = float(slim["_ep"].sum())
    f_ep = float((slim["failed"] & slim["_ep"]).sum())
    n_cal = float((~slim["_ep"]).sum())
    f_cal = float((slim["failed"] & ~slim["_ep"]).sum())
    p_global = (f_cal + 1.0) / (n_cal + 100.0)
    total_excess = max(f_ep - n_ep * p_global, 1.0)

    found: list[dict] = []
    singles: list[tuple[str, str, float]] = []
    for d in dims:
        st = _stats(slim.filter(pl.col(d).is_not_null()), [d], p_global)
        for r in st.iter_rows(named=True):
            share = r["excess"] / total_excess
            if share >= _MIN_SHARE:
                found.append(_row(((d, str(r[d])),), r, f_ep, n_ep, total_excess))
                singles.append((d, str(r[d]), share))
    singles.sort(key=lambda s: (-s[2], s[0], s[1]))
    for d, v, _ in singles[:_SEEDS]:
        sub = slim.filter(pl.col(d) == v)
        for d2 in dims:
            if d2 == d:
                continue
            st = _stats(sub.filter(pl.col(d2).is_not_null()), [d2], p_global)
            for r in st.iter_rows(named=True):
                if r["excess"] / total_excess >= _MIN_SHARE:
                    pair = tuple(sorted(((d, v), (d2, str(r[d2])))))
                    found.append(_row(pair, r, f_ep, n_ep, total_excess))
    if not found:
        return [], pl.DataFrame(schema=SEGMENTS)
    # Deduplicate pairs reached from either seed.
    uniq: dict[tuple[tuple[str, str], ...], dict] = {}
    for row in found:
        uniq.setdefault(row["pairs"], row)
    rows = list(uniq.values())
    for row in rows:
        row["score"] = row["explained_share"] * row["surprise"]
    # Prefer the smallest combination: a pair survives only if it concentrates the excess
    # clearly better than each of its parents present (higher surprise at similar share).
    by_pairs = {r["pairs"]: r for r in rows}
    kept = []
    for row in rows:
        if row["surprise"] < _MIN_SURPRISE:
            continue
        if len(row["pairs"]) == 2:
            parents = [by_pairs.get((p,)) for p in row["pairs"]]
            dominated_by_parent = any(
                p is not None
                and p["explained_share"] >= 0.9 * row["explained_share"]
                and p["surprise"] >= row["surprise"] - 0.05
                for p in parents
            )
            if dominated_by_parent:
                continue
        kept.append(row)
    kept.sort(key=lambda r: (-r["score"], len(r["pairs"]), r["label"]))
    kept = kept[:MAX_SEGMENTS]

    cands = [_candidate(slim, row, ctx) for row in kept]
    table = pl.DataFrame(
        [
            {
                "segment": [{"dimension": d, "value": v} for d, v in row["pairs"]],
                "label": row["label"],
                "requests": int(row["n_ep"]),
                "failures": int(row["f_ep"]),
                "failure_rate": row["rate_in"],
                "rest_failure_rate": row["rate_rest"],
                "explained_share": row["explained_share"],
                "score": row["score"],
            }
            for row in kept
        ],
        schema=SEGMENTS,
    )
    return cands, table


def segment_label(pairs: tuple[tuple[str, str], ...]) -> str:
    """``ua_kernel=amzn2 & edge=IAD``"""
    return " & ".join(f"{d}={v}" for d, v in pairs)


def _row(
    pairs: tuple[tuple[str, str], ...], r: dict, f_ep: float, n_ep: float, total_excess: float
) -> dict:
    rate_in = r["f_ep"] / r["n_ep"] if r["n_ep"] else 0.0
    rest_n = n_ep - r["n_ep"]
    rate_rest = (f_ep - r["f_ep"]) / rest_n if rest_n > 0 else 0.0
    surprise = max(0.0, 1.0 - rate_rest / rate_in) if rate_in > 0 else 0.0
    return {
        "pairs": pairs,
        "label": segment_label(pairs),
        "n_ep": r["n_ep"],
        "f_ep": r["f_ep"],
        "rate_in": rate_in,
        "rate_rest": rate_rest,
        "explained_share": float(min(1.0, max(0.0, r["excess"] / total_excess))),
        "surprise": surprise,
        "p_cal": r["p_cal"],
    }


def _candidate(slim: pl.DataFrame, row: dict, ctx: Context) -> Candidate:
    cond = pl.lit(True)
    for d, v in row["pairs"]:
        cond = cond & (pl.col(d) == v)
    per = (
        slim.filter(cond).group_by("_i").agg(pl.len().alias("n"), pl.col("failed").sum().alias("f"))
    )
    n = np.zeros(ctx.n)
    f = np.zeros(ctx.n)
    idx = per["_i"].to_numpy()
    n[idx] = per["n"].to_numpy()
    f[idx] = per["f"].to_numpy()
    # Excess failures per bucket over the segment's own calm rate.
    series = f - n * row["p_cal"]
    return Candidate(
        kind="segment",
        key=f"segment:{row['label']}",
        label=row["label"],
        series=series,
        segment=row["pairs"],
        unit="count",
        facts={
            "explained_share": row["explained_share"],
            "surprise": row["surprise"],
            "rate_in": row["rate_in"],
            "rate_rest": row["rate_rest"],
        },
    )
