from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca.candidates._base import Candidate, Context
from rca.candidates._requests import (
    Pending,
    count_requests,
    fill_series,
    request_view,
)

T0 = datetime(2021, 4, 1, tzinfo=UTC)
BUCKET = 60
N = 12

_value = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
_row = st.fixed_dictionaries(
    {
        "offset": st.integers(min_value=-90, max_value=N * BUCKET + 90),
        "failed": st.booleans(),
        "endpoint": _value,
        "edge": _value,
        "asn": st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
        "client_ip": st.one_of(st.none(), st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.1.9"])),
        "error_message": st.one_of(st.none(), st.sampled_from(["", "timeout 1", "timeout 2"])),
    }
)
_episodes = st.lists(st.integers(min_value=0, max_value=N), min_size=0, max_size=4).map(
    lambda cuts: tuple(zip(sorted(cuts)[::2], sorted(cuts)[1::2], strict=False))
)


def _frame(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "offset": pl.Int64(),
            "failed": pl.Boolean(),
            "endpoint": pl.String(),
            "edge": pl.String(),
            "asn": pl.Int64(),
            "client_ip": pl.String(),
            "error_message": pl.String(),
        },
    )
    return frame.with_columns(
        (pl.lit(T0) + pl.duration(seconds=pl.col("offset"))).alias("ts"),
        pl.col("client_ip").str.replace(r"\.\d+$", ".0/24").alias("client_prefix"),
    ).drop("offset")


def _ctx(episodes: tuple[tuple[int, int], ...]) -> Context:
    ts_s = T0.timestamp() + BUCKET * np.arange(N, dtype=float)
    episodes = tuple((s, e) for s, e in episodes if e > s)
    return Context(
        ts_s=ts_s,
        requests=np.ones(N),
        failures=np.zeros(N),
        rate=np.zeros(N),
        episodes=episodes,
        bucket_seconds=BUCKET,
        baseline_rate=0.0,
    )


def _brute(frame: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Per-request bucket and episode id, row by row in Python."""
    rows = []
    for r in frame.iter_rows(named=True):
        i = int((r["ts"] - T0) // timedelta(seconds=BUCKET))
        if not 0 <= i < N:
            continue
        epid = next((k for k, (s, e) in enumerate(ctx.episodes) if s <= i < e), -1)
        rows.append(
            {**r, "_i": i, "_epid": epid, "asn": None if r["asn"] is None else str(r["asn"])}
        )
    schema = {**frame.schema, "_i": pl.Int64(), "_epid": pl.Int32(), "asn": pl.String()}
    return pl.DataFrame(rows, schema=schema)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_row, max_size=40), episodes=_episodes)
@example(rows=[], episodes=((2, 5),))
def test_counts_add_up_to_the_requests(rows: list[dict], episodes: tuple) -> None:
    frame = _frame(rows)
    ctx = _ctx(episodes)
    brute = _brute(frame, ctx)
    counts = count_requests(request_view(frame.lazy(), ctx, T0.timestamp()))

    # Segment leaves: one row per (dims, in episode) with requests and failures.
    dims = ["endpoint", "edge", "asn"]
    expect = (
        brute.with_columns((pl.col("_epid") >= 0).alias("_ep"))
        .group_by([*dims, "_ep"])
        .agg(pl.len().cast(pl.Int64).alias("_n"), pl.col("failed").sum().cast(pl.Int64).alias("_f"))
        .sort([*dims, "_ep"], nulls_last=True)
    )
    got = counts.leaves.select(*dims, "_ep", pl.col("_n", "_f").cast(pl.Int64)).sort(
        [*dims, "_ep"], nulls_last=True
    )
    assert_frame_equal(got, expect)

    for in_ep in (True, False):
        part = brute.filter((pl.col("_epid") >= 0) == in_ep)
        assert counts.total("_n", in_episode=in_ep) == part.height
        assert counts.total("_f", in_episode=in_ep) == part["failed"].sum()

    for dim in ("client_ip", "client_prefix"):
        expect = (
            brute.group_by(dim, "_epid")
            .agg(pl.len().cast(pl.Int64).alias("_n"))
            .sort(dim, "_epid", nulls_last=True)
        )
        got = (
            counts.clients[dim]
            .select(dim, "_epid", pl.col("_n").cast(pl.Int64))
            .sort(dim, "_epid", nulls_last=True)
        )
        assert_frame_equal(got, expect)

    errors = brute.filter(pl.col("error_message").is_not_null() & (pl.col("error_message") != ""))
    assert counts.errors is not None
    assert int(counts.errors["_n"].sum() or 0) == errors.height


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_row, max_size=40), episodes=_episodes, rate=st.floats(0.0, 1.0))
def test_series_are_the_candidates_requests_per_bucket(
    rows: list[dict], episodes: tuple, rate: float
) -> None:
    frame = _frame(rows)
    ctx = _ctx(episodes)
    brute = _brute(frame, ctx)
    blank = Candidate(kind="segment", key="k", label="k", series=np.zeros(0))
    where = (pl.col("edge") == "a") & (pl.col("endpoint") == "b")
    pending = [
        Pending(blank, where, excess_rate=rate),
        Pending(blank, pl.col("client_ip") == "10.0.0.1"),
    ]
    seg, client = fill_series(request_view(frame.lazy(), ctx, T0.timestamp()), pending, N)

    n_seg, f_seg, n_ip = np.zeros(N), np.zeros(N), np.zeros(N)
    for r in brute.iter_rows(named=True):
        if r["edge"] == "a" and r["endpoint"] == "b":
            n_seg[r["_i"]] += 1
            f_seg[r["_i"]] += r["failed"]
        if r["client_ip"] == "10.0.0.1":
            n_ip[r["_i"]] += 1
    np.testing.assert_allclose(seg.series, f_seg - n_seg * rate)
    np.testing.assert_array_equal(client.series, n_ip)
    assert seg.key == "k" and seg.series.shape == (N,)


def test_no_pending_candidates_reads_nothing() -> None:
    lazy = pl.LazyFrame({"ts": [T0]}).select(pl.col("ts").cast(pl.Int8))  # would fail if read
    assert fill_series(lazy, [], N) == []
