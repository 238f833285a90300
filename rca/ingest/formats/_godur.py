"""Go's time values as Go programs log them: ``time.Duration`` strings and RFC 3339 stamps.

The CNCF distribution registry (and Cloudflare's Logpush, also written in Go) log
durations with ``time.Duration.String()`` (``941.5µs``, ``2.2ms``, ``1m3.2s``) and
timestamps with ``time.RFC3339Nano``. These helpers turn both into canonical values as
Polars expressions, so the registry and Cloudflare parsers stay vectorised.
"""

from __future__ import annotations

import polars as pl

from rca._schema import UTC_TS

_NUM = r"(\d+(?:\.\d*)?|\.\d+)"
# time.ParseDuration accepts any sequence of <number><unit>; Duration.String() always
# writes them largest unit first, which is what this pattern expects. "µs" is U+00B5
# (what Go writes), "μs" is U+03BC (also accepted by Go), "us" is the ASCII spelling.
_DURATION = (
    rf"^([+-])?(?:{_NUM}h)?(?:{_NUM}m)?(?:{_NUM}s)?(?:{_NUM}ms)?"
    rf"(?:{_NUM}(?:us|\x{{b5}}s|\x{{3bc}}s))?(?:{_NUM}ns)?$"
)
# Seconds per unit, sub-second ones as inverses: Polars divides a column of two or more
# rows by a constant as a multiplication by its inverse, and a single row exactly, so a
# division would give a value whose last bit depends on the column's length. Multiplied,
# every length (and the compiled path, _registry_fast.go_durations) gives the same bits.
# In _DURATION's group order, largest unit first.
UNIT_SECONDS: dict[str, float] = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1 / 1e3,
    "us": 1 / 1e6,
    "ns": 1 / 1e9,
}

_SINGLE = r"^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\x{b5}s|\x{3bc}s|ms|s|m|h)$"


def go_duration_seconds(expr: pl.Expr) -> pl.Expr:
    """Seconds (Float64) from a Go ``time.Duration`` string; null when it is not one.

    Accepts what ``time.Duration.String()`` writes (``0s``, ``123ns``, ``941.5µs``,
    ``2.2ms``, ``1m3.2s``, ``1h2m3s``, negative values), the ASCII ``us`` spelling, and
    the bare ``0`` that ``time.ParseDuration`` also accepts.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(go_duration_seconds(pl.lit("1m3.5s"))).item()
    63.5
    """
    text = expr.str.strip_chars()
    # Fast path: what Go writes below one minute is one number and one unit ("2.2ms"),
    # read without a capturing regex. Only the rest ("1m3.2s") go through the full pattern;
    # nulling the fast-path rows first makes the slow regex skip them.
    single = text.str.contains(_SINGLE)
    number = text.str.strip_chars_end("nsuµμmh").cast(pl.Float64, strict=False)
    fast = (
        pl.when(text.str.ends_with("ms"))
        .then(number * UNIT_SECONDS["ms"])
        .when(text.str.ends_with("ns"))
        .then(number * UNIT_SECONDS["ns"])
        .when(text.str.ends_with("s") & text.str.contains(r"[uµμ]s$"))
        .then(number * UNIT_SECONDS["us"])
        .when(text.str.ends_with("s"))
        .then(number)
        .when(text.str.ends_with("m"))
        .then(number * UNIT_SECONDS["m"])
        .otherwise(number * UNIT_SECONDS["h"])
    )
    rest = pl.when(~single).then(text)
    # All arithmetic on the captured groups happens inside one struct expression, so the
    # regex runs once (each ``.struct.field`` of a plain expression would re-run it).
    parts = [
        pl.field(str(i + 2)).cast(pl.Float64, strict=False) * seconds
        for i, seconds in enumerate(UNIT_SECONDS.values())
    ]
    sign = pl.when(pl.field("1") == "-").then(-1.0).otherwise(1.0)
    slow = (
        rest.str.extract_groups(_DURATION)
        .struct.with_fields(
            pl.when(pl.any_horizontal(*[p.is_not_null() for p in parts]))
            .then(pl.sum_horizontal(*[p.fill_null(0.0) for p in parts]) * sign)
            .alias("seconds")
        )
        .struct.field("seconds")
    )
    return pl.when(single).then(fast).when(text == "0").then(pl.lit(0.0)).otherwise(slow)


