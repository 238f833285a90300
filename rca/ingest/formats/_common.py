"""Polars expressions shared by the log-format parsers.

Each parser extracts raw text fields with a regex or a split; these helpers turn raw text
into canonical values the same way for every format.
"""

from __future__ import annotations

import polars as pl

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST


def dash_null(expr: pl.Expr) -> pl.Expr:
    """``-`` and the empty string mean "absent" in most access-log formats."""
    return pl.when(expr.is_in(["-", ""])).then(None).otherwise(expr)


#: Longest duration taken at its word when placing a request's start (a day): an upload can
#: take hours, but a larger figure is a broken clock or an attacker's number, and subtracting
#: it would stretch the analysis window by years.
MAX_DURATION_S = 86_400.0


def started(end: pl.Expr, duration_s: pl.Expr) -> pl.Expr:
    """When a request began: its line's time (written when the response ended) minus its
    duration. Without a positive, plausible duration, the time as logged.

    Every format whose logged time is the end uses this, so that ``ts`` means the same
    thing (the start) whichever log a request came from.
    """
    plausible = (duration_s > 0) & (duration_s <= MAX_DURATION_S)
    micros = (duration_s * 1e6).round(0).cast(pl.Int64, strict=False)
    return pl.when(plausible).then(end - pl.duration(microseconds=micros)).otherwise(end)


def path_only(uri: pl.Expr) -> pl.Expr:
    """The path of a request URI: without query string or fragment, and without
    ``scheme://host`` when the URI is absolute (ALB logs the full URL)."""
    no_query = uri.str.replace(r"[?#].*$", "")
    return no_query.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*", "")


def first_hop(forwarded_for: pl.Expr) -> pl.Expr:
    """First address of an X-Forwarded-For list (the original client)."""
    return dash_null(forwarded_for.str.split(",").list.first().str.strip_chars())


def strip_port(addr: pl.Expr) -> pl.Expr:
    """``203.0.113.7:41234`` → ``203.0.113.7``; ``[2001:db8::1]:443`` → ``2001:db8::1``.
    A bare IPv6 address (several colons, no brackets) is kept whole."""
    bracketed = addr.str.extract(r"^\[([^\]]+)\]", 1)
    v4_or_host = addr.str.replace(r"^([^:\[]+):\d+$", "$1")
    return pl.when(bracketed.is_not_null()).then(bracketed).otherwise(v4_or_host)


def to_int(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Lenient integer conversion: anything that is not an integer becomes null."""
    return dash_null(expr).cast(dtype, strict=False)


def kind_column(ok: pl.Expr, blank_or_other: pl.Expr | None = None) -> pl.Expr:
    """The ``_kind`` column: OTHER for blank lines (and ``blank_or_other``), REQUEST where
    ``ok``, MALFORMED otherwise."""
    other = pl.col("line").str.strip_chars() == ""
    if blank_or_other is not None:
        other = other | blank_or_other
    return (
        pl.when(other)
        .then(pl.lit(OTHER, pl.UInt8))
        .when(ok)
        .then(pl.lit(REQUEST, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
        .alias(KIND)
    )


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Select the canonical request fields (absent ones null) plus ``_kind``, cast to the
    canonical dtypes. A REQUEST row without a timestamp is demoted to MALFORMED, since
    nothing downstream can place it in time."""
    out = frame.select(
        *[
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t, strict=False).alias(c)
            for c, t in REQUEST_FIELDS.items()
        ],
        pl.col(KIND).cast(pl.UInt8),
    )
    return out.with_columns(
        pl.when((pl.col(KIND) == REQUEST) & pl.col("ts").is_null())
        .then(pl.lit(MALFORMED, pl.UInt8))
        .otherwise(pl.col(KIND))
        .alias(KIND)
    )
