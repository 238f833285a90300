from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._bucket import (
    BUCKET_COLUMNS,
    COUNTS,
    LATENCY_EDGES,
    Buckets,
    bucket_requests,
    choose_bucket,
    parse_bucket,
)
from rca._errors import ParameterError
from rca._failure import FAILURE_COLUMNS, KINDS, hung_thresholds, with_failures
from rca._schema import UTC_TS
from rca.ingest import parse_logs

T0 = datetime(2021, 4, 1, tzinfo=UTC)


def requests(seconds: list[float], failed: list[bool], durations: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": pl.Series([T0 + timedelta(seconds=s) for s in seconds]),
            "failed": failed,
            "fail_5xx": failed,
            "duration_s": durations,
            "bytes_sent": [100] * len(seconds),
        }
    )


def test_counts_per_bucket() -> None:
    b = bucket_requests(
        requests([1, 2, 59, 61, 185], [False, True, True, False, True], [0.1] * 5),
        bucket_seconds=60,
    )
    assert b.counts["requests"].to_list() == [3, 1, 1]
    assert b.counts["failures"].to_list() == [2, 0, 1]
    assert b.counts["fail_5xx"].to_list() == [2, 0, 1]
    grid = b.grid(T0, T0 + timedelta(minutes=4))
    assert grid["requests"].to_list() == [3, 1, 0, 1]
    assert grid["failure_rate"].to_list() == pytest.approx([2 / 3, 0, 0, 1])


def test_latency_quantiles_within_a_bin() -> None:
    durations = [0.01 * (i + 1) for i in range(100)]  # 10 ms .. 1 s
    b = bucket_requests(requests([1.0] * 100, [False] * 100, durations), bucket_seconds=60)
    q = b.quantiles((0.5, 0.99))
    # Bins are 1/8 decade wide: the upper edge is within a factor 10**(1/8) = 1.33.
    assert 0.5 <= q["p50_s"][0] <= 0.5 * 1.34
    assert 0.99 <= q["p99_s"][0] <= 0.99 * 1.34


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 3600), st.booleans(), st.floats(0.0001, 500)),
        min_size=2,
        max_size=60,
    ),
    st.integers(1, 59),
)
def test_merge_of_parts_equals_whole(rows: list[tuple[float, bool, float]], cut: int) -> None:
    cut = min(cut, len(rows) - 1)
    frame = requests([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    whole = bucket_requests(frame, bucket_seconds=60)
    merged = bucket_requests(frame[:cut], bucket_seconds=60).merge(
        bucket_requests(frame[cut:], bucket_seconds=60)
    )
    assert_frame_equal(merged.counts, whole.counts, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    assert_frame_equal(merged.latency, whole.latency)


_ROW = st.tuples(
    st.one_of(st.none(), st.floats(-86400, 86400)),  # seconds from T0; None: no time
    st.one_of(st.none(), st.booleans()),  # failed
    st.lists(st.booleans(), min_size=4, max_size=4),  # the failure kinds
    st.one_of(st.none(), st.floats(-1, 1e5)),  # duration (negative: unusable)
    st.integers(0, 10**9),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=80), st.sampled_from([1, 7, 60, 3600, 86400]))
def test_buckets_match_a_row_by_row_count(rows: list, width: int) -> None:  # type: ignore[type-arg]
    """Every count against a plain loop over the rows, requests without a time (their own
    null bucket), without a duration, before 1970 and with every kind included."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "ts": pl.Series([None if r[0] is None else T0 + timedelta(seconds=r[0]) for r in rows]),
            "failed": [r[1] for r in rows],
            **{k: [r[2][i] for r in rows] for i, k in enumerate(KINDS)},
            "duration_s": pl.Series([r[3] for r in rows], dtype=pl.Float64),
            "bytes_sent": [r[4] for r in rows],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )
    got = bucket_requests(frame, bucket_seconds=width)
    counts: dict = {}  # type: ignore[type-arg]
    latency: dict = {}  # type: ignore[type-arg]
    for ts, r in zip(frame["ts"].to_list(), rows, strict=True):
        start = None
        if ts is not None:
            us = (ts - epoch) // timedelta(microseconds=1)
            start = epoch + timedelta(microseconds=us // (width * 10**6) * width * 10**6)
        c = counts.setdefault(start, [0] * 9)
        duration = r[3]
        for i, add in enumerate(
            [1, bool(r[1]), *r[2], duration is not None, duration or 0.0, r[4]]
        ):
            c[i] += add
        if duration is not None and duration >= 0:
            b = int(np.clip(np.searchsorted(LATENCY_EDGES, max(duration, 1e-9), "right"), 0, 57))
            latency[(start, b)] = latency.get((start, b), 0) + 1
    want = pl.DataFrame([[t, *c] for t, c in counts.items()], schema=COUNTS, orient="row").sort(
        "ts"
    )
    assert_frame_equal(got.counts, want, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
    rows_l = sorted(
        ((t, b, n) for (t, b), n in latency.items()),
        key=lambda x: (x[0] is not None, x[0] or epoch, x[1]),
    )
    want_l = pl.DataFrame(
        rows_l, schema={"ts": UTC_TS, "bin": pl.UInt8, "count": pl.Int64}, orient="row"
    )
    assert_frame_equal(got.latency, want_l)


def test_bucket_choice_and_parsing() -> None:
    assert choose_bucket(24 * 3600) == 60
    assert choose_bucket(600) == 30
    assert parse_bucket("1m") == parse_bucket(60) == parse_bucket(timedelta(minutes=1)) == 60
    assert parse_bucket("2h") == 7200
    with pytest.raises(ParameterError, match="not a duration"):
        parse_bucket("fast")
    with pytest.raises(ParameterError, match="whole number"):
        parse_bucket("0.5s")


def _aggregates(requests: pl.DataFrame) -> Buckets:
    lf = requests.lazy()
    return bucket_requests(with_failures(lf, hung=hung_thresholds(lf)), bucket_seconds=60)


def test_the_aggregates_read_only_the_failure_and_bucket_columns() -> None:
    # A hang incident: the hung kind reads durations, sizes, methods and endpoints. With
    # only the listed columns the aggregates must come out the same (a column read but not
    # listed is a ColumnNotFoundError here), and so from a parse of only those columns.
    logs = Path(__file__).parents[1] / "sample_logs" / "cdn_client_hang" / "logs"
    requests = parse_logs(logs).requests
    columns = sorted({*FAILURE_COLUMNS, *BUCKET_COLUMNS})
    full = _aggregates(requests)
    assert full.counts["fail_hung"].sum() > 0
    for got in (
        _aggregates(requests.select(columns)),
        _aggregates(parse_logs(logs, columns=columns).requests),
    ):
        assert_frame_equal(got.counts, full.counts)
        assert_frame_equal(got.latency, full.latency)
