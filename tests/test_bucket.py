from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._bucket import BUCKET_COLUMNS, Buckets, bucket_requests, choose_bucket, parse_bucket
from rca._errors import ParameterError
from rca._failure import FAILURE_COLUMNS, hung_thresholds, with_failures
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
