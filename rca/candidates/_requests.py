"""Per-request attributes reduced to additive counts, for the request-side candidates.

Sits between the flagged requests frame (``rca._failure.with_failures``) and the segment,
client and log-pattern candidates. The requests are never held row by row: the lazy
frame (usually a Parquet scan) is read a few times with the streaming engine, and each
read returns aggregates whose size depends on the number of distinct attribute values, not on
the number of requests (DESIGN.md "Scale"):

1. :func:`count_requests`: counts per (segment dimensions x episode id), per (client x
   episode id) and per (error message x in an episode or not);
2. :func:`fill_series`: once the candidates are chosen from those counts, their requests
   (and failures) per bucket, all candidates in one ``group_by`` on the bucket index.

Every count adds up across files, so the same tables could be summed from partitions
processed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import polars as pl

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
#: Client identities examined for heavy clients.
CLIENT_DIMS: tuple[str, ...] = ("client_ip", "client_prefix")

# Every aggregate is collected with the streaming engine: it reads the source in morsels,
# so memory follows the size of the aggregates, not of the requests.
_ENGINE: Final = "streaming"


@dataclass(frozen=True)
class RequestCounts:
    """Additive request counts, the input of the request-side candidates.

    Attributes
    ----------
    leaves
        One row per combination of the segment dimensions present (as String, nulls
        kept) and ``_ep`` (in an episode): ``_n`` requests and ``_f`` failures.
    clients
        Per client dimension, one row per (value, ``_epid``): ``_n`` requests and ``_f``
        failures; ``_epid`` is the episode index, -1 outside the episodes.
    errors
        One row per (non-empty ``error_message``, ``_ep``): ``_n`` requests.
    episodes
        One row per ``_epid`` (-1 included): ``_n`` requests and ``_f`` failures.
    """

    leaves: pl.DataFrame
    clients: dict[str, pl.DataFrame]
    errors: pl.DataFrame | None
    episodes: pl.DataFrame

    def total(self, column: str, *, in_episode: bool) -> float:
        """Requests (``_n``) or failures (``_f``) in the episodes or outside them."""
        ep = self.episodes.filter((pl.col("_epid") >= 0) == in_episode)
        return float(ep[column].sum())


@dataclass(frozen=True)
class Pending:
    """A chosen candidate whose per-bucket series is still to be counted.

    Attributes
    ----------
    candidate
        The candidate, its ``series`` still empty.
    where
        Which requests are the candidate's (a boolean expression over the view).
    excess_rate
        For segments: the series is the failures per bucket in excess of this rate
        (failures - requests x rate). None: the series is the requests per bucket.
    """

    candidate: Candidate
    where: pl.Expr
    excess_rate: float | None = None


def request_view(flagged: pl.LazyFrame, ctx: Context, start_s: float) -> pl.LazyFrame:
    """The slim lazy projection the counts are taken from.

    Columns: ``_i`` (bucket index on the grid of ``ctx``), ``failed``, ``_epid`` (episode
    index or -1), ``_ep`` (in an episode) and the attribute columns, as String.
    """
    schema = flagged.collect_schema()
    cols = [c for c in (*SEGMENT_DIMS, *CLIENT_DIMS, "error_message") if c in schema]
    i = pl.col("_i")
    epid: pl.Expr = pl.lit(-1, pl.Int32)
    # Later episodes first so that the chain reads in time order once folded.
    for k, (s, e) in reversed(list(enumerate(ctx.episodes))):
        epid = pl.when((i >= s) & (i < e)).then(pl.lit(k, pl.Int32)).otherwise(epid)
    return (
        flagged.select(
            ((pl.col("ts").dt.epoch("us") / 1e6 - start_s) // ctx.bucket_seconds)
            .cast(pl.Int32)
            .alias("_i"),
            "failed",
            *[pl.col(c).cast(pl.String) for c in cols],
        )
        .filter((i >= 0) & (i < ctx.n))
        .with_columns(epid.alias("_epid"))
        .with_columns((pl.col("_epid") >= 0).alias("_ep"))
    )


def count_requests(view: pl.LazyFrame) -> RequestCounts:
    """All the counts the candidates are chosen from, in three reads of ``view``.

    The reads run one after the other: run together (``collect_all``) they neither share
    the scan nor save time, and their buffers add up.
    """
    schema = view.collect_schema()
    dims = [d for d in SEGMENT_DIMS if d in schema]
    n = pl.len().alias("_n")
    f = pl.col("failed").sum().alias("_f")
    # By episode id rather than in/out of an episode: the clients need the episodes'
    # sizes, and this costs a few more leaves, not another read.
    by_epid = view.group_by([*dims, "_epid"]).agg(n, f).collect(engine=_ENGINE)
    episodes = by_epid.group_by("_epid").agg(pl.col("_n").sum(), pl.col("_f").sum())
    leaves = (
        by_epid.with_columns((pl.col("_epid") >= 0).alias("_ep"))
        .group_by([*dims, "_ep"])
        .agg(pl.col("_n").sum(), pl.col("_f").sum())
    )
    clients: dict[str, pl.DataFrame] = {}
    client_dims = [d for d in CLIENT_DIMS if d in schema]
    if client_dims:
        # A prefix is a function of the IP, so grouping by both costs no more rows than
        # by the IP alone, and one read serves both.
        both = view.group_by([*client_dims, "_epid"]).agg(n, f).collect(engine=_ENGINE)
        for d in client_dims:
            clients[d] = both.group_by(d, "_epid").agg(pl.col("_n").sum(), pl.col("_f").sum())
    errors = None
    if "error_message" in schema:
        msg = pl.col("error_message")
        errors = (
            view.filter(msg.is_not_null() & (msg != ""))
            .group_by("error_message", "_ep")
            .agg(n)
            .collect(engine=_ENGINE)
        )
    return RequestCounts(leaves=leaves, clients=clients, errors=errors, episodes=episodes)


def fill_series(view: pl.LazyFrame, pending: list[Pending], n: int) -> list[Candidate]:
    """The candidates with their per-bucket series, counted in one read of ``view``."""
    if not pending:
        return []
    cols: list[pl.Expr] = []
    for k, p in enumerate(pending):
        # A null attribute matches nothing: null sums as zero.
        cols.append(p.where.cast(pl.UInt32).alias(f"n{k}"))
        if p.excess_rate is not None:
            cols.append((p.where & pl.col("failed")).cast(pl.UInt32).alias(f"f{k}"))
    per = (
        view.select("_i", *cols).group_by("_i").agg(pl.exclude("_i").sum()).collect(engine=_ENGINE)
    )
    idx = per["_i"].to_numpy()
    out = []
    for k, p in enumerate(pending):
        counts = np.zeros(n)
        counts[idx] = per[f"n{k}"].to_numpy()
        if p.excess_rate is None:
            series = counts
        else:
            failed = np.zeros(n)
            failed[idx] = per[f"f{k}"].to_numpy()
            series = failed - counts * p.excess_rate
        out.append(replace(p.candidate, series=series))
    return out
