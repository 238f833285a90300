"""Go durations and RFC 3339 / unix timestamps as logged by Go programs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rca.ingest.formats._godur import any_time_utc, go_duration_seconds, rfc3339_utc, unix_utc

from ._render import go_format


def durations(values: list[str | None]) -> list[float | None]:
    return (
        pl.select(go_duration_seconds(pl.Series("d", values, dtype=pl.String)))
        .to_series()
        .to_list()
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("941.5µs", 941.5e-6),  # U+00B5, what Go writes
        ("941.5μs", 941.5e-6),  # U+03BC, also accepted by Go
        ("941.5us", 941.5e-6),
        ("2.2ms", 0.0022),
        ("11.684664ms", 0.011684664),
        ("1m3.2s", 63.2),
        ("1h2m3s", 3723.0),
        ("1h0m0s", 3600.0),
        ("0s", 0.0),
        ("0", 0.0),
        ("123ns", 123e-9),
        ("-1.5s", -1.5),
        ("1.5h", 5400.0),
        ("10ms5us", 0.010005),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert durations([text])[0] == pytest.approx(seconds, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("text", ["", "abc", "5", "ms", "1.2.3s", "1d", "3 s", None])
def test_not_a_duration_is_null(text: str | None) -> None:
    assert durations([text]) == [None]


@given(st.integers(min_value=-(2**62), max_value=2**62))
@example(0)
@example(999)
@example(1_000)
@example(999_999_999)
@example(60_000_000_000)
@example(3_600_000_000_001)
def test_go_duration_round_trip(ns: int) -> None:
    text = go_format(ns)
    assert durations([text])[0] == pytest.approx(ns / 1e9, rel=1e-12, abs=1e-15)


@given(st.lists(st.text(max_size=20), max_size=20))
def test_arbitrary_text_never_raises(values: list[str]) -> None:
    assert len(durations(list(values))) == len(values)


def stamps(values: list[str | None]) -> list[datetime | None]:
    return pl.select(rfc3339_utc(pl.Series("t", values, dtype=pl.String))).to_series().to_list()


def test_rfc3339_forms() -> None:
    got = stamps(
        [
            "2021-04-01T10:00:00.123456789Z",
            "2021-04-01T12:00:00.5+02:00",
            "2021-04-01T10:00:00-0730",
            "2021-04-01 10:00:00Z",
            "2021-04-01T10:00:00",
            "2021-04-01t10:00:00z",
            "01/Apr/2021:10:00:00 +0000",
            "2021-02-30T10:00:00Z",
        ]
    )
    assert got == [
        datetime(2021, 4, 1, 10, 0, 0, 123456, tzinfo=UTC),  # nanoseconds truncated
        datetime(2021, 4, 1, 10, 0, 0, 500000, tzinfo=UTC),
        datetime(2021, 4, 1, 17, 30, tzinfo=UTC),
        datetime(2021, 4, 1, 10, 0, tzinfo=UTC),
        datetime(2021, 4, 1, 10, 0, tzinfo=UTC),  # no offset: taken as UTC
        datetime(2021, 4, 1, 10, 0, tzinfo=UTC),
        None,
        None,
    ]


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.integers(min_value=0, max_value=999),
)
def test_rfc3339_round_trip(when: datetime, offset_min: int, nanos: int) -> None:
    tz = timezone(timedelta(minutes=offset_min))
    local = when.replace(tzinfo=tz)
    fraction = f"{local.microsecond:06d}{nanos:03d}".rstrip("0")
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
    text += "Z" if offset_min == 0 else local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
    assert stamps([text]) == [local.astimezone(UTC)]


def test_unix_by_magnitude() -> None:
    got = (
        pl.select(
            unix_utc(
                pl.Series(
                    [
                        "1617271200",
                        "1617271200123",
                        "1617271200123456",
                        "1617271200123456789",
                        "1617271200.25",
                        "x",
                    ]
                )
            )
        )
        .to_series()
        .to_list()
    )
    base = datetime(2021, 4, 1, 10, 0, tzinfo=UTC)
    assert got == [
        base,
        base + timedelta(microseconds=123000),
        base + timedelta(microseconds=123456),
        base + timedelta(microseconds=123456),
        base + timedelta(microseconds=250000),
        None,
    ]


def test_any_time_takes_either_form() -> None:
    got = pl.select(any_time_utc(pl.Series(["2021-04-01T10:00:00Z", "1617271200"]))).to_series()
    assert got.to_list() == [datetime(2021, 4, 1, 10, 0, tzinfo=UTC)] * 2


@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.integers(0, 10**20).map(str),
            st.sampled_from(["2021-04-01T10:00:00Z", "1617271200.5", "-5", "+7", " 12", "x"]),
        ),
        max_size=8,
    )
)
@example(values=["1625382000235774932", "1625382000"])
@example(values=["1625382000235774932", "2021-04-01T10:00:00Z"])
def test_any_time_column_equals_the_expression(values: list[str | None]) -> None:
    from rca.ingest.formats._godur import any_time_utc_column

    column = pl.Series("t", values, dtype=pl.String)
    expected = pl.select(any_time_utc(pl.lit(column))).to_series()
    assert any_time_utc_column(column).to_list() == expected.to_list()
