"""Parquet metrics, long or wide.

*Long*: a time column, a value column and optionally a metric column (named as in CSV
long, see ``_csv_long``), a ``labels`` column (our ``k=v,...`` string, or a struct of label
values) and any other columns as labels. This is also what ``read_metrics`` output written
with ``write_parquet`` looks like. *Wide*: a time column plus one numeric column per
series, headers parsed like Grafana's (``name{labels}``). The time column may be a
Datetime (naive = UTC, zoned converted), a Date, unix s/ms/µs/ns numbers, or text.

Counting: long, one unit per row; wide, one unit per (row, series) cell. Null values are
``other`` (no point), values or times that cannot be read are malformed.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from rca._errors import IngestError
from rca.ingest._files import read_all_bytes
from rca.ingest.metrics._common import (
    MALFORMED,
    NO_TIME_COLUMN,
    OTHER,
    TEXT,
    FileMetrics,
    any_to_datetime,
    default_metric_name,
    find_time_column,
    labels_from_columns,
    parse_value,
    points,
    resolve_series,
    split_series_name,
    status,
    tally,
)
from rca.ingest.metrics._csv_long import METRIC_COLUMNS, VALUE_COLUMNS, find_column

NAME = "parquet"
_REQUEST_COLUMNS = {"client_ip", "status", "path", "method"}


def parse(path: Path) -> FileMetrics:
    """Read one Parquet file (plain or gzip-compressed)."""
    raw = read_all_bytes(path)
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise IngestError(
            f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:200]}); re-export it",
            path=path,
        ) from None
    names = frame.columns
    if {n.lower() for n in names} >= _REQUEST_COLUMNS:
        raise IngestError(
            "this is a requests Parquet file (written by rca ingest); pass it with --logs, not --metrics",
            path=path,
        )
    ti = find_time_column(names)
    if ti is None:
        raise IngestError(NO_TIME_COLUMN, path=path)
    vi = find_column(names, VALUE_COLUMNS)
    mi = find_column(names, METRIC_COLUMNS)
    if vi is not None and (mi is not None or not _numeric_others(frame, {ti, vi})):
        return _long(frame, path, ti, vi, mi, len(raw))
    return _wide(frame, path, ti, len(raw))


def _numeric_others(frame: pl.DataFrame, skip: set[int]) -> bool:
    return any(dtype.is_numeric() for i, dtype in enumerate(frame.dtypes) if i not in skip)


def _to_float(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return parse_value(column)
    return column.cast(pl.Float64, strict=False)


def _row_text(frame: pl.DataFrame) -> pl.Expr:
    return pl.concat_str(
        [pl.col(c).cast(pl.String, strict=False).fill_null("") for c in frame.columns],
        separator=",",
    ).alias(TEXT)


def _long(
    frame: pl.DataFrame, path: Path, ti: int, vi: int, mi: int | None, nbytes: int
) -> FileMetrics:
    names = frame.columns
    li = next((i for i, n in enumerate(names) if n.lower() == "labels"), None)
    label_exprs: dict[str, pl.Expr] = {}
    for i, name in enumerate(names):
        if i in (ti, vi, mi, li):
            continue
        label_exprs[name] = pl.col(name).cast(pl.String, strict=False)
    given = pl.lit(None, pl.String)
    if li is not None:
        ldtype = frame.schema[names[li]]
        if isinstance(ldtype, pl.Struct):
            for f in ldtype.fields:
                label_exprs.setdefault(
                    f.name, pl.col(names[li]).struct.field(f.name).cast(pl.String, strict=False)
                )
        else:
            given = pl.col(names[li]).cast(pl.String, strict=False)
    fallback = default_metric_name(path)
    work = frame.select(
        _row_text(frame),
        any_to_datetime(pl.col(names[ti]), frame.schema[names[ti]]).alias("ts"),
        pl.col(names[vi]).is_null().alias("_null"),
        _to_float(pl.col(names[vi]), frame.schema[names[vi]]).alias("value"),
        (
            pl.col(names[mi]).cast(pl.String, strict=False).str.strip_chars()
            if mi is not None
            else pl.lit(fallback)
        ).alias("_metric"),
        given.alias("_labels"),
        *[e.alias(f"_l{i}") for i, e in enumerate(label_exprs.values())],
    )
    work = work.rename({f"_l{i}": k for i, k in enumerate(label_exprs)})
    work = work.with_columns(labels_from_columns(list(label_exprs)).alias("_collabels"))
    work = resolve_series(work, fallback).with_columns(
        status(
            (pl.col("_null"), OTHER, None),
            (pl.col("ts").is_null(), MALFORMED, "bad timestamp"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
            (pl.col("metric").is_null() | (pl.col("metric") == ""), MALFORMED, "no metric name"),
        )
    )
    t = tally(work)
    return FileMetrics(
        points(work), work.height, t.records, t.malformed, t.other, 0, nbytes, t.samples
    )


def _wide(frame: pl.DataFrame, path: Path, ti: int, nbytes: int) -> FileMetrics:
    names = frame.columns
    series = [n for i, n in enumerate(names) if i != ti]
    unusable = [
        n
        for n in series
        if not (frame.schema[n].is_numeric() or frame.schema[n] in (pl.String, pl.Boolean))
    ]
    if unusable or not series:
        raise IngestError(
            "a wide Parquet file needs a time column and one numeric column per series"
            + (f"; column(s) {', '.join(unusable[:5])} are not numbers" if unusable else ""),
            path=path,
        )
    fallback = default_metric_name(path)
    time_col = names[ti]
    ts = any_to_datetime(pl.col(time_col), frame.schema[time_col]).alias("ts")
    time_text = pl.col(time_col).cast(pl.String, strict=False).alias("_time")
    values = frame.select(
        ts, time_text, *[_to_float(pl.col(n), frame.schema[n]).alias(n) for n in series]
    )
    nulls = frame.select(*[pl.col(n).is_null().alias(n) for n in series])
    long = values.unpivot(
        index=["ts", "_time"], on=series, variable_name="_col", value_name="value"
    )
    long = long.with_columns(nulls.unpivot(on=series, value_name="_null")["_null"])
    meta = pl.DataFrame(
        {
            "_col": series,
            "metric": [split_series_name(n, fallback)[0] for n in series],
            "labels": [split_series_name(n, fallback)[1] for n in series],
        },
        schema={"_col": pl.String, "metric": pl.String, "labels": pl.String},
    )
    long = long.join(meta, on="_col", how="left", maintain_order="left").with_columns(
        pl.format('time "{}", column "{}"', pl.col("_time"), pl.col("_col")).alias(TEXT),
        *status(
            (pl.col("_null"), OTHER, None),
            (pl.col("ts").is_null(), MALFORMED, "bad time"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
        ),
    )
    t = tally(long)
    return FileMetrics(
        points(long), long.height, t.records, t.malformed, t.other, 0, nbytes, t.samples
    )