def rfc3339_utc(expr: pl.Expr) -> pl.Expr:
    """UTC timestamps (µs) from RFC 3339 / ISO 8601 strings with any offset.

    Handles ``Z`` or ``±hh:mm`` / ``±hhmm`` offsets, 0–9 fractional digits (truncated to
    microseconds), a space or lower-case ``t`` between date and time, and no offset at all
    (taken as UTC). Anything else becomes null.

    Examples
    --------
    >>> import polars as pl
    >>> str(pl.select(rfc3339_utc(pl.lit("2021-04-01T12:00:00.5+02:00"))).item())
    '2021-04-01 10:00:00.500000+00:00'
    """
    text = expr.str.strip_chars()
    # Fast path: Go's RFC3339Nano ("...T10:00:00.123456789Z" or "+02:00") parses directly.
    direct = text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
    )
    # The rest are normalised first; rows already parsed are nulled so they are skipped.
    norm = (
        pl.when(direct.is_null())
        .then(text)
        .str.replace(r"^(\d{4}-\d\d-\d\d)[ tT]", "${1}T")
        .str.replace(r"[zZ]$", "+00:00")
    )
    with_offset = norm.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
    )
    naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    return pl.coalesce(direct, with_offset, naive.dt.replace_time_zone("UTC")).cast(UTC_TS)


def unix_utc(expr: pl.Expr) -> pl.Expr:
    """UTC timestamps from unix epoch numbers (int or decimal text), with the unit
    guessed from the magnitude: seconds, milliseconds, microseconds or nanoseconds.

    Cloudflare Logpush writes ``unix`` (seconds) or ``unixnano`` per job setting; other
    tools write milliseconds. Epoch values between 1973 and 2286 are unambiguous by size.

    Examples
    --------
    >>> import polars as pl
    >>> str(pl.select(unix_utc(pl.lit("1617271200123000000"))).item())
    '2021-04-01 10:00:00.123000+00:00'
    """
    text = expr.cast(pl.String).str.strip_chars()
    is_int = text.str.contains(r"^\d{1,20}$")
    is_dec = text.str.contains(r"^\d+\.\d*$")
    as_int = pl.when(is_int).then(text).cast(pl.Int64, strict=False)
    as_dec = pl.when(is_dec).then(text).cast(pl.Float64, strict=False)
    size = pl.coalesce(as_int.cast(pl.Float64), as_dec).abs()
    # Integers go through integer arithmetic so nanosecond stamps keep their precision.
    micros_int = (
        pl.when(size < 1e11)
        .then(as_int * 1_000_000)
        .when(size < 1e14)
        .then(as_int * 1_000)
        .when(size < 1e17)
        .then(as_int)
        .otherwise(as_int // 1_000)
    )
    micros_dec = (
        pl.when(size < 1e11)
        .then(as_dec * 1e6)
        .when(size < 1e14)
        .then(as_dec * 1e3)
        .when(size < 1e17)
        .then(as_dec)
        .otherwise(as_dec / 1e3)
    ).round(0)
    micros = pl.coalesce(micros_int, micros_dec.cast(pl.Int64, strict=False))
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def any_time_utc(expr: pl.Expr) -> pl.Expr:
    """RFC 3339 text or a unix epoch number, whichever the value is (per value)."""
    return pl.coalesce(unix_utc(expr), rfc3339_utc(expr.cast(pl.String)))


def any_time_utc_column(text: pl.Series) -> pl.Series:
    """:func:`any_time_utc` of a whole column. A log job writes every stamp in one form;
    when all are plain integers (unix seconds or nanoseconds), only the epoch reading
    runs, since the text parsers would try and fail three formats on each value.
    """
    frame = text.to_frame("t")
    if frame.select(pl.col("t").str.contains(r"^\d{1,20}$").fill_null(True).all()).item():
        return frame.select(unix_utc(pl.col("t"))).to_series().rename(text.name)
    return frame.select(any_time_utc(pl.col("t"))).to_series().rename(text.name)
