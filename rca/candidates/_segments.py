"""Segments: attribute combinations of the requests that carry the episodes' excess failures.

Sits between the request counts of ``rca.candidates._requests`` (requests and failures per
combination of the derived attributes, in an episode or not) and the evidence features.

Segments are compared between the episodes and calm time:

* **explained share** (explanatory power, Adtributor/Squeeze): the segment's excess
  failures in episodes, over its own calm failure rate, as a share of all excess failures;
* **surprise**: how much its episode failure rate exceeds the rest of the traffic's,
  as ``1 - rest / segment`` (0 when failures are spread evenly, 1 when only it fails);
* the search for the smallest combination that explains most is ``rca.localize``
  (HotSpot/Squeeze-style, with parsimony penalties and explaining-away between rounds).

Each segment's series is its excess failures per bucket, so timing, coverage and
specificity are measured on it like on any other candidate.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rca._result import SEGMENTS
from rca.candidates._base import Candidate, Context
from rca.candidates._requests import SEGMENT_DIMS, Pending, RequestCounts

__all__ = ["SEGMENT_DIMS", "segment_candidates", "segment_label"]

# A segment must carry this share of the excess to be a candidate.
_MIN_SHARE = 0.1
# A segment whose failure rate is barely above the rest's is the failures spread evenly,
# not a localised cause: below this surprise it is not a candidate.
_MIN_SURPRISE = 0.3
# Prior weight (in requests) that shrinks a small segment's calm rate to the global one.
_PRIOR_REQUESTS = 200.0
MAX_SEGMENTS = 12
_MISSING = "(missing)"


def _stats(leaves: pl.DataFrame, p_global: float) -> dict[str, float]:
    """Episode/calm requests and failures, calm rate (smoothed) and excess of a subset of
    the leaves."""
    ep, cal = pl.col("_ep"), ~pl.col("_ep")
    g = leaves.select(
        pl.col("_n").filter(ep).sum().cast(pl.Float64).alias("n_ep"),
        pl.col("_f").filter(ep).sum().cast(pl.Float64).alias("f_ep"),
        pl.col("_n").filter(cal).sum().cast(pl.Float64).alias("n_cal"),
        pl.col("_f").filter(cal).sum().cast(pl.Float64).alias("f_cal"),
    )
    out = g.with_columns(
        (
            (pl.col("f_cal") + _PRIOR_REQUESTS * p_global) / (pl.col("n_cal") + _PRIOR_REQUESTS)
        ).alias("p_cal")
    ).with_columns((pl.col("f_ep") - pl.col("n_ep") * pl.col("p_cal")).alias("excess"))
    return {k: float(v) for k, v in out.row(0, named=True).items()}


def segment_candidates(counts: RequestCounts, ctx: Context) -> tuple[list[Pending], pl.DataFrame]:
    """Segment candidates (series still to count) and the SEGMENTS table (best first).

    The search itself is ``rca.localize`` on episode-versus-calm counts per leaf: the
    requests are reduced to one row per (attribute combination, in episode or not), with
    the calm rows as the baseline, so each leaf is expected to fail at its own calm rate.
    """
    all_leaves = counts.leaves
    # Null counts as a value of its own here, as in the raw requests: a dimension with one
    # value and some nulls can still localise.
    dims = [
        d
        for d in SEGMENT_DIMS
        if d in all_leaves.columns
        and all_leaves[d].null_count() < all_leaves.height
        and all_leaves[d].n_unique() > 1
    ]
    n_ep = counts.total("_n", in_episode=True)
    if not dims or not n_ep:
        return [], pl.DataFrame(schema=SEGMENTS)
    f_ep = counts.total("_f", in_episode=True)
    n_cal = counts.total("_n", in_episode=False)
    f_cal = counts.total("_f", in_episode=False)
    p_global = (f_cal + 1.0) / (n_cal + 100.0)
    total_excess = max(f_ep - n_ep * p_global, 1.0)

    leaves = (
        all_leaves.with_columns([pl.col(d).fill_null(_MISSING) for d in dims])
        .group_by([*dims, "_ep"])
        .agg(pl.col("_n").sum(), pl.col("_f").sum())
        .with_columns(pl.col("_ep").cast(pl.Int8).alias("_t"))
    )
    # The search weighs evidence by Poisson counts: counts that vary more than that
    # (duplicated lines, retries) are scaled back to the information they carry.
    scaled = (
        leaves.with_columns(pl.col("_n") / ctx.dispersion, pl.col("_f") / ctx.dispersion)
        if ctx.dispersion > 1.0
        else leaves
    )
    found = _localize_known(scaled, dims)
    rows = []
    # Rows of one multi-element cause (say three edges) share a score: together they
    # explain the excess, so each is judged on the share of its whole group.
    group_share: dict[float, float] = {}
    parsed = []
    for r in found.iter_rows(named=True):
        pairs = tuple((p["dimension"], p["value"]) for p in r["segment"])
        if any(v == _MISSING for _, v in pairs):
            continue
        stats = _stats(leaves.filter(_match(pairs)), p_global)
        row = _row(pairs, stats, f_ep, n_ep, total_excess)
        row["score"] = float(r["score"])
        parsed.append(row)
        if row["score"] > 0:
            key = round(row["score"], 9)
            group_share[key] = group_share.get(key, 0.0) + row["explained_share"]
    for row in parsed:
        if row["score"] > 0:
            row["explained_share"] = min(1.0, group_share[round(row["score"], 9)])
        if row["explained_share"] < _MIN_SHARE or row["surprise"] < _MIN_SURPRISE:
            continue
        rows.append(row)
    rows = rows[:MAX_SEGMENTS]
    cands = [_candidate(row) for row in rows]
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
            for row in rows
        ],
        schema=SEGMENTS,
    )
    return cands, table


def _localize_known(leaves: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    """``rca.localize`` on the leaves, never answering with a missing value.

    A missing attribute is no cause: when requests that no backend answered have no
    ``upstream``, "upstream is missing" restates the failure. If the search picks a
    missing value, that dimension is dropped and the search runs again.
    """
    from rca._localize import localize

    dims = list(dims)
    while True:
        found = localize(
            leaves.group_by([*dims, "_t"]).agg(pl.col("_n").sum(), pl.col("_f").sum()),
            dims=dims,
            failures="_f",
            total="_n",
            time="_t",
            incident=(1, 2),
            max_order=3,
            limit=40,
        )
        chosen = found.filter(pl.col("score") > 0)
        bad = {
            p["dimension"]
            for seg in chosen["segment"].to_list()
            for p in seg
            if p["value"] == _MISSING
        }
        if not bad or len(dims) <= len(bad):
            return found
        dims = [d for d in dims if d not in bad]


def _match(pairs: tuple[tuple[str, str], ...]) -> pl.Expr:
    cond = pl.lit(True)
    for d, v in pairs:
        cond = cond & (pl.col(d) == v)
    return cond


def segment_label(pairs: tuple[tuple[str, str], ...]) -> str:
    """``ua_kernel=amzn2 & edge=IAD``"""
    return " & ".join(f"{d}={v}" for d, v in pairs)


def _row(
    pairs: tuple[tuple[str, str], ...],
    r: dict[str, float],
    f_ep: float,
    n_ep: float,
    total_excess: float,
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


def _candidate(row: dict) -> Pending:
    # Its series: excess failures per bucket over the segment's own calm rate.
    cand = Candidate(
        kind="segment",
        key=f"segment:{row['label']}",
        label=row["label"],
        series=np.zeros(0),
        segment=row["pairs"],
        unit="count",
        facts={
            "explained_share": row["explained_share"],
            "surprise": row["surprise"],
            "localization": row["score"],
            "rate_in": row["rate_in"],
            "rate_rest": row["rate_rest"],
        },
    )
    return Pending(cand, _match(row["pairs"]), excess_rate=row["p_cal"])
