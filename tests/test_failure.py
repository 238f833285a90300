from __future__ import annotations

import contextlib

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rca._errors import ParameterError
from rca._failure import HungThresholds, hung_thresholds, parse_failure, with_failures


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "status": pl.Series([200, 503, 429, 499, 460, 0, 404, 200], dtype=pl.Int16),
            "endpoint": ["blob"] * 8,
            "duration_s": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 300.0],
            "bytes_sent": [5000] * 8,
            "method": ["GET"] * 8,
        }
    )


def test_default_failure_kinds() -> None:
    f = frame()
    hung = hung_thresholds(f)
    out = with_failures(f.lazy(), hung=hung).collect()
    assert out["failed"].to_list() == [False, True, True, True, True, True, False, True]
    assert out["fail_5xx"].to_list() == [False, True] + [False] * 6
    assert out["fail_aborted"].to_list() == [False] * 3 + [True, True, True, False, False]
    assert out["fail_hung"].to_list() == [False] * 7 + [True]


def test_hung_threshold_is_far_beyond_normal() -> None:
    f = pl.DataFrame(
        {
            "status": pl.Series([200] * 100, dtype=pl.Int16),
            "endpoint": ["manifest"] * 100,
            "duration_s": [0.05 + 0.001 * i for i in range(100)],
            "bytes_sent": [100] * 100,
        }
    )
    limit = hung_thresholds(f).table["limit_s"][0]
    assert limit == 2.0  # fast endpoint: the floor applies
    slow = f.with_columns(pl.col("duration_s") * 10)  # median ~1 s
    assert hung_thresholds(slow).table["limit_s"][0] >= 20 * 0.99


def test_hung_limits_follow_each_rows_endpoint() -> None:
    # Limits learnt per endpoint; applied to rows in a mixed order, with a null endpoint
    # (looked up as "other") and one the thresholds never saw (no limit: never hung).
    learn = pl.DataFrame(
        {
            "status": pl.Series([200] * 8, dtype=pl.Int16),
            "endpoint": ["blob"] * 4 + ["other"] * 4,
            "duration_s": [10.0, 10.0, 10.0, 10.0, 0.01, 0.01, 0.01, 0.01],
            "bytes_sent": [0] * 8,
            "method": ["GET"] * 8,
        }
    )
    hung = hung_thresholds(learn)
    assert hung.table["endpoint"].to_list() == ["blob", "other"]
    rows = pl.DataFrame(
        {
            "status": pl.Series([200] * 5, dtype=pl.Int16),
            "endpoint": [None, "blob", "unseen", "other", "blob"],
            "duration_s": [5.0, 5.0, 5000.0, 0.01, 500.0],
            "bytes_sent": [0] * 5,
            "method": ["GET"] * 5,
        }
    )
    out = with_failures(rows.lazy(), hung=hung).collect()
    assert out["fail_hung"].to_list() == [True, False, False, False, True]
    assert out.columns == [
        *rows.columns,
        "fail_5xx",
        "fail_429",
        "fail_aborted",
        "fail_hung",
        "failed",
    ]


def test_limits_below_the_floor_still_apply() -> None:
    # Only requests slower than the lowest limit are looked up; a table made by hand may
    # hold a limit below the default floor of 2 s.
    hung = HungThresholds(
        pl.DataFrame(
            {
                "endpoint": ["blob"],
                "median_s": [0.01],
                "median_throughput": [None],
                "limit_s": [0.5],
            },
            schema_overrides={"median_throughput": pl.Float64},
        )
    )
    rows = pl.DataFrame(
        {
            "status": pl.Series([200, 200, 503], dtype=pl.Int16),
            "endpoint": ["blob"] * 3,
            "duration_s": [1.0, 0.1, 1.0],
            "bytes_sent": [0] * 3,
            "method": ["GET"] * 3,
        }
    )
    out = with_failures(rows.lazy(), hung=hung).collect()
    assert out["fail_hung"].to_list() == [True, False, False]


def test_user_expression_replaces_default() -> None:
    out = with_failures(frame().lazy(), failure="status >= 500 or duration_s > 30").collect()
    assert out["failed"].to_list() == [False, True, False, False, False, False, False, True]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("status in (429, 503)", [False, True, True, False, False, False, False, False]),
        (
            "not status < 400 and status != 404",
            [False, True, True, True, True, False, False, False],
        ),
        ("(status == 0) or (method == 'POST')", [False] * 5 + [True, False, False]),
        ('method contains "GE" and status = 404', [False] * 6 + [True, False]),
        ("status is not null and duration_s >= 300", [False] * 7 + [True]),
    ],
)
def test_expression_language(expr: str, expected: list[bool]) -> None:
    assert frame().select(parse_failure(expr))[:, 0].to_list() == expected


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("", "empty"),
        ("status >=", "expected a number"),
        ("__import__('os')", "unknown column"),
        ("status >= 500 or", "expected a column"),
        ("bogus > 1", "unknown column 'bogus'"),
        ("status > 'x'", "cannot compare"),
        ("(status > 1", "missing ')'"),
        ("status ; 1", "cannot read"),
        ("path matches '['", "bad regular expression"),
    ],
)
def test_bad_expression_says_what_is_wrong(expr: str, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_failure(expr)


@given(st.text(max_size=40))
def test_parser_never_crashes_with_other_errors(text: str) -> None:
    with contextlib.suppress(ParameterError):
        parse_failure(text)
