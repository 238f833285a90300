"""Heavy clients: did one client's (or one /24's) load bring the failures?

Sits beside the segment search, on the request counts of ``rca.candidates._requests``
(requests and failures per client and episode). Client identity
(``client_ip``, ``client_prefix``) is kept out of the segments because the question is
different: not "whose requests failed" but "whose traffic grew when failures rose, and did
failures continue after it went quiet". The candidate's series is its requests per bucket,
so coverage across episodes answers the second question directly (April 2021: blocking
the heavy IPs did not stop the errors).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rca.candidates._base import Candidate, Context
from rca.candidates._requests import CLIENT_DIMS, Pending, RequestCounts

_DIMS = CLIENT_DIMS
# Clients examined per dimension: the heaviest in the episodes, and the ones with most
# failures there.
_TOP = 8
# Ignore clients with less than this share of any episode's requests.
_MIN_SHARE = 0.01
# Extra traffic (share of an episode's requests) that counts as a full dose of load.
_FULL_DOSE = 1.0 / 3.0


def client_candidates(counts: RequestCounts, ctx: Context) -> list[Pending]:
    """One candidate per heavy client IP or prefix (series still to count)."""
    cands: list[Pending] = []
    n_ep_total = counts.total("_n", in_episode=True)
    if n_ep_total == 0:
        return cands
    ep_buckets = float(ctx.in_episode.sum())
    calm_buckets = float(max(ctx.n - ep_buckets, 1))
    f_ep_total = counts.total("_f", in_episode=True)
    ep_sizes = (
        counts.episodes.filter(pl.col("_epid") >= 0)
        .select("_epid", pl.col("_n").alias("_size"))
        .join(
            pl.DataFrame(
                {
                    "_epid": pl.Series(range(len(ctx.episodes)), dtype=pl.Int32),
                    "_len": [float(e - s) for s, e in ctx.episodes],
                }
            ),
            on="_epid",
        )
    )
    for dim in _DIMS:
        table = counts.clients.get(dim)
        if table is None or table[dim].null_count() == table.height:
            continue
        # One row per (client, episode id), -1 being calm time.
        known = table.filter(pl.col(dim).is_not_null())
        in_ep = pl.col("_epid") >= 0
        # A client heavy in one short episode only (the April 2021 IPs) is exactly the
        # suspect that must be examined and ruled out: its share is taken per episode.
        # Its extra share in an episode: requests beyond its calm rate per bucket, over
        # the episode's requests; the most in any episode.
        calm = (
            known.filter(~in_ep)
            .group_by(dim)
            .agg((pl.col("_n").sum() / calm_buckets).alias("_calm_rate"))
        )
        per_ep = (
            known.filter(in_ep)
            .select(dim, "_epid", pl.col("_n").alias("_c"))
            .join(ep_sizes, on="_epid")
            .join(calm, on=dim, how="left")
            .with_columns(
                (
                    (pl.col("_c") - pl.col("_calm_rate").fill_null(0.0) * pl.col("_len"))
                    / pl.col("_size")
                ).alias("_extra")
            )
            .group_by(dim)
            .agg(
                (pl.col("_c") / pl.col("_size")).max().alias("share"),
                pl.col("_extra").max().clip(0.0, 1.0).alias("extra_share"),
            )
        )
        st = (
            known.group_by(dim)
            .agg(
                pl.col("_n").filter(in_ep).sum().cast(pl.Float64).alias("n_ep"),
                pl.col("_n").filter(~in_ep).sum().cast(pl.Float64).alias("n_cal"),
                pl.col("_f").filter(in_ep).sum().cast(pl.Float64).alias("f_ep"),
            )
            .join(per_ep, on=dim, how="left")
            .with_columns(pl.col("share").fill_null(0.0), pl.col("extra_share").fill_null(0.0))
        )
        heavy = st.sort(["share", dim], descending=[True, False]).head(_TOP)
        bursting = st.sort(["extra_share", dim], descending=[True, False]).head(_TOP)
        failing = st.sort(["f_ep", dim], descending=[True, False]).head(_TOP)
        picked = pl.concat([bursting, heavy, failing]).unique(
            subset=[dim], keep="first", maintain_order=True
        )
        for r in picked.filter(pl.col("share") >= _MIN_SHARE).iter_rows(named=True):
            value = str(r[dim])
            if dim == "client_prefix" and _same_as_an_ip(cands, r["n_ep"], r["n_cal"]):
                continue  # one IP makes up this prefix: it is already a candidate
            rate_ep = r["n_ep"] / max(ep_buckets, 1.0)
            extra_share = float(r["extra_share"])
            rate_cal = r["n_cal"] / calm_buckets
            # Load surprise: how much busier the client was in the episodes than when calm.
            surprise = max(0.0, 1.0 - rate_cal / rate_ep) if rate_ep > 0 else 0.0
            cand = Candidate(
                kind="client",
                key=f"client:{dim}:{value}",
                label=f"{dim}={value}",
                # Its series: its requests per bucket.
                series=np.zeros(0),
                segment=((dim, value),),
                unit="count",
                facts={
                    # The dose of its load: the extra traffic it sent in the episodes
                    # (over its calm rate) as a share of all episode traffic, where
                    # adding a third of the traffic counts as a full dose. A client
                    # adding a few percent cannot have overloaded anything.
                    "explained_share": float(min(1.0, max(0.0, extra_share) / _FULL_DOSE)),
                    "extra_share": float(extra_share),
                    "n_ep": float(r["n_ep"]),
                    "n_cal": float(r["n_cal"]),
                    "surprise": surprise,
                    "rate_in": r["f_ep"] / r["n_ep"] if r["n_ep"] else 0.0,
                    "rate_rest": (f_ep_total - r["f_ep"]) / max(n_ep_total - r["n_ep"], 1.0),
                },
            )
            cands.append(Pending(cand, pl.col(dim) == value))
    return cands


def _same_as_an_ip(cands: list[Pending], n_ep: float, n_cal: float) -> bool:
    """Whether an IP candidate already carries (nearly) all of a prefix's traffic."""
    for p in cands:
        c = p.candidate
        if c.segment and c.segment[0][0] == "client_ip":
            ip_ep, ip_cal = c.facts.get("n_ep", -1.0), c.facts.get("n_cal", -1.0)
            if ip_ep >= 0.95 * n_ep and ip_cal >= 0.95 * n_cal:
                return True
    return False
